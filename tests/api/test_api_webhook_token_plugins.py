"""A project's webhook signing key and its git-hook plugins through API v0
(spec §2.2 ``{P}/webhook/token``, §2.8 plugins)."""

from __future__ import annotations

from apihelp import API, error_of, grant, make_group, make_project
from conftest import auth, unique

from pagurus.core import magic_words, pushrules
from pagurus.core import projects as core_projects
from pagurus.model import Project

FORCE = "Block non fast-forward pushes"
OFFERED = [
    {"Block Un-Signed commits": []},
    {FORCE: ["branches"]},
    {"Pagure": []},
    {"Prevent creating new branches by git push": []},
]


def plugins_of(session, project):
    session.expire_all()
    return session.get(Project, project.id).plugins


# -- webhook token -----------------------------------------------------------------------

def test_people_with_access_read_the_webhook_token(client, session, settings, make_user,
                                                   make_token):
    owner, reporter, grouped = make_user(), make_user(), make_user()
    project = make_project(session, settings, owner, unique("h"))
    grant(session, project, reporter, "ticket")
    group = make_group(session, unique("g"), grouped)
    core_projects.set_group_access(session, owner, session.get(Project, project.id), group,
                                   "commit")
    session.commit()
    url = f"{API}/{project.name}/webhook/token"
    for user in (owner, reporter, grouped):
        resp = client.get(url, headers=auth(make_token(user, ["issue_comment"])))
        assert resp.status_code == 200, resp.get_json()
        assert resp.get_json() == {"webhook": {"token": project.hook_token}, "status": "ok"}
        assert resp.headers["Cache-Control"] == "no-store"
    assert len(project.hook_token) >= 40


def test_the_webhook_token_is_refused_to_everyone_else(client, session, settings, make_user,
                                                       make_token):
    owner, stranger, other_owner = make_user(), make_user(), make_user()
    project = make_project(session, settings, owner, unique("h"))
    secret = make_project(session, settings, owner, unique("h"), private=True)
    other = make_project(session, settings, other_owner, unique("h"))
    url = f"{API}/{project.name}/webhook/token"
    resp = client.get(url, headers=auth(make_token(stranger, ["modify_project"])))
    assert error_of(resp) == (401, "ENOTHIGHENOUGH")
    assert project.hook_token not in resp.get_data(as_text=True)
    assert error_of(client.get(url)) == (401, "EINVALIDTOK")
    assert error_of(client.get(url, headers=auth(make_token(owner, ["modify_project"],
                                                            project=other)))) == (
        401, "EINVALIDTOK")
    assert error_of(client.get(f"{API}/{secret.name}/webhook/token",
                               headers=auth(make_token(stranger, ["modify_project"])))) == (
        404, "ENOPROJECT")
    # blocked on the project: no more secrets from it
    core_projects.block_users(session, owner, session.get(Project, project.id), [stranger.name])
    grant(session, project, stranger, "ticket")
    resp = client.get(url, headers=auth(make_token(stranger, ["modify_project"])))
    assert error_of(resp) == (401, "ENOTHIGHENOUGH")


# -- plugins -----------------------------------------------------------------------------

def test_the_instance_lists_the_plugins_it_offers(client, app, settings, monkeypatch):
    resp = client.get(f"{API}/_plugins")
    assert resp.status_code == 200
    assert resp.get_json() == {"plugins": OFFERED, "total_plugins": 4}
    monkeypatch.setitem(app.extensions["pagurus"], "settings",
                        settings.replace(extra={"disabled_plugins": ["Pagure", "Nope"]}))
    assert client.get(f"{API}/_plugins").get_json() == {
        "plugins": [p for p in OFFERED if "Pagure" not in p], "total_plugins": 3}


