"""Users and groups through the API."""

from __future__ import annotations

from apihelp import API, error_of, grant, make_group, make_project
from conftest import auth, unique

from pagurus.model import Group


def test_users_are_listed_by_prefix_for_mentions(client, make_user):
    prefix = unique("mention")
    alice, bob = make_user(prefix + "a"), make_user(prefix + "b")
    data = client.get(f"{API}/users?pattern={prefix}").get_json()
    assert data["total_users"] == 2
    assert data["users"] == [alice.name, bob.name]
    assert data["mention"][0]["username"] == alice.name
    assert data["mention"][0]["name"] == alice.fullname
    assert data["mention"][0]["image"].startswith("http://pagurus.test/")
    assert client.get(f"{API}/users/?pattern={prefix}b").get_json()["users"] == [bob.name]


def test_user_page_lists_visible_repos_and_forks_with_pagination(client, session, settings,
                                                                 make_user, make_token):
    user, other = make_user(), make_user()
    public = make_project(session, settings, user, unique("r1"))
    secret = make_project(session, settings, user, unique("r2"), private=True)
    shared = make_project(session, settings, other, unique("r3"))
    grant(session, shared, user, "commit")
    data = client.get(f"{API}/user/{user.name}?per_page=1").get_json()
    assert data["user"]["name"] == user.name
    assert data["user"]["avatar_url"]
    assert "default_email" not in data["user"]
    assert data["repos_pagination"]["pages"] == 2  # public + shared, not the private one
    assert data["repos_pagination"]["repopage"] == 1
    assert data["forks"] == [] and data["forks_pagination"]["pages"] == 0
    assert data["forks_pagination"]["last"].endswith("forkpage=0")
    names = {p["name"] for p in data["repos"]}
    page2 = client.get(f"{API}/user/{user.name}?per_page=1&repopage=2").get_json()
    names |= {p["name"] for p in page2["repos"]}
    assert names == {public.name, shared.name}
    mine = client.get(f"{API}/user/{user.name}",
                      headers=auth(make_token(user, ["fork_project"]))).get_json()
    assert {p["name"] for p in mine["repos"]} == {public.name, secret.name, shared.name}
    assert error_of(client.get(f"{API}/user/{unique('ghost')}")) == (404, "ENOUSER")
    assert error_of(client.get(f"{API}/user/{user.name}?repopage=0")) == (400, "EINVALIDREQ")


def test_groups_list_hides_admin_groups_from_non_admins(client, session, make_user,
                                                        make_token):
    admin = make_user(admin=True)
    prefix = unique("grp")
    normal = make_group(session, prefix + "-users", admin)
    hidden = make_group(session, prefix + "-admins", admin, group_type="admin")
    data = client.get(f"{API}/groups?pattern={prefix}").get_json()
    assert data["groups"] == [normal.name] and data["total_groups"] == 1
    assert data["pagination"]["page"] == 1
    as_admin = client.get(f"{API}/groups/?pattern={prefix.upper()}&extended=1",
                          headers=auth(make_token(admin, ["group_modify"]))).get_json()
    assert as_admin["groups"] == [{"name": hidden.name, "description": ""},
                                  {"name": normal.name, "description": ""}]
    assert error_of(client.get(f"{API}/group/{hidden.name}")) == (404, "ENOGROUP")
    assert error_of(client.get(f"{API}/group/{unique('none')}")) == (404, "ENOGROUP")


def test_group_page_shows_projects_by_level_and_emails_only_to_the_authenticated(
        client, session, settings, make_user, make_token):
    creator = make_user()
    group = make_group(session, unique("devs"), creator)
    raw = make_token(creator, ["modify_project"])
    committed = make_project(session, settings, creator, unique("gc"))
    administered = make_project(session, settings, creator, unique("ga"))
    hidden = make_project(session, settings, creator, unique("gh"), private=True)
    for project, level in ((committed, "commit"), (administered, "admin"), (hidden, "ticket")):
        resp = client.post(f"{API}/{project.name}/git/modifyacls", headers=auth(raw),
                           data={"user_type": "group", "name": group.name, "acl": level})
        assert resp.status_code == 200
    anon = client.get(f"{API}/group/{group.name}").get_json()
    assert anon["name"] == group.name and anon["members"] == [creator.name]
    assert "default_email" not in anon["creator"] and "projects" not in anon
    data = client.get(f"{API}/group/{group.name}?projects=1&acl=commit").get_json()
    assert {p["name"] for p in data["projects"]} == {committed.name, administered.name}
    data = client.get(f"{API}/group/{group.name}?projects=1&acl=admin").get_json()
    assert [p["name"] for p in data["projects"]] == [administered.name]
    authed = client.get(f"{API}/group/{group.name}?projects=true",
                        headers=auth(raw)).get_json()
    assert authed["creator"]["default_email"] == creator.default_email
    assert authed["total_projects"] == 3 and authed["pagination"]["pages"] == 1
    assert error_of(client.get(f"{API}/group/{group.name}?projects=1&acl=boss")) == (
        400, "EINVALIDREQ")
    assert error_of(client.get(f"{API}/group/{group.name}", headers=auth("bad"))) == (
        401, "EINVALIDTOK")


def test_member_adds_and_removes_users_in_a_group(client, session, make_user, make_token):
    creator, friend, stranger = make_user(), make_user(), make_user()
    group = make_group(session, unique("crew"), creator)
    raw = make_token(creator, ["group_modify"])
    url = f"{API}/group/{group.name}"
    resp = client.post(url + "/add", headers=auth(raw), data={"user": friend.name})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["members"] == sorted([creator.name, friend.name])
    resp = client.post(url + "/add", headers=auth(raw), json={"user": friend.name})
    assert error_of(resp) == (400, "EDBERROR")
    assert isinstance(resp.get_json()["errors"], list)
    assert error_of(client.post(url + "/add", headers=auth(raw),
                                data={"user": unique("ghost")})) == (400, "EDBERROR")
    assert error_of(client.post(url + "/add", headers=auth(raw), data={})) == (
        400, "EINVALIDREQ")
    outsider = make_token(stranger, ["group_modify"])
    assert error_of(client.post(url + "/add", headers=auth(outsider),
                                data={"user": stranger.name})) == (400, "EDBERROR")
    assert error_of(client.post(url + "/remove", headers=auth(raw),
                                data={"user": creator.name})) == (400, "EDBERROR")
    resp = client.post(url + "/remove", headers=auth(raw), data={"user": friend.name})
    assert resp.get_json()["members"] == [creator.name]
    no_acl = make_token(creator, ["modify_project"])
    resp = client.post(url + "/add", headers=auth(no_acl), data={"user": friend.name})
    assert error_of(resp) == (401, "EINVALIDTOK")
    assert resp.get_json()["errors"] == "Missing ACLs: group_modify"
    session.expire_all()
    assert len(session.get(Group, group.id).memberships) == 1
