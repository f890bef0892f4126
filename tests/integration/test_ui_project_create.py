"""A user creates a project through /new, waits, and lands on its page."""

from __future__ import annotations

import re

import pygit2
from conftest import csrf_of, login_as, unique
from sqlalchemy import select

from pagurus.core import projects as core_projects
from pagurus.git import repos as git_repos
from pagurus.model import Project
from pagurus.paths import repo_path
from pagurus.tasks.status import wait_for


def follow_wait(client, resp, settings):
    """Follow a redirect to the wait page until the task is done."""
    assert resp.status_code == 302, resp.data
    location = resp.headers["Location"]
    match = re.search(r"/wait/([A-Za-z0-9-]+)", location)
    assert match, location
    wait_for(match.group(1), settings.task_wait_seconds)
    done = client.get(location)
    assert done.status_code == 302
    return done.headers["Location"]


def test_a_user_creates_a_project_and_follows_the_wait_page(client, make_user, session,
                                                             settings, worker):
    user = make_user()
    login_as(client, user)
    page = client.get("/new")
    assert page.status_code == 200
    assert b'name="name"' in page.data and b'name="csrf_token"' in page.data
    name = unique("proj")
    resp = client.post("/new", data={"csrf_token": csrf_of(client), "name": name,
                                     "description": "My new project", "create_readme": "1"})
    # while the worker has not finished, the wait page refreshes itself
    location = resp.headers["Location"]
    assert f"next=/{name}" in location or f"next=%2F{name}" in location
    target = follow_wait(client, resp, settings)
    assert target == f"/{name}"
    overview = client.get(target)
    assert overview.status_code == 200
    body = overview.get_data(as_text=True)
    assert "My new project" in body
    assert f"http://pagurus.test/{name}.git" in body
    assert "Added the README" in body  # the last commit subject
    assert repo_path(settings.data_dir, "main", name).is_dir()
    row = session.scalar(select(Project).where(Project.name == name))
    assert row is not None and row.repo_state == "ready"


def test_the_wait_page_refreshes_itself_until_the_task_is_done(client, make_user):
    user = make_user()
    login_as(client, user)
    page = client.get("/wait/00000000-0000-0000-0000-000000000000?next=/somewhere")
    assert page.status_code == 200
    assert b'http-equiv="refresh"' in page.data
    assert b"count=1" in page.data
    assert client.get("/wait/..%2Fetc").status_code == 404


def test_the_wait_page_never_sends_anyone_to_another_site(client, make_user, session,
                                                          settings, worker):
    user = make_user()
    login_as(client, user)
    name = unique("proj")
    resp = client.post("/new", data={"csrf_token": csrf_of(client), "name": name,
                                     "description": "d"})
    task = re.search(r"/wait/([A-Za-z0-9-]+)", resp.headers["Location"]).group(1)
    wait_for(task, settings.task_wait_seconds)
    done = client.get(f"/wait/{task}?next=//evil.example/x")
    assert done.status_code == 302 and done.headers["Location"] == "/"


def test_bad_project_names_are_refused_next_to_the_field(client, make_user, session):
    user = make_user()
    login_as(client, user)
    for bad in ("-rf", "..", "a/b", "new", "x.git", "name with spaces", ""):
        resp = client.post("/new", data={"csrf_token": csrf_of(client), "name": bad,
                                         "description": "d"})
        assert resp.status_code == 400, bad
        body = resp.get_data(as_text=True)
        assert 'class="field-error"' in body or "are allowed to be created" in body, bad
    assert session.scalar(select(Project).where(Project.user_id == user.id)) is None


def test_the_name_error_sits_next_to_the_name_field(client, make_user):
    user = make_user()
    login_as(client, user)
    resp = client.post("/new", data={"csrf_token": csrf_of(client), "name": "-rf",
                                     "description": "d"})
    body = resp.get_data(as_text=True)
    assert re.search(r'id="f-name".*?<p class="field-error" id="f-name-error">', body, re.S)
    # what was typed is kept
    assert 'value="-rf"' in body


def test_a_missing_description_is_refused_and_nothing_is_created(client, make_user, session):
    user = make_user()
    login_as(client, user)
    name = unique("proj")
    resp = client.post("/new", data={"csrf_token": csrf_of(client), "name": name,
                                     "description": "   "})
    assert resp.status_code == 400
    assert b'id="f-description-error"' in resp.data
    assert core_projects.get_project(session, name) is None


