"""Committers upload release files from ``{P}/upload``; the files are served
from ``/releases/<fullname>/<name>`` with safe headers, listed on the
releases page and in a CHECKSUMS file that stays complete when uploads run
at the same time; hostile names, overwrites and outsiders are refused."""

from __future__ import annotations

import hashlib
import io
import re
import threading

import pytest
from commits_fixture import new_project
from conftest import csrf_of, login_as

from pagurus.core import projects as core_projects
from pagurus.core import releases as core_releases

TARBALL = b"\x1f\x8b\x08\x00" + bytes(range(256)) * 40
HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"


def upload(client, project, files, *, token=True):
    data = {"filestream": [(io.BytesIO(body), name) for name, body in files]}
    if token:
        data["csrf_token"] = csrf_of(client)
    return client.post(f"/{project.url_path}/upload", data=data,
                       content_type="multipart/form-data")


def folder(settings, project):
    return settings.data_dir / "releases" / project.fullname


def checksums(settings, project):
    """{name: (sha256, sha512)} read back from CHECKSUMS (header checked)."""
    lines = (folder(settings, project) / "CHECKSUMS").read_text().splitlines()
    assert lines[0] == "# Generated and updated by pagure"
    found: dict[str, dict[str, str]] = {}
    for line in lines[1:]:
        m = re.fullmatch(r"(SHA256|SHA512) \((.+)\) = ([0-9a-f]+)", line)
        assert m, line
        found.setdefault(m.group(2), {})[m.group(1)] = m.group(3)
    return {name: (v["SHA256"], v["SHA512"]) for name, v in found.items()}


def sums_of(body):
    return hashlib.sha256(body).hexdigest(), hashlib.sha512(body).hexdigest()


def incoming_left(settings):
    path = settings.data_dir / "releases" / ".incoming"
    return sorted(p.name for p in path.iterdir()) if path.exists() else []


@pytest.fixture
def project(session, settings, make_user):
    return new_project(session, settings, make_user())


def test_a_committer_uploads_files_listed_on_the_releases_page(client, session, settings,
                                                              project, make_user):
    committer = make_user()
    core_projects.set_user_access(session, project.user, project, committer, "commit")
    session.commit()
    login_as(client, committer)
    page = client.get(f"/{project.url_path}/upload")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.get_data(as_text=True)
    resp = upload(client, project, [("pkg-1.0.tar.gz", TARBALL),
                                    ("pkg 1.0 notes.txt", b"Notes\n")])
    assert resp.status_code == 302, resp.data
    assert resp.headers["Location"].endswith(f"/{project.url_path}/releases")
    assert (folder(settings, project) / "pkg-1.0.tar.gz").read_bytes() == TARBALL
    assert (folder(settings, project) / "pkg_1.0_notes.txt").read_bytes() == b"Notes\n"
    assert checksums(settings, project) == {"pkg-1.0.tar.gz": sums_of(TARBALL),
                                            "pkg_1.0_notes.txt": sums_of(b"Notes\n")}
    assert incoming_left(settings) == []
    body = client.get(f"/{project.url_path}/releases").get_data(as_text=True)
    assert "Uploaded pkg-1.0.tar.gz, pkg_1.0_notes.txt." in body  # the flash
    assert f'href="/releases/{project.fullname}/pkg-1.0.tar.gz"' in body
    assert hashlib.sha256(TARBALL).hexdigest() in body
    assert f'href="/releases/{project.fullname}/CHECKSUMS"' in body
    assert 'title="10244 bytes">10.2 kB<' in body
    # visitors see the list (without the upload button)
    client.get("/logout")
    anon = client.application.test_client()
    public = anon.get(f"/{project.url_path}/releases").get_data(as_text=True)
    assert "pkg-1.0.tar.gz" in public and "Upload files" not in public


