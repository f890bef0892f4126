"""Files attached to issues: uploaded from the issue page (with or without
JavaScript), stored under the project's folder whatever their name, served
with the raw view's safe headers, hidden with their issue."""

from __future__ import annotations

import hashlib
import io

from conftest import csrf_of, login_as
from issue_fixture import new_issue, set_settings, tracker_project
from sqlalchemy import select

from pagurus.core import projects as core_projects
from pagurus.model import Attachment, Project

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"


def upload(client, project, issue, files, *, token=None, header=False):
    data = {"filestream": [(io.BytesIO(body), name) for name, body in files]}
    headers = {}
    if token is not None and header:
        headers["X-CSRFToken"] = token
    elif token is not None:
        data["csrf_token"] = token
    return client.post(f"/{project.url_path}/issue/{issue.number}/upload", data=data,
                       headers=headers, content_type="multipart/form-data")


def folder_of(settings, project):
    return settings.data_dir / "attachments" / str(project.id)


def rows(session, project):
    session.expire_all()
    return session.scalars(select(Attachment).where(Attachment.project_id == project.id)
                           .order_by(Attachment.id)).all()


def test_a_commenter_uploads_files_and_gets_their_links(client, session, settings, make_user):
    owner, visitor = make_user(), make_user()
    project = tracker_project(session, settings, owner)
    issue = new_issue(session, owner, project)
    login_as(client, visitor)
    resp = upload(client, project, issue, [("screen shot.png", PNG), ("notes.txt", b"hello\n")],
                  token=csrf_of(client))
    assert resp.status_code == 200, resp.data
    data = resp.get_json()
    sha = hashlib.sha256(PNG).hexdigest()
    assert data["output"] == "ok"
    assert data["filenames"] == ["screen_shot.png", "notes.txt"]
    assert data["filelocations"][0] == f"/{project.name}/issue/raw/files/{sha}-screen_shot.png"
    stored = rows(session, project)
    assert [(r.issue_id, r.user_id, r.filename) for r in stored] == [
        (issue.id, visitor.id, "screen shot.png"), (issue.id, visitor.id, "notes.txt")]
    assert (folder_of(settings, project) / f"{sha}-screen_shot.png").read_bytes() == PNG
    image = client.get(data["filelocations"][0])
    assert image.status_code == 200 and image.data == PNG
    assert image.headers["Content-Type"] == "image/png"
    assert "Content-Disposition" not in image.headers
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    assert image.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert image.headers["Cache-Control"].startswith("public, ")
    text = client.get(data["filelocations"][1])
    assert text.data == b"hello\n" and text.headers["Content-Type"].startswith("text/plain")
    again = client.get(data["filelocations"][0], headers={"If-None-Match": f'"{sha}"'})
    assert again.status_code == 304
    # the same content again shares the stored file
    resp = upload(client, project, issue, [("screen shot.png", PNG)], token=csrf_of(client),
                  header=True)
    assert resp.get_json()["filelocations"] == data["filelocations"][:1]
    assert len(rows(session, project)) == 2


def test_hostile_file_names_stay_in_the_project_folder_and_download(client, session, settings,
                                                                    make_user):
    owner = make_user()
    project = tracker_project(session, settings, owner)
    issue = new_issue(session, owner, project)
    login_as(client, owner)
    names = ["../../x", "<img src=x onerror=alert(1)>.svg", "page.html", "..", "/etc/passwd",
             ".htaccess", "a" * 300 + ".png"]
    bodies = [b"one", SVG, HTML, b"two", b"three", b"four", PNG]
    resp = upload(client, project, issue, list(zip(names, bodies, strict=True)),
                  token=csrf_of(client))
    assert resp.status_code == 200, resp.data
    data = resp.get_json()
    assert data["filenames"][:6] == ["x", "img_srcx_onerroralert1.svg", "page.html", "file",
                                     "etc_passwd", "htaccess"]
    assert len(data["filenames"][6]) == 150 and data["filenames"][6].endswith(".png")
    folder = folder_of(settings, project).resolve()
    on_disk = sorted(p.name for p in folder.iterdir())
    assert on_disk == sorted(r.name for r in rows(session, project))
    assert not (settings.data_dir / "x").exists()
    assert not (settings.data_dir / "attachments" / "x").exists()
    for location in data["filelocations"]:
        assert "<" not in location and ".." not in location
    svg = client.get(data["filelocations"][1])
    assert svg.status_code == 200 and svg.data == SVG
    assert svg.headers["Content-Type"] == "application/octet-stream"
    assert svg.headers["Content-Disposition"].startswith("attachment;")
    assert svg.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    html = client.get(data["filelocations"][2])
    assert html.headers["Content-Type"] == "application/octet-stream"
    assert html.headers["Content-Disposition"].startswith("attachment;")
    # names that are not stored attachments of this project are 404, even on disk
    (folder / "planted.txt").write_text("not an attachment")
    base = f"/{project.name}/issue/raw/files/"
    for name in ("planted.txt", "..%2F..%2Fsecret_key", "%2E%2E", "../secret_key",
                 "0" * 64 + "-nothing.txt", data["filelocations"][0].rsplit("/", 1)[1] + "x"):
        assert client.get(base + name).status_code == 404, name


