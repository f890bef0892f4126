"""Project admins use {P}/settings: details, options, access, give, delete."""

from __future__ import annotations

import re

import pytest
from conftest import csrf_of, login_as, unique

from pagurus.core import access
from pagurus.core import groups as core_groups
from pagurus.core import projects as core_projects
from pagurus.git import repos as git_repos
from pagurus.model import Project, utcnow
from pagurus.paths import REPO_KINDS, repo_path
from pagurus.tasks.status import wait_for


def new_project(session, settings, owner, *, private=False, repos=False):
    project = core_projects.create_project(session, settings, owner, unique("p"), "desc",
                                           private=private)
    if repos:
        for kind in REPO_KINDS:
            git_repos.init_bare(repo_path(settings.data_dir, kind, project.fullname), "main")
    project.repo_state = "ready"
    session.commit()
    return project


def post(client, target, **data):
    return client.post(target, data={"csrf_token": csrf_of(client), **data})


def fresh(session, project):
    session.expire_all()
    return session.get(Project, project.id)


def test_the_owner_sees_every_settings_section(client, make_user, session, settings):
    owner = make_user()
    project = new_project(session, settings, owner)
    login_as(client, owner)
    page = client.get(f"/{project.name}/settings")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    for action in ("/update", "/settings", "/adduser", "/addgroup", "/give", "/delete"):
        assert f'action="/{project.name}{action}"' in body, action
    assert 'class="tab active" href="/' + project.name + '/settings"' in body


@pytest.mark.parametrize("level", [None, "ticket", "collaborator", "commit"])
def test_settings_are_404_for_non_admins(client, make_user, session, settings, level):
    owner, user = make_user(), make_user()
    project = new_project(session, settings, owner)
    if level:
        core_projects.set_user_access(session, owner, project, user, level,
                                      "feature/*" if level == "collaborator" else None)
        session.commit()
    login_as(client, user)
    assert client.get(f"/{project.name}/settings").status_code == 404
    for suffix in ("/settings", "/update", "/adduser", "/addgroup", "/give", "/delete"):
        assert post(client, f"/{project.name}{suffix}", description="x", user=user.name,
                    access="admin", confirm=project.name).status_code == 404, suffix
    assert fresh(session, project).description == "desc"
    assert not access.can_admin(session, user, fresh(session, project))
    # and the overview shows no Settings tab
    assert f'href="/{project.name}/settings"'.encode() not in client.get(f"/{project.name}").data


def test_settings_are_404_for_anonymous_visitors(client, make_user, session, settings):
    project = new_project(session, settings, make_user())
    assert client.get(f"/{project.name}/settings").status_code == 404


def test_an_old_login_must_be_renewed_before_settings(client, make_user, session, settings):
    owner = make_user()
    project = new_project(session, settings, owner)
    login_as(client, owner)
    with client.session_transaction() as sess:
        sess["login_at"] = utcnow().timestamp() - (settings.admin_session_minutes + 5) * 60
    resp = client.get(f"/{project.name}/settings")
    assert resp.status_code == 302 and "/login/" in resp.headers["Location"]


def test_a_site_admin_reaches_any_settings(client, make_user, session, settings):
    project = new_project(session, settings, make_user(), private=True)
    login_as(client, make_user(admin=True))
    assert client.get(f"/{project.name}/settings").status_code == 200


def test_the_owner_edits_the_details(client, make_user, session, settings):
    owner = make_user()
    project = new_project(session, settings, owner, private=True)
    login_as(client, owner)
    resp = post(client, f"/{project.name}/update", description="New words",
                url="https://example.com", avatar_email="a@example.com",
                tags="alpha, beta,alpha")
    assert resp.status_code == 302
    row = fresh(session, project)
    assert row.description == "New words" and row.url == "https://example.com"
    assert sorted(t.name for t in row.tags) == ["alpha", "beta"]
    assert row.private is False  # the private box was not ticked


