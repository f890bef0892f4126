"""Who watches a project, and changing one's watch status, through API v0
(spec §2.2 ``{P}/watchers``, ``{P}/watchers/update``)."""

from __future__ import annotations

from apihelp import API, error_of, grant, make_group, make_project
from conftest import auth, csrf_of, login_as, unique
from sqlalchemy import select

from pagurus.core import projects as core_projects
from pagurus.core import social
from pagurus.model import Project, Watcher


def watch_rows(session, project):
    """(user id, issues, commits) of every explicit choice on the project."""
    session.expire_all()
    return sorted(session.execute(select(Watcher.user_id, Watcher.watch_issues,
                                         Watcher.watch_commits)
                                  .where(Watcher.project_id == project.id)).all())


def test_anyone_lists_the_default_and_chosen_watchers_of_a_project(client, session, settings,
                                                                    make_user):
    owner, committer, grouped, fan = make_user(), make_user(), make_user(), make_user()
    project = make_project(session, settings, owner, unique("w"), namespace=None)
    grant(session, project, committer, "commit")
    group = make_group(session, unique("g"), grouped)
    project = session.get(Project, project.id)
    core_projects.set_group_access(session, owner, project, group, "ticket")
    social.set_watch(session, fan, project, social.WATCH_COMMITS)
    social.set_watch(session, committer, project, social.WATCH_NONE)
    session.commit()
    resp = client.get(f"{API}/{project.name}/watchers")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {
        "total_watchers": 3,
        "watchers": {owner.name: ["issues"], fan.name: ["commits"],
                     "@" + group.name: ["issues"]},
    }
    social.set_watch(session, owner, project, social.WATCH_ALL)
    session.commit()
    data = client.get(f"{API}/{project.name}/watchers").get_json()
    assert data["watchers"][owner.name] == ["issues", "commits"]


def test_watchers_of_a_private_project_are_hidden_from_outsiders(client, session, settings,
                                                                  make_user, make_token):
    owner, member, stranger = make_user(), make_user(), make_user()
    project = make_project(session, settings, owner, unique("w"), private=True)
    grant(session, project, member, "ticket")
    url = f"{API}/{project.name}/watchers"
    assert error_of(client.get(url)) == (404, "ENOPROJECT")
    assert error_of(client.get(url, headers=auth(make_token(stranger, ["issue_create"])))) == (
        404, "ENOPROJECT")
    resp = client.get(url, headers=auth(make_token(member, ["issue_create"])))
    assert resp.status_code == 200
    assert resp.get_json()["watchers"] == {owner.name: ["issues"], member.name: ["issues"]}


def test_a_user_changes_their_own_watch_status_and_reads_pagures_messages(
        client, session, settings, make_user, make_token):
    owner, fan = make_user(), make_user()
    project = make_project(session, settings, owner, unique("w"))
    url = f"{API}/{project.name}/watchers/update"
    headers = auth(make_token(fan, ["update_watch_status"]))
    steps = (
        ("1", "You are now watching issues and PRs on this project", ["issues"]),
        ("2", "You are now watching commits on this project", ["commits"]),
        (3, "You are now watching issues, PRs, and commits on this project",
         ["issues", "commits"]),
        ("0", "You are no longer watching this project", []),
        ("-1", "Watch status reset", []),
        ("-1", "Watch status is already reset", []),
    )
    for status, message, now in steps:
        resp = client.post(url, headers=headers, json={"watcher": fan.name, "status": status})
        assert resp.status_code == 200, resp.get_json()
        assert resp.get_json() == {"message": message, "status": "ok"}
        session.expire_all()
        assert social.watch_level(session, fan, session.get(Project, project.id)) == now
    assert watch_rows(session, project) == []
    # a form body, a modify_project token, and the watcher's name in another case
    resp = client.post(url, headers=auth(make_token(fan, ["modify_project"])),
                       data={"watcher": fan.name.upper(), "status": "2"})
    assert resp.get_json() == {"message": "You are now watching commits on this project",
                               "status": "ok"}
    assert client.get(f"{API}/{project.name}/watchers").get_json()["watchers"][fan.name] == [
        "commits"]


def test_a_logged_in_user_unwatches_through_the_api_with_a_csrf_header(client, session,
                                                                        settings, make_user):
    owner = make_user()
    project = make_project(session, settings, owner, unique("w"))
    login_as(client, owner)
    url = f"{API}/{project.name}/watchers/update"
    body = {"watcher": owner.name, "status": "0"}
    assert error_of(client.post(url, json=body)) == (401, "EINVALIDTOK")
    assert watch_rows(session, project) == []
    resp = client.post(url, json=body, headers={"X-CSRFToken": csrf_of(client)})
    assert resp.get_json()["message"] == "You are no longer watching this project"
    assert watch_rows(session, project) == [(owner.id, False, False)]
    assert client.get(f"{API}/{project.name}/watchers").get_json() == {
        "total_watchers": 0, "watchers": {}}


