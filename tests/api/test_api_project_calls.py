"""Project lists, lookups, access, options and tokens (no git work needed)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from apihelp import API, error_of, grant, make_group, make_project, project_row
from conftest import auth, csrf_of, login_as, unique

from pagurus.core import tokens as core_tokens
from pagurus.model import Project, ProjectTag

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "\"><script>alert(1)</script>",
    "{{7*7}} {% raw %}{{config}}{% endraw %}",
    "naïve café 名前 \u202e evil \u200d",
    "a\r\nb\tc",
    "x" * 5000,
]


# -- visibility and lists -------------------------------------------------------------

def test_members_see_a_private_project_and_non_members_get_404(client, session, settings,
                                                               make_user, make_token):
    owner, member, outsider = make_user(), make_user(), make_user()
    project = make_project(session, settings, owner, unique("p"), private=True)
    grant(session, project, member, "ticket")
    url = f"{API}/{project.name}"
    assert client.get(url, headers=auth(make_token(member, ["fork_project"]))).status_code == 200
    assert error_of(client.get(url, headers=auth(make_token(outsider, ["fork_project"])))) == (
        404, "ENOPROJECT")
    for suffix in ("/contributors", "/options"):
        resp = client.get(url + suffix, headers=auth(make_token(outsider, ["modify_project"])))
        assert error_of(resp) == (404, "ENOPROJECT")
    login_as(client, member)
    assert client.get(url).status_code == 200


def test_projects_list_filters_and_hides_private_projects(client, session, settings, make_user,
                                                          make_token):
    owner, other = make_user(), make_user()
    tag = unique("tag")
    ns = unique("ns")
    pub = make_project(session, settings, owner, unique("alpha"))
    priv = make_project(session, settings, owner, unique("beta"), private=True)
    theirs = make_project(session, settings, other, unique("gamma"))
    session.get(Project, pub.id).tags = [ProjectTag(name=tag)]
    session.commit()

    def names(query, token=None):
        resp = client.get(f"{API}/projects?{query}", headers=auth(token) if token else {})
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    data = names(f"owner={owner.name}")
    assert [p["name"] for p in data["projects"]] == [pub.name]
    assert data["total_projects"] == 1
    assert data["args"]["owner"] == owner.name and data["args"]["page"] == 1
    mine = names(f"owner={owner.name}", make_token(owner, ["fork_project"]))
    assert sorted(p["name"] for p in mine["projects"]) == sorted([pub.name, priv.name])
    assert names(f"username={owner.name}")["total_projects"] == 1
    not_owner = names(f"owner=!{owner.name}&pattern={theirs.name}")
    assert [p["name"] for p in not_owner["projects"]] == [theirs.name]
    assert [p["name"] for p in names(f"tags={tag}")["projects"]] == [pub.name]
    wildcard = names(f"pattern={pub.name[:8].upper()}*&owner={owner.name}&short=1")
    assert wildcard["projects"] == [{"name": pub.name, "namespace": None,
                                     "fullname": pub.name, "description": "A project"}]
    assert names(f"pattern={pub.name}&fork=true")["total_projects"] == 0
    assert names(f"namespace={ns}")["total_projects"] == 0
    resp = client.get(f"{API}/projects?username={owner.name}&owner={owner.name}")
    assert error_of(resp) == (400, "EINVALIDREQ")


def test_projects_pagination_links_keep_the_query(client, session, settings, make_user):
    owner = make_user()
    for i in range(3):
        make_project(session, settings, owner, unique(f"pg{i}"))
    data = client.get(f"{API}/projects?owner={owner.name}&per_page=2&_x=1").get_json()
    pag = data["pagination"]
    assert len(data["projects"]) == 2 and data["total_projects"] == 3
    assert pag["page"] == 1 and pag["pages"] == 2 and pag["per_page"] == 2
    assert pag["prev"] is None
    assert pag["next"] == (f"http://pagurus.test/api/0/projects?owner={owner.name}"
                           "&per_page=2&page=2")
    assert pag["first"].endswith("page=1") and pag["last"].endswith("page=2")
    page2 = client.get(pag["next"].replace("http://pagurus.test", "")).get_json()
    assert len(page2["projects"]) == 1 and page2["pagination"]["next"] is None


@pytest.mark.parametrize("query,code", [
    ("per_page=101", "EINVALIDPERPAGEVALUE"),
    ("per_page=0", "EINVALIDPERPAGEVALUE"),
    ("per_page=x", "EINVALIDREQ"),
    ("page=0", "EINVALIDREQ"),
    ("page=-3", "EINVALIDREQ"),
    ("page=x", "EINVALIDREQ"),
])
def test_bad_pagination_is_refused(client, query, code):
    for path in ("/projects", "/groups"):
        assert error_of(client.get(f"{API}{path}?{query}")) == (400, code)


def test_project_json_shape_and_group_expansion(client, session, settings, make_user,
                                                make_token):
    owner, member = make_user(), make_user()
    project = make_project(session, settings, owner, unique("shape"))
    group = make_group(session, unique("g"), owner)
    raw = make_token(owner, ["modify_project"])
    resp = client.post(f"{API}/{project.name}/git/modifyacls", headers=auth(raw),
                       data={"user_type": "group", "name": group.name, "acl": "commit"})
    assert resp.status_code == 200, resp.get_json()
    grant(session, project, member, "admin")
    data = client.get(f"{API}/{project.name}?expand_group=1").get_json()
    assert set(data) >= {"id", "name", "fullname", "url_path", "full_url", "description",
                         "namespace", "parent", "date_created", "date_modified", "user",
                         "access_users", "access_groups", "tags", "priorities",
                         "custom_keys", "close_status", "milestones", "group_details"}
    assert data["full_url"] == f"http://pagurus.test/{project.name}"
    assert data["access_users"]["owner"] == [owner.name]
    assert data["access_users"]["admin"] == [member.name]
    assert data["access_groups"]["commit"] == [group.name]
    assert data["group_details"] == {group.name: [owner.name]}
    assert "settings" not in data


def test_hostile_descriptions_come_back_as_the_same_json_string(client, session, settings,
                                                                make_user, make_token):
    owner = make_user()
    for text in HOSTILE:
        project = make_project(session, settings, owner, unique("h"), description=text)
        resp = client.get(f"{API}/{project.name}")
        assert resp.status_code == 200
        assert resp.mimetype == "application/json"
        assert resp.get_json()["description"] == text
    raw = make_token(owner, ["create_project"])
    resp = client.post(API + "/new", headers=auth(raw),
                       data={"name": "<script>", "description": HOSTILE[0], "wait": "0"})
    assert error_of(resp) == (400, "ENOCODE")
    resp = client.post(API + "/new", headers={**auth(raw)},
                       data=b"name=x%ff%fe&description=%ff%fe&wait=0",
                       content_type="application/x-www-form-urlencoded")
    assert resp.status_code in (200, 400)


# -- PATCH {P} -----------------------------------------------------------------------

def test_owner_hands_project_over_and_keeps_admin_access(client, session, settings,
                                                         make_user, make_token):
    owner, heir = make_user(), make_user()
    project = make_project(session, settings, owner, unique("give"))
    raw = make_token(owner, ["modify_project"])
    url = f"{API}/{project.name}"
    assert error_of(client.patch(url, headers=auth(raw), json={})) == (400, "EINVALIDREQ")
    assert error_of(client.patch(url, headers=auth(raw), json={"name": "x"})) == (
        400, "EINVALIDREQ")
    assert error_of(client.patch(url, headers=auth(raw),
                                 json={"main_admin": unique("ghost")})) == (400, "ENOUSER")
    resp = client.patch(url, headers=auth(raw),
                        json={"main_admin": heir.name, "retain_access": True})
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()
    assert data["user"]["name"] == heir.name
    assert data["user"]["default_email"] == heir.default_email
    assert data["access_users"]["admin"] == [owner.name]
    # the old owner is now only an admin: they may not hand it over again
    resp = client.patch(url, headers=auth(raw), data={"main_admin": owner.name})
    assert error_of(resp) == (401, "ENOTMAINADMIN")


def test_non_admin_cannot_patch_a_project(client, session, settings, make_user, make_token):
    owner, committer = make_user(), make_user()
    project = make_project(session, settings, owner, unique("nopatch"))
    grant(session, project, committer, "commit")
    resp = client.patch(f"{API}/{project.name}", headers=auth(make_token(committer,
                                                                         ["modify_project"])),
                        json={"main_admin": committer.name})
    assert error_of(resp) == (401, "EMODIFYPROJECTNOTALLOWED")
    assert project_row(session, project.name).user_id == owner.id


# -- ACLs and contributors ---------------------------------------------------------------

def test_admin_adds_changes_and_removes_users_and_groups(client, session, settings, make_user,
                                                         make_token):
    owner, dev = make_user(), make_user()
    group = make_group(session, unique("team"), owner)
    project = make_project(session, settings, owner, unique("acl"), namespace=None)
    raw = make_token(owner, ["modify_project"])
    url = f"{API}/{project.name}/git/modifyacls"

    def contributors():
        return client.get(f"{API}/{project.name}/contributors").get_json()

    assert client.post(url, headers=auth(raw), data={"user_type": "user", "name": dev.name,
                                                     "acl": "ticket"}).status_code == 200
    assert contributors()["users"]["ticket"] == [dev.name]
    resp = client.post(url, headers=auth(raw), json={"user_type": "user", "name": dev.name,
                                                     "acl": "commit"})
    assert resp.get_json()["access_users"]["commit"] == [dev.name]
    assert client.post(url, headers=auth(raw), json={"user_type": "group", "name": group.name,
                                                     "acl": "admin"}).status_code == 200
    data = contributors()
    assert data == {
        "users": {"admin": [owner.name], "commit": [dev.name], "ticket": [],
                  "collaborators": []},
        "groups": {"admin": [group.name], "commit": [], "ticket": [], "collaborators": []},
    }
    assert client.post(url, headers=auth(raw), data={"user_type": "user", "name": dev.name,
                                                     "acl": ""}).status_code == 200
    assert client.post(url, headers=auth(raw), data={"user_type": "group",
                                                     "name": group.name}).status_code == 200
    data = contributors()
    assert data["users"]["commit"] == [] and data["groups"]["admin"] == []
    for fields, expected in [
        ({"user_type": "user", "name": unique("ghost"), "acl": "commit"}, (404, "ENOUSER")),
        ({"user_type": "group", "name": unique("ghost"), "acl": "commit"}, (404, "ENOGROUP")),
        ({"user_type": "robot", "name": dev.name, "acl": "commit"}, (400, "EINVALIDREQ")),
        ({"user_type": "user", "name": dev.name, "acl": "collaborator"}, (400, "EINVALIDREQ")),
        ({"user_type": "user", "acl": "commit"}, (400, "EINVALIDREQ")),
    ]:
        assert error_of(client.post(url, headers=auth(raw), data=fields)) == expected


def test_non_admin_cannot_grant_access_but_may_leave(client, session, settings, make_user,
                                                     make_token):
    owner, dev, friend = make_user(), make_user(), make_user()
    project = make_project(session, settings, owner, unique("leave"))
    grant(session, project, dev, "commit")
    raw = make_token(dev, ["modify_project"])
    url = f"{API}/{project.name}/git/modifyacls"
    resp = client.post(url, headers=auth(raw), data={"user_type": "user", "name": friend.name,
                                                     "acl": "commit"})
    assert error_of(resp) == (401, "EMODIFYPROJECTNOTALLOWED")
    resp = client.post(url, headers=auth(raw), data={"user_type": "user", "name": dev.name})
    assert resp.status_code == 200
    assert resp.get_json()["access_users"]["commit"] == []


def test_project_token_is_refused_on_another_project(client, session, settings, make_user,
                                                     make_token):
    owner = make_user()
    first = make_project(session, settings, owner, unique("one"))
    second = make_project(session, settings, owner, unique("two"))
    raw = make_token(owner, ["modify_project"], project=first)
    assert client.get(f"{API}/{first.name}/options", headers=auth(raw)).status_code == 200
    resp = client.get(f"{API}/{second.name}/options", headers=auth(raw))
    assert error_of(resp) == (401, "EINVALIDTOK")
    resp = client.post(f"{API}/{second.name}/options/update", headers=auth(raw),
                       data={"issue_tracker": "false"})
    assert error_of(resp) == (401, "EINVALIDTOK")


def test_blocked_user_cannot_change_the_project(client, session, settings, make_user,
                                                make_token):
    owner, pest = make_user(), make_user()
    project = make_project(session, settings, owner, unique("block"))
    grant(session, project, pest, "admin")
    owner_token = make_token(owner, ["modify_project"], project=project)
    user_token = make_token(owner, ["modify_project"])
    url = f"{API}/{project.name}/blockuser"
    assert error_of(client.post(url, headers=auth(user_token),
                                data={"username": pest.name})) == (401, "EINVALIDTOK")
    assert error_of(client.post(url, headers=auth(owner_token),
                                data={"username": unique("ghost")})) == (400, "ENOCODE")
    resp = client.post(url, headers=auth(owner_token), data={"username": [pest.name]})
    assert resp.get_json() == {"message": "User(s) blocked"}
    pest_token = make_token(pest, ["modify_project"])
    resp = client.post(f"{API}/{project.name}/options/update", headers=auth(pest_token),
                       data={"issue_tracker": "false"})
    assert error_of(resp) == (403, "EUBLOCKED")
    assert client.get(f"{API}/{project.name}", headers=auth(pest_token)).status_code == 200


# -- options -----------------------------------------------------------------------------

def test_admin_reads_and_updates_options(client, session, settings, make_user, make_token):
    owner = make_user()
    project = make_project(session, settings, owner, unique("opt"))
    raw = make_token(owner, ["modify_project"])
    url = f"{API}/{project.name}/options"
    data = client.get(url, headers=auth(raw)).get_json()
    assert data["status"] == "ok"
    assert data["settings"]["issue_tracker"] is True
    assert data["settings"]["Minimum_score_to_merge_pull-request"] == -1
    resp = client.post(url + "/update", headers=auth(raw),
                       data={"issue_tracker": "false", "Minimum_score_to_merge_pull-request": "2",
                             "no_such_key": "1"})
    assert resp.get_json() == {
        "message": f"Edited successfully settings of repo: {project.name}", "status": "ok"}
    data = client.get(url, headers=auth(raw)).get_json()["settings"]
    assert data["issue_tracker"] is False
    assert data["Minimum_score_to_merge_pull-request"] == 2
    assert data["pull_requests"] is True  # not mentioned: unchanged
    resp = client.post(url + "/update", headers=auth(raw), json={"issue_tracker": False})
    assert resp.get_json()["message"] == "No settings to change"
    resp = client.post(url + "/update", headers=auth(raw),
                       data={"Minimum_score_to_merge_pull-request": "lots"})
    assert error_of(resp) == (400, "ENOCODE")
    assert "Minimum_score_to_merge_pull-request" in resp.get_json()["error"]
    resp = client.post(url + "/update", headers=auth(raw), json={"issue_tracker": ["x"]})
    assert error_of(resp) == (400, "EINVALIDREQ")
    assert client.get(url, headers=auth(raw)).get_json()["settings"][
        "Minimum_score_to_merge_pull-request"] == 2


def test_user_token_with_modify_project_cannot_touch_someone_elses_options(
        client, session, settings, make_user, make_token):
    owner, stranger = make_user(), make_user()
    project = make_project(session, settings, owner, unique("notyours"))
    raw = make_token(stranger, ["modify_project"])
    url = f"{API}/{project.name}/options"
    assert error_of(client.get(url, headers=auth(raw))) == (401, "EMODIFYPROJECTNOTALLOWED")
    resp = client.post(url + "/update", headers=auth(raw), data={"issue_tracker": "false"})
    assert error_of(resp) == (401, "EMODIFYPROJECTNOTALLOWED")
    session.expire_all()
    assert session.get(Project, project.id).settings["issue_tracker"] is True


def test_session_post_without_csrf_changes_nothing(client, session, settings, make_user):
    owner = make_user()
    project = make_project(session, settings, owner, unique("csrf"))
    login_as(client, owner)
    url = f"{API}/{project.name}/options/update"
    resp = client.post(url, data={"issue_tracker": "false"})
    assert error_of(resp) == (401, "EINVALIDTOK")
    session.expire_all()
    assert session.get(Project, project.id).settings["issue_tracker"] is True
    resp = client.post(url, data={"issue_tracker": "false"},
                       headers={"X-CSRFToken": csrf_of(client)})
    assert resp.status_code == 200
    session.expire_all()
    assert session.get(Project, project.id).settings["issue_tracker"] is False


# -- tokens ----------------------------------------------------------------------------

def test_admin_creates_a_project_token_that_works_once_shown(client, session, settings,
                                                             make_user, make_token):
    owner = make_user()
    project = make_project(session, settings, owner, unique("tok"))
    raw = make_token(owner, ["modify_project"])
    url = f"{API}/{project.name}/token/new"
    resp = client.post(url, headers=auth(raw),
                       json={"acls": ["issue_create", "modify_project"],
                             "description": "CI bot"})
    assert resp.status_code == 200, resp.get_json()
    token = resp.get_json()["token"]
    assert token["description"] == "CI bot" and len(token["id"]) == 64
    row = core_tokens.find_token(session, token["id"])
    assert row.project_id == project.id and row.user_id == owner.id
    assert row.acls == ["issue_create", "modify_project"]
    assert client.get(f"{API}/{project.name}/options",
                      headers=auth(token["id"])).status_code == 200
    connector = client.get(f"{API}/{project.name}/connector",
                           headers=auth(token["id"])).get_json()["connector"]
    assert connector["hook_token"]
    assert {"description": "CI bot", "id": token["id"][:8], "expired": False} in connector[
        "api_tokens"]
    soon = (date.today() + timedelta(days=10)).isoformat()
    resp = client.post(url, headers=auth(raw), data={"acls": ["issue_create"],
                                                     "expiration_date": soon})
    assert resp.status_code == 200
    for fields in ({"acls": ["internal_access"]}, {"acls": ["nope"]}, {},
                   {"acls": ["issue_create"], "expiration_date": "2020-01-01"},
                   {"acls": ["issue_create"], "expiration_date": "tomorrow"},
                   {"acls": ["issue_create"],
                    "expiration_date": (date.today() + timedelta(days=800)).isoformat()}):
        assert error_of(client.post(url, headers=auth(raw), json=fields))[0] == 400, fields


def test_non_admin_cannot_create_project_tokens(client, session, settings, make_user,
                                                make_token):
    owner, dev = make_user(), make_user()
    project = make_project(session, settings, owner, unique("tok2"))
    grant(session, project, dev, "commit")
    raw = make_token(dev, ["modify_project"])
    resp = client.post(f"{API}/{project.name}/token/new", headers=auth(raw),
                       data={"acls": "issue_create"})
    assert error_of(resp) == (401, "ENOTHIGHENOUGH")
    assert error_of(client.get(f"{API}/{project.name}/connector", headers=auth(raw))) == (
        401, "ENOTHIGHENOUGH")