def test_bad_details_change_nothing(client, make_user, session, settings):
    owner = make_user()
    project = new_project(session, settings, owner)
    login_as(client, owner)
    resp = post(client, f"/{project.name}/update", description="Changed",
                url="javascript:alert(1)")
    assert resp.status_code == 400
    assert b'id="f-url-error"' in resp.data
    row = fresh(session, project)
    assert row.description == "desc" and row.url == ""
    resp = post(client, f"/{project.name}/update", description="  ")
    assert resp.status_code == 400 and b'id="f-description-error"' in resp.data


def test_unchecked_options_become_false(client, make_user, session, settings):
    owner = make_user()
    project = new_project(session, settings, owner)
    login_as(client, owner)
    assert core_projects.settings_of(project)["issue_tracker"] is True
    resp = post(client, f"/{project.name}/settings", pull_requests="1",
                always_merge="on", **{"Minimum_score_to_merge_pull-request": "2",
                                      "Web-hooks": "https://hooks.example/a"})
    assert resp.status_code == 302
    opts = core_projects.settings_of(fresh(session, project))
    assert opts["issue_tracker"] is False
    assert opts["mqtt_notifications"] is False
    assert opts["pull_requests"] is True and opts["always_merge"] is True
    assert opts["Minimum_score_to_merge_pull-request"] == 2
    assert opts["Web-hooks"] == "https://hooks.example/a"
    # the Issues tab is gone, the Pull requests tab is there
    body = client.get(f"/{project.name}").get_data(as_text=True)
    assert f'href="/{project.name}/issues"' not in body
    assert f'href="/{project.name}/pull-requests"' in body


def test_a_bad_minimum_score_changes_no_option(client, make_user, session, settings):
    owner = make_user()
    project = new_project(session, settings, owner)
    login_as(client, owner)
    resp = post(client, f"/{project.name}/settings",
                **{"Minimum_score_to_merge_pull-request": "lots"})
    assert resp.status_code == 400
    assert core_projects.settings_of(fresh(session, project))["issue_tracker"] is True


def test_the_owner_adds_and_removes_a_user(client, make_user, session, settings):
    owner, user = make_user(), make_user()
    project = new_project(session, settings, owner)
    login_as(client, owner)
    assert post(client, f"/{project.name}/adduser", user=user.name,
                access="commit").status_code == 302
    assert access.level(session, user, fresh(session, project)) == access.Level.COMMIT
    page = client.get(f"/{project.name}/settings").get_data(as_text=True)
    assert f'action="/{project.name}/dropuser/{user.id}"' in page
    assert post(client, f"/{project.name}/dropuser/{user.id}").status_code == 302
    assert access.level(session, user, fresh(session, project)) == access.Level.NONE


def test_a_collaborator_needs_branches(client, make_user, session, settings):
    owner, user = make_user(), make_user()
    project = new_project(session, settings, owner)
    login_as(client, owner)
    resp = post(client, f"/{project.name}/adduser", user=user.name, access="collaborator")
    assert resp.status_code == 400
    assert b'id="f-branches-error"' in resp.data
    assert access.level(session, user, fresh(session, project)) == access.Level.NONE
    resp = post(client, f"/{project.name}/adduser", user=user.name, access="collaborator",
                branches="feature/*, fix-*")
    assert resp.status_code == 302
    row = fresh(session, project)
    assert access.can_commit(session, user, row, "feature/x")
    assert not access.can_commit(session, user, row, "main")


def test_unknown_users_and_levels_are_refused(client, make_user, session, settings):
    owner, user = make_user(), make_user()
    project = new_project(session, settings, owner)
    login_as(client, owner)
    resp = post(client, f"/{project.name}/adduser", user=unique("nobody"), access="commit")
    assert resp.status_code == 400 and b"found" in resp.data
    resp = post(client, f"/{project.name}/adduser", user=user.name, access="god")
    assert resp.status_code == 400
    assert fresh(session, project).user_access == []


