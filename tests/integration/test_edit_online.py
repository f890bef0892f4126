"""Editing a file online, and managing branches from the web pages.

Each test gets its own project whose main repo is built with pygit2; every
ref change the pages make goes through a real local push with the real hooks
(and the real worker for project creation)."""

from __future__ import annotations

from typing import Any

import pygit2
import pytest
from conftest import csrf_of, login_as, unique
from sqlalchemy import select

from pagurus.core import projects as core_projects
from pagurus.model import Event
from pagurus.paths import repo_path
from pagurus.tasks import projects as project_tasks

BLOB = pygit2.enums.FileMode.BLOB
EXEC = pygit2.enums.FileMode.BLOB_EXECUTABLE
HOSTILE = "<img src=x onerror=alert(1)>"
FILES = {
    "README.md": (b"# Hello\n\nfirst\n", BLOB),
    "src/run.sh": (b"#!/bin/sh\necho hi\n", EXEC),
    "src/other.txt": (b"untouched\n", BLOB),
    "bin.dat": (b"\x00\x01\x02binary\x00" * 10, BLOB),
    "dos.txt": (b"one\r\ntwo\r\n", BLOB),
    f"{HOSTILE}.txt": (b"</textarea><script>alert(1)</script>\n", BLOB),
}


def _tree(repo: pygit2.Repository, files: dict[str, tuple[bytes, int]]) -> pygit2.Oid:
    top: dict[str, Any] = {}
    for path, value in files.items():
        node = top
        parts = path.split("/")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value

    def write(node: dict[str, Any]) -> pygit2.Oid:
        tb = repo.TreeBuilder()
        for name, value in node.items():
            if isinstance(value, dict):
                tb.insert(name, write(value), pygit2.enums.FileMode.TREE)
            else:
                tb.insert(name, repo.create_blob(value[0]), value[1])
        return tb.write()
    return write(top)


class Proj:
    def __init__(self, project: Any, owner: Any, path: Any) -> None:
        self.project = project
        self.owner = owner
        self.path = path
        self.purl = "/" + project.url_path

    @property
    def repo(self) -> pygit2.Repository:
        return pygit2.Repository(str(self.path))

    def head(self, branch: str = "main") -> str | None:
        ref = self.repo.references.get(f"refs/heads/{branch}")
        return str(ref.target) if ref is not None else None

    def file(self, branch: str, path: str) -> bytes:
        commit = self.repo.revparse_single(f"refs/heads/{branch}")
        return self.repo[commit.tree[path].id].data if "/" not in path else \
            commit.tree[path].data


def make_project(session: Any, settings: Any, owner: Any, private: bool = False) -> Proj:
    project = core_projects.create_project(session, settings, owner, unique("edit"), "d",
                                           private=private)
    session.commit()
    project_tasks.create_project_repos.delay(project.id, False).get(timeout=60)
    session.expire_all()
    path = repo_path(settings.data_dir, "main", project.fullname)
    repo = pygit2.Repository(str(path))
    sig = pygit2.Signature("Fixture", "fixture@example.com", 1_700_000_000, 0)
    repo.create_commit("refs/heads/main", sig, sig, "Initial\n", _tree(repo, FILES), [])
    repo.references.create("HEAD", "refs/heads/main", force=True)
    return Proj(project, owner, path)


@pytest.fixture
def fx(app: Any, worker: Any, session: Any, settings: Any, make_user: Any) -> Proj:
    return make_project(session, settings, make_user())


def edit_form(client: Any, fx: Proj, path: str = "README.md", source: str = "main",
              **fields: str) -> dict[str, str]:
    page = client.get(f"{fx.purl}/edit/{source}/f/{path}")
    assert page.status_code == 200, page.status_code
    data = {"csrf_token": csrf_of(client), "content": "# Hello\n\nsecond\n",
            "commit_title": "Change the readme", "commit_message": "Because.",
            "email": fx.owner.default_email, "branch": source, "base": fx.head(source) or ""}
    data.update(fields)
    return data


