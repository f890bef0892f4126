"""Pushing with and without the hook server: the same answers either way, and
pushes keep working when the server is stopped, killed, or dies mid-run."""

from __future__ import annotations

import ast
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from test_hooks_common import (  # noqa: F401 - fixtures
    GIT_BASE,
    Work,
    git,
    hookd_for,
    owner_fixture,
    project_fixture,
    refused,
)

from pagurus.git import hookclient
from pagurus.git import hooks as git_hooks
from pagurus.git.pushenv import git_env
from pagurus.model import Event

SERVER = {"PAGURUS_HOOKD": "require"}
FALLBACK = {"PAGURUS_HOOKD": "off"}


@pytest.fixture(name="hookd")
def hookd_fixture(request: Any, settings: Any) -> Any:
    server = hookd_for(settings, request.config)
    server.ensure_running()
    yield server
    server.ensure_running()  # whatever the test did to it


@pytest.fixture(name="work")
def work_fixture(settings: Any, project: Any, tmp_path: Path) -> Work:
    return Work(settings, project, tmp_path / "work")


def remote_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [line.rstrip() for line in proc.stderr.splitlines() if line.startswith("remote:")]


def receive_events(session: Any, project: Any, end_commit: str) -> list[Event]:
    session.expire_all()
    rows = session.scalars(select(Event).where(Event.project_id == project.id,
                                               Event.topic == "git.receive"))
    return [e for e in rows if e.payload["end_commit"] == end_commit]