def test_an_oversized_upload_is_refused_and_nothing_is_kept(client, session, settings,
                                                            make_user):
    owner = make_user()
    project = tracker_project(session, settings, owner)
    issue = new_issue(session, owner, project)
    login_as(client, owner)
    big = b"\0" * (settings.max_attachment_bytes + 1)
    resp = upload(client, project, issue, [("small.txt", b"small"), ("big.bin", big)],
                  token=csrf_of(client))
    assert resp.status_code == 413
    assert resp.get_json()["output"] == "notok"
    assert rows(session, project) == []
    folder = folder_of(settings, project)
    assert not folder.exists() or list(folder.iterdir()) == []


def test_uploads_need_csrf_a_login_and_comment_rights(client, session, settings, make_user):
    owner, outsider, blocked = make_user(), make_user(), make_user()
    project = tracker_project(session, settings, owner)
    issue = new_issue(session, owner, project)
    secret = new_issue(session, owner, project, private=True)
    files = [("a.txt", b"a")]
    assert upload(client, project, issue, files).status_code == 400  # no CSRF token
    token = csrf_of(client)
    assert upload(client, project, issue, files, token=token).status_code == 401
    login_as(client, outsider)
    token = csrf_of(client)
    assert upload(client, project, issue, [], token=token).status_code == 400
    assert upload(client, project, secret, files, token=token).status_code == 404
    set_settings(session, project, issue_tracker_read_only=True)
    assert upload(client, project, issue, files, token=token).status_code == 403
    set_settings(session, project, issue_tracker_read_only=False)
    p = session.get(Project, project.id)
    p.block_users = [blocked.name]
    session.commit()
    login_as(client, blocked)
    assert upload(client, project, issue, files, token=csrf_of(client)).status_code == 403
    assert rows(session, project) == []


def test_files_of_a_private_issue_or_project_are_hidden(client, session, settings, make_user):
    owner, author, triager, outsider = make_user(), make_user(), make_user(), make_user()
    project = tracker_project(session, settings, owner)
    core_projects.modify_acl(session, owner, project, "user", triager.name, "ticket")
    session.commit()
    secret = new_issue(session, author, project, private=True)
    login_as(client, author)
    location = upload(client, project, secret, [("s.png", PNG)], token=csrf_of(client)
                      ).get_json()["filelocations"][0]
    resp = client.get(location)
    assert resp.status_code == 200 and resp.headers["Cache-Control"].startswith("private, ")
    login_as(client, triager)
    assert client.get(location).status_code == 200
    login_as(client, outsider)
    assert client.get(location).status_code == 404
    with client.session_transaction() as sess:
        sess.clear()
    assert client.get(location).status_code == 404

    hidden = tracker_project(session, settings, owner, private=True)
    issue = new_issue(session, owner, hidden)
    login_as(client, owner)
    location = upload(client, hidden, issue, [("p.png", PNG)], token=csrf_of(client)
                      ).get_json()["filelocations"][0]
    assert client.get(location).status_code == 200
    login_as(client, outsider)
    assert client.get(location).status_code == 404
    # a disabled tracker takes its files away
    login_as(client, owner)
    set_settings(session, hidden, issue_tracker=False)
    assert client.get(location).status_code == 404
