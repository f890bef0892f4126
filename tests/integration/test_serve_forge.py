"""Someone runs `pagurus serve` on a fresh machine: real processes, real HTTP.

Each test starts its own `pagurus serve` on a fresh data dir and a free port
(with a fresh PostgreSQL database when PAGURUS_TEST_DATABASE_URL is set; the
broker is always the embedded filesystem one, so no other run on a shared
Redis can take its tasks), and kills every process it made, whatever happens.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.slow

START_TIMEOUT = 90
STOP_TIMEOUT = 90  # serve waits up to 30 s for Celery's warm shutdown, then kills


def wait_until(predicate: Callable[[], object], timeout: float, what: str) -> object:
    """Poll ``predicate`` until it returns something truthy, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the process tree, read from /proc ---------------------------------------

def _stat(pid: int) -> tuple[int, int, str, int] | None:
    """(ppid, pgrp, state, start time) of a live process, None when gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    return int(fields[1]), int(fields[2]), fields[0], int(fields[19])


def all_processes() -> dict[int, tuple[int, int, str, int]]:
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _stat(int(entry))) is not None:
            out[int(entry)] = st
    return out


def process_tree(root: int) -> dict[int, int]:
    """pid -> start time of ``root`` and all its descendants, and of every
    member of their process groups."""
    procs = all_processes()
    tree = {root}
    grew = True
    while grew:
        grew = False
        for pid, (ppid, _pgrp, _state, _start) in procs.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grew = True
    groups = {procs[p][1] for p in tree if p in procs}
    tree |= {pid for pid, st in procs.items() if st[1] in groups}
    return {pid: procs[pid][3] for pid in tree if pid in procs}


def still_alive(tree: dict[int, int]) -> list[int]:
    """Pids of ``tree`` still running (same start time, not a zombie)."""
    alive = []
    for pid, start in tree.items():
        st = _stat(pid)
        if st is not None and st[3] == start and st[2] != "Z":
            alive.append(pid)
    return alive


# -- one `pagurus serve` ------------------------------------------------------

@dataclass
class Served:
    proc: subprocess.Popen[str]
    data: Path
    port: int
    env: dict[str, str]
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stdout(self) -> str:
        return "".join(self.out)

    def logs(self) -> str:
        return "".join(self.out) + "\n--- stderr ---\n" + "".join(self.err)

    def answers(self, path: str = "/api/0/-/version") -> requests.Response | None:
        try:
            return requests.get(self.url + path, timeout=15)
        except (requests.ConnectionError, requests.Timeout):  # booting, or slow under load
            return None

    def admin(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pagurus.cli", "admin", *args,
                               "--data", str(self.data)], env=self.env, input=stdin,
                              capture_output=True, text=True, timeout=120)


def _pump(stream, sink: list[str]) -> None:
    for line in stream:
        sink.append(line)


@contextmanager
def fresh_database() -> Iterator[dict[str, str]]:
    """Environment for a database of this server's own: SQLite under the data dir,
    or a new PostgreSQL database dropped afterwards."""
    server = os.environ.get("PAGURUS_TEST_DATABASE_URL")
    if not server:
        yield {}
        return
    url = make_url(server)
    name = f"pagurus_serve_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield {"PAGURUS_DATABASE_URL": url.set(database=name).render_as_string(
            hide_password=False)}
    finally:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :n"), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def serve(tmp_path) -> Iterator[Callable[[], Served]]:
    started: list[Served] = []

    with fresh_database() as db_env:
        def _start() -> Served:
            data = tmp_path / "data"
            port = free_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith("PAGURUS_")}
            env.update(db_env)
            proc = subprocess.Popen(
                [sys.executable, "-m", "pagurus.cli", "serve", "--data", str(data),
                 "--host", "127.0.0.1", "--port", str(port), "--ssh-port", str(free_port())],
                env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True, start_new_session=True,
            )
            served = Served(proc, data, port, env)
            for stream, sink in ((proc.stdout, served.out), (proc.stderr, served.err)):
                threading.Thread(target=_pump, args=(stream, sink), daemon=True).start()
            started.append(served)
            return served

        try:
            yield _start
        finally:
            for served in started:
                if served.proc.poll() is None:
                    tree = process_tree(served.proc.pid)
                    for pid in tree:
                        try:
                            os.killpg(os.getpgid(pid), signal.SIGKILL)
                        except (ProcessLookupError, PermissionError):
                            pass
                    served.proc.wait(timeout=30)


def stop_and_check_nothing_is_left(served: Served, sig: int) -> None:
    tree = process_tree(served.proc.pid)
    # serve itself, gunicorn's master and workers, the Celery worker
    assert len(tree) >= 4, served.logs()
    served.proc.send_signal(sig)
    try:
        rc = served.proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise AssertionError("serve did not stop\n" + served.logs()) from None
    assert rc == 0, served.logs()
    assert still_alive(tree) == [], served.logs()
    assert served.answers() is None  # nobody listens any more


def started_and_answering(served: Served) -> requests.Response:
    def ready() -> requests.Response | None:
        if served.proc.poll() is not None:
            raise AssertionError("serve exited early\n" + served.logs())
        res = served.answers()
        return res if res is not None and res.status_code == 200 else None

    return wait_until(ready, START_TIMEOUT, "the web app to answer")  # type: ignore[return-value]


# -- the tests ------------------------------------------------------------------

def test_serve_on_a_fresh_data_dir_runs_the_forge_and_stops_on_sigterm(serve):
    served = serve()
    res = started_and_answering(served)
    assert res.headers["Content-Type"].startswith("application/json")
    assert "version" in res.json()

    out = served.stdout()
    assert f"http://127.0.0.1:{served.port}/" in out
    hint = f"admin user create NAME --email EMAIL --password-stdin --admin --data {served.data}"
    assert hint in out, served.logs()
    assert (served.data / "secret_key").is_file()
    assert (served.data / "repos").is_dir()

    # the hint works: first admin, then a token, with the CLI on the same data dir
    created = served.admin("user", "create", "alice", "--email", "alice@example.com",
                           "--password-stdin", "--admin", stdin="correct horse battery\n")
    assert created.returncode == 0, created.stderr
    token = served.admin("token", "create", "alice", "--acl", "create_project")
    assert token.returncode == 0, token.stderr

    # a queued task runs end to end: the web app queues, the worker makes the repos
    res = requests.post(served.url + "/api/0/new",
                        headers={"Authorization": f"token {token.stdout.strip()}"},
                        data={"name": "hermit", "description": "A crab's shell",
                              "create_readme": "true", "wait": "true"}, timeout=120)
    assert res.status_code == 200, res.text
    assert res.json()["message"] == 'Project "hermit" created'
    assert (served.data / "repos" / "hermit.git" / "HEAD").is_file()
    listed = requests.get(served.url + "/api/0/hermit", timeout=10)
    assert listed.status_code == 200 and listed.json()["fullname"] == "hermit"

    stop_and_check_nothing_is_left(served, signal.SIGTERM)


def test_ctrl_c_stops_serve_and_every_child(serve):
    served = serve()
    started_and_answering(served)
    stop_and_check_nothing_is_left(served, signal.SIGINT)


def test_serve_restarts_a_worker_that_dies(serve):
    served = serve()
    started_and_answering(served)

    def worker_pid() -> int | None:
        for pid, (ppid, _g, _s, _t) in all_processes().items():
            if ppid == served.proc.pid:
                try:
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                except FileNotFoundError:
                    continue
                if b"worker" in cmd:
                    return pid
        return None

    first = wait_until(worker_pid, START_TIMEOUT, "the worker")
    os.kill(first, signal.SIGKILL)
    second = wait_until(lambda: (p := worker_pid()) not in (None, first) and p,
                        START_TIMEOUT, "a new worker")
    assert second != first
    assert "worker exited unexpectedly" in "".join(served.err)
    assert served.proc.poll() is None
    stop_and_check_nothing_is_left(served, signal.SIGTERM)


def test_serve_refuses_a_port_already_in_use(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAGURUS_")}
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        res = subprocess.run(
            [sys.executable, "-m", "pagurus.cli", "serve", "--data", str(tmp_path / "d"),
             "--port", str(port), "--no-ssh"], env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in res.stderr
