"""Users create groups, manage members, edit and delete them from the UI."""

from __future__ import annotations

from conftest import csrf_of, login_as, unique
from sqlalchemy import select

from pagurus.core import access
from pagurus.core import groups as core_groups
from pagurus.core import projects as core_projects
from pagurus.model import Group


def post(client, target, **data):
    return client.post(target, data={"csrf_token": csrf_of(client), **data})


def group_named(session, name):
    session.expire_all()
    return core_groups.get_group(session, name)


def member_names(session, name):
    return {u.name for u in core_groups.members(group_named(session, name))}


def test_a_user_creates_a_group_and_becomes_its_member(client, make_user, session):
    user = make_user()
    login_as(client, user)
    page = client.get("/groups").get_data(as_text=True)
    assert 'action="/group/add"' in page
    assert 'name="group_type"' not in page  # only site admins pick the type
    name = unique("grp")
    resp = post(client, "/group/add", group_name=name, display_name=f"The {name}",
                description="We do things")
    assert resp.status_code == 302 and resp.headers["Location"] == f"/group/{name}"
    body = client.get(f"/group/{name}").get_data(as_text=True)
    assert f"The {name}" in body and "We do things" in body
    assert f'href="/user/{user.name}"' in body and "creator" in body
    assert member_names(session, name) == {user.name}
    assert f'href="/group/{name}"' in client.get(f"/groups?pattern={name}").get_data(
        as_text=True)


def test_bad_group_names_are_refused_next_to_the_field(client, make_user, session):
    login_as(client, make_user())
    for bad in ("has space", "-x", "forks", "a/b", ""):
        resp = post(client, "/group/add", group_name=bad, display_name=unique("d"))
        assert resp.status_code == 400, bad
        assert b'id="f-group_name-error"' in resp.data, bad
    assert session.scalar(select(Group).where(Group.name == "has space")) is None


def test_a_duplicate_group_is_refused(client, make_user, session):
    user = make_user()
    group = core_groups.create_group(session, unique("dup"), user)
    session.commit()
    login_as(client, user)
    resp = post(client, "/group/add", group_name=group.name.upper())
    assert resp.status_code == 400 and b"already a group" in resp.data


def test_creating_a_group_needs_a_login_and_a_csrf_token(client, make_user, session):
    name = unique("grp")
    resp = post(client, "/group/add", group_name=name)
    assert resp.status_code == 302 and "/login/" in resp.headers["Location"]
    login_as(client, make_user())
    assert client.post("/group/add", data={"group_name": name}).status_code == 400
    assert core_groups.get_group(session, name) is None


def test_only_site_admins_create_and_see_admin_groups(client, make_user, session):
    user, admin = make_user(), make_user(admin=True)
    login_as(client, user)
    name = unique("adm")
    resp = post(client, "/group/add", group_name=name, group_type="admin")
    assert resp.status_code == 400
    assert core_groups.get_group(session, name) is None
    login_as(client, admin)
    assert 'name="group_type"' in client.get("/groups").get_data(as_text=True)
    assert post(client, "/group/add", group_name=name, group_type="admin").status_code == 302
    assert f'href="/group/{name}"' in client.get(f"/groups?pattern={name}").get_data(
        as_text=True)
    # hidden from everyone else, like a missing group
    login_as(client, user)
    assert f'href="/group/{name}"' not in client.get(f"/groups?pattern={name}").get_data(
        as_text=True)
    assert client.get(f"/group/{name}").status_code == 404
    with client.session_transaction() as sess:  # the anonymous visitor too
        sess.clear()
    assert client.get(f"/group/{name}").status_code == 404
    assert client.get(f"/group/{unique('missing')}").status_code == 404


def test_anonymous_visitors_see_a_group_but_change_nothing(client, make_user, session):
    creator, other = make_user(), make_user()
    group = core_groups.create_group(session, unique("grp"), creator)
    session.commit()
    page = client.get(f"/group/{group.name}").get_data(as_text=True)
    assert f'href="/user/{creator.name}"' in page and 'name="user"' not in page
    resp = post(client, f"/group/{group.name}", user=other.name)
    assert resp.status_code == 302 and "/login/" in resp.headers["Location"]
    assert member_names(session, group.name) == {creator.name}


def test_members_add_and_remove_members(client, make_user, session):
    creator, friend, third = make_user(), make_user(), make_user()
    group = core_groups.create_group(session, unique("grp"), creator)
    session.commit()
    login_as(client, creator)
    assert post(client, f"/group/{group.name}", user=friend.name).status_code == 302
    assert member_names(session, group.name) == {creator.name, friend.name}
    # a member may add others too, and remove them
    login_as(client, friend)
    post(client, f"/group/{group.name}", user=third.name)
    assert third.name in member_names(session, group.name)
    page = client.get(f"/group/{group.name}").get_data(as_text=True)
    assert f'action="/group/{group.name}/{third.name}/delete"' in page
    assert post(client, f"/group/{group.name}/{third.name}/delete").status_code == 302
    assert third.name not in member_names(session, group.name)


