"""Project admins turn the git-hook plugins on and off at
{P}/settings/hooks (what pushes then obey, as the API's plugin endpoints
set them): a missing required field, another user, or an unknown plugin
changes nothing."""

from __future__ import annotations

from conftest import csrf_of, login_as, unique

from pagurus.core import projects as core_projects
from pagurus.core import pushrules
from pagurus.model import Project

FORCE = pushrules.PLUGIN_FORCE_PUSH


def _project(session, settings, owner):
    project = core_projects.create_project(session, settings, owner, unique("hk"), "d")
    core_projects.mark_ready(project)
    session.commit()
    return project


def _post(client, project, plugin, **form):
    return client.post(f"/{project.url_path}/settings/{plugin}",
                       data={"csrf_token": csrf_of(client), **form})


def _fresh(session, project):
    session.expire_all()
    return session.get(Project, project.id)


def test_an_admin_turns_a_hook_on_sets_it_and_turns_it_off(client, session, settings,
                                                            make_user):
    owner = make_user()
    project = _project(session, settings, owner)
    login_as(client, owner)
    settings_page = client.get(f"/{project.url_path}/settings").get_data(as_text=True)
    assert f'href="/{project.url_path}/settings/hooks"' in settings_page
    page = client.get(f"/{project.url_path}/settings/hooks").get_data(as_text=True)
    assert FORCE in page and pushrules.PLUGIN_SIGNED_OFF in page
    resp = _post(client, project, FORCE, active="y", branches="main, release/*")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(
        "/settings/hooks#hook-block-non-fast-forward-pushes")
    conf = pushrules.plugin(_fresh(session, project), FORCE)
    assert conf is not None and conf["branches"] == "main, release/*"
    page = client.get(f"/{project.url_path}/settings/hooks").get_data(as_text=True)
    assert 'value="main, release/*"' in page
    assert _post(client, project, FORCE, branches="main").status_code == 302  # unchecked
    assert pushrules.plugin(_fresh(session, project), FORCE) is None
    # its settings are kept for the next time
    assert (_fresh(session, project).plugins or {})[FORCE]["branches"] == "main, release/*"


def test_bad_hook_settings_and_other_users_change_nothing(client, session, settings,
                                                          make_user):
    owner, committer = make_user(), make_user()
    project = _project(session, settings, owner)
    core_projects.set_user_access(session, owner, project, committer, "commit")
    session.commit()
    login_as(client, owner)
    resp = _post(client, project, FORCE, active="y", branches="  ")
    assert resp.status_code == 400
    assert "This field is required." in resp.get_data(as_text=True)
    resp = _post(client, project, FORCE, active="y", branches="ma\x07in")
    assert resp.status_code == 400
    assert _post(client, project, "No such hook", active="y").status_code == 404
    assert not (_fresh(session, project).plugins or {}).get(FORCE)
    login_as(client, committer)
    assert client.get(f"/{project.url_path}/settings/hooks").status_code == 404
    assert _post(client, project, pushrules.PLUGIN_SIGNED_OFF, active="y").status_code == 404
    assert pushrules.plugin(_fresh(session, project), pushrules.PLUGIN_SIGNED_OFF) is None
