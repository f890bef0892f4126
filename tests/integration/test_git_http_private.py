"""Private repos and the tickets/requests repos over smart HTTP: a hidden repo
answers exactly like a missing one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import PASSWORD, unique
from githttp_support import (
    git,
    grant,
    live_server,
    make_repo_project,
    new_commit,
    refs_on_disk,
    url,
)


@pytest.fixture(scope="module")
def forge(app: Any, worker: Any) -> Iterator[str]:
    with live_server(app) as base:
        yield base


def advertise(forge: str, path: str, service: str = "git-upload-pack",
              auth: tuple[str, str] | None = None) -> requests.Response:
    return requests.get(f"{forge}/{path}/info/refs", params={"service": service}, auth=auth,
                        timeout=30)


def test_anonymous_git_is_challenged_on_a_private_repo_like_on_a_missing_one(
        forge, session, settings, make_user) -> None:
    project = make_repo_project(session, settings, make_user(), unique("priv"), private=True)
    hidden = advertise(forge, f"{project.name}.git")
    missing = advertise(forge, f"{unique('nothere')}.git")
    for resp in (hidden, missing):
        assert resp.status_code == 401
        assert resp.headers["WWW-Authenticate"] == 'Basic realm="Pagurus"'
    assert hidden.text == missing.text
    proc = git("ls-remote", url(forge, f"{project.name}.git"), check=False)
    assert proc.returncode != 0
    assert "terminal prompts disabled" in proc.stderr


def test_a_stranger_with_good_credentials_gets_the_same_404_as_for_a_missing_repo(
        forge, session, settings, make_user, make_token) -> None:
    stranger = make_user()
    project = make_repo_project(session, settings, make_user(), unique("priv"), private=True)
    token = make_token(stranger, ["commit"])
    answers = []
    for creds in ((stranger.name, PASSWORD), (stranger.name, token)):
        for service in ("git-upload-pack", "git-receive-pack"):
            hidden = advertise(forge, f"{project.name}.git", service, creds)
            missing = advertise(forge, f"{unique('nothere')}.git", service, creds)
            assert hidden.status_code == missing.status_code == 404
            assert "WWW-Authenticate" not in hidden.headers
            answers += [hidden.text, missing.text]
    assert len(set(answers)) == 1
    proc = git("ls-remote", url(forge, f"{project.name}.git", stranger.name, PASSWORD),
               check=False)
    assert proc.returncode != 0
    assert "not found" in proc.stderr


def test_a_member_clones_and_pushes_a_private_repo(forge, session, settings, make_user,
                                                   make_token, tmp_path: Path) -> None:
    owner, member = make_user(), make_user()
    project = make_repo_project(session, settings, owner, unique("priv"), private=True)
    grant(session, project, member, "commit")
    token = make_token(member, ["commit"])
    remote = url(forge, f"{project.name}.git", member.name, token)
    git("clone", "-q", remote, str(tmp_path / "w"))
    assert (tmp_path / "w" / "README.md").exists()
    new = new_commit(tmp_path / "w")
    git("push", "-q", remote, "HEAD:refs/heads/main", cwd=tmp_path / "w")
    assert refs_on_disk(settings, project)["refs/heads/main"] == new
    # the owner with a password, through the fork-less namespace-less form without .git
    git("ls-remote", url(forge, project.name, owner.name, PASSWORD))


def test_a_ticket_level_user_clones_the_tickets_repo_but_not_push_the_code(
        forge, session, settings, make_user, tmp_path: Path) -> None:
    owner, triager = make_user(), make_user()
    project = make_repo_project(session, settings, owner, unique("tix"), private=True)
    grant(session, project, triager, "ticket")
    for kind in ("tickets", "requests"):
        git("clone", "-q", url(forge, f"{kind}/{project.name}.git", triager.name, PASSWORD),
            str(tmp_path / kind))
    git("clone", "-q", url(forge, f"{project.name}.git", triager.name, PASSWORD),
        str(tmp_path / "code"))
    new_commit(tmp_path / "code")
    before = refs_on_disk(settings, project)
    proc = git("push", url(forge, f"{project.name}.git", triager.name, PASSWORD),
               "HEAD:refs/heads/main", cwd=tmp_path / "code", check=False)
    assert proc.returncode != 0
    assert refs_on_disk(settings, project) == before


def test_a_stranger_cannot_clone_the_tickets_of_a_public_project(forge, session, settings,
                                                                 make_user) -> None:
    stranger = make_user()
    project = make_repo_project(session, settings, make_user(), unique("pubtix"))
    assert advertise(forge, f"{project.name}.git").status_code == 200
    assert advertise(forge, f"docs/{project.name}.git").status_code == 200
    for kind in ("tickets", "requests"):
        assert advertise(forge, f"{kind}/{project.name}.git").status_code == 401
        resp = advertise(forge, f"{kind}/{project.name}.git", auth=(stranger.name, PASSWORD))
        assert resp.status_code == 404
        proc = git("ls-remote", url(forge, f"{kind}/{project.name}.git", stranger.name,
                                    PASSWORD), check=False)
        assert proc.returncode != 0


def test_the_owner_pushes_to_the_docs_repo(forge, session, settings, make_user,
                                           tmp_path: Path) -> None:
    owner = make_user()
    project = make_repo_project(session, settings, owner, unique("docs"))
    remote = url(forge, f"docs/{project.name}.git", owner.name, PASSWORD)
    git("clone", "-q", remote, str(tmp_path / "d"))
    new = new_commit(tmp_path / "d", "index.md", "# Docs\n")
    git("push", "-q", remote, "HEAD:refs/heads/main", cwd=tmp_path / "d")
    assert refs_on_disk(settings, project, "docs")["refs/heads/main"] == new
    assert refs_on_disk(settings, project, "main")["refs/heads/main"] != new