def test_only_a_site_admin_changes_someone_elses_watch_status(client, session, settings,
                                                              make_user, make_token):
    owner, fan, admin = make_user(), make_user(), make_user(admin=True)
    project = make_project(session, settings, owner, unique("w"))
    url = f"{API}/{project.name}/watchers/update"
    owner_token = auth(make_token(owner, ["update_watch_status"]))
    resp = client.post(url, headers=owner_token, json={"watcher": fan.name, "status": "3"})
    assert error_of(resp) == (401, "EMODIFYPROJECTNOTALLOWED")
    assert "errors" not in resp.get_json()
    # an unknown name is refused the same way to a non-admin: names are not probed
    assert error_of(client.post(url, headers=owner_token, json={
        "watcher": unique("nobody"), "status": "3"})) == (401, "EMODIFYPROJECTNOTALLOWED")
    assert watch_rows(session, project) == []
    admin_token = auth(make_token(admin, ["modify_project"]))
    resp = client.post(url, headers=admin_token, json={"watcher": fan.name, "status": "2"})
    assert resp.get_json() == {"message": "You are now watching commits on this project",
                               "status": "ok"}
    assert watch_rows(session, project) == [(fan.id, False, True)]
    assert error_of(client.post(url, headers=admin_token, json={
        "watcher": unique("nobody"), "status": "2"})) == (400, "EINVALIDREQ")


def test_bad_watch_status_updates_are_refused_and_change_nothing(client, session, settings,
                                                                 make_user, make_token):
    owner, other_owner, blocked = make_user(), make_user(), make_user()
    project = make_project(session, settings, owner, unique("w"))
    other = make_project(session, settings, other_owner, unique("w"))
    url = f"{API}/{project.name}/watchers/update"
    token = auth(make_token(owner, ["update_watch_status"]))
    assert error_of(client.post(url, headers=token, json={"status": "1"})) == (
        400, "EINVALIDREQ")
    assert error_of(client.post(url, headers=token, json={"watcher": " ", "status": "1"})) == (
        400, "EINVALIDREQ")
    resp = client.post(url, headers=token, json={"watcher": owner.name})
    assert error_of(resp) == (400, "ENOCODE")
    assert resp.get_json()["error"] == 'The watch value of "None" is invalid'
    for bad in ("42", "-2", "", "one", 1.5, True, [1]):
        resp = client.post(url, headers=token, json={"watcher": owner.name, "status": bad})
        assert error_of(resp) == (400, "ENOCODE"), bad
    assert client.post(url, headers=token, json={"watcher": owner.name, "status": "42"}
                       ).get_json()["error"] == 'The watch value of "42" is invalid'
    # the token: missing, lacking the ACL, bound to another project
    assert error_of(client.post(url, json={"watcher": owner.name, "status": "1"})) == (
        401, "EINVALIDTOK")
    resp = client.post(url, headers=auth(make_token(owner, ["issue_create"])),
                       json={"watcher": owner.name, "status": "1"})
    assert error_of(resp) == (401, "EINVALIDTOK")
    assert "update_watch_status" in resp.get_json()["errors"]
    resp = client.post(url, headers=auth(make_token(owner, ["update_watch_status"],
                                                    project=other)),
                       json={"watcher": owner.name, "status": "1"})
    assert error_of(resp) == (401, "EINVALIDTOK")
    # a user blocked on the project may not change anything there
    project = session.get(Project, project.id)
    core_projects.block_users(session, owner, project, [blocked.name])
    session.commit()
    resp = client.post(url, headers=auth(make_token(blocked, ["update_watch_status"])),
                       json={"watcher": blocked.name, "status": "3"})
    assert error_of(resp) == (403, "EUBLOCKED")
    assert watch_rows(session, project) == []


def test_watch_updates_on_a_private_project_are_404_to_outsiders(client, session, settings,
                                                                 make_user, make_token):
    owner, stranger, admin = make_user(), make_user(), make_user(admin=True)
    project = make_project(session, settings, owner, unique("w"), private=True)
    url = f"{API}/{project.name}/watchers/update"
    resp = client.post(url, headers=auth(make_token(stranger, ["update_watch_status"])),
                       json={"watcher": stranger.name, "status": "1"})
    assert error_of(resp) == (404, "ENOPROJECT")
    # a site admin sees the project, but may not make a stranger watch it
    resp = client.post(url, headers=auth(make_token(admin, ["update_watch_status"])),
                       json={"watcher": stranger.name, "status": "1"})
    assert error_of(resp) == (404, "ENOPROJECT")
    assert watch_rows(session, project) == []


def test_the_openapi_document_describes_the_watcher_endpoints(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    for form in ("/{repo}", "/{namespace}/{repo}", "/fork/{username}/{repo}",
                 "/fork/{username}/{namespace}/{repo}"):
        assert "get" in paths[form + "/watchers"]
        update = paths[form + "/watchers/update"]["post"]
        assert "update_watch_status" in update["description"]
        assert "EMODIFYPROJECTNOTALLOWED" in update["responses"]["401"]["description"]
        assert "ENOCODE" in update["responses"]["400"]["description"]
        assert "watcher" in update["requestBody"]["content"]["application/json"]["schema"][
            "required"]