def test_owner_edits_a_file_on_main(client: Any, fx: Proj, session: Any) -> None:
    login_as(client, fx.owner)
    old = fx.head()
    page = client.get(f"{fx.purl}/edit/main/f/README.md")
    assert page.status_code == 200
    assert "first" in page.get_data(as_text=True)
    resp = client.post(f"{fx.purl}/edit/main/f/README.md", data=edit_form(client, fx))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert resp.headers["Location"].endswith(f"{fx.purl}/blob/main/f/README.md")
    commit = fx.repo.revparse_single("refs/heads/main")
    assert str(commit.parents[0].id) == old and len(commit.parents) == 1
    assert commit.author.name == fx.owner.fullname
    assert commit.author.email == fx.owner.default_email
    assert commit.message == "Change the readme\n\nBecause.\n"
    diff = fx.repo.diff(commit.parents[0], commit)
    assert [p.delta.new_file.path for p in diff] == ["README.md"]
    assert fx.file("main", "README.md") == b"# Hello\n\nsecond\n"
    session.expire_all()
    topics = session.scalars(select(Event.topic).where(
        Event.project_id == fx.project.id)).all()
    assert "git.receive" in topics


def test_edit_keeps_mode_and_line_ends(client: Any, fx: Proj) -> None:
    login_as(client, fx.owner)
    resp = client.post(f"{fx.purl}/edit/main/f/src/run.sh", data=edit_form(
        client, fx, "src/run.sh", content="#!/bin/sh\r\necho bye\r\n"))
    assert resp.status_code == 302
    commit = fx.repo.revparse_single("refs/heads/main")
    assert commit.tree["src/run.sh"].filemode == EXEC
    assert fx.repo[commit.tree["src/run.sh"].id].data == b"#!/bin/sh\necho bye\n"
    resp = client.post(f"{fx.purl}/edit/main/f/dos.txt", data=edit_form(
        client, fx, "dos.txt", content="one\r\nthree\r\n"))
    assert resp.status_code == 302
    commit = fx.repo.revparse_single("refs/heads/main")
    assert fx.repo[commit.tree["dos.txt"].id].data == b"one\r\nthree\r\n"


def test_edit_into_a_new_branch(client: Any, fx: Proj) -> None:
    login_as(client, fx.owner)
    old = fx.head()
    resp = client.post(f"{fx.purl}/edit/main/f/README.md",
                       data=edit_form(client, fx, branch="feature/x"))
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"{fx.purl}/blob/feature/x/f/README.md")
    assert fx.head() == old
    new = fx.repo.revparse_single("refs/heads/feature/x")
    assert str(new.parents[0].id) == old


def test_anonymous_is_sent_to_login(client: Any, fx: Proj) -> None:
    resp = client.get(f"{fx.purl}/edit/main/f/README.md")
    assert resp.status_code == 302 and "/login/" in resp.headers["Location"]


def test_user_without_rights_is_refused_on_public(client: Any, fx: Proj,
                                                  make_user: Any) -> None:
    other = make_user()
    login_as(client, other)
    resp = client.get(f"{fx.purl}/edit/main/f/README.md", follow_redirects=True)
    assert "not allowed" in resp.get_data(as_text=True)
    old = fx.head()
    resp = client.post(f"{fx.purl}/edit/main/f/README.md", data={
        "csrf_token": csrf_of(client), "content": "x", "commit_title": "t",
        "email": other.default_email, "branch": "main", "base": old},
        follow_redirects=True)
    assert "not allowed" in resp.get_data(as_text=True)
    assert fx.head() == old


def test_user_without_rights_gets_404_on_private(app: Any, worker: Any, client: Any,
                                                 session: Any, settings: Any,
                                                 make_user: Any) -> None:
    fx = make_project(session, settings, make_user(), private=True)
    other = make_user()
    login_as(client, other)
    assert client.get(f"{fx.purl}/edit/main/f/README.md").status_code == 404
    resp = client.post(f"{fx.purl}/edit/main/f/README.md", data={
        "csrf_token": csrf_of(client), "content": "x", "commit_title": "t",
        "email": other.default_email, "branch": "main"})
    assert resp.status_code == 404
    # a ticket-level user sees the project but may not commit: still 404
    core_projects.set_user_access(session, fx.owner, fx.project, other, "ticket")
    session.commit()
    assert client.get(f"{fx.purl}/edit/main/f/README.md").status_code == 404