def test_an_admin_installs_and_removes_plugins_that_the_rules_then_follow(
        client, session, settings, make_user, make_token):
    owner, admin = make_user(), make_user()
    project = make_project(session, settings, owner, unique("h"))
    grant(session, project, admin, "admin")
    token = auth(make_token(admin, ["modify_project"]))
    base = f"{API}/{project.name}/settings"
    assert client.get(f"{base}/plugins").get_json() == {"plugins": [], "total_plugins": 0}

    resp = client.post(f"{base}/{FORCE}/install", headers=token,
                       data={"branches": " main, release ", "active": "n", "other": "x"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"message": f"Hook '{FORCE}' activated",
                               "plugin": {"branches": "main, release"}}
    resp = client.post(f"{base}/Pagure/install", headers=token)
    assert resp.get_json() == {"message": "Hook 'Pagure' activated", "plugin": {}}
    assert plugins_of(session, project) == {
        FORCE: {"active": True, "branches": "main, release"}, "Pagure": {"active": True}}
    row = session.get(Project, project.id)
    assert pushrules.protected_branches(pushrules.plugin(row, FORCE)) == ["main", "release"]
    assert magic_words.plugin_active(row)
    assert client.get(f"{base}/plugins").get_json() == {
        "plugins": [{FORCE: {"branches": "main, release"}}, {"Pagure": {}}],
        "total_plugins": 2}

    # installing again replaces the settings
    resp = client.post(f"{base}/{FORCE.replace(' ', '%20')}/install", headers=token,
                       json={"branches": "*"})
    assert resp.get_json()["plugin"] == {"branches": "*"}

    resp = client.post(f"{base}/{FORCE}/remove", headers=token)
    assert resp.get_json() == {"message": f"Hook '{FORCE}' deactivated",
                               "plugin": {"branches": "*"}}
    plugins_of(session, project)
    assert pushrules.plugin(session.get(Project, project.id), FORCE) is None
    assert client.get(f"{base}/plugins").get_json() == {"plugins": [{"Pagure": {}}],
                                                        "total_plugins": 1}
    assert error_of(client.post(f"{base}/{FORCE}/remove", headers=token)) == (
        400, "EPLUGINNOTINSTALLED")
    assert error_of(client.post(f"{base}/Block Un-Signed commits/remove", headers=token)) == (
        400, "EPLUGINNOTINSTALLED")
    # the owner may too; settings of a removed plugin are kept
    owner_token = auth(make_token(owner, ["modify_project"]))
    assert client.post(f"{base}/Pagure/remove", headers=owner_token).status_code == 200
    assert plugins_of(session, project) == {
        FORCE: {"active": False, "branches": "*"}, "Pagure": {"active": False}}


def test_plugin_changes_with_bad_names_rights_or_settings_change_nothing(
        client, session, settings, make_user, make_token, app, monkeypatch):
    owner, committer, stranger = make_user(), make_user(), make_user()
    project = make_project(session, settings, owner, unique("h"))
    secret = make_project(session, settings, owner, unique("h"), private=True)
    grant(session, project, committer, "commit")
    base = f"{API}/{project.name}/settings"
    token = auth(make_token(owner, ["modify_project"]))
    assert error_of(client.post(f"{base}/Nope/install", headers=token)) == (404, "ENOPLUGIN")
    assert error_of(client.post(f"{base}/pagure/install", headers=token)) == (404, "ENOPLUGIN")
    for name in ("Mail", "IRC", "Pagure CI", "Read the Doc", "Mirroring"):
        assert error_of(client.post(f"{base}/{name}/install", headers=token,
                                    data={"mail_to": "a@example.com"})) == (
            404, "EPLUGINDISABLED"), name
    assert error_of(client.post(f"{base}/default/install", headers=token)) == (
        403, "EPLUGINCHANGENOTALLOWED")
    assert error_of(client.post(f"{base}/default/remove", headers=token)) == (
        403, "EPLUGINCHANGENOTALLOWED")
    # settings
    for bad in ({}, {"branches": "  "}, {"branches": "main\nx"}, {"branches": "a" * 1025},
                {"branches": ["main"]}):
        resp = client.post(f"{base}/{FORCE}/install", headers=token, json=bad)
        assert error_of(resp) == (400, "EINVALIDREQ"), bad
        assert list(resp.get_json()["errors"]) == ["branches"]
    # rights and tokens
    assert error_of(client.post(f"{base}/Pagure/install",
                                headers=auth(make_token(committer, ["modify_project"])))) == (
        401, "EMODIFYPROJECTNOTALLOWED")
    assert error_of(client.post(f"{base}/Pagure/install",
                                headers=auth(make_token(owner, ["issue_create"])))) == (
        401, "EINVALIDTOK")
    assert error_of(client.post(f"{base}/Pagure/install")) == (401, "EINVALIDTOK")
    # a private project the caller may not see
    assert error_of(client.post(f"{API}/{secret.name}/settings/Pagure/install",
                                headers=auth(make_token(stranger, ["modify_project"])))) == (
        404, "ENOPROJECT")
    assert error_of(client.get(f"{API}/{secret.name}/settings/plugins")) == (
        404, "ENOPROJECT")
    # a plugin the instance disabled
    monkeypatch.setitem(app.extensions["pagurus"], "settings",
                        settings.replace(extra={"disabled_plugins": "Pagure, IRC"}))
    assert error_of(client.post(f"{base}/Pagure/install", headers=token)) == (
        404, "EPLUGINDISABLED")
    assert plugins_of(session, project) == {}
    assert plugins_of(session, secret) == {}


def test_the_openapi_document_describes_the_plugin_and_webhook_endpoints(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    assert paths["/_plugins"]["get"]["tags"] == ["plugins"]
    for form in ("/{repo}", "/{namespace}/{repo}", "/fork/{username}/{repo}",
                 "/fork/{username}/{namespace}/{repo}"):
        assert "get" in paths[form + "/settings/plugins"]
        install = paths[form + "/settings/{plugin}/install"]["post"]
        assert "modify_project" in install["description"]
        assert "EPLUGINCHANGENOTALLOWED" in install["responses"]["403"]["description"]
        remove = paths[form + "/settings/{plugin}/remove"]["post"]
        assert "EPLUGINNOTINSTALLED" in remove["responses"]["400"]["description"]
        token = paths[form + "/webhook/token"]["get"]
        assert "ENOTHIGHENOUGH" in token["responses"]["401"]["description"]
        assert token["security"] == [{"tokenAuth": []}, {"sessionAuth": []}]
