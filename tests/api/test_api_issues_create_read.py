"""Opening, reading and editing issues through API v0 (spec §2.3)."""

from __future__ import annotations

import io

from apihelp import API, error_of, grant
from conftest import auth
from issuehelp import BASE, issue_url, new_issue, reload, tracker_project
from sqlalchemy import func, select

from pagurus.core import issues as core_issues
from pagurus.model import Attachment, Issue, Project, TagColored


def issue_count(session, project):
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Issue).where(
        Issue.project_id == project.id))


def test_a_triager_opens_an_issue_with_all_its_metadata(client, session, settings, make_user,
                                                        make_token):
    owner, dev = make_user(), make_user()
    project = tracker_project(session, settings, owner)
    resp = client.post(f"{API}/{project.name}/new_issue", headers=auth(
        make_token(owner, ["issue_create"])), data={
        "title": "Crash on start", "issue_content": "It **crashes**", "private": "true",
        "priority": "1", "milestone": "v1", "tag": "bug, ui", "assignee": dev.name})
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()
    assert data["message"] == "Issue created"
    issue = data["issue"]
    assert issue["id"] == 1 and issue["title"] == "Crash on start"
    assert issue["content"] == "It **crashes**" and issue["status"] == "Open"
    assert issue["private"] is True and issue["priority"] == 1 and issue["milestone"] == "v1"
    assert issue["tags"] == ["bug", "ui"] and issue["assignee"]["name"] == dev.name
    assert issue["user"]["name"] == owner.name and issue["comments"] == []
    assert issue["full_url"] == f"{BASE}/{project.name}/issue/1"
    assert set(issue) >= {"close_status", "date_created", "last_updated", "closed_at",
                          "depends", "blocks", "custom_fields", "closed_by", "related_prs"}
    names = session.scalars(select(TagColored.name).where(
        TagColored.project_id == project.id)).all()
    assert sorted(names) == ["bug", "ui"]  # unknown tags are created


def test_a_reporter_metadata_is_ignored(client, session, settings, make_user, make_token):
    owner, reporter = make_user(), make_user()
    project = tracker_project(session, settings, owner)
    resp = client.post(f"{API}/{project.name}/new_issue", headers=auth(
        make_token(reporter, ["issue_create"])), json={
        "title": "Please", "issue_content": "thanks", "priority": "High", "milestone": "v1",
        "tag": "urgent", "assignee": owner.name})
    assert resp.status_code == 200, resp.get_json()
    issue = resp.get_json()["issue"]
    assert (issue["priority"], issue["milestone"], issue["tags"], issue["assignee"]) == (
        None, None, [], None)
    assert issue["user"]["name"] == reporter.name


def test_bad_new_issues_are_refused_and_nothing_is_created(client, session, settings,
                                                           make_user, make_token):
    owner = make_user()
    project = tracker_project(session, settings, owner)
    token = make_token(owner, ["issue_create"])
    url = f"{API}/{project.name}/new_issue"
    cases = [
        ({"issue_content": "no title"}, (400, "EINVALIDREQ")),
        ({"title": "no content"}, (400, "EINVALIDREQ")),
        ({"title": "  ", "issue_content": "x"}, (400, "EINVALIDREQ")),
        ({"title": "x" * 300, "issue_content": "x"}, (400, "EINVALIDREQ")),
        ({"title": "t", "issue_content": "x", "milestone": "nope"}, (400, "EINVALIDREQ")),
        ({"title": "t", "issue_content": "x", "priority": "9"}, (400, "EINVALIDPRIORITY")),
        ({"title": "t", "issue_content": "x", "tag": "<script>"}, (400, "EINVALIDREQ")),
        ({"title": "t", "issue_content": "x", "assignee": "nobody-like-this"},
         (400, "EINVALIDREQ")),
        ({"title": ["a", "list"], "issue_content": "x"}, (400, "EINVALIDREQ")),
    ]
    for payload, expected in cases:
        resp = client.post(url, headers=auth(token), json=payload)
        assert error_of(resp) == expected, (payload, resp.get_json())
    assert issue_count(session, project) == 0
    assert session.get(Project, project.id).last_number == 0
    assert session.scalars(select(TagColored).where(
        TagColored.project_id == project.id)).all() == []


def test_a_file_sent_with_a_new_issue_replaces_the_image_placeholder(
        client, session, settings, make_user, make_token):
    owner = make_user()
    project = tracker_project(session, settings, owner)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    resp = client.post(f"{API}/{project.name}/new_issue", headers=auth(
        make_token(owner, ["issue_create"])), content_type="multipart/form-data", data={
        "title": "Screenshot", "issue_content": "Look:\n<!!image>\nend",
        "filestream": (io.BytesIO(png), "shot one.png")})
    assert resp.status_code == 200, resp.get_json()
    content = resp.get_json()["issue"]["content"]
    row = session.scalar(select(Attachment).where(Attachment.project_id == project.id))
    assert row is not None and row.name.endswith("-shot_one.png") and row.size == len(png)
    url = f"/{project.name}/issue/raw/files/{row.name}"
    assert content == f"Look:\n[![shot_one.png]({url})]({url})\nend"
    assert row.issue_id == session.scalar(select(Issue.id).where(
        Issue.project_id == project.id))
    served = client.get(url)
    assert served.status_code == 200 and served.data == png
    assert served.headers["Content-Type"] == "image/png"