def test_collaborator_only_within_their_branches(client: Any, fx: Proj, session: Any,
                                                 make_user: Any) -> None:
    collab = make_user()
    core_projects.set_user_access(session, fx.owner, fx.project, collab, "collaborator",
                                  branches="feature/*")
    session.commit()
    login_as(client, collab)
    old = fx.head()
    resp = client.post(f"{fx.purl}/edit/main/f/README.md",
                       data=edit_form(client, fx, email=collab.default_email))
    assert resp.status_code == 403
    assert "not allowed to commit to the branch main" in resp.get_data(as_text=True)
    assert fx.head() == old
    resp = client.post(f"{fx.purl}/edit/main/f/README.md",
                       data=edit_form(client, fx, email=collab.default_email,
                                      branch="feature/c"))
    assert resp.status_code == 302
    assert fx.repo.revparse_single("refs/heads/feature/c").author.email == \
        collab.default_email


def test_binary_files_and_bad_paths_are_refused(client: Any, fx: Proj) -> None:
    login_as(client, fx.owner)
    resp = client.get(f"{fx.purl}/edit/main/f/bin.dat", follow_redirects=True)
    assert "Binary files cannot be edited online" in resp.get_data(as_text=True)
    old = fx.head()
    resp = client.post(f"{fx.purl}/edit/main/f/bin.dat", data={
        "csrf_token": csrf_of(client), "content": "x", "commit_title": "t",
        "email": fx.owner.default_email, "branch": "main", "base": old})
    assert resp.status_code == 302 and fx.head() == old
    for bad in ("src/../README.md", "../README.md", "src/./other.txt", ".git/config"):
        resp = client.post(f"{fx.purl}/edit/main/f/{bad}", data={
            "csrf_token": csrf_of(client), "content": "x", "commit_title": "t",
            "email": fx.owner.default_email, "branch": "main", "base": old})
        assert resp.status_code in (302, 404), bad
        assert fx.head() == old


def test_missing_title_and_foreign_email_are_refused(client: Any, fx: Proj) -> None:
    login_as(client, fx.owner)
    old = fx.head()
    resp = client.post(f"{fx.purl}/edit/main/f/README.md",
                       data=edit_form(client, fx, commit_title=""))
    assert resp.status_code == 400 and "commit title is required" in resp.get_data(as_text=True)
    resp = client.post(f"{fx.purl}/edit/main/f/README.md",
                       data=edit_form(client, fx, email="someone@else.example"))
    assert resp.status_code == 400 and "verified email" in resp.get_data(as_text=True)
    resp = client.post(f"{fx.purl}/edit/main/f/README.md",
                       data=edit_form(client, fx, commit_title="x" * 256))
    assert resp.status_code == 400
    assert fx.head() == old


def test_hook_refusal_is_shown_and_changes_nothing(client: Any, fx: Proj,
                                                   session: Any) -> None:
    project = session.get(type(fx.project), fx.project.id)
    project.plugins = {"Block Un-Signed commits": {"active": True}}
    session.commit()
    login_as(client, fx.owner)
    old = fx.head()
    resp = client.post(f"{fx.purl}/edit/main/f/README.md", data=edit_form(client, fx))
    text = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert "not signed off" in text
    assert "second" in text  # the submitted content is still in the form
    assert fx.head() == old
    resp = client.post(f"{fx.purl}/edit/main/f/README.md", data=edit_form(
        client, fx, commit_message=f"Signed-off-by: {fx.owner.name} <{fx.owner.default_email}>"))
    assert resp.status_code == 302 and fx.head() != old


def test_concurrent_update_is_not_lost(client: Any, fx: Proj) -> None:
    login_as(client, fx.owner)
    data = edit_form(client, fx)
    repo = fx.repo
    sig = pygit2.Signature("Racer", "racer@example.com")
    parent = repo.revparse_single("refs/heads/main")
    racing = repo.create_commit("refs/heads/main", sig, sig, "Racing push\n", parent.tree.id,
                                [parent.id])
    resp = client.post(f"{fx.purl}/edit/main/f/README.md", data=data)
    assert resp.status_code == 409
    assert "changed since you started" in resp.get_data(as_text=True)
    assert fx.head() == str(racing)