def test_files_are_served_with_safe_headers(client, settings, project):
    login_as(client, project.user)
    assert upload(client, project, [("pkg-2.0.tar.gz", TARBALL), ("index.html", HTML),
                                    ("SHA256SUMS.txt", b"abc  pkg\n")]).status_code == 302
    anon = client.application.test_client()
    base = f"/releases/{project.fullname}"
    tarball = anon.get(f"{base}/pkg-2.0.tar.gz")
    assert tarball.status_code == 200 and tarball.data == TARBALL
    assert tarball.headers["Content-Type"] == "application/gzip"
    assert not tarball.headers.get("Content-Disposition", "").startswith("attachment")
    assert tarball.headers["X-Content-Type-Options"] == "nosniff"
    assert tarball.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert tarball.headers["ETag"] == f'"{hashlib.sha256(TARBALL).hexdigest()}"'
    again = anon.get(f"{base}/pkg-2.0.tar.gz",
                     headers={"If-None-Match": tarball.headers["ETag"]})
    assert again.status_code == 304
    page = anon.get(f"{base}/index.html")
    assert page.data == HTML
    assert page.headers["Content-Type"] == "application/octet-stream"
    assert page.headers["Content-Disposition"].startswith("attachment")
    assert page.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    text = anon.get(f"{base}/SHA256SUMS.txt")
    assert text.headers["Content-Type"] == "text/plain; charset=utf-8"
    sums = anon.get(f"{base}/CHECKSUMS")
    assert sums.status_code == 200 and sums.headers["Content-Type"].startswith("text/plain")
    assert f"SHA256 (pkg-2.0.tar.gz) = {hashlib.sha256(TARBALL).hexdigest()}" in sums.text
    assert anon.get(f"{base}/missing.tar.gz").status_code == 404
    assert anon.get(f"{base}/..%2F..%2Fpagurus.sqlite").status_code == 404
    assert anon.get(f"/releases/{project.fullname}/.incoming").status_code == 404


