"""`pagurus serve` runs the hook server as one of its children: pushes use it,
a dead one is restarted, and a stop leaves no process and no socket behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest
import requests
from test_serve_forge import (  # noqa: F401 - fixture
    START_TIMEOUT,
    all_processes,
    serve,
    started_and_answering,
    stop_and_check_nothing_is_left,
    wait_until,
)

from pagurus import config
from pagurus.git.pushenv import git_env

pytestmark = pytest.mark.slow

GIT = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C",
       "GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "alice@example.com",
       "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "alice@example.com"}


def accepts(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def child_pid(served, word: bytes) -> int | None:
    for pid, (ppid, _g, _s, _t) in all_processes().items():
        if ppid == served.proc.pid:
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except FileNotFoundError:
                continue
            if word in cmd:
                return pid
    return None


def test_serve_runs_the_hook_server_and_restarts_it(serve, tmp_path):  # noqa: F811
    served = serve()
    started_and_answering(served)
    sock = served.data / "run" / "hooks.sock"
    wait_until(lambda: accepts(sock), START_TIMEOUT, "the hook server")

    created = served.admin("user", "create", "alice", "--email", "alice@example.com",
                           "--password-stdin", stdin="correct horse battery\n")
    assert created.returncode == 0, created.stderr
    token = served.admin("token", "create", "alice", "--acl", "create_project")
    res = requests.post(served.url + "/api/0/new",
                        headers={"Authorization": f"token {token.stdout.strip()}"},
                        data={"name": "shell", "description": "d", "create_readme": "true",
                              "wait": "true"}, timeout=120)
    assert res.status_code == 200, res.text
    bare = served.data / "repos" / "shell.git"
    settings = config.load(env=served.env, data_dir=str(served.data))
    push_env = {k: v for k, v in git_env(settings, user="alice").items()
                if not k.startswith("GIT_")}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PAGURUS_"))}
    env.update(GIT)
    env.update(push_env)
    env["PAGURUS_HOOKD"] = "require"  # fail rather than fall back
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], env=env, check=True)

    def push(n: int) -> subprocess.CompletedProcess[str]:
        (work / f"f{n}").write_text(str(n))
        subprocess.run(["git", "add", "-A"], cwd=work, env=env, check=True)
        subprocess.run(["git", "commit", "-q", "-m", f"c{n}"], cwd=work, env=env, check=True)
        return subprocess.run(["git", "push", str(bare), "HEAD:refs/heads/main"], cwd=work,
                              env=env, capture_output=True, text=True, timeout=120)

    first = push(1)
    assert first.returncode == 0, first.stderr + served.logs()

    hookd = child_pid(served, b"hookd")
    assert hookd is not None
    os.kill(hookd, signal.SIGKILL)
    wait_until(lambda: (p := child_pid(served, b"hookd")) not in (None, hookd) and p,
               START_TIMEOUT, "a new hook server")
    wait_until(lambda: accepts(sock), START_TIMEOUT, "the new hook server to listen")
    assert "hookd exited unexpectedly" in "".join(served.err)
    second = push(2)
    assert second.returncode == 0, second.stderr + served.logs()

    stop_and_check_nothing_is_left(served, signal.SIGTERM)
    assert not sock.exists()