def test_csrf_is_required(client: Any, fx: Proj) -> None:
    login_as(client, fx.owner)
    old = fx.head()
    data = edit_form(client, fx)
    del data["csrf_token"]
    assert client.post(f"{fx.purl}/edit/main/f/README.md", data=data).status_code == 400
    assert client.post(f"{fx.purl}/branch/new", data={"branch_name": "z"}).status_code == 400
    assert fx.head() == old and fx.head("z") is None


def test_hostile_names_and_content_are_escaped(client: Any, fx: Proj) -> None:
    login_as(client, fx.owner)
    page = client.get(f"{fx.purl}/edit/main/f/{HOSTILE}.txt")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert HOSTILE not in html and "<script>alert(1)" not in html
    assert "&lt;/textarea&gt;&lt;script&gt;" in html


def test_blob_page_shows_edit_link_only_to_committers(client: Any, fx: Proj,
                                                      make_user: Any) -> None:
    login_as(client, fx.owner)
    link = f'href="{fx.purl}/edit/main/f/README.md"'
    assert link in client.get(f"{fx.purl}/blob/main/f/README.md").get_data(as_text=True)
    assert "/edit/" not in client.get(f"{fx.purl}/blob/main/f/bin.dat").get_data(as_text=True)
    login_as(client, make_user())
    assert link not in client.get(f"{fx.purl}/blob/main/f/README.md").get_data(as_text=True)


def test_create_and_delete_branches(client: Any, fx: Proj, make_user: Any) -> None:
    login_as(client, fx.owner)
    resp = client.post(f"{fx.purl}/branch/new", data={
        "csrf_token": csrf_of(client), "branch_name": "topic/one", "from": "main"})
    assert resp.status_code == 302 and fx.head("topic/one") == fx.head()
    branches = client.get(f"{fx.purl}/branches").get_data(as_text=True)
    assert f'{fx.purl}/b/topic/one/delete' in branches
    assert f'{fx.purl}/b/main/delete' not in branches
    # a stranger may not delete it
    login_as(client, make_user())
    client.post(f"{fx.purl}/b/topic/one/delete", data={"csrf_token": csrf_of(client)})
    assert fx.head("topic/one") is not None
    resp = client.post(f"{fx.purl}/branch/new", data={
        "csrf_token": csrf_of(client), "branch_name": "nope", "from": "main"})
    assert fx.head("nope") is None
    login_as(client, fx.owner)
    resp = client.post(f"{fx.purl}/b/main/delete", data={"csrf_token": csrf_of(client)},
                       follow_redirects=True)
    assert "default branch cannot be deleted" in resp.get_data(as_text=True)
    assert fx.head() is not None
    resp = client.post(f"{fx.purl}/b/topic/one/delete", data={"csrf_token": csrf_of(client)})
    assert resp.status_code == 302 and fx.head("topic/one") is None
    resp = client.post(f"{fx.purl}/branch/new", data={
        "csrf_token": csrf_of(client), "branch_name": "-bad..name", "from": "main"},
        follow_redirects=True)
    assert "Invalid branch name" in resp.get_data(as_text=True)


def test_set_default_branch_admin_only(client: Any, fx: Proj, session: Any,
                                       make_user: Any) -> None:
    login_as(client, fx.owner)
    client.post(f"{fx.purl}/branch/new", data={
        "csrf_token": csrf_of(client), "branch_name": "devel", "from": "main"})
    committer = make_user()
    core_projects.set_user_access(session, fx.owner, fx.project, committer, "commit")
    session.commit()
    login_as(client, committer)
    resp = client.post(f"{fx.purl}/default/branch/", data={
        "csrf_token": csrf_of(client), "branches": "devel"})
    assert resp.status_code == 404
    assert fx.repo.references["HEAD"].target == "refs/heads/main"
    login_as(client, fx.owner)
    resp = client.post(f"{fx.purl}/default/branch/", data={
        "csrf_token": csrf_of(client), "branches": "devel"})
    assert resp.status_code == 302
    assert fx.repo.references["HEAD"].target == "refs/heads/devel"
    session.expire_all()
    assert session.get(type(fx.project), fx.project.id).default_branch == "devel"
    resp = client.post(f"{fx.purl}/default/branch/", data={
        "csrf_token": csrf_of(client), "branches": "missing"}, follow_redirects=True)
    assert "No branch missing" in resp.get_data(as_text=True)
