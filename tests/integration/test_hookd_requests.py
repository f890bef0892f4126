"""The hook server faced with requests no hook client would send: malformed,
for a repository outside the data dir, cut short, many at once. Each gets a
clear answer and the server goes on serving real pushes."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from test_hooks_common import (  # noqa: F401 - fixtures
    Work,
    git,
    hookd_for,
    owner_fixture,
    project_fixture,
    refused,
)

from pagurus.config import to_env
from pagurus.git import hookclient as proto
from pagurus.git import hooks as git_hooks
from pagurus.git.pushenv import git_env
from pagurus.paths import repo_path
from pagurus.services.hookd import run_dir

REQUIRE = {"PAGURUS_HOOKD": "require"}  # the push fails if the server does not serve it


@pytest.fixture(name="hookd")
def hookd_fixture(request: Any, settings: Any) -> Any:
    server = hookd_for(settings, request.config)
    server.ensure_running()
    return server


@pytest.fixture(name="work")
def work_fixture(settings: Any, project: Any, tmp_path: Path) -> Work:
    return Work(settings, project, tmp_path / "work")


def exchange(server: Any, payload: bytes) -> list[tuple[bytes, bytes]]:
    """Send raw bytes, read every frame until the server closes."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(60)
        sock.connect(str(server.socket))
        try:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may stop reading a request it refused
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
    frames = []
    while data:
        kind, size = data[:1], int.from_bytes(data[1:5], "big")
        frames.append((kind, data[5:5 + size]))
        data = data[5 + size:]
    return frames


def request(hook: str, env: dict[str, Any], stdin: bytes = b"", **header: Any) -> bytes:
    head = {"v": proto.PROTOCOL, "hook": hook, "env": env, "stdin_len": len(stdin), **header}
    return json.dumps(head).encode() + b"\n" + stdin


def hook_env(settings: Any, git_dir: Path | str, **kwargs: Any) -> dict[str, str]:
    env = {k: v for k, v in git_env(settings, **kwargs).items() if proto.forwarded(k)}
    env["GIT_DIR"] = str(git_dir)
    return env


def stderr_of(frames: list[tuple[bytes, bytes]]) -> str:
    return b"".join(p for k, p in frames if k == proto.STDERR).decode()


def exit_of(frames: list[tuple[bytes, bytes]]) -> int | None:
    codes = [int(p) for k, p in frames if k == proto.EXIT]
    return codes[-1] if codes else None


def assert_still_serves(work: Work, owner: Any) -> None:
    new = work.commit("the server still works")
    work.push("HEAD:refs/heads/main", user=owner.name, extra=REQUIRE, check=True)
    assert work.remote_rev("refs/heads/main") == new


def test_malformed_requests_are_turned_down_and_the_server_keeps_serving(
        hookd, settings, work, owner):
    git_dir = str(work.bare)
    good_env = hook_env(settings, git_dir, user=owner.name)
    cases = {
        b"garbage without json\n": "not JSON",
        b"\xff\xfe\n": "not JSON",
        b"[1, 2, 3]\n": "not a JSON object",
        request("pre-receive", good_env, v=2): "protocol version",
        request("rm -rf /", good_env): "unknown hook",
        request("../../bin/sh", good_env): "unknown hook",
        request("pre-receive", good_env, stdin_len=-1): "stdin_len",
        request("pre-receive", good_env, stdin_len="12"): "stdin_len",
        request("pre-receive", good_env, stdin_len=True): "stdin_len",
        request("pre-receive", good_env, stdin_len=proto.MAX_STDIN + 1): "stdin_len",
        request("pre-receive", ["GIT_DIR", git_dir]): "bad env",
        request("pre-receive", {**good_env, "GIT_DIR": "repos/x.git"}): "absolute",
        request("pre-receive", {k: v for k, v in good_env.items() if k != "GIT_DIR"}):
            "absolute",
        request("pre-receive", {**good_env, "PAGURUS_PUSHER": 42}): "bad value",
        request("pre-receive", {**good_env, "PAGURUS_PUSHER": "a\0b"}): "bad value",
        request("pre-receive", good_env) + b"X" * 10: "more input than announced",
        request("pre-receive", good_env, b"0" * 40)[:-10]: "incomplete request",
        b"{" + b" " * (proto.MAX_HEADER + 10): "too large",
    }
    for payload, why in cases.items():
        frames = exchange(hookd, payload)
        assert len(frames) == 1 and frames[0][0] == proto.REFUSED, (payload[:80], frames)
        assert why in frames[0][1].decode(), (payload[:80], frames)
    assert_still_serves(work, owner)


def test_unknown_variables_in_a_request_are_dropped(hookd, settings, work, owner):
    """Only the hook's variables count: a request cannot smuggle in others."""
    env = hook_env(settings, work.bare, user=owner.name)
    env["LD_PRELOAD"] = "/tmp/evil.so"
    env["PATH"] = "/tmp/evil"
    old = work.remote_rev("refs/heads/main")
    line = f"{old} {old} refs/heads/main\n".encode()
    frames = exchange(hookd, request("pre-receive", env, line))
    assert [k for k, _ in frames] == [proto.ACCEPTED, proto.EXIT]
    assert exit_of(frames) == 0


