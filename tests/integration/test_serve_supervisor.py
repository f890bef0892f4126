"""The supervisor behind `pagurus serve`, on small real child processes: it
restarts what crashes, gives up on a crash loop, and leaves nothing behind."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

import pytest
from test_serve_forge import _stat, wait_until

from pagurus.services.supervisor import ChildSpec, Supervisor

pytestmark = pytest.mark.slow

# a child that exits at once with status 3
CRASH = "import sys; sys.exit(3)"
# a child that crashes the first time (no marker yet), then stays up
CRASH_ONCE = """
import os, signal, sys
marker = sys.argv[1]
if not os.path.exists(marker):
    open(marker, "w").close()
    sys.exit(1)
open(marker + ".up", "w").write(str(os.getpid()))
signal.pause()
"""
# a child that stays up from the start
STEADY = """
import os, signal, sys
open(sys.argv[1] + ".up", "w").write(str(os.getpid()))
signal.pause()
"""
# a child that ignores SIGTERM and has a grandchild that ignores it too
STUBBORN = """
import os, signal, subprocess, sys
signal.signal(signal.SIGTERM, signal.SIG_IGN)
code = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); signal.pause()"
kid = subprocess.Popen([sys.executable, "-c", code])
open(sys.argv[1], "w").write(f"{os.getpid()} {kid.pid}")
signal.pause()
"""


def child(name: str, code: str, *args: str, stop_timeout: float = 30) -> ChildSpec:
    return ChildSpec(name, [sys.executable, "-c", code, *args], stop_timeout=stop_timeout)


def alive(pid: int) -> bool:
    st = _stat(pid)
    return st is not None and st[2] != "Z"


def stop_when(sup: Supervisor, condition, what: str) -> threading.Thread:
    """From another thread: wait for ``condition``, then ask ``sup`` to stop."""
    def _watch() -> None:
        try:
            wait_until(condition, 60, what)
        finally:
            sup.request_stop()

    thread = threading.Thread(target=_watch, daemon=True)
    thread.start()
    return thread


def test_a_child_crashing_at_every_start_makes_the_supervisor_give_up():
    logs: list[str] = []
    sup = Supervisor([child("crasher", CRASH)], backoff_initial=0.01, backoff_max=0.05,
                     max_fast_crashes=3, log=logs.append)
    assert sup.run() == 1
    restarts = [line for line in logs if line.startswith("crasher exited unexpectedly")]
    assert len(restarts) == 3
    assert "status 3" in restarts[0]
    assert "giving up" in logs[-1]


def test_a_crashed_child_is_restarted_and_the_others_keep_running(tmp_path):
    marker = str(tmp_path / "marker")
    steady = str(tmp_path / "steady")
    logs: list[str] = []
    sup = Supervisor([child("flaky", CRASH_ONCE, marker), child("steady", STEADY, steady)],
                     backoff_initial=0.01, log=logs.append)
    up = [Path(marker + ".up"), Path(steady + ".up")]
    watcher = stop_when(sup, lambda: all(p.exists() and p.read_text() for p in up),
                        "both children to be up")
    assert sup.run() == 0
    watcher.join()
    pids = [int(p.read_text()) for p in up]
    assert not any(alive(pid) for pid in pids)
    assert sum("flaky exited unexpectedly" in line for line in logs) == 1
    assert not any("steady exited" in line for line in logs)
    assert sum(line.startswith("started steady") for line in logs) == 1
    assert any(line.startswith("stopping flaky") for line in logs)


def test_stop_kills_children_and_grandchildren_that_ignore_sigterm(tmp_path):
    pids_file = tmp_path / "pids"
    logs: list[str] = []
    sup = Supervisor([child("stubborn", STUBBORN, str(pids_file), stop_timeout=0.5)],
                     log=logs.append)
    watcher = stop_when(sup, lambda: pids_file.exists() and pids_file.read_text(),
                        "the stubborn child to start")
    assert sup.run() == 0
    watcher.join()
    parent, grandchild = (int(x) for x in pids_file.read_text().split())
    assert not alive(parent)
    assert not alive(grandchild)
    assert any("did not stop in time" in line for line in logs)


def test_the_supervisor_restores_signal_handlers_when_done():
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    sup = Supervisor([child("crasher", CRASH)], backoff_initial=0.01, max_fast_crashes=1,
                     log=lambda _m: None)
    assert sup.run() == 1
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_duplicate_child_names_are_refused():
    with pytest.raises(ValueError, match="duplicate"):
        Supervisor([child("a", CRASH), child("a", CRASH)])
