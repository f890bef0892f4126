"""Project admins write issue templates from the tracker settings page: each
change is a commit in the tickets repo (where a git push puts them too), the
new-issue page offers them, and bad names, other users and a busy repo change
nothing."""

from __future__ import annotations

import subprocess

from conftest import csrf_of, login_as, unique

from pagurus import paths
from pagurus.core import projects as core_projects

XSS = "<script>alert(1)</script>"


def git(*args: str, cwd=None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


def project_with_tickets_repo(session, settings, owner):
    project = core_projects.create_project(session, settings, owner, unique("tpl"), "desc")
    project.repo_state = "ready"
    session.commit()
    bare = paths.repo_path(settings.data_dir, "tickets", project.fullname)
    bare.parent.mkdir(parents=True, exist_ok=True)
    git("init", "-q", "--bare", "-b", "master", str(bare))
    return project, bare


def head_of(bare) -> str:
    return subprocess.run(["git", "rev-parse", "-q", "--verify", "refs/heads/master"],
                          cwd=bare, capture_output=True, text=True).stdout.strip()


def save(client, project, name, text):
    return client.post(f"/{project.url_path}/update/issue_templates", data={
        "csrf_token": csrf_of(client), "template_name": name, "template_text": text})


def test_an_admin_adds_edits_and_deletes_a_template_as_commits(client, session, settings,
                                                                make_user):
    owner = make_user()
    project, bare = project_with_tickets_repo(session, settings, owner)
    login_as(client, owner)

    resp = save(client, project, "default", f"## Steps\r\n{XSS}\r\n")
    assert resp.status_code == 302
    assert git("show", "HEAD:templates/default.md", cwd=bare) == f"## Steps\n{XSS}\n"
    assert git("log", "-1", "--format=%an|%s", cwd=bare).strip() == \
        f"{owner.fullname or owner.name}|Add the issue template default"
    html = client.get(f"/{project.url_path}/new_issue").get_data(as_text=True)
    assert "## Steps\n&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert XSS not in html
    settings_page = client.get(f"/{project.url_path}/settings/tracker").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)" in settings_page and XSS not in settings_page

    save(client, project, "bug", "Bug report\n")
    assert save(client, project, "default", "Fresh text\n").status_code == 302
    assert git("show", "HEAD:templates/default.md", cwd=bare) == "Fresh text\n"
    assert git("rev-list", "--count", "HEAD", cwd=bare).strip() == "3"
    before = head_of(bare)
    save(client, project, "default", "Fresh text\n")  # the same text: no empty commit
    assert head_of(bare) == before

    resp = client.post(f"/{project.url_path}/droptemplate", data={
        "csrf_token": csrf_of(client), "template_name": "default"})
    assert resp.status_code == 302
    assert git("ls-tree", "--name-only", "HEAD", "templates/", cwd=bare).split() == \
        ["templates/bug.md"]
    html = client.get(f"/{project.url_path}/new_issue").get_data(as_text=True)
    assert '<option value="bug">bug</option>' in html and "Fresh text" not in html


def test_a_pushed_template_shows_in_the_settings(client, session, settings, make_user,
                                                 tmp_path):
    owner = make_user()
    project, bare = project_with_tickets_repo(session, settings, owner)
    work = tmp_path / "w"
    git("clone", "-q", str(bare), str(work))
    (work / "templates").mkdir()
    (work / "templates" / "feature.md").write_text("Pushed feature template\n")
    git("add", ".", cwd=work)
    git("-c", "user.name=M", "-c", "user.email=m@example.com", "commit", "-q", "-m", "t",
        cwd=work)
    git("push", "-q", "origin", "HEAD:refs/heads/master", cwd=work)
    login_as(client, owner)
    page = client.get(f"/{project.url_path}/settings/tracker").get_data(as_text=True)
    assert "Pushed feature template" in page
    assert save(client, project, "second", "Another\n").status_code == 302
    assert git("log", "--format=%s", cwd=bare).splitlines() == \
        ["Add the issue template second", "t"]


def test_bad_template_names_and_texts_change_nothing(client, session, settings, make_user):
    owner = make_user()
    project, bare = project_with_tickets_repo(session, settings, owner)
    login_as(client, owner)
    save(client, project, "ok", "text\n")
    before = head_of(bare)
    for name, text in [("../escape", "x"), (".hidden", "x"), ("a/b", "x"), ("", "x"),
                       ("x" * 65, "x"), ("nul\x00", "x"), ("fine", "   "),
                       ("big", "y" * (64 * 1024 + 1))]:
        resp = save(client, project, name, text)
        assert resp.status_code == 400, name
        assert head_of(bare) == before
    resp = client.post(f"/{project.url_path}/droptemplate", data={
        "csrf_token": csrf_of(client), "template_name": "missing"})
    assert resp.status_code == 400 and head_of(bare) == before


def test_only_project_admins_write_templates(client, session, settings, make_user):
    owner, ticket_user = make_user(), make_user()
    project, bare = project_with_tickets_repo(session, settings, owner)
    core_projects.set_user_access(session, owner, project, ticket_user, "ticket")
    session.commit()
    login_as(client, ticket_user)
    assert save(client, project, "default", "mine\n").status_code == 404
    resp = client.post(f"/{project.url_path}/droptemplate", data={
        "csrf_token": csrf_of(client), "template_name": "default"})
    assert resp.status_code == 404
    assert head_of(bare) == ""


def test_a_locked_tickets_repo_refuses_the_write_and_keeps_its_branch(client, session,
                                                                       settings, make_user):
    owner = make_user()
    project, bare = project_with_tickets_repo(session, settings, owner)
    login_as(client, owner)
    save(client, project, "default", "first\n")
    before = head_of(bare)
    lock = bare / "refs" / "heads" / "master.lock"
    lock.write_text("held by another writer\n")
    try:
        resp = save(client, project, "default", "second\n")
    finally:
        lock.unlink()
    assert resp.status_code == 400
    assert "changed meanwhile" in resp.get_data(as_text=True)
    assert head_of(bare) == before
    assert git("show", "HEAD:templates/default.md", cwd=bare) == "first\n"