def wait_for(predicate: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_server_and_fallback_give_the_same_answers(hookd, session, work, owner, make_user):
    stranger = make_user()
    before = work.remote_rev("refs/heads/main")
    work.commit("a change")
    answers = {}
    for name, mode in (("server", SERVER), ("fallback", FALLBACK)):
        proc = work.push("HEAD:refs/heads/main", user=stranger.name, extra=mode)
        assert refused(proc), name
        answers[name] = remote_lines(proc)
    assert answers["server"] == answers["fallback"]
    assert "remote: Push refused: refs/heads/main: you are not allowed to push to this " \
           "branch" in answers["server"]
    assert work.remote_rev("refs/heads/main") == before
    # accepted alike, with the same pull-request link
    for name, mode in (("server", SERVER), ("fallback", FALLBACK)):
        proc = work.push(f"HEAD:refs/heads/topic-{name}", user=owner.name, extra=mode)
        assert proc.returncode == 0, proc.stderr
        answers[name] = [line.replace(f"topic-{name}", "topic-X")
                         for line in remote_lines(proc)]
    assert answers["server"] == answers["fallback"]
    assert any("Create a pull request for 'topic-X'" in line for line in answers["server"])


def test_pushes_fall_back_when_the_server_is_stopped_or_killed(hookd, session, work, owner,
                                                               project, make_user):
    stranger = make_user()
    assert hookd.stop() == 0  # a clean stop removes the socket
    assert not hookd.socket.exists()
    first = work.commit("no server at all")
    proc = work.push("HEAD:refs/heads/main", user=owner.name)
    assert proc.returncode == 0, proc.stderr
    assert len(receive_events(session, project, first)) == 1
    hookd.start()
    hookd.kill()  # leaves its socket behind: connecting is refused
    assert hookd.socket.exists()
    second = work.commit("a dead server")
    proc = work.push("HEAD:refs/heads/main", user=stranger.name)
    assert refused(proc) and "you are not allowed" in proc.stderr
    proc = work.push("HEAD:refs/heads/main", user=owner.name)
    assert proc.returncode == 0, proc.stderr
    assert len(receive_events(session, project, second)) == 1
    # and "require" refuses instead of falling back
    work.commit("only with the server")
    proc = work.push("HEAD:refs/heads/main", user=owner.name, extra=SERVER)
    assert refused(proc) and "hook server is not running" in proc.stderr
    assert work.remote_rev("refs/heads/main") == second


def test_server_dying_mid_run_makes_the_next_push_fall_back(hookd, session, settings, work,
                                                            owner, project, tmp_path):
    """The server's `git` is a shim that blocks in the post-receive's
    commit-graph step, after the push was recorded; the server is killed
    there. That push still succeeds (recorded once, with a warning); the
    next one runs its hooks in-process."""
    real_git = shutil.which("git")
    shim_dir = tmp_path / "shim"
    shim_dir.mkdir()
    started, fifo = tmp_path / "started", tmp_path / "block"
    os.mkfifo(fifo)
    shim = shim_dir / "git"
    shim.write_text(f"""#!/bin/sh
if [ "$1" = "commit-graph" ]; then
    echo "$$" > '{started}'
    read line < '{fifo}'
fi
exec '{real_git}' "$@"
""")
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    hookd.ensure_running({"PATH": f"{shim_dir}:{os.environ['PATH']}"})
    blocked = work.commit("pushed while the server dies")
    env = git_env(settings, user=owner.name)
    env = {k: v for k, v in env.items() if not k.startswith("GIT_") or k in GIT_BASE}
    full = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PAGURUS_"))}
    full.update({k: v for k, v in GIT_BASE.items() if v})
    full.update(env)
    push = subprocess.Popen(["git", "push", "--porcelain", str(work.bare),
                             "HEAD:refs/heads/main"], cwd=work.path, env=full, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(started.exists, "the server to reach the commit-graph step")
        hookd.kill()
        out, err = push.communicate(timeout=120)
    finally:
        if push.poll() is None:
            push.kill()
    assert push.returncode == 0, err
    assert "stopped while recording this push" in err
    assert work.remote_rev("refs/heads/main") == blocked
    assert len(receive_events(session, project, blocked)) == 1  # not recorded twice
    # the next push: the socket is stale, the hooks run in-process
    assert hookd.socket.exists() and not hookd.accepts()
    after = work.commit("after the server died")
    proc = work.push("HEAD:refs/heads/main", user=owner.name)
    assert proc.returncode == 0, proc.stderr
    assert "stopped while recording" not in proc.stderr
    assert len(receive_events(session, project, after)) == 1


@pytest.mark.parametrize("answer", ["ACCEPTED", "REFUSED"])
def test_pre_receive_cut_short_or_turned_down_runs_in_process(hookd, session, project, work,
                                                              owner, make_user, tmp_path,
                                                              answer):
    """A pre-receive only checks: when the server dies before answering (or
    turns the request down, e.g. too busy), the client runs it itself, and
    the push gets the real verdict."""
    stranger = make_user()
    hookd.stop()
    # a "server" that answers every request with one frame, then hangs up
    fake = tmp_path / "fake_server.py"
    fake.write_text(f"""
import os, socket, sys
from pagurus.git import hookclient as proto
path = {str(hookd.socket)!r}
sock = socket.socket(socket.AF_UNIX)
sock.bind(path)
sock.listen(8)
print("ready", flush=True)
while True:
    conn, _ = sock.accept()
    conn.recv(1 << 20)
    conn.sendall(proto.frame(proto.{answer}, b"server busy"))
    conn.close()
""")
    server = subprocess.Popen([sys.executable, str(fake)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().strip() == "ready"
        before = work.remote_rev("refs/heads/main")
        work.commit("checked twice")
        proc = work.push("HEAD:refs/heads/main", user=stranger.name)
        assert refused(proc) and "you are not allowed to push" in proc.stderr
        assert work.remote_rev("refs/heads/main") == before
        proc = work.push("HEAD:refs/heads/main", user=owner.name)
        assert proc.returncode == 0, proc.stderr
        recorded = receive_events(session, project, work.rev("HEAD"))
        if answer == "ACCEPTED":
            # the post-receive was started and cut short: a warning, not a re-run
            assert "stopped while recording this push" in proc.stderr
            assert recorded == []
        else:  # never started: run in-process
            assert "stopped while recording" not in proc.stderr
            assert len(recorded) == 1
    finally:
        server.kill()
        server.wait()
        hookd.socket.unlink(missing_ok=True)


def test_the_hook_client_needs_only_the_standard_library():
    tree = ast.parse(Path(hookclient.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= {"_json", "_socket", "os", "sys", "tempfile"}
    # runs without site-packages, as the installed hook runs it
    proc = subprocess.run([sys.executable, "-I", "-S", git_hooks.client_path(), "bogus"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "usage: hookclient" in proc.stderr