def test_an_existing_project_name_is_refused(client, make_user, session, settings):
    user = make_user()
    name = unique("proj")
    core_projects.create_project(session, settings, user, name, "d")
    session.commit()
    login_as(client, user)
    resp = client.post("/new", data={"csrf_token": csrf_of(client), "name": name.upper(),
                                     "description": "d"})
    assert resp.status_code == 400
    assert b"already exists" in resp.data


def test_anonymous_visitors_are_sent_to_log_in_before_creating(client):
    resp = client.get("/new")
    assert resp.status_code == 302 and "/login/" in resp.headers["Location"]


def test_creating_without_a_csrf_token_is_refused(client, make_user, session):
    user = make_user()
    login_as(client, user)
    name = unique("proj")
    resp = client.post("/new", data={"name": name, "description": "d"})
    assert resp.status_code == 400
    assert core_projects.get_project(session, name) is None


def test_a_project_in_a_group_namespace(client, make_user, session, settings, worker):
    from pagurus.core import groups as core_groups

    user = make_user()
    group = core_groups.create_group(session, unique("ns"), user)
    session.commit()
    login_as(client, user)
    page = client.get("/new")
    assert f'<option value="{group.name}"'.encode() in page.data
    name = unique("proj")
    resp = client.post("/new", data={"csrf_token": csrf_of(client), "name": name,
                                     "description": "d", "namespace": group.name})
    assert follow_wait(client, resp, settings) == f"/{group.name}/{name}"
    assert client.get(f"/{group.name}/{name}").status_code == 200
    # someone else's namespace is refused
    other = make_user()
    login_as(client, other)
    resp = client.post("/new", data={"csrf_token": csrf_of(client), "name": unique("p"),
                                     "description": "d", "namespace": group.name})
    assert resp.status_code == 400 and b'id="f-namespace-error"' in resp.data


def test_an_empty_repository_shows_how_to_push_a_first_commit(client, make_user, session,
                                                               settings):
    user = make_user()
    project = core_projects.create_project(session, settings, user, unique("p"), "d",
                                           default_branch="trunk")
    for kind in ("main",):
        git_repos.init_bare(repo_path(settings.data_dir, kind, project.fullname), "trunk")
    project.repo_state = "ready"
    session.commit()
    body = client.get(f"/{project.name}").get_data(as_text=True)
    assert "git remote add origin" in body
    assert "git push -u origin trunk" in body
    assert f"ssh://git@pagurus.test:{settings.ssh_port}/{project.name}.git" in body


def test_a_project_being_created_says_so(client, make_user, session, settings):
    user = make_user()
    project = core_projects.create_project(session, settings, user, unique("p"), "d")
    session.commit()
    body = client.get(f"/{project.name}").get_data(as_text=True)
    assert "being created" in body


def test_commit_subjects_are_shown_escaped(client, make_user, session, settings):
    user = make_user()
    project = core_projects.create_project(session, settings, user, unique("p"), "d")
    repo = git_repos.init_bare(repo_path(settings.data_dir, "main", project.fullname), "main")
    blob = repo.create_blob(b"x")
    builder = repo.TreeBuilder()
    builder.insert("f", blob, pygit2.enums.FileMode.BLOB)
    sig = pygit2.Signature('Tom & "Jerry"', "a@example.com")
    repo.create_commit("refs/heads/main", sig, sig, "<script>alert(1)</script>\n\nbody",
                       builder.write(), [])
    project.repo_state = "ready"
    session.commit()
    body = client.get(f"/{project.name}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<script>alert(1)" not in body
    assert "Tom &amp; &#34;Jerry" in body  # git trims the closing quote


def test_a_dot_git_url_goes_to_the_project(client, make_user, session, settings):
    user = make_user()
    project = core_projects.create_project(session, settings, user, unique("p"), "d")
    session.commit()
    resp = client.get(f"/{project.name}.git")
    assert resp.status_code == 302 and resp.headers["Location"] == f"/{project.name}"
    assert client.get(f"/{unique('missing')}.git").status_code == 404