def test_an_oversized_file_refuses_the_whole_new_issue(client, session, settings, make_user,
                                                       make_token):
    owner = make_user()
    project = tracker_project(session, settings, owner)
    big = b"x" * (settings.max_attachment_bytes + 1)
    resp = client.post(f"{API}/{project.name}/new_issue", headers=auth(
        make_token(owner, ["issue_create"])), content_type="multipart/form-data", data={
        "title": "Big", "issue_content": "<!!image>", "filestream": (io.BytesIO(big), "b.bin")})
    assert error_of(resp) == (413, "EINVALIDREQ")
    assert issue_count(session, project) == 0
    folder = settings.data_dir / "attachments" / str(project.id)
    assert not folder.exists() or [p.name for p in folder.iterdir()] == []


def test_an_issue_is_read_by_number_or_uid_with_or_without_comments(client, session, settings,
                                                                    make_user):
    owner = make_user()
    project = tracker_project(session, settings, owner)
    issue = new_issue(session, owner, project, title="Read me")
    core_issues.add_comment(session, owner, issue, "First!", base_url=BASE)
    session.commit()
    by_number = client.get(issue_url(project, issue)).get_json()
    assert by_number["title"] == "Read me"
    assert [c["comment"] for c in by_number["comments"]] == ["First!"]
    by_uid = client.get(issue_url(project, issue.uid)).get_json()
    assert by_uid == by_number
    bare = client.get(issue_url(project, issue) + "?comments=0").get_json()
    assert bare["comments"] == [] and bare["id"] == issue.number
    assert error_of(client.get(issue_url(project, 99))) == (404, "ENOISSUE")
    assert error_of(client.get(issue_url(project, "abc"))) == (404, "ENOISSUE")
    assert error_of(client.get(f"{API}/nope-{project.name}/issue/1")) == (404, "ENOPROJECT")


def test_one_comment_is_read_with_its_avatar_and_date(client, session, settings, make_user,
                                                      make_token):
    owner = make_user()
    project = tracker_project(session, settings, owner)
    issue = new_issue(session, owner, project)
    other = new_issue(session, owner, project)
    comment = core_issues.add_comment(session, owner, issue, "Hello", base_url=BASE)
    session.commit()
    url = issue_url(project, issue, f"/comment/{comment.id}")
    data = client.get(url).get_json()
    assert data["comment"] == "Hello" and data["id"] == comment.id
    assert data["user"]["name"] == owner.name and data["notification"] is False
    assert data["avatar_url"].endswith(f"/avatar/{owner.name}?size=16")
    assert data["comment_date"] == comment.date_created.strftime("%Y-%m-%d %H:%M:%S")
    assert client.get(issue_url(project, issue.uid, f"/comment/{comment.id}")).get_json() == data
    assert error_of(client.get(issue_url(project, other, f"/comment/{comment.id}"))) == (
        404, "ENOCOMMENT")
    assert error_of(client.get(issue_url(project, issue, "/comment/999999"))) == (
        404, "ENOCOMMENT")
    # a token sent here must be bound to this project
    assert client.get(url, headers=auth(make_token(owner, ["issue_comment"], project=project))
                      ).status_code == 200
    assert error_of(client.get(url, headers=auth(make_token(owner, ["issue_comment"])))) == (
        401, "EINVALIDTOK")


def test_the_author_edits_title_and_content_with_a_project_token(client, session, settings,
                                                                 make_user, make_token):
    owner, author, stranger = make_user(), make_user(), make_user()
    project = tracker_project(session, settings, owner)
    issue = new_issue(session, author, project, title="Old", content="old text")
    url = issue_url(project, issue)
    token = make_token(author, ["issue_update"], project=project)
    resp = client.post(url, headers=auth(token), data={"title": "New", "issue_content": "new"})
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()
    assert data["message"] == "Issue edited"
    assert (data["issue"]["title"], data["issue"]["content"]) == ("New", "new")
    # by uid too
    resp = client.post(issue_url(project, issue.uid), headers=auth(token),
                       data={"title": "Newer", "issue_content": "new"})
    assert resp.get_json()["issue"]["title"] == "Newer"
    # a user-level token is refused on this call
    assert error_of(client.post(url, headers=auth(make_token(author, ["issue_update"])),
                                data={"title": "X", "issue_content": "y"})) == (
        401, "EINVALIDTOK")
    # someone else without ticket access may not edit it
    theirs = make_token(stranger, ["issue_update"], project=project)
    assert error_of(client.post(url, headers=auth(theirs), data={
        "title": "Hacked", "issue_content": "y"})) == (403, "EISSUENOTALLOWED")
    # missing content
    assert error_of(client.post(url, headers=auth(token), data={"title": "Only"})) == (
        400, "EINVALIDREQ")
    issue = reload(session, issue)
    assert (issue.title, issue.content) == ("Newer", "new")


def test_ticket_access_may_edit_anyone_issue(client, session, settings, make_user, make_token):
    owner, author, triager = make_user(), make_user(), make_user()
    project = tracker_project(session, settings, owner)
    grant(session, project, triager, "ticket")
    issue = new_issue(session, author, project)
    resp = client.post(issue_url(project, issue), headers=auth(
        make_token(triager, ["issue_update"], project=project)),
        json={"title": "Triaged", "issue_content": "better words"})
    assert resp.status_code == 200
    assert reload(session, issue).title == "Triaged"
