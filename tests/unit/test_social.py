"""Stars and watch choices (core.social) on a real database."""

from __future__ import annotations

import pytest
from conftest import unique

from pagurus.core import groups as core_groups
from pagurus.core import projects as core_projects
from pagurus.core import social
from pagurus.core.errors import InvalidInput, NotAllowed, NotFound


def new_project(session, settings, owner, private=False):
    project = core_projects.create_project(session, settings, owner, unique("p"), "desc",
                                           private=private)
    project.repo_state = "ready"
    session.commit()
    return project


def test_a_user_stars_and_unstars_a_project(session, settings, make_user):
    owner, fan = make_user(), make_user()
    project = new_project(session, settings, owner)
    assert social.star(session, fan, project, True) is True
    assert social.star(session, fan, project, True) is False  # already starred
    session.commit()
    assert social.is_starred(session, fan, project)
    assert social.star_count(session, project) == 1
    assert [u.name for u in social.stargazers(session, project)] == [fan.name]
    assert project in social.user_stars(session, fan)
    assert social.star(session, fan, project, False) is True
    session.commit()
    assert social.star_count(session, project) == 0
    assert social.user_stars(session, fan) == []


def test_nobody_stars_a_private_project_they_cannot_see(session, settings, make_user):
    owner, stranger = make_user(), make_user()
    project = new_project(session, settings, owner, private=True)
    with pytest.raises(NotFound):
        social.star(session, stranger, project, True)
    assert social.star_count(session, project) == 0


def test_starred_private_projects_are_hidden_from_other_viewers(session, settings, make_user):
    owner, member, other = make_user(), make_user(), make_user()
    project = new_project(session, settings, owner, private=True)
    core_projects.set_user_access(session, owner, project, member, "ticket")
    social.star(session, member, project, True)
    session.commit()
    assert social.user_stars(session, member) == [project]
    assert social.user_stars(session, member, viewer=other) == []


def test_owner_and_people_with_access_watch_issues_by_default(session, settings, make_user):
    owner, committer, grouped, stranger = make_user(), make_user(), make_user(), make_user()
    project = new_project(session, settings, owner)
    core_projects.set_user_access(session, owner, project, committer, "commit")
    group = core_groups.create_group(session, unique("g"), grouped)
    core_projects.set_group_access(session, owner, project, group, "ticket")
    session.commit()
    assert social.watch_level(session, owner, project) == ["issues"]
    assert social.watch_level(session, committer, project) == ["issues"]
    assert social.watch_level(session, grouped, project) == ["issues"]
    assert social.watch_level(session, stranger, project) == []
    assert social.watch_level(session, None, project) == []
    assert social.watch_status(session, owner, project) == social.WATCH_ISSUES
    data = social.watchers(session, project)
    assert data["watchers"] == {owner.name: ["issues"], committer.name: ["issues"],
                                "@" + group.name: ["issues"]}
    assert data["total_watchers"] == 3
    assert {u.name for u in social.watcher_users(session, project, "issues")} == {
        owner.name, committer.name, grouped.name}
    assert social.watcher_users(session, project, "commits") == []


def test_every_watch_level_and_the_reset(session, settings, make_user):
    owner, fan = make_user(), make_user()
    project = new_project(session, settings, owner)
    assert social.set_watch(session, fan, project, 2) == ["commits"]
    assert social.set_watch(session, fan, project, "3") == ["issues", "commits"]
    assert social.set_watch(session, fan, project, 1) == ["issues"]
    session.commit()
    assert social.watchers(session, project)["watchers"][fan.name] == ["issues"]
    assert social.set_watch(session, fan, project, 0) == []
    assert social.is_explicit(session, fan, project)
    # the owner unwatches: the explicit choice beats the default
    assert social.set_watch(session, owner, project, 0) == []
    session.commit()
    data = social.watchers(session, project)
    assert owner.name not in data["watchers"] and fan.name not in data["watchers"]
    assert data["total_watchers"] == 0
    assert social.set_watch(session, owner, project, -1) == ["issues"]
    session.commit()
    assert not social.is_explicit(session, owner, project)
    assert social.watchers(session, project)["watchers"] == {owner.name: ["issues"]}


@pytest.mark.parametrize("bad", ["4", "-2", "x", "", None, "1.5"])
def test_an_unknown_watch_level_is_refused(session, settings, make_user, bad):
    owner = make_user()
    project = new_project(session, settings, owner)
    with pytest.raises(InvalidInput) as err:
        social.set_watch(session, owner, project, bad)
    assert err.value.code == "ENOCODE"
    assert not social.is_explicit(session, owner, project)


def test_only_the_watcher_or_a_site_admin_changes_a_watch(session, settings, make_user):
    owner, fan, admin = make_user(), make_user(), make_user(admin=True)
    project = new_project(session, settings, owner)
    with pytest.raises(NotAllowed):
        social.set_watch(session, fan, project, 3, actor=owner)
    assert social.set_watch(session, fan, project, 3, actor=admin) == ["issues", "commits"]


def test_a_watcher_who_loses_access_to_a_private_project_hears_nothing(session, settings,
                                                                        make_user):
    owner, member = make_user(), make_user()
    project = new_project(session, settings, owner, private=True)
    core_projects.set_user_access(session, owner, project, member, "ticket")
    social.set_watch(session, member, project, 3)
    session.commit()
    assert member.name in {u.name for u in social.watcher_users(session, project, "commits")}
    core_projects.set_user_access(session, owner, project, member, None)
    session.commit()
    assert member.name not in {u.name for u in social.watcher_users(session, project,
                                                                    "commits")}
    with pytest.raises(NotFound):
        social.set_watch(session, member, project, 1)