def test_concurrent_uploads_keep_every_checksum_line(app, settings, project):
    bodies = {f"part-{i}.tar.gz": bytes([i]) * (50_000 + i) for i in range(8)}
    barrier = threading.Barrier(len(bodies))
    results: dict[str, int] = {}

    def send(name: str, body: bytes) -> None:
        client = app.test_client()
        login_as(client, project.user)
        token = csrf_of(client)
        barrier.wait()
        resp = client.post(f"/{project.url_path}/upload", content_type="multipart/form-data",
                           data={"csrf_token": token,
                                 "filestream": [(io.BytesIO(body), name)]})
        results[name] = resp.status_code

    threads = [threading.Thread(target=send, args=item) for item in bodies.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {name: 302 for name in bodies}
    assert checksums(settings, project) == {name: sums_of(b) for name, b in bodies.items()}
    for name, body in bodies.items():
        assert (folder(settings, project) / name).read_bytes() == body


@pytest.mark.parametrize("name", ["../evil.tar.gz", "a/b.tar.gz", "..", "a..b.tgz",
                                  ".hidden.tar.gz", "-rf.tar.gz", "bad\x01name.tgz",
                                  "CHECKSUMS", "\u202etxt.exe"])
def test_hostile_names_are_refused_and_nothing_is_stored(client, settings, project, name):
    login_as(client, project.user)
    resp = upload(client, project, [("fine.tar.gz", TARBALL), (name, b"payload")])
    assert resp.status_code == 400, (name, resp.data)
    assert "Refused file name" in resp.get_data(as_text=True)
    assert not folder(settings, project).exists() or \
        list(folder(settings, project).iterdir()) == []
    assert incoming_left(settings) == []
    assert not (settings.data_dir / "releases" / "evil.tar.gz").exists()


def test_names_are_checked_before_anything_is_written():
    for name in ("dir\\file.zip", "C:\\Users\\x.tgz", "/etc/passwd", "a\x00b", "~root",
                 "", "   ", ".incoming", "checksums", "x" * 250 + ".tgz"):
        with pytest.raises(core_releases.InvalidInput):
            core_releases.check_name(name)
    assert core_releases.check_name("pkg 1.0.tar.gz") == "pkg_1.0.tar.gz"
    assert core_releases.check_name("café-1.0.zip") == "cafe-1.0.zip"


def test_a_name_taken_by_other_content_is_not_overwritten(client, settings, project):
    login_as(client, project.user)
    assert upload(client, project, [("pkg-3.0.tar.gz", TARBALL)]).status_code == 302
    resp = upload(client, project, [("new-file.zip", b"PK"), ("pkg-3.0.tar.gz", b"other")])
    assert resp.status_code == 409
    assert "already exists with different content" in resp.get_data(as_text=True)
    assert (folder(settings, project) / "pkg-3.0.tar.gz").read_bytes() == TARBALL
    assert not (folder(settings, project) / "new-file.zip").exists()  # all or nothing
    assert checksums(settings, project) == {"pkg-3.0.tar.gz": sums_of(TARBALL)}
    same = upload(client, project, [("pkg-3.0.tar.gz", TARBALL)])
    assert same.status_code == 302
    flashed = client.get(f"/{project.url_path}/releases").get_data(as_text=True)
    assert "pkg-3.0.tar.gz already there with the same content" in flashed
    assert incoming_left(settings) == []


def test_files_over_the_size_limit_are_refused(app, client, settings, project, monkeypatch):
    monkeypatch.setitem(app.extensions["pagurus"], "settings",
                        settings.replace(max_release_bytes=4096))
    login_as(client, project.user)
    resp = upload(client, project, [("small.txt", b"ok\n"), ("big.tar.gz", TARBALL)])
    assert resp.status_code == 413
    assert "larger than the limit of 4096 bytes" in resp.get_data(as_text=True)
    assert not (folder(settings, project) / "small.txt").exists()
    assert incoming_left(settings) == []


def test_private_projects_hide_their_files(client, session, settings, make_user):
    owner, stranger = make_user(), make_user()
    project = new_project(session, settings, owner, private=True)
    login_as(client, owner)
    assert upload(client, project, [("secret-1.0.tar.gz", TARBALL)]).status_code == 302
    url = f"/releases/{project.fullname}/secret-1.0.tar.gz"
    assert client.get(url).status_code == 200
    assert client.get(url).headers["Cache-Control"].startswith("private")
    for who in (None, stranger):
        other = client.application.test_client()
        if who is not None:
            login_as(other, who)
        assert other.get(url).status_code == 404
        assert other.get(f"/releases/{project.fullname}/CHECKSUMS").status_code == 404
        assert other.get(f"/{project.url_path}/upload").status_code == 404
        assert upload(other, project, [("x.tar.gz", b"x")]).status_code == 404
    assert sorted(p.name for p in folder(settings, project).iterdir()) == [
        "CHECKSUMS", "secret-1.0.tar.gz"]


def test_only_committers_may_upload_or_delete(client, session, settings, project, make_user):
    reporter = make_user()
    core_projects.set_user_access(session, project.user, project, reporter, "ticket")
    session.commit()
    login_as(client, reporter)
    assert client.get(f"/{project.url_path}/upload").status_code == 403
    resp = upload(client, project, [("pkg.tar.gz", TARBALL)])
    assert resp.status_code == 403
    assert not folder(settings, project).exists()
    assert incoming_left(settings) == []
    anon = client.application.test_client()
    refused = upload(anon, project, [("pkg.tar.gz", TARBALL)])
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
    # the owner uploads; the reporter may not delete
    owner = client.application.test_client()
    login_as(owner, project.user)
    assert upload(owner, project, [("pkg.tar.gz", TARBALL)]).status_code == 302
    resp = client.post(f"/{project.url_path}/upload/delete",
                       data={"name": "pkg.tar.gz", "csrf_token": csrf_of(client)})
    assert resp.status_code == 403
    assert (folder(settings, project) / "pkg.tar.gz").exists()


def test_an_upload_without_the_csrf_token_leaves_nothing(client, settings, project):
    login_as(client, project.user)
    resp = upload(client, project, [("pkg.tar.gz", TARBALL)], token=False)
    assert resp.status_code == 400
    assert not (folder(settings, project) / "pkg.tar.gz").exists()
    assert incoming_left(settings) == []


def test_a_committer_deletes_a_file_and_checksums_follow(client, settings, project):
    login_as(client, project.user)
    assert upload(client, project, [("a-1.tar.gz", TARBALL), ("a-2.tar.gz", b"two")]
                  ).status_code == 302
    no_token = client.post(f"/{project.url_path}/upload/delete", data={"name": "a-1.tar.gz"})
    assert no_token.status_code == 400
    resp = client.post(f"/{project.url_path}/upload/delete",
                       data={"name": "a-1.tar.gz", "csrf_token": csrf_of(client)})
    assert resp.status_code == 302
    assert not (folder(settings, project) / "a-1.tar.gz").exists()
    assert checksums(settings, project) == {"a-2.tar.gz": sums_of(b"two")}
    assert client.get(f"/releases/{project.fullname}/a-1.tar.gz").status_code == 404
    missing = client.post(f"/{project.url_path}/upload/delete",
                          data={"name": "../CHECKSUMS", "csrf_token": csrf_of(client)},
                          follow_redirects=True)
    assert "No such release file" in missing.get_data(as_text=True)
    assert (folder(settings, project) / "CHECKSUMS").exists()


def test_a_foreign_checksums_file_is_left_alone(settings, project):
    target = folder(settings, project)
    target.mkdir(parents=True)
    (target / "CHECKSUMS").write_text("made by hand\n")
    core_releases.store(settings.data_dir, project, "hand-1.tar.gz", io.BytesIO(TARBALL),
                        limit=1 << 20)
    assert (target / "CHECKSUMS").read_text() == "made by hand\n"
    assert (target / "hand-1.tar.gz").read_bytes() == TARBALL
