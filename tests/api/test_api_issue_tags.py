"""A project's coloured issue tags through API v0 (spec §2.2)."""

from __future__ import annotations

from apihelp import API, error_of, grant, make_project
from conftest import auth, unique
from issuehelp import new_issue, reload, tracker_project
from sqlalchemy import select

from pagurus.core import tags as core_tags
from pagurus.model import Event, TagColored


def tag_names(session, project):
    session.expire_all()
    return sorted(session.scalars(select(TagColored.name).where(
        TagColored.project_id == project.id)))


def test_tags_are_listed_with_a_prefix_pattern(client, session, settings, make_user):
    owner = make_user()
    project = tracker_project(session, settings, owner)
    for name in ("bug", "Backend", "ui", "build:ci"):
        core_tags.create_tag(session, owner, project, name)
    session.commit()
    url = f"{API}/{project.name}/tags"
    assert client.get(url).get_json() == {"total_tags": 4,
                                          "tags": ["Backend", "bug", "build:ci", "ui"]}
    assert client.get(url + "/").get_json()["total_tags"] == 4
    assert client.get(url + "?pattern=b").get_json()["tags"] == ["Backend", "bug", "build:ci"]
    assert client.get(url + "?pattern=BU").get_json()["tags"] == ["bug", "build:ci"]
    assert client.get(url + "?pattern=*i").get_json()["tags"] == ["build:ci", "ui"]
    assert client.get(url + "?pattern=.*").get_json() == {"total_tags": 0, "tags": []}
    empty = make_project(session, settings, owner, unique("e"))
    assert client.get(f"{API}/{empty.name}/tags").get_json() == {"total_tags": 0, "tags": []}


def test_one_tag_is_read_or_404_enotag(client, session, settings, make_user):
    owner = make_user()
    project = tracker_project(session, settings, owner)
    core_tags.create_tag(session, owner, project, "needs info", "Waiting on the reporter",
                         "#ff8800")
    session.commit()
    assert client.get(f"{API}/{project.name}/tag/needs info").get_json() == {
        "tag": "needs info", "tag_description": "Waiting on the reporter",
        "tag_color": "#ff8800"}
    assert client.get(f"{API}/{project.name}/tag/NEEDS%20INFO").status_code == 200
    assert error_of(client.get(f"{API}/{project.name}/tag/other")) == (404, "ENOTAG")


def test_an_admin_creates_a_tag_and_a_duplicate_is_edberror(client, session, settings,
                                                            make_user, make_token):
    owner, admin = make_user(), make_user()
    project = tracker_project(session, settings, owner)
    grant(session, project, admin, "admin")
    url = f"{API}/{project.name}/tags/new"
    resp = client.post(url, headers=auth(make_token(admin, ["modify_project"])),
                       data={"tag": "infra", "tag_color": "DeepPink",
                             "tag_description": "Servers"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"message": "Tag created", "tag": {
        "tag": "infra", "tag_description": "Servers", "tag_color": "DeepPink"}}
    token = make_token(owner, ["modify_project"])
    assert error_of(client.post(url, headers=auth(token), json={
        "tag": "INFRA", "tag_color": "#000"})) == (400, "EDBERROR")
    assert tag_names(session, project) == ["infra"]


def test_bad_tags_and_callers_without_admin_rights_are_refused(client, session, settings,
                                                               make_user, make_token):
    owner, committer = make_user(), make_user()
    project = tracker_project(session, settings, owner)
    grant(session, project, committer, "commit")
    url = f"{API}/{project.name}/tags/new"
    token = make_token(owner, ["modify_project"])
    for payload in ({"tag_color": "red"}, {"tag": "x"}, {"tag": "", "tag_color": "red"},
                    {"tag": "-dash", "tag_color": "red"},
                    {"tag": "<img src=x onerror=alert(1)>", "tag_color": "red"},
                    {"tag": "a" * 256, "tag_color": "red"},
                    {"tag": "ok", "tag_color": "red;background:url(x)"},
                    {"tag": "ok", "tag_color": "red", "tag_description": "d" * 2000},
                    {"tag": ["a"], "tag_color": "red"}):
        assert error_of(client.post(url, headers=auth(token), json=payload)) == (
            400, "EINVALIDREQ"), payload
    assert error_of(client.post(url, headers=auth(make_token(committer, ["modify_project"])),
                                data={"tag": "mine", "tag_color": "red"})) == (
        401, "EMODIFYPROJECTNOTALLOWED")
    assert error_of(client.post(url, headers=auth(make_token(owner, ["issue_create"])),
                                data={"tag": "mine", "tag_color": "red"})) == (
        401, "EINVALIDTOK")
    assert tag_names(session, project) == []


def test_deleting_a_tag_takes_it_off_its_issues(client, session, settings, make_user,
                                                make_token):
    owner, committer = make_user(), make_user()
    project = tracker_project(session, settings, owner)
    grant(session, project, committer, "commit")
    issue = new_issue(session, owner, project, tags="bug, keep")
    url = f"{API}/{project.name}/tag/bug"
    # project token only, admins only
    assert error_of(client.delete(url, headers=auth(make_token(owner, ["modify_project"])))) \
        == (401, "EINVALIDTOK")
    assert error_of(client.delete(url, headers=auth(
        make_token(committer, ["modify_project"], project=project)))) == (
        401, "EMODIFYPROJECTNOTALLOWED")
    token = make_token(owner, ["modify_project"], project=project)
    resp = client.delete(url, headers=auth(token))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"message": "Tag: bug has been deleted"}
    assert tag_names(session, project) == ["keep"]
    assert [t.name for t in reload(session, issue).tags] == ["keep"]
    assert error_of(client.delete(url, headers=auth(token))) == (404, "ENOTAG")
    topics = session.scalars(select(Event.topic).where(Event.project_id == project.id)).all()
    assert "project.tag.removed" in topics
