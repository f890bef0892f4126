"""Smart HTTP behind the real production server (``pagurus web``: gunicorn,
threaded workers): chunked pushes, and a long clone that does not hold up
anyone else."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import unique
from githttp_support import git, make_repo_project, refs_on_disk, url
from livehelp import live_web

from pagurus import config

pytestmark = pytest.mark.slow

BIG = 24 * 1024 * 1024  # more than the loopback socket buffers can swallow


@pytest.fixture(scope="module")
def web(settings: config.Settings, worker: Any, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[str]:
    """``pagurus web`` on the test settings (same database and data dir)."""
    with live_web(settings, tmp_path_factory.mktemp("gunicorn") / "web.log") as base:
        yield base


@pytest.fixture(scope="module")
def big_project(web: str, settings: config.Settings, app: Any,
                tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A project whose main repo holds a 24 MB incompressible file, pushed over
    HTTP: git sends that body chunked, gunicorn de-chunks it."""
    from pagurus.core import tokens as core_tokens
    from pagurus.core import users as core_users

    session = app.extensions["pagurus"]["sessions"]()
    try:
        owner = core_users.create_user(session, unique("big"), f"{unique('b')}@example.com",
                                       password="correct horse battery")
        session.commit()
        project = make_repo_project(session, settings, owner, unique("big"))
        token, _row = core_tokens.create_token(session, owner, ["commit"])
        session.commit()
        work = tmp_path_factory.mktemp("bigwork") / "w"
        git("clone", "-q", url(web, f"{project.name}.git"), str(work))
        (work / "noise.bin").write_bytes(os.urandom(BIG))
        git("add", "noise.bin", cwd=work)
        git("commit", "-q", "-m", "Noise", cwd=work)
        proc = git("push", url(web, f"{project.name}.git", owner.name, token),
                   "HEAD:refs/heads/main", cwd=work,
                   env={"GIT_TRACE_CURL": "1", "GIT_TRACE_CURL_NO_DATA": "1"})
        assert "Transfer-Encoding: chunked" in proc.stderr
        head = git("rev-parse", "HEAD", cwd=work).stdout.strip()
        assert refs_on_disk(settings, project)["refs/heads/main"] == head
        return project, head, work
    finally:
        session.close()


def test_a_big_chunked_push_then_clone_round_trips(web, big_project,
                                                   tmp_path: Path) -> None:
    project, head, work = big_project
    dest = tmp_path / "clone"
    git("clone", "-q", "--bare", url(web, f"{project.name}.git"), str(dest))
    assert git("rev-parse", "refs/heads/main", cwd=dest).stdout.strip() == head
    assert git("cat-file", "-s", "HEAD:noise.bin", cwd=dest).stdout.strip() == str(BIG)


def test_other_requests_are_served_while_a_big_clone_streams(web, big_project) -> None:
    project, head, _work = big_project
    request = b"0032want " + head.encode() + b"\n00000009done\n"
    held = requests.post(f"{web}/{project.name}.git/git-upload-pack", data=request,
                         headers={"Content-Type": "application/x-git-upload-pack-request"},
                         stream=True, timeout=60)
    try:
        assert held.status_code == 200
        chunks = held.iter_content(64 * 1024)
        received = len(next(chunks))
        # the clone's thread is busy writing; other requests still get answers
        for _ in range(3):
            assert requests.get(f"{web}/api/0/version", timeout=30).status_code == 200
            out = git("-c", "protocol.version=2", "ls-remote",
                      url(web, f"{project.name}.git")).stdout
            assert f"{head}\trefs/heads/main" in out
        for chunk in chunks:
            received += len(chunk)
        assert received > BIG
    finally:
        held.close()


def test_gunicorn_passes_protocol_v2_and_gzip_bodies(web, big_project) -> None:
    import gzip

    project, head, _work = big_project
    resp = requests.get(f"{web}/{project.name}.git/info/refs",
                        params={"service": "git-upload-pack"},
                        headers={"Git-Protocol": "version=2"}, timeout=30)
    assert resp.content.startswith(b"000eversion 2\n")
    body = (b"0014command=ls-refs\n" b"0001" b"0000")
    resp = requests.post(f"{web}/{project.name}.git/git-upload-pack", data=gzip.compress(body),
                         headers={"Content-Type": "application/x-git-upload-pack-request",
                                  "Content-Encoding": "gzip", "Git-Protocol": "version=2"},
                         timeout=30)
    assert resp.status_code == 200
    assert f"{head} refs/heads/main".encode() in resp.content
