"""The SSH commands as an admin runs them: `pagurus ssh`, `pagurus admin ssh-key …`,
`pagurus serve --ssh-port`, with real processes."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import unique
from sshhelp import client_env, git, make_key, make_project, run_ssh, url

from pagurus.config import Settings

pytestmark = pytest.mark.slow


def _env(settings: Settings | None = None, data: Path | None = None) -> dict[str, str]:
    env = client_env()
    env["PYTHONUNBUFFERED"] = "1"
    if settings is not None:
        env["PAGURUS_DATA"] = str(settings.data_dir)
        env["PAGURUS_DATABASE_URL"] = settings.sqlalchemy_url
    if data is not None:
        env["PAGURUS_DATA"] = str(data)
    return env


def _pagurus(*args: str, env: dict[str, str], stdin: str | None = None
             ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pagurus.cli", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


class Running:
    """A long-running pagurus subprocess whose stderr lines we can wait for."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "pagurus.cli", *args], env=env,
                                     cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError("never printed " + pattern + ":\n" +
                                     "".join(self.seen)) from None
            self.seen.append(line)
            found = re.search(pattern, line)
            if found:
                return found

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait()


def test_admin_adds_lists_and_removes_a_key_for_the_standalone_server(session, settings,
                                                                      make_user, worker,
                                                                      tmp_path):
    owner = make_user()
    project = make_project(session, settings, owner, unique("p"))
    key = make_key(tmp_path / "keys", "k")
    env = _env(settings)

    server = Running(["ssh", "--host", "127.0.0.1", "--port", "0"], env, tmp_path)
    try:
        port = int(server.wait_for(r"listening on 127\.0\.0\.1:(\d+)").group(1))
        assert run_ssh(key, port).returncode == 255

        added = _pagurus("admin", "ssh-key", "add", owner.name, str(key.private) + ".pub",
                         env=env)
        assert added.returncode == 0, added.stderr
        key_id = int(added.stdout.strip())
        again = _pagurus("admin", "ssh-key", "add", owner.name, "-", env=env, stdin=key.public)
        assert again.returncode == 3 and "already in use" in again.stderr
        bad = _pagurus("admin", "ssh-key", "add", owner.name, "-", env=env,
                       stdin='command="sh" ' + key.public)
        assert bad.returncode == 3 and "options" in bad.stderr.lower()

        listed = _pagurus("admin", "ssh-key", "list", owner.name, env=env)
        assert listed.returncode == 0
        assert re.search(rf"^{key_id}\t{owner.name}\tssh-ed25519\tSHA256:", listed.stdout, re.M)

        work = tmp_path / "w"
        git("clone", "-q", url(port, f"{project.fullname}.git"), str(work), key=key, port=port)
        assert (work / "README.md").is_file()

        removed = _pagurus("admin", "ssh-key", "remove", str(key_id), env=env)
        assert removed.returncode == 0, removed.stderr
        assert run_ssh(key, port).returncode == 255
        assert _pagurus("admin", "ssh-key", "remove", str(key_id), env=env).returncode == 3
    finally:
        assert server.stop() == 0


def test_host_keys_are_made_once_private_and_reused(tmp_path, settings):
    from pagurus.services.ssh.hostkeys import ensure_host_keys

    data = tmp_path / "data"
    first = ensure_host_keys(data)
    assert [p.name for p in first] == ["ssh_host_ed25519_key", "ssh_host_rsa_key"]
    contents = [p.read_bytes() for p in first]
    for path in first:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    rsa = subprocess.run(["ssh-keygen", "-l", "-f", str(first[1])], capture_output=True,
                         text=True, check=True).stdout
    assert rsa.startswith("3072 ")
    assert [p.read_bytes() for p in ensure_host_keys(data)] == contents


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_pagurus_serve_answers_git_over_ssh(tmp_path):
    data = tmp_path / "data"
    env = _env(data=data)
    http_port, ssh_port = _free_port(), _free_port()
    served = Running(["serve", "--host", "127.0.0.1", "--port", str(http_port),
                      "--ssh-port", str(ssh_port)], env, tmp_path)
    try:
        served.wait_for(r"git over SSH: ssh://git@127\.0\.0\.1:" + str(ssh_port))
        served.wait_for(r"SSH server listening on 127\.0\.0\.1:" + str(ssh_port))
        made = _pagurus("admin", "user", "create", "alice", "--email", "alice@example.com",
                        env=env)
        assert made.returncode == 0, made.stderr
        key = make_key(tmp_path / "keys", "alice")
        assert _pagurus("admin", "ssh-key", "add", "alice", "-", env=env,
                        stdin=key.public).returncode == 0
        greeting = run_ssh(key, ssh_port)
        assert greeting.stdout.startswith("Hi alice!"), greeting.stderr
    finally:
        served.stop()
