"""API clients list and change a project's branches, tags and aliases, read
its clone URLs and ask who may push where; hostile ref names change nothing."""

from __future__ import annotations

import os
import subprocess

import pygit2
import pytest
from apihelp import API, error_of, grant
from conftest import auth, unique

from pagurus.core import projects as core_projects
from pagurus.git import repos as git_repos
from pagurus.model import Project, ProjectUser
from pagurus.paths import REPO_KINDS, repo_path

GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}


def make_repo_project(session, settings, owner, *, private=False, empty=False):
    """A project whose main repo has main (2 commits), dev and feat/one."""
    project = core_projects.create_project(session, settings, owner, unique("g"), "git refs",
                                           private=private)
    for kind in REPO_KINDS:
        git_repos.init_bare(repo_path(settings.data_dir, kind, project.fullname), "main")
    project.repo_state = "ready"
    session.commit()
    if not empty:
        r = pygit2.Repository(str(repo_path(settings.data_dir, "main", project.fullname)))
        sig = pygit2.Signature("A", "a@example.com")
        ids = []
        for n in range(2):
            tb = r.TreeBuilder()
            tb.insert("f.txt", r.create_blob(f"{n}\n".encode()), pygit2.enums.FileMode.BLOB)
            ids.append(r.create_commit("refs/heads/main", sig, sig, f"c{n}", tb.write(),
                                       ids[-1:]))
        r.references.create("refs/heads/dev", ids[0])
        r.references.create("refs/heads/feat/one", ids[1])
        project.first, project.second = str(ids[0]), str(ids[1])  # type: ignore[attr-defined]
    return project


def refs_of(settings, project) -> str:
    path = repo_path(settings.data_dir, "main", project.fullname)
    return subprocess.run(["git", "for-each-ref", "--format=%(refname) %(objectname) "
                           "%(symref)"], cwd=path, capture_output=True, check=True,
                          env={**os.environ, **GIT_ENV}).stdout.decode() + \
        (path / "HEAD").read_text()


def repo_of(settings, project) -> pygit2.Repository:
    return pygit2.Repository(str(repo_path(settings.data_dir, "main", project.fullname)))


@pytest.fixture
def owner(make_user):
    return make_user()


@pytest.fixture
def proj(session, settings, owner):
    return make_repo_project(session, settings, owner)


# -- branches ------------------------------------------------------------------

def test_anyone_lists_branches_and_the_default(client, proj):
    data = client.get(f"{API}/{proj.name}/git/branches").get_json()
    assert data == {"total_branches": 3, "branches": ["dev", "feat/one", "main"],
                    "default": "main"}
    data = client.get(f"{API}/{proj.name}/git/branches?with_commits=1").get_json()
    assert data["branches"] == {"dev": proj.first, "feat/one": proj.second,
                                "main": proj.second}
    assert data["default"] == {"main": proj.second}


def test_an_empty_repository_has_no_branches(client, session, settings, owner):
    empty = make_repo_project(session, settings, owner, empty=True)
    data = client.get(f"{API}/{empty.name}/git/branches").get_json()
    assert data == {"total_branches": 0, "branches": [], "default": None}


def test_an_admin_sets_the_default_branch(client, session, settings, owner, proj, make_token):
    token = make_token(owner, ["modify_project"])
    resp = client.post(f"{API}/{proj.name}/git/branches", json={"branch_name": "dev"},
                       headers=auth(token))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["default"] == "dev"
    assert repo_of(settings, proj).references["HEAD"].target == "refs/heads/dev"
    session.expire_all()
    assert session.get(Project, proj.id).default_branch == "dev"
    assert error_of(client.post(f"{API}/{proj.name}/git/branches",
                                json={"branch_name": "nope"}, headers=auth(token))) == (
        400, "EGITERROR")


def test_a_committer_may_not_change_the_default_branch(client, session, settings, proj,
                                                       make_user, make_token):
    committer = make_user()
    grant(session, proj, committer, "commit")
    before = refs_of(settings, proj)
    resp = client.post(f"{API}/{proj.name}/git/branches", json={"branch_name": "dev"},
                       headers=auth(make_token(committer, ["modify_project"])))
    assert error_of(resp) == (401, "EMODIFYPROJECTNOTALLOWED")
    assert refs_of(settings, proj) == before


