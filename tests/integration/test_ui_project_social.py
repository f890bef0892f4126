"""Users fork, star and watch projects from the project page; private projects
stay invisible on every project page to whoever may not see them."""

from __future__ import annotations

import re

import pytest
from conftest import csrf_of, login_as, unique

from pagurus.core import groups as core_groups
from pagurus.core import projects as core_projects
from pagurus.core import social
from pagurus.git import repos as git_repos
from pagurus.model import Project
from pagurus.paths import REPO_KINDS, repo_path
from pagurus.tasks.status import wait_for


def new_project(session, settings, owner, *, private=False, readme=False, namespace=None):
    project = core_projects.create_project(session, settings, owner, unique("p"), "desc",
                                           private=private, namespace=namespace)
    for kind in REPO_KINDS:
        repo = git_repos.init_bare(repo_path(settings.data_dir, kind, project.fullname),
                                   "main")
        if readme and kind == "main":
            git_repos.commit_readme(repo, "main", "# hi\n", "Owner", "o@example.com")
    project.repo_state = "ready"
    session.commit()
    return project


def post(client, target, **data):
    return client.post(target, data={"csrf_token": csrf_of(client), **data})


def test_a_user_forks_a_project_and_lands_on_the_fork(client, make_user, session, settings,
                                                      worker):
    owner, user = make_user(), make_user()
    project = new_project(session, settings, owner, readme=True)
    login_as(client, user)
    page = client.get(f"/{project.name}").get_data(as_text=True)
    assert f'action="/do_fork/{project.name}"' in page
    resp = post(client, f"/do_fork/{project.name}")
    assert resp.status_code == 302
    task = re.search(r"/wait/([A-Za-z0-9-]+)", resp.headers["Location"]).group(1)
    wait_for(task, settings.task_wait_seconds)
    done = client.get(resp.headers["Location"])
    fork_url = f"/fork/{user.name}/{project.name}"
    assert done.headers["Location"] == fork_url
    body = client.get(fork_url).get_data(as_text=True)
    assert "Forked from" in body and f'href="/{project.name}"' in body
    assert "Added the README" in body  # the fork has the parent's commits
    assert repo_path(settings.data_dir, "main", f"forks/{user.name}/{project.name}").is_dir()
    # the fork list shows it, the counter counts it
    forks = client.get(f"/{project.name}/forks").get_data(as_text=True)
    assert fork_url in forks
    assert "1 fork<" in client.get(f"/{project.name}").get_data(as_text=True)
    # forking again goes to the existing fork
    again = post(client, f"/do_fork/{project.name}")
    assert again.status_code == 302 and again.headers["Location"] == fork_url
    # the project page now offers "Your fork"
    assert f'href="{fork_url}">Your fork' in client.get(f"/{project.name}").get_data(
        as_text=True)


def test_forking_needs_a_login_and_a_csrf_token(client, make_user, session, settings):
    owner = make_user()
    project = new_project(session, settings, owner)
    resp = post(client, f"/do_fork/{project.name}")
    assert resp.status_code == 302 and "/login/" in resp.headers["Location"]
    user = make_user()
    login_as(client, user)
    assert client.post(f"/do_fork/{project.name}").status_code == 400
    assert core_projects.get_project(session, project.name, None, user.name) is None


def test_a_user_stars_and_unstars_from_the_project_page(client, make_user, session, settings):
    owner, fan = make_user(), make_user()
    project = new_project(session, settings, owner)
    login_as(client, fan)
    page = client.get(f"/{project.name}").get_data(as_text=True)
    assert f'action="/{project.name}/star/1"' in page and "0 stars" in page
    assert post(client, f"/{project.name}/star/1").status_code == 302
    page = client.get(f"/{project.name}").get_data(as_text=True)
    assert f'action="/{project.name}/star/0"' in page and "1 star<" in page
    gazers = client.get(f"/{project.name}/stargazers/").get_data(as_text=True)
    assert f'href="/user/{fan.name}"' in gazers
    stars = client.get(f"/user/{fan.name}/stars").get_data(as_text=True)
    assert f'href="/{project.name}"' in stars
    assert post(client, f"/{project.name}/star/0").status_code == 302
    assert social.star_count(session, project) == 0
    assert f'href="/{project.name}"' not in client.get(f"/user/{fan.name}/stars").get_data(
        as_text=True)


def test_starring_needs_a_login_and_a_csrf_token(client, make_user, session, settings):
    project = new_project(session, settings, make_user())
    resp = post(client, f"/{project.name}/star/1")
    assert resp.status_code == 302 and "/login/" in resp.headers["Location"]
    login_as(client, make_user())
    assert client.post(f"/{project.name}/star/1").status_code == 400
    assert social.star_count(session, project) == 0


def test_a_user_blocked_on_the_project_reads_but_cannot_act(client, make_user, session,
                                                            settings):
    owner, pest = make_user(), make_user()
    project = new_project(session, settings, owner)
    core_projects.block_users(session, owner, project, [pest.name])
    session.commit()
    login_as(client, pest)
    assert client.get(f"/{project.name}").status_code == 200
    assert post(client, f"/{project.name}/star/1").status_code == 403
    assert post(client, f"/{project.name}/watch/settings/3").status_code == 403
    assert post(client, f"/do_fork/{project.name}").status_code == 403
    assert social.star_count(session, project) == 0
    assert not social.is_explicit(session, pest, project)


