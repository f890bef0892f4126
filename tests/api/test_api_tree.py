"""API tree view and commit info: Pagure's JSON shapes and error codes."""

from __future__ import annotations

import pygit2
import pytest
from conftest import unique

from pagurus.core import projects as core_projects
from pagurus.core import users as core_users
from pagurus.paths import repo_path

API = "/api/0"
BLOB = pygit2.enums.FileMode.BLOB


def _project(app, owner_name):
    from pagurus.tasks import projects as project_tasks

    settings = app.extensions["pagurus"]["settings"]
    session = app.extensions["pagurus"]["sessions"]()
    try:
        owner = core_users.get_user(session, owner_name)
        project = core_projects.create_project(session, settings, owner, unique("apitree"),
                                               "Tree API")
        session.commit()
        project_tasks.create_project_repos.delay(project.id, False).get(timeout=60)
        return project.fullname, project.url_path
    finally:
        session.close()


@pytest.fixture(scope="module")
def repo_info(app, worker):
    settings = app.extensions["pagurus"]["settings"]
    session = app.extensions["pagurus"]["sessions"]()
    owner = core_users.create_user(session, unique("at"), f"{unique('at')}@example.com",
                                   password="correct horse battery")
    session.commit()
    name = owner.name
    session.close()
    fullname, url_path = _project(app, name)
    _, empty_path = _project(app, name)
    repo = pygit2.Repository(str(repo_path(settings.data_dir, "main", fullname)))
    inner = repo.TreeBuilder()
    inner.insert("guide.md", repo.create_blob(b"# guide\n"), BLOB)
    tb = repo.TreeBuilder()
    tb.insert("docs", inner.write(), pygit2.enums.FileMode.TREE)
    tb.insert("README.md", repo.create_blob(b"hello\n"), BLOB)
    tb.insert("link", repo.create_blob(b"README.md"), pygit2.enums.FileMode.LINK)
    tb.insert("sub", pygit2.Oid(hex="12" * 20), pygit2.enums.FileMode.COMMIT)
    tb.insert("a b.txt", repo.create_blob(b"spaces\n"), BLOB)
    tree = tb.write()
    sig = pygit2.Signature("Alice Author", "alice@example.com", 1_600_000_000, 120)
    com = pygit2.Signature("Carl Committer", "carl@example.com", 1_600_000_100, 60)
    first = repo.create_commit("refs/heads/main", sig, com, "First\n\nbody\n", tree, [])
    second = repo.create_commit("refs/heads/feature/f/x", sig, com, "Second\n", tree,
                                [first])
    repo.set_head("refs/heads/main")
    return {"p": f"{API}/{url_path}", "url_path": url_path, "empty": f"{API}/{empty_path}",
            "first": str(first), "second": str(second), "tree": str(tree)}


def test_tree_of_head_lists_typed_entries(client, repo_info):
    resp = client.get(f"{repo_info['p']}/tree")
    assert resp.status_code == 200
    data = resp.get_json()
    assert data["type"] == "folder" and data["name"] is None
    entries = {e["name"]: e for e in data["content"]}
    assert [e["name"] for e in data["content"]][0] == "docs"
    assert {n: e["type"] for n, e in entries.items()} == {
        "docs": "folder", "README.md": "file", "link": "link", "sub": "submodule",
        "a b.txt": "file"}
    for entry in data["content"]:
        assert set(entry) == {"type", "name", "path", "content_url"}
    base = "http://pagurus.test"
    assert entries["docs"]["content_url"] == f"{base}{API}/{repo_info['url_path']}/tree/main/f/docs"
    assert entries["README.md"]["content_url"] == \
        f"{base}/{repo_info['url_path']}/raw/main/f/README.md"
    assert entries["a b.txt"]["content_url"].endswith("/raw/main/f/a%20b.txt")


def test_tree_of_a_folder_a_file_and_refs_with_slashes(client, repo_info):
    data = client.get(f"{repo_info['p']}/tree/main/f/docs").get_json()
    assert data["type"] == "folder" and data["name"] == "docs"
    assert data["content"] == [{"type": "file", "name": "guide.md", "path": "docs/guide.md",
                                "content_url": "http://pagurus.test/"
                                f"{repo_info['url_path']}/raw/main/f/docs/guide.md"}]
    data = client.get(f"{repo_info['p']}/tree/feature/f/x/f/README.md").get_json()
    assert data == {"type": "file", "name": "README.md", "content_url":
                    f"http://pagurus.test/{repo_info['url_path']}/raw/feature/f/x/f/README.md"}
    data = client.get(f"{repo_info['p']}/tree/feature/f/x").get_json()
    assert data["type"] == "folder" and len(data["content"]) == 5
    for ident in (repo_info["first"], repo_info["first"][:7], repo_info["tree"]):
        resp = client.get(f"{repo_info['p']}/tree/{ident}/f/docs")
        assert resp.status_code == 200 and resp.get_json()["name"] == "docs", ident


def test_tree_errors(client, repo_info):
    for url in (f"{repo_info['p']}/tree/main/f/nope", f"{repo_info['p']}/tree/nope",
                f"{repo_info['p']}/tree/main/f/../etc", f"{repo_info['p']}/tree/main~1"):
        resp = client.get(url)
        assert resp.status_code == 404, url
        assert resp.get_json()["error_code"] == "EFILENOTFOUND", url
    for url in (f"{repo_info['empty']}/tree", f"{repo_info['empty']}/tree/main/f/x"):
        resp = client.get(url)
        assert resp.status_code == 404
        assert resp.get_json() == {"error": "This git repository is empty",
                                   "error_code": "EEMPTYGIT"}
    resp = client.get(f"{API}/nosuchproject0000/tree")
    assert resp.get_json()["error_code"] == "ENOPROJECT"


def test_commit_info(client, repo_info):
    data = client.get(f"{repo_info['p']}/c/{repo_info['second']}/info").get_json()
    assert data == {
        "author": "Alice Author", "committer": "Carl Committer",
        "commit_time": 1_600_000_100, "commit_time_offset": 60,
        "hash": repo_info["second"], "message": "Second\n",
        "parent_ids": [repo_info["first"]], "tree_id": repo_info["tree"]}
    short = client.get(f"{repo_info['p']}/c/{repo_info['first'][:8]}/info").get_json()
    assert short["hash"] == repo_info["first"] and short["parent_ids"] == []


@pytest.mark.parametrize("ident", ["main", "0" * 40, "zzzz", "HEAD", "--help"])
def test_commit_info_refuses_anything_but_commit_ids(client, repo_info, ident):
    resp = client.get(f"{repo_info['p']}/c/{ident}/info")
    assert resp.status_code == 404
    assert resp.get_json()["error_code"] == "ENOCOMMIT"


def test_commit_info_of_a_tree_id_is_not_a_commit(client, repo_info):
    resp = client.get(f"{repo_info['p']}/c/{repo_info['tree']}/info")
    assert resp.get_json()["error_code"] == "ENOCOMMIT"