def test_a_committer_creates_branches_from_a_branch_or_a_commit(client, settings, proj,
                                                                 owner, make_token):
    token = auth(make_token(owner, ["create_branch"]))
    url = f"{API}/{proj.name}/git/branch"
    resp = client.post(url, json={"branch": "new/one"}, headers=token)
    assert resp.status_code == 200
    assert resp.get_json() == {"message": "Project branch was created"}
    client.post(url, json={"branch": "from-dev", "from_branch": "dev"}, headers=token)
    client.post(url, json={"branch": "from-id", "from_commit": proj.first[:10]},
                headers=token)
    r = repo_of(settings, proj)
    assert str(r.references["refs/heads/new/one"].target) == proj.second
    assert str(r.references["refs/heads/from-dev"].target) == proj.first
    assert str(r.references["refs/heads/from-id"].target) == proj.first
    assert error_of(client.post(url, json={"branch": "dev"}, headers=token)) == (
        400, "ENOCODE")
    assert error_of(client.post(url, json={"branch": "x", "from_branch": "nope"},
                                headers=token)) == (400, "ENOCODE")
    assert error_of(client.post(url, json={"branch": "y", "from_commit": "0" * 40},
                                headers=token)) == (400, "ENOCODE")
    assert error_of(client.post(url, json={"branch": "z", "from_branch": "dev",
                                           "from_commit": proj.first},
                                headers=token)) == (400, "EINVALIDREQ")
    # "feat/one" exists: "feat/one/x" cannot be a ref next to it
    assert error_of(client.post(url, json={"branch": "feat/one/x"}, headers=token)) == (
        400, "ENOCODE")


HOSTILE_REFS = ["-x", "--upload-pack=touch x", "a..b", "../main", "a\x01b", "a b", "x.lock",
                "@{1}", "refs/heads/../../x", "/abs", "trailing/", "a~1", "a^", "a:b",
                "a\\b", "a*", ".hidden", "x\ny", ""]


@pytest.mark.parametrize("name", HOSTILE_REFS)
def test_hostile_branch_names_are_refused_and_nothing_is_written(client, settings, proj,
                                                                 owner, make_token, name):
    token = auth(make_token(owner, ["create_branch", "tag_project", "modify_project"]))
    before = refs_of(settings, proj)
    calls = [
        ("git/branch", {"branch": name}),
        ("git/branch", {"branch": "ok", "from_branch": name}),
        ("git/tags", {"tagname": name, "commit_hash": proj.first}),
        ("git/alias/new", {"alias_from": name, "alias_to": "main"}),
        ("git/alias/new", {"alias_from": "ok2", "alias_to": name}),
        ("git/branches", {"branch_name": name}),
    ]
    if not name:  # an empty from_branch means "not given": it is not an attack
        del calls[1]
    for suffix, payload in calls:
        resp = client.post(f"{API}/{proj.name}/{suffix}", json=payload, headers=token)
        assert resp.status_code == 400, (suffix, resp.get_json())
        assert resp.get_json()["error_code"] in ("EINVALIDREQ", "EGITERROR"), suffix
    assert refs_of(settings, proj) == before


def test_collaborators_create_only_the_branches_they_may_push(client, session, settings, proj,
                                                               make_user, make_token):
    collab = make_user()
    row = ProjectUser(user_id=collab.id, access="collaborator", branches="feat/*")
    session.get(Project, proj.id).user_access.append(row)
    session.commit()
    token = auth(make_token(collab, ["create_branch", "tag_project"]))
    url = f"{API}/{proj.name}/git/branch"
    assert client.post(url, json={"branch": "feat/two"}, headers=token).status_code == 200
    assert error_of(client.post(url, json={"branch": "other"}, headers=token)) == (
        401, "ENOTHIGHENOUGH")
    # tags need full commit rights
    assert error_of(client.post(f"{API}/{proj.name}/git/tags", headers=token, json={
        "tagname": "t", "commit_hash": proj.first})) == (401, "ENOTHIGHENOUGH")
    ticket = make_user()
    grant(session, proj, ticket, "ticket")
    assert error_of(client.post(url, json={"branch": "feat/three"}, headers=auth(
        make_token(ticket, ["create_branch"])))) == (401, "ENOTHIGHENOUGH")
    assert "refs/heads/feat/three" not in refs_of(settings, proj)


def test_branch_calls_need_a_token_with_the_right_acl(client, proj, owner, make_token):
    url = f"{API}/{proj.name}/git/branch"
    assert error_of(client.post(url, json={"branch": "x"})) == (401, "EINVALIDTOK")
    resp = client.post(url, json={"branch": "x"},
                       headers=auth(make_token(owner, ["issue_create"])))
    assert error_of(resp) == (401, "EINVALIDTOK")
    assert resp.get_json()["errors"] == "Missing ACLs: create_branch"


# -- tags ------------------------------------------------------------------------

def test_tags_are_created_annotated_and_not_moved_without_force(client, settings, proj,
                                                                owner, make_token):
    token = auth(make_token(owner, ["tag_project"]))
    url = f"{API}/{proj.name}/git/tags"
    assert client.get(url).get_json() == {"total_tags": 0, "tags": []}
    resp = client.post(url, json={"tagname": "v1", "commit_hash": proj.first,
                                  "message": "First <b>release</b>"}, headers=token)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"total_tags": 1, "tags": ["v1"], "tag_created": True}
    tag = repo_of(settings, proj).revparse_single("refs/tags/v1")
    assert isinstance(tag, pygit2.Tag) and tag.message == "First <b>release</b>\n"
    assert tag.tagger.name == owner.fullname and tag.tagger.email == owner.default_email
    again = client.post(url, json={"tagname": "v1", "commit_hash": proj.second,
                                   "with_commits": True}, headers=token).get_json()
    assert again == {"total_tags": 1, "tags": {"v1": proj.first}, "tag_created": False}
    forced = client.post(url, json={"tagname": "v1", "commit_hash": proj.second,
                                    "force": True}, headers=token).get_json()
    assert forced["tag_created"] is True
    assert client.get(url + "?with_commits=1").get_json()["tags"] == {"v1": proj.second}
    assert error_of(client.post(url, json={"tagname": "v2", "commit_hash": "f" * 40},
                                headers=token)) == (400, "EGITERROR")
    assert error_of(client.post(url, json={"tagname": "v2"}, headers=token)) == (
        400, "EINVALIDREQ")


