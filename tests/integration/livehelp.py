"""Real ``pagurus`` processes for the tests that need the production server
(``pagurus web``: gunicorn) or a real worker beside it: started on the test
settings (same database, data dir and broker), waited for patiently (the
test machine is often loaded) and always stopped, never left behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import requests

from pagurus import config

BOOT_DEADLINE = 60.0  # seconds for ``pagurus web`` to answer, under load included
STOP_GRACE = 30.0  # seconds between SIGTERM and SIGKILL


def free_port() -> int:
    """A local TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pagurus_env(settings: config.Settings, extra_env: Mapping[str, str] | None = None
                ) -> dict[str, str]:
    """This environment without its own PAGURUS_* variables, plus the test
    settings (and ``extra_env``): the child sees exactly the tests' forge."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAGURUS_")}
    env.update(config.to_env(settings))
    env.update(extra_env or {})
    return env


def stop(proc: subprocess.Popen[bytes], grace: float = STOP_GRACE) -> None:
    """SIGTERM to the process's group, SIGKILL after ``grace``; then whatever
    is left of the group (a gunicorn worker, a pool thread's child) is killed."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    try:  # the group outlives its leader while a member does
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@contextmanager
def pagurus_process(args: Sequence[str], settings: config.Settings, log: Path, *,
                    extra_env: Mapping[str, str] | None = None
                    ) -> Iterator[subprocess.Popen[bytes]]:
    """``pagurus <args>`` in a session of its own, output to ``log``; stopped
    (with all it started) on the way out."""
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "pagurus.cli", *args],
                                env=pagurus_env(settings, extra_env), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        stop(proc)


@contextmanager
def live_web(settings: config.Settings, log: Path, *,
             extra_env: Mapping[str, str] | None = None, workers: int = 1) -> Iterator[str]:
    """``pagurus web`` (gunicorn) on a free port, yielding its base URL once
    ``/api/0/version`` answers; its log is in the error if it never does."""
    port = free_port()
    args = ["web", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    base = f"http://127.0.0.1:{port}"
    with pagurus_process(args, settings, log, extra_env=extra_env) as proc:
        deadline = time.monotonic() + BOOT_DEADLINE
        while True:
            try:
                if requests.get(f"{base}/api/0/version", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, booting, or slow
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"pagurus web did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield base
