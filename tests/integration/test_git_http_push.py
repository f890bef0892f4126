"""Someone pushes over smart HTTP: who may, who may not, and nothing refused
leaves a ref changed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import PASSWORD, unique
from githttp_support import (
    expire_token,
    git,
    grant,
    live_server,
    make_repo_project,
    new_commit,
    refs_on_disk,
    url,
)

from pagurus.core import projects as core_projects
from pagurus.core import users as core_users
from pagurus.model import Project, User, utcnow


@pytest.fixture(scope="module")
def forge(app: Any, worker: Any) -> Iterator[str]:
    with live_server(app) as base:
        yield base


def clone_with_change(forge: str, project: Project, where: Path) -> str:
    """An anonymous clone of a public project with one new local commit."""
    git("clone", "-q", url(forge, f"{project.fullname}.git"), str(where))
    return new_commit(where, content=f"{where.name}\n")


def push(forge: str, project: Project, workdir: Path, user: str | None = None,
         secret: str | None = None, refspec: str = "HEAD:refs/heads/main") -> Any:
    return git("push", url(forge, f"{project.fullname}.git", user, secret), refspec,
               cwd=workdir, check=False)


def test_anonymous_push_is_challenged_and_changes_nothing(forge, session, settings,
                                                          make_user, tmp_path: Path) -> None:
    project = make_repo_project(session, settings, make_user(), unique("anon"))
    before = refs_on_disk(settings, project)
    clone_with_change(forge, project, tmp_path / "w")
    proc = push(forge, project, tmp_path / "w")
    assert proc.returncode != 0
    assert "terminal prompts disabled" in proc.stderr or "Authentication" in proc.stderr
    assert refs_on_disk(settings, project) == before
    for target in ("info/refs?service=git-receive-pack", "git-receive-pack"):
        method = requests.get if "info" in target else requests.post
        resp = method(f"{forge}/{project.name}.git/{target}", timeout=30,
                      headers={"Content-Type": "application/x-git-receive-pack-request"})
        assert resp.status_code == 401
        assert resp.headers["WWW-Authenticate"] == 'Basic realm="Pagurus"'
    assert refs_on_disk(settings, project) == before


def test_owner_pushes_with_a_commit_token(forge, session, settings, make_user, make_token,
                                          tmp_path: Path) -> None:
    owner = make_user()
    project = make_repo_project(session, settings, owner, unique("tok"))
    token = make_token(owner, ["commit"])
    new = clone_with_change(forge, project, tmp_path / "w")
    proc = push(forge, project, tmp_path / "w", owner.name, token)
    assert proc.returncode == 0, proc.stderr
    assert refs_on_disk(settings, project)["refs/heads/main"] == new
    # a tag too, by a client configured for protocol v2 (push falls back to v0)
    git("tag", "v1", cwd=tmp_path / "w")
    proc = git("-c", "protocol.version=2", "push",
               url(forge, f"{project.fullname}.git", owner.name, token), "refs/tags/v1",
               cwd=tmp_path / "w", check=False)
    assert proc.returncode == 0, proc.stderr
    assert refs_on_disk(settings, project)["refs/tags/v1"] == new


def test_owner_pushes_with_the_account_password(forge, session, settings, make_user,
                                                tmp_path: Path) -> None:
    owner = make_user()
    project = make_repo_project(session, settings, owner, unique("pw"))
    new = clone_with_change(forge, project, tmp_path / "w")
    proc = push(forge, project, tmp_path / "w", owner.name, PASSWORD)
    assert proc.returncode == 0, proc.stderr
    assert refs_on_disk(settings, project)["refs/heads/main"] == new
    # a wrong password is challenged again
    new_commit(tmp_path / "w", content="again\n")
    before = refs_on_disk(settings, project)
    proc = push(forge, project, tmp_path / "w", owner.name, "not the password")
    assert proc.returncode != 0
    assert "Authentication failed" in proc.stderr
    assert refs_on_disk(settings, project) == before


def test_a_password_can_come_from_git_askpass(forge, session, settings, make_user,
                                              tmp_path: Path) -> None:
    owner = make_user()
    project = make_repo_project(session, settings, owner, unique("ask"))
    new = clone_with_change(forge, project, tmp_path / "w")
    askpass = tmp_path / "askpass.sh"
    askpass.write_text('#!/bin/sh\ncase "$1" in Username*) echo "$U";; *) echo "$P";; esac\n')
    askpass.chmod(0o700)
    proc = git("push", url(forge, f"{project.fullname}.git"), "HEAD:refs/heads/main",
               cwd=tmp_path / "w", check=False,
               env={"GIT_ASKPASS": str(askpass), "U": owner.name, "P": PASSWORD})
    assert proc.returncode == 0, proc.stderr
    assert refs_on_disk(settings, project)["refs/heads/main"] == new


@pytest.mark.parametrize("problem", ["no-commit-acl", "expired", "other-owner", "blocked",
                                     "unknown-token"])
def test_credentials_that_do_not_qualify_are_refused(forge, session, settings, make_user,
                                                     make_token, tmp_path: Path,
                                                     problem: str) -> None:
    owner = make_user()
    project = make_repo_project(session, settings, owner, unique("bad"))
    name = owner.name
    if problem == "no-commit-acl":
        token = make_token(owner, ["create_project", "modify_project"])
    elif problem == "expired":
        token = make_token(owner, ["commit"])
        expire_token(session, token)
    elif problem == "other-owner":
        token = make_token(owner, ["commit"])
        name = make_user().name  # a real user, but not the token's owner
    elif problem == "blocked":
        token = make_token(owner, ["commit"])
        core_users.block_user(session.get(User, owner.id), utcnow() + timedelta(days=1))
        session.commit()
    else:
        token = "X" * 64
    before = refs_on_disk(settings, project)
    clone_with_change(forge, project, tmp_path / "w")
    proc = push(forge, project, tmp_path / "w", name, token)
    assert proc.returncode != 0
    assert refs_on_disk(settings, project) == before
    resp = requests.get(f"{forge}/{project.name}.git/info/refs",
                        params={"service": "git-receive-pack"}, auth=(name, token), timeout=30)
    assert resp.status_code == 401
    if problem == "blocked":  # the password does not help either
        proc = push(forge, project, tmp_path / "w", name, PASSWORD)
        assert proc.returncode != 0
        assert refs_on_disk(settings, project) == before


def test_a_token_bound_to_another_project_cannot_push(forge, session, settings, make_user,
                                                      make_token, tmp_path: Path) -> None:
    owner = make_user()
    project = make_repo_project(session, settings, owner, unique("mine"))
    other = make_repo_project(session, settings, owner, unique("other"))
    token = make_token(owner, ["commit"], project=other)
    before = refs_on_disk(settings, project)
    clone_with_change(forge, project, tmp_path / "w")
    proc = push(forge, project, tmp_path / "w", owner.name, token)
    assert proc.returncode != 0
    assert "403" in proc.stderr
    assert refs_on_disk(settings, project) == before
    # the same token works on its own project
    new = clone_with_change(forge, other, tmp_path / "o")
    proc = push(forge, other, tmp_path / "o", owner.name, token)
    assert proc.returncode == 0, proc.stderr
    assert refs_on_disk(settings, other)["refs/heads/main"] == new


def test_commit_access_takes_effect_at_once(forge, session, settings, make_user, make_token,
                                            tmp_path: Path) -> None:
    owner, dev = make_user(), make_user()
    project = make_repo_project(session, settings, owner, unique("acl"))
    token = make_token(dev, ["commit"])
    before = refs_on_disk(settings, project)
    new = clone_with_change(forge, project, tmp_path / "w")
    proc = push(forge, project, tmp_path / "w", dev.name, token)
    assert proc.returncode != 0
    assert "not allowed to push" in proc.stderr
    assert refs_on_disk(settings, project) == before

    grant(session, project, dev, "commit")
    proc = push(forge, project, tmp_path / "w", dev.name, token)
    assert proc.returncode == 0, proc.stderr
    assert refs_on_disk(settings, project)["refs/heads/main"] == new

    grant(session, project, dev, None)
    new_commit(tmp_path / "w", content="more\n")
    after = refs_on_disk(settings, project)
    proc = push(forge, project, tmp_path / "w", dev.name, token)
    assert proc.returncode != 0
    assert refs_on_disk(settings, project) == after


def test_commit_access_given_through_the_api_works_for_git(forge, client, session, settings,
                                                           make_user, make_token,
                                                           tmp_path: Path) -> None:
    owner, dev = make_user(), make_user()
    project = make_repo_project(session, settings, owner, unique("api"))
    admin_token = make_token(owner, ["modify_project"])
    resp = client.post(f"/api/0/{project.name}/git/modifyacls",
                       headers={"Authorization": f"token {admin_token}"},
                       data={"user_type": "user", "name": dev.name, "acl": "commit"})
    assert resp.status_code == 200, resp.get_json()
    new = clone_with_change(forge, project, tmp_path / "w")
    proc = push(forge, project, tmp_path / "w", dev.name, PASSWORD)
    assert proc.returncode == 0, proc.stderr
    assert refs_on_disk(settings, project)["refs/heads/main"] == new


def test_a_ticket_level_user_cannot_push_the_code(forge, session, settings, make_user,
                                                  tmp_path: Path) -> None:
    owner, triager = make_user(), make_user()
    project = make_repo_project(session, settings, owner, unique("tkt"))
    grant(session, project, triager, "ticket")
    before = refs_on_disk(settings, project)
    clone_with_change(forge, project, tmp_path / "w")
    proc = push(forge, project, tmp_path / "w", triager.name, PASSWORD)
    assert proc.returncode != 0
    assert refs_on_disk(settings, project) == before


def test_a_read_only_project_refuses_pushes(forge, session, settings, make_user,
                                            tmp_path: Path) -> None:
    owner = make_user()
    project = make_repo_project(session, settings, owner, unique("ro"))
    row = session.get(Project, project.id)
    row.read_only = True
    session.commit()
    before = refs_on_disk(settings, project)
    clone_with_change(forge, project, tmp_path / "w")
    proc = push(forge, project, tmp_path / "w", owner.name, PASSWORD)
    assert proc.returncode != 0
    assert refs_on_disk(settings, project) == before


def test_a_project_blocked_user_cannot_push(forge, session, settings, make_user,
                                            tmp_path: Path) -> None:
    owner, dev = make_user(), make_user()
    project = make_repo_project(session, settings, owner, unique("blk"))
    grant(session, project, dev, "commit")
    row = session.get(Project, project.id)
    core_projects.block_users(session, row.user, row, [dev.name])
    session.commit()
    before = refs_on_disk(settings, project)
    clone_with_change(forge, project, tmp_path / "w")
    proc = push(forge, project, tmp_path / "w", dev.name, PASSWORD)
    assert proc.returncode != 0
    assert refs_on_disk(settings, project) == before


def test_a_push_larger_than_two_megabytes_goes_through(forge, session, settings, make_user,
                                                      make_token, tmp_path: Path) -> None:
    """git sends bodies over 1 MB chunked; the server de-chunks and streams them."""
    owner = make_user()
    project = make_repo_project(session, settings, owner, unique("big"))
    token = make_token(owner, ["commit"])
    work = tmp_path / "w"
    git("clone", "-q", url(forge, f"{project.name}.git"), str(work))
    (work / "noise.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    git("add", "noise.bin", cwd=work)
    git("commit", "-q", "-m", "Noise", cwd=work)
    new = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    proc = git("push", url(forge, f"{project.name}.git", owner.name, token),
               "HEAD:refs/heads/main", cwd=work, check=False,
               env={"GIT_TRACE_CURL": "1", "GIT_TRACE_CURL_NO_DATA": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Transfer-Encoding: chunked" in proc.stderr
    assert refs_on_disk(settings, project)["refs/heads/main"] == new
    dest = tmp_path / "again"
    git("clone", "-q", url(forge, f"{project.name}.git"), str(dest))
    assert (dest / "noise.bin").read_bytes() == (work / "noise.bin").read_bytes()
