"""core.projects: creation rules, namespaces, settings, ownership."""

import pytest
from sqlalchemy import func, select

from pagurus.core import groups, projects, users
from pagurus.core.errors import Conflict, InvalidInput, NotAllowed, NotFound
from pagurus.model import Event, Project


def count(session):
    return session.scalar(select(func.count(Project.id))), session.scalar(
        select(func.count(Event.id)))


@pytest.mark.parametrize("ns,name", [
    (None, "../x"), (None, "-x"), ("a/b", "c"), (None, "x" * 300), (None, "a\x01b"),
    (None, ".x"), (None, "api"), ("forks", "x"), (None, ""), (None, "a b"),
])
def test_bad_names_create_nothing(session, settings, make_user, ns, name):
    owner = make_user(admin=True)
    before = count(session)
    with pytest.raises(InvalidInput):
        projects.create_project(session, settings, owner, name, "d", namespace=ns)
    session.rollback()
    assert count(session) == before


def test_names_are_unique_regardless_of_case(session, settings, make_user):
    owner = make_user()
    name = "Dup" + owner.name[-8:]
    projects.create_project(session, settings, owner, name, "d")
    session.commit()
    with pytest.raises(Conflict):
        projects.create_project(session, settings, make_user(), name.lower(), "d")
    session.rollback()


def test_a_description_is_required(session, settings, make_user):
    with pytest.raises(InvalidInput):
        projects.create_project(session, settings, make_user(), "nodesc", "   ")
    session.rollback()


def test_namespaces_are_groups_of_the_user_or_allowed_prefixes(session, settings, make_user):
    user = make_user()
    group = groups.create_group(session, "ns" + user.name[-8:], user)
    session.commit()
    p = projects.create_project(session, settings, user, "inns", "d", namespace=group.name)
    assert p.fullname == f"{group.name}/inns"
    with pytest.raises(InvalidInput):
        projects.create_project(session, settings, make_user(), "x", "d", namespace=group.name)
    session.rollback()
    allowed = settings.replace(allowed_prefix=("rpms",))
    p2 = projects.create_project(session, allowed, user, "pk" + user.name[-6:], "d",
                                 namespace="rpms")
    assert p2.namespace == "rpms"
    session.rollback()


def test_private_flag_follows_instance_setting(session, settings, make_user):
    user = make_user()
    off = settings.replace(private_projects=False)
    p = projects.create_project(session, off, user, "pv" + user.name[-8:], "d", private=True)
    assert p.private is False
    session.rollback()


def test_settings_are_coerced_and_unknown_keys_ignored(session, settings, make_user):
    owner = make_user()
    p = projects.create_project(session, settings, owner, "st" + owner.name[-8:], "d")
    changed = projects.update_settings(session, owner, p, {
        "always_merge": "true", "Minimum_score_to_merge_pull-request": "2", "bogus": 1})
    assert sorted(changed) == ["Minimum_score_to_merge_pull-request", "always_merge"]
    s = projects.settings_of(p)
    assert s["always_merge"] is True and s["Minimum_score_to_merge_pull-request"] == 2
    assert "bogus" not in s
    with pytest.raises(InvalidInput):
        projects.update_settings(session, owner, p, {"Minimum_score_to_merge_pull-request": "x"})
    with pytest.raises(NotAllowed):
        projects.update_settings(session, make_user(), p, {"always_merge": False})
    session.rollback()


def test_only_owner_or_site_admin_gives_a_project(session, settings, make_user):
    owner, admin, heir = make_user(), make_user(), make_user()
    p = projects.create_project(session, settings, owner, "gv" + owner.name[-8:], "d")
    projects.set_user_access(session, owner, p, admin, "admin")
    with pytest.raises(NotAllowed):
        projects.give_project(session, admin, p, heir)
    projects.give_project(session, owner, p, heir, retain_access=True)
    assert p.user_id == heir.id
    assert projects.contributors(session, p)["users"]["admin"] == [heir.name] + sorted(
        [admin.name, owner.name])
    session.rollback()


def test_collaborator_access_needs_branch_patterns(session, settings, make_user):
    owner, other = make_user(), make_user()
    p = projects.create_project(session, settings, owner, "co" + owner.name[-8:], "d")
    with pytest.raises(InvalidInput):
        projects.set_user_access(session, owner, p, other, "collaborator", "")
    with pytest.raises(InvalidInput):
        projects.set_user_access(session, owner, p, other, "superuser")
    projects.set_user_access(session, owner, p, other, "collaborator", "rel/*")
    assert projects.contributors(session, p)["users"]["collaborators"] == [
        {"user": other.name, "branches": "rel/*"}]
    session.rollback()


def test_a_user_may_remove_their_own_access_only(session, settings, make_user):
    owner, a, b = make_user(), make_user(), make_user()
    p = projects.create_project(session, settings, owner, "rm" + owner.name[-8:], "d")
    projects.set_user_access(session, owner, p, a, "commit")
    projects.set_user_access(session, owner, p, b, "commit")
    with pytest.raises(NotAllowed):
        projects.set_user_access(session, a, p, b, None)
    projects.set_user_access(session, a, p, a, None)
    assert projects.contributors(session, p)["users"]["commit"] == [b.name]
    session.rollback()


def test_private_projects_are_not_found_for_strangers(session, settings, make_user):
    owner = make_user()
    name = "hid" + owner.name[-8:]
    projects.create_project(session, settings, owner, name, "d", private=True)
    session.commit()
    with pytest.raises(NotFound) as missing:
        projects.find_visible(session, make_user(), "nonexistent-" + name)
    with pytest.raises(NotFound) as hidden:
        projects.find_visible(session, make_user(), name)
    assert (missing.value.code, missing.value.message) == (hidden.value.code,
                                                           hidden.value.message)
    assert projects.find_visible(session, owner, name.upper()).name == name


def test_authentication_refuses_blocked_and_unconfirmed(session, make_user):
    from datetime import timedelta

    from pagurus.model import utcnow

    good = make_user()
    assert users.authenticate(session, good.name, "correct horse battery").id == good.id
    with pytest.raises(users.LoginRefused):
        users.authenticate(session, good.name, "wrong password")
    pending = make_user(active=False)
    with pytest.raises(users.LoginRefused, match="confirmed"):
        users.authenticate(session, pending.name, "correct horse battery")
    users.block_user(good, utcnow() + timedelta(days=1))
    with pytest.raises(users.LoginRefused, match="blocked"):
        users.authenticate(session, good.name, "correct horse battery")
    session.rollback()