def test_repositories_outside_the_data_dir_are_refused(hookd, settings, work, owner,
                                                       tmp_path):
    outside = tmp_path / "elsewhere.git"
    git("init", "-q", "--bare", str(outside))
    inside_link = settings.data_dir / "repos" / f"link-{tmp_path.name}.git"
    inside_link.symlink_to(outside)
    try:
        for git_dir in (outside, f"{settings.data_dir}/repos/../../{outside.name}",
                        inside_link, settings.data_dir / "repos", "/"):
            env = hook_env(settings, git_dir, internal=True)
            frames = exchange(hookd, request("pre-receive", env, b""))
            assert exit_of(frames) == 1, (git_dir, frames)
            assert "Push refused: this repository is not under the Pagurus data directory" \
                in stderr_of(frames)
            frames = exchange(hookd, request("post-receive", env, b""))
            assert exit_of(frames) == 0
            assert "Warning: the push was not recorded" in stderr_of(frames)
    finally:
        inside_link.unlink()
    # a real push to a repository with our hooks, outside the data dir
    git_hooks.install(outside)
    env = {k: v for k, v in git_env(settings, internal=True).items()
           if not k.startswith("GIT_")}
    proc = git("push", str(outside), "HEAD:refs/heads/main", cwd=work.path,
               env={**env, **REQUIRE}, check=False)
    assert refused(proc) and "not under the Pagurus data directory" in proc.stderr
    assert_still_serves(work, owner)


def test_a_quarantine_outside_the_repository_is_refused(hookd, settings, work, owner,
                                                        tmp_path):
    env = hook_env(settings, work.bare, user=owner.name)
    for quarantine in (str(tmp_path), str(work.bare / "objects"),
                       str(work.bare / "objects" / ".." / ".." / "x")):
        frames = exchange(hookd, request("pre-receive", {**env,
                                                         "GIT_QUARANTINE_PATH": quarantine}))
        assert exit_of(frames) == 1
        assert "unexpected quarantine directory" in stderr_of(frames)


def test_clients_that_vanish_do_not_break_the_server(hookd, settings, work, owner):
    env = hook_env(settings, work.bare, user=owner.name)
    old = work.remote_rev("refs/heads/main")
    line = f"{old} {old} refs/heads/main\n".encode()
    whole = request("post-receive", env, line)
    for part in (b"", b'{"v": 1, "hook": "pre-', whole[:-5], whole):
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(hookd.socket))
            sock.sendall(part)
        # closed at once: never reads the answer
    # one that connects and goes quiet is dropped when another request is served
    quiet = socket.socket(socket.AF_UNIX)
    quiet.connect(str(hookd.socket))
    try:
        assert_still_serves(work, owner)
    finally:
        quiet.close()
    assert hookd.running


def test_many_requests_at_once_each_get_their_own_answer(hookd, settings, work, owner,
                                                         make_user):
    stranger = make_user()
    old = work.remote_rev("refs/heads/main")
    line = f"{old} {'1' * 40} refs/heads/main\n".encode()
    results: dict[int, list[tuple[bytes, bytes]]] = {}
    envs = {name: hook_env(settings, work.bare, user=name)  # no ORM access in threads
            for name in (owner.name, stranger.name)}
    who = {n: owner.name if n % 2 else stranger.name for n in range(12)}

    def ask(n: int) -> None:
        results[n] = exchange(hookd, request("pre-receive", envs[who[n]], line))

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(results) == list(range(12))
    for n, frames in results.items():
        if n % 2:  # the owner: allowed
            assert exit_of(frames) == 0 and stderr_of(frames) == "", frames
        else:
            assert exit_of(frames) == 1
            assert "you are not allowed to push to this branch" in stderr_of(frames)


def test_only_the_forges_user_can_reach_the_socket(hookd, settings):
    folder = run_dir(settings.data_dir)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_ISSOCK(hookd.socket.stat().st_mode)
    assert stat.S_IMODE(hookd.socket.stat().st_mode) == 0o600
    assert hookd.socket.stat().st_uid == os.geteuid()


def test_a_second_server_for_the_same_data_dir_refuses_to_start(hookd, settings, work,
                                                                owner):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAGURUS_")}
    env.update(to_env(settings))
    proc = subprocess.run([sys.executable, "-m", "pagurus.cli", "hookd"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3
    assert "another hook server is running" in proc.stderr
    assert hookd.running and hookd.accepts()
    assert_still_serves(work, owner)


def test_ensure_hooks_upgrades_old_hooks_to_the_client(settings, project, work, owner):
    """Repositories made before the hook server had hooks naming the runner:
    `pagurus admin ensure-hooks` rewrites them, and pushes keep working."""
    main = repo_path(settings.data_dir, "main", project.fullname)
    old_style = ("#!/bin/sh\n# pagurus-hook v1: written by Pagurus, do not edit\n"
                 f"exec {sys.executable} -I -c 'import sys; sys.path.insert(0, "
                 f"{git_hooks._package_root()!r}); from pagurus.git.hookrun import main; "
                 "sys.exit(main(sys.argv[1:]))' pre-receive\n")
    (main / "hooks" / "pre-receive").write_text(old_style)
    assert not git_hooks.is_current(main, "pre-receive")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAGURUS_")}
    env.update(to_env(settings))
    proc = subprocess.run([sys.executable, "-m", "pagurus.cli", "admin", "ensure-hooks",
                           "-v"], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert f"repaired main {project.fullname}" in proc.stderr
    text = (main / "hooks" / "pre-receive").read_text()
    assert git_hooks.is_current(main, "pre-receive")
    assert f"-I -S {git_hooks.client_path()} pre-receive" in text
    new = work.commit("after the upgrade")
    work.push("HEAD:refs/heads/main", user=owner.name, check=True)
    assert work.remote_rev("refs/heads/main") == new