@pytest.mark.parametrize("level,expected", [("1", ["issues"]), ("2", ["commits"]),
                                            ("3", ["issues", "commits"]), ("0", [])])
def test_a_user_picks_a_watch_level(client, make_user, session, settings, level, expected):
    owner, user = make_user(), make_user()
    project = new_project(session, settings, owner)
    login_as(client, user)
    assert post(client, f"/{project.name}/watch/settings/{level}").status_code == 302
    session.expire_all()
    assert social.watch_level(session, user, project) == expected
    page = client.get(f"/{project.name}").get_data(as_text=True)
    assert "(current)" in page
    assert ("Watching" if expected else "Watch<") in page


def test_the_owner_unwatches_then_resets_to_the_default(client, make_user, session, settings):
    owner = make_user()
    project = new_project(session, settings, owner)
    login_as(client, owner)
    assert "1 watcher<" in client.get(f"/{project.name}").get_data(as_text=True)
    post(client, f"/{project.name}/watch/settings/0")
    page = client.get(f"/{project.name}").get_data(as_text=True)
    assert "0 watchers" in page and f'action="/{project.name}/watch/settings/-1"' in page
    post(client, f"/{project.name}/watch/settings/-1")
    session.expire_all()
    assert social.watch_level(session, owner, project) == ["issues"]


def test_a_bad_watch_level_changes_nothing(client, make_user, session, settings):
    owner, user = make_user(), make_user()
    project = new_project(session, settings, owner)
    login_as(client, user)
    resp = post(client, f"/{project.name}/watch/settings/7")
    assert resp.status_code == 302
    assert not social.is_explicit(session, user, project)
    assert b"Invalid watch level" in client.get(resp.headers["Location"]).data


def test_forks_and_stars_in_a_namespace_and_of_forks(client, make_user, session, settings):
    owner, user = make_user(), make_user()
    group = core_groups.create_group(session, unique("ns"), owner)
    session.commit()
    project = new_project(session, settings, owner, namespace=group.name)
    fork = core_projects.fork_project(session, user, project)
    fork.repo_state = "ready"
    session.commit()
    login_as(client, user)
    base = f"/fork/{user.name}/{group.name}/{project.name}"
    assert client.get(base).status_code == 200
    assert post(client, f"{base}/star/1").status_code == 302
    assert social.is_starred(session, user, fork)
    assert f'href="{base}"' in client.get(f"/{group.name}/{project.name}/forks").get_data(
        as_text=True)
    # forking one's own fork's parent again leads to the fork
    resp = post(client, f"/do_fork/{group.name}/{project.name}")
    assert resp.headers["Location"] == base


# -- private projects ------------------------------------------------------------

PRIVATE_GETS = ("", "/", "/settings", "/forks", "/stargazers/")
PRIVATE_POSTS = ("/star/1", "/watch/settings/3", "/update", "/adduser", "/give", "/delete")


def assert_private_is_404(client, project):
    for suffix in PRIVATE_GETS:
        assert client.get(f"/{project.name}{suffix}").status_code == 404, suffix
    for suffix in PRIVATE_POSTS:
        assert post(client, f"/{project.name}{suffix}", description="x",
                    confirm=project.name).status_code == 404, suffix
    assert post(client, f"/do_fork/{project.name}").status_code == 404
    assert client.get(f"/{project.name}.git").status_code == 404


def test_a_private_project_is_404_for_anonymous_visitors(client, make_user, session, settings):
    project = new_project(session, settings, make_user(), private=True)
    # pages of a project that does not exist answer the same
    missing = unique("missing")
    assert client.get(f"/{missing}").status_code == 404
    assert_private_is_404(client, project)


def test_a_private_project_is_404_for_non_members(client, make_user, session, settings):
    owner = make_user()
    project = new_project(session, settings, owner, private=True)
    login_as(client, make_user())
    assert_private_is_404(client, project)
    assert social.star_count(session, project) == 0
    assert fresh_row(session, project).description == "desc"


def fresh_row(session, project):
    session.expire_all()
    return session.get(Project, project.id)


def test_a_private_project_is_visible_with_ticket_access(client, make_user, session,
                                                         settings, worker):
    owner, member = make_user(), make_user()
    project = new_project(session, settings, owner, private=True, readme=True)
    core_projects.set_user_access(session, owner, project, member, "ticket")
    session.commit()
    login_as(client, member)
    page = client.get(f"/{project.name}")
    assert page.status_code == 200 and b"Private" in page.data
    assert client.get(f"/{project.name}/forks").status_code == 200
    assert client.get(f"/{project.name}/stargazers/").status_code == 200
    assert client.get(f"/{project.name}/settings").status_code == 404  # not an admin
    assert post(client, f"/{project.name}/star/1").status_code == 302
    # a fork of a private project is private too, and visible to its owner
    resp = post(client, f"/do_fork/{project.name}")
    task = re.search(r"/wait/([A-Za-z0-9-]+)", resp.headers["Location"]).group(1)
    wait_for(task, settings.task_wait_seconds)
    fork_url = f"/fork/{member.name}/{project.name}"
    assert client.get(fork_url).status_code == 200
    login_as(client, make_user())
    assert client.get(fork_url).status_code == 404