def test_the_creator_stays_and_outsiders_change_nothing(client, make_user, session):
    creator, outsider, friend = make_user(), make_user(), make_user()
    group = core_groups.create_group(session, unique("grp"), creator)
    core_groups.add_member(session, group, creator, friend)
    session.commit()
    login_as(client, friend)
    resp = post(client, f"/group/{group.name}/{creator.name}/delete")
    assert b"cannot be removed" in client.get(resp.headers["Location"]).data
    assert creator.name in member_names(session, group.name)
    login_as(client, outsider)
    page = client.get(f"/group/{group.name}").get_data(as_text=True)
    assert 'name="user"' not in page and "/delete\"" not in page
    post(client, f"/group/{group.name}", user=outsider.name)
    post(client, f"/group/{group.name}/{friend.name}/delete")
    assert member_names(session, group.name) == {creator.name, friend.name}
    # unknown users are reported
    login_as(client, creator)
    resp = post(client, f"/group/{group.name}", user=unique("ghost"))
    assert b"found" in client.get(resp.headers["Location"]).data


def test_members_edit_the_group(client, make_user, session):
    creator, friend, outsider = make_user(), make_user(), make_user()
    group = core_groups.create_group(session, unique("grp"), creator)
    core_groups.add_member(session, group, creator, friend)
    session.commit()
    login_as(client, outsider)
    assert client.get(f"/group/{group.name}/edit").status_code == 404
    assert post(client, f"/group/{group.name}/edit",
                display_name="Hijacked").status_code == 404
    login_as(client, friend)
    assert client.get(f"/group/{group.name}/edit").status_code == 200
    new_display = unique("Display ")
    resp = post(client, f"/group/{group.name}/edit", display_name=new_display,
                description="Changed")
    assert resp.status_code == 302
    row = group_named(session, group.name)
    assert row.display_name == new_display and row.description == "Changed"
    resp = post(client, f"/group/{group.name}/edit", display_name="  ", description="x")
    assert resp.status_code == 400 and b'id="f-display_name-error"' in resp.data
    assert group_named(session, group.name).description == "Changed"


def test_the_creator_deletes_the_group_and_its_project_access(client, make_user, session,
                                                              settings):
    creator, friend = make_user(), make_user()
    group = core_groups.create_group(session, unique("grp"), creator)
    core_groups.add_member(session, group, creator, friend)
    project = core_projects.create_project(session, settings, make_user(), unique("p"), "d")
    core_projects.set_group_access(session, project.user, project, group, "commit")
    session.commit()
    assert access.level(session, friend, project) == access.Level.COMMIT
    login_as(client, friend)  # a member, not the creator
    page = client.get(f"/group/{group.name}").get_data(as_text=True)
    assert f'action="/group/{group.name}/delete"' not in page
    post(client, f"/group/{group.name}/delete")
    assert group_named(session, group.name) is not None
    login_as(client, creator)
    resp = post(client, f"/group/{group.name}/delete")
    assert resp.status_code == 302 and resp.headers["Location"] == "/groups"
    assert group_named(session, group.name) is None
    assert access.level(session, friend, project) == access.Level.NONE


def test_group_pages_list_only_visible_projects(client, make_user, session, settings):
    creator = make_user()
    group = core_groups.create_group(session, unique("grp"), creator)
    public = core_projects.create_project(session, settings, creator, unique("p"), "d")
    private = core_projects.create_project(session, settings, creator, unique("p"), "d",
                                           private=True)
    core_projects.set_group_access(session, creator, public, group, "ticket")
    core_projects.set_group_access(session, creator, private, group, "ticket")
    session.commit()
    body = client.get(f"/group/{group.name}").get_data(as_text=True)
    assert f'href="/{public.name}"' in body and private.name not in body
    login_as(client, creator)
    body = client.get(f"/group/{group.name}").get_data(as_text=True)
    assert f'href="/{private.name}"' in body


def test_the_group_list_paginates(client, make_user, session, settings):
    creator = make_user()
    prefix = unique("gp")
    for i in range(settings.items_per_page + 1):
        core_groups.create_group(session, f"{prefix}{i:03d}", creator)
    session.commit()
    first = client.get(f"/groups?pattern={prefix}").get_data(as_text=True)
    assert first.count(f'href="/group/{prefix}') == settings.items_per_page
    second = client.get(f"/groups?pattern={prefix}&page=2").get_data(as_text=True)
    assert second.count(f'href="/group/{prefix}') == 1