def test_the_owner_adds_and_removes_a_group(client, make_user, session, settings):
    owner, member = make_user(), make_user()
    group = core_groups.create_group(session, unique("g"), member)
    project = new_project(session, settings, owner)
    login_as(client, owner)
    assert post(client, f"/{project.name}/addgroup", group=group.name,
                access="ticket").status_code == 302
    assert access.level(session, member, fresh(session, project)) == access.Level.TICKET
    assert post(client, f"/{project.name}/dropgroup/{group.id}").status_code == 302
    assert access.level(session, member, fresh(session, project)) == access.Level.NONE
    resp = post(client, f"/{project.name}/addgroup", group=unique("nogroup"), access="ticket")
    assert resp.status_code == 400


def test_a_user_may_leave_a_project(client, make_user, session, settings):
    owner, user = make_user(), make_user()
    project = new_project(session, settings, owner)
    core_projects.set_user_access(session, owner, project, user, "ticket")
    session.commit()
    login_as(client, user)
    resp = post(client, f"/{project.name}/dropuser/{user.id}")
    assert resp.status_code == 302 and resp.headers["Location"] == f"/{project.name}"
    assert access.level(session, user, fresh(session, project)) == access.Level.NONE
    # but not remove somebody else
    other = make_user()
    core_projects.set_user_access(session, owner, project, other, "commit")
    core_projects.set_user_access(session, owner, project, user, "commit")
    session.commit()
    assert post(client, f"/{project.name}/dropuser/{other.id}").status_code == 404


def test_the_owner_gives_the_project_and_stays_admin(client, make_user, session, settings):
    owner, heir = make_user(), make_user()
    project = new_project(session, settings, owner)
    login_as(client, owner)
    resp = post(client, f"/{project.name}/give", user=heir.name)
    assert resp.status_code == 302
    row = fresh(session, project)
    assert row.user_id == heir.id
    assert access.level(session, owner, row) == access.Level.ADMIN


def test_a_plain_admin_cannot_give_the_project(client, make_user, session, settings):
    owner, admin, heir = make_user(), make_user(), make_user()
    project = new_project(session, settings, owner)
    core_projects.set_user_access(session, owner, project, admin, "admin")
    session.commit()
    login_as(client, admin)
    page = client.get(f"/{project.name}/settings").get_data(as_text=True)
    assert f'action="/{project.name}/give"' not in page
    post(client, f"/{project.name}/give", user=heir.name)
    assert fresh(session, project).user_id == owner.id


def test_deleting_needs_the_typed_name(client, make_user, session, settings):
    owner = make_user()
    project = new_project(session, settings, owner)
    login_as(client, owner)
    resp = post(client, f"/{project.name}/delete", confirm="wrong")
    assert resp.status_code == 400 and b'id="f-confirm-error"' in resp.data
    assert fresh(session, project).repo_state == "ready"


def test_the_owner_deletes_a_project(client, make_user, session, settings, worker):
    owner = make_user()
    project = new_project(session, settings, owner, repos=True)
    path = repo_path(settings.data_dir, "main", project.fullname)
    tickets = repo_path(settings.data_dir, "tickets", project.fullname)
    assert path.is_dir() and tickets.is_dir()
    login_as(client, owner)
    resp = post(client, f"/{project.name}/delete", confirm=project.name)
    assert resp.status_code == 302
    # gone at once for everyone
    assert client.get(f"/{project.name}").status_code == 404
    task = re.search(r"/wait/([A-Za-z0-9-]+)", resp.headers["Location"]).group(1)
    wait_for(task, settings.task_wait_seconds)
    done = client.get(resp.headers["Location"])
    assert done.status_code == 302 and done.headers["Location"] == "/"
    project_id = project.id
    session.expunge_all()
    assert session.get(Project, project_id) is None
    assert not path.exists()
    assert not tickets.exists()


def test_settings_changes_need_a_csrf_token(client, make_user, session, settings):
    owner, user = make_user(), make_user()
    project = new_project(session, settings, owner)
    login_as(client, owner)
    assert client.post(f"/{project.name}/update",
                       data={"description": "x"}).status_code == 400
    assert client.post(f"/{project.name}/adduser",
                       data={"user": user.name, "access": "admin"}).status_code == 400
    assert client.post(f"/{project.name}/delete",
                       data={"confirm": project.name}).status_code == 400
    row = fresh(session, project)
    assert row.description == "desc" and row.user_access == [] and row.repo_state == "ready"