# -- aliases ------------------------------------------------------------------------

def test_aliases_are_created_listed_and_dropped(client, settings, proj, owner, make_token):
    token = auth(make_token(owner, ["modify_git_alias"]))
    base = f"{API}/{proj.name}/git/alias"
    assert client.get(base).get_json() == {}
    made = client.post(base + "/new", json={"alias_from": "stable", "alias_to": "main"},
                       headers=token)
    assert made.status_code == 200
    assert made.get_json() == {"refs/heads/stable": "refs/heads/main"}
    assert client.get(base).get_json() == {"refs/heads/stable": "refs/heads/main"}
    assert repo_of(settings, proj).references["refs/heads/stable"].target == "refs/heads/main"
    assert error_of(client.post(base + "/new", json={"alias_from": "stable",
                                                     "alias_to": "dev"},
                                headers=token)) == (400, "ENOCODE")
    assert error_of(client.post(base + "/new", json={"alias_from": "dev",
                                                     "alias_to": "main"},
                                headers=token)) == (400, "ENOCODE")
    assert error_of(client.post(base + "/new", json={"alias_from": "x",
                                                     "alias_to": "nope"},
                                headers=token)) == (400, "EBRANCHNOTFOUND")
    assert error_of(client.post(base + "/drop", json={"alias_from": "stable",
                                                      "alias_to": "dev"},
                                headers=token)) == (400, "EBRANCHNOTFOUND")
    # a real branch is never dropped as an alias
    assert error_of(client.post(base + "/drop", json={"alias_from": "dev",
                                                      "alias_to": "main"},
                                headers=token)) == (400, "EBRANCHNOTFOUND")
    dropped = client.post(base + "/drop", json={"alias_from": "stable", "alias_to": "main"},
                          headers=token)
    assert dropped.status_code == 200 and dropped.get_json() == {}
    assert "refs/heads/dev" in refs_of(settings, proj)


# -- urls, hascommit, privacy ------------------------------------------------------------

def test_clone_urls(client, proj):
    data = client.get(f"{API}/{proj.name}/git/urls").get_json()
    assert data["urls"]["http"] == f"http://pagurus.test/{proj.name}.git"
    assert data["urls"]["ssh"].endswith(f"/{proj.name}.git")
    assert data["total_urls"] == len(data["urls"])


def test_hascommit_follows_the_push_rules(client, session, proj, owner, make_user):
    url = f"{API}/{proj.name}/hascommit"
    data = client.get(f"{url}?user={owner.name}&branch=main").get_json()
    assert data["hascommit"] is True
    assert data["args"]["user"] == owner.name and data["args"]["branch"] == "main"
    assert data["args"]["project"]["fullname"] == proj.fullname
    collab = make_user()
    session.get(Project, proj.id).user_access.append(
        ProjectUser(user_id=collab.id, access="collaborator", branches="feat/*"))
    session.commit()
    assert client.get(f"{url}?user={collab.name}&branch=feat/x").get_json()["hascommit"]
    assert not client.get(f"{url}?user={collab.name}&branch=main").get_json()["hascommit"]
    stranger = make_user()
    assert not client.get(f"{url}?user={stranger.name}&branch=main").get_json()["hascommit"]
    assert error_of(client.get(f"{url}?user={owner.name}")) == (400, "EINVALIDREQ")
    assert error_of(client.get(f"{url}?branch=main")) == (400, "EINVALIDREQ")
    assert error_of(client.get(f"{url}?user=nobody{unique()}&branch=main"))[1] == "ENOUSER"


def test_a_private_projects_refs_are_hidden(client, session, settings, owner, make_user,
                                            make_token):
    private = make_repo_project(session, settings, owner, private=True)
    for suffix in ("git/branches", "git/tags", "git/alias", "git/urls",
                   f"hascommit?user={owner.name}&branch=main"):
        assert error_of(client.get(f"{API}/{private.name}/{suffix}")) == (404, "ENOPROJECT")
    outsider = make_user()
    token = auth(make_token(outsider, ["create_branch"]))
    assert error_of(client.post(f"{API}/{private.name}/git/branch", json={"branch": "x"},
                                headers=token)) == (404, "ENOPROJECT")
    assert client.get(f"{API}/{private.name}/git/branches",
                      headers=auth(make_token(owner, ["create_branch"]))).status_code == 200
