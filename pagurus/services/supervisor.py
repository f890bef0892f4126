"""Run a set of child processes together, restart the ones that crash, stop
them all cleanly.

``pagurus serve`` uses this to run the web app and the worker (later also
the ssh, event-source and webhook daemons): the list of children is plain
data (:class:`ChildSpec`), so adding a daemon is adding an entry.

Each child is started in a session (hence a process group) of its own, so a
stop signal reaches the child's own children too (gunicorn workers, Celery
pool processes) and nothing survives a stop: after the warm shutdown
timeout the whole group is killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

# Linux prctl option: deliver a signal to the child when its parent dies
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class ChildSpec:
    """What to run and how to stop it."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] | None = None
    cwd: str | None = None
    stop_signal: int = signal.SIGTERM
    # Celery's warm shutdown waits for running tasks (5-10 s measured)
    stop_timeout: float = 30.0


@dataclass
class _Child:
    spec: ChildSpec
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    fast_crashes: int = 0
    restart_at: float | None = None
    pgids: set[int] = field(default_factory=set)


def _parent_death_signal() -> Callable[[], None] | None:
    """A preexec function asking Linux to SIGTERM the child if we die (even by SIGKILL)."""
    if not sys.platform.startswith("linux"):
        return None
    path = ctypes.util.find_library("c")
    if not path:
        return None
    libc = ctypes.CDLL(path, use_errno=True)

    def _set() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    return _set


def killpg(pgid: int, sig: int) -> bool:
    """Signal a process group; False when it no longer exists."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # pgid reused by someone else's process: not ours any more
        return False
    return True


def group_alive(pgid: int) -> bool:
    return killpg(pgid, 0)


class Supervisor:
    """Start every child, keep them running, stop them all on SIGINT/SIGTERM.

    A child that exits on its own is restarted after a back-off delay that
    doubles with each crash that comes soon after its start; after
    ``max_fast_crashes`` such crashes in a row the supervisor stops
    everything and :meth:`run` returns 1.
    """

    def __init__(
        self,
        specs: Sequence[ChildSpec],
        *,
        backoff_initial: float = 1.0,
        backoff_max: float = 30.0,
        fast_crash_seconds: float = 15.0,
        max_fast_crashes: int = 5,
        log: Callable[[str], None] | None = None,
    ) -> None:
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate child names: {names}")
        self.children = [_Child(spec) for spec in specs]
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.fast_crash_seconds = fast_crash_seconds
        self.max_fast_crashes = max_fast_crashes
        self._log = log or (lambda msg: print(f"pagurus serve: {msg}", file=sys.stderr,
                                              flush=True))
        self._stop_requested: int | None = None
        self._preexec = _parent_death_signal()
        self._wake_fd: int | None = None

    # -- child management ------------------------------------------------
    def _start(self, child: _Child) -> None:
        spec = child.spec
        env = dict(os.environ if spec.env is None else spec.env)
        child.proc = subprocess.Popen(  # noqa: S603 - argv built by us, never a shell
            list(spec.argv), env=env, cwd=spec.cwd, start_new_session=True,
            preexec_fn=self._preexec, close_fds=True,
        )
        child.started_at = time.monotonic()
        child.restart_at = None
        child.pgids.add(child.proc.pid)  # new session: pgid == pid
        self._log(f"started {spec.name} (pid {child.proc.pid})")

    def _reap(self, child: _Child, now: float) -> bool:
        """Handle a child that exited; False when it crashed too often."""
        assert child.proc is not None
        rc = child.proc.returncode
        lived = now - child.started_at
        # anything the child left in its group goes with it
        for pgid in list(child.pgids):
            killpg(pgid, signal.SIGKILL)
            child.pgids.discard(pgid)
        child.proc = None
        if lived < self.fast_crash_seconds:
            child.fast_crashes += 1
        else:
            child.fast_crashes = 1
        if child.fast_crashes > self.max_fast_crashes:
            self._log(f"{child.spec.name} exited with status {rc} {child.fast_crashes} times "
                      f"in a row soon after starting; giving up")
            return False
        delay = min(self.backoff_initial * 2 ** (child.fast_crashes - 1), self.backoff_max)
        self._log(f"{child.spec.name} exited unexpectedly with status {rc}; "
                  f"restarting in {delay:.1f} s")
        child.restart_at = now + delay
        return True

    def stop_all(self) -> None:
        """Send each child its stop signal, wait for it, then kill what is left."""
        deadline = 0.0
        now = time.monotonic()
        for child in self.children:
            child.restart_at = None
            if child.proc is not None and child.proc.poll() is None:
                self._log(f"stopping {child.spec.name} (pid {child.proc.pid})")
                for pgid in child.pgids:
                    killpg(pgid, child.spec.stop_signal)
                deadline = max(deadline, now + child.spec.stop_timeout)
        for child in self.children:
            if child.proc is None:
                continue
            remaining = max(0.0, deadline - time.monotonic())
            try:
                child.proc.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                self._log(f"{child.spec.name} did not stop in time; killing it")
        for child in self.children:
            for pgid in child.pgids:
                killpg(pgid, signal.SIGKILL)
            if child.proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.proc.wait(timeout=5)
            # wait (bounded) until the kernel has removed every group member
            end = time.monotonic() + 5
            for pgid in list(child.pgids):
                while group_alive(pgid) and time.monotonic() < end:
                    _wait_readable(None, 0.02)
            child.pgids.clear()
            child.proc = None

    # -- main loop -------------------------------------------------------
    def _on_signal(self, signum: int, _frame: object) -> None:
        if self._stop_requested is None:
            self._stop_requested = signum

    def request_stop(self, signum: int = signal.SIGTERM) -> None:
        """Ask :meth:`run` to stop everything (what SIGINT/SIGTERM do); thread-safe."""
        self._on_signal(signum, None)
        if self._wake_fd is not None:
            with contextlib.suppress(OSError):
                os.write(self._wake_fd, b"\0")

    def run(self, on_started: Callable[[], None] | None = None) -> int:
        """Block until stopped: 0 after a signal, 1 when a child crashed too often."""
        rfd, wfd = os.pipe()
        os.set_blocking(wfd, False)
        os.set_blocking(rfd, False)
        self._wake_fd = wfd
        old_wakeup = signal.set_wakeup_fd(wfd, warn_on_full_buffer=False)
        old_handlers = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        old_chld = signal.signal(signal.SIGCHLD, lambda *_: None)  # only to wake the loop
        status = 0
        try:
            for child in self.children:
                if self._stop_requested is None:
                    self._start(child)
            if on_started is not None and self._stop_requested is None:
                on_started()
            while self._stop_requested is None:
                now = time.monotonic()
                for child in self.children:
                    if child.proc is not None and child.proc.poll() is not None:
                        if not self._reap(child, now):
                            status = 1
                            self._stop_requested = -1
                            break
                    elif child.proc is None and child.restart_at is not None \
                            and now >= child.restart_at:
                        self._start(child)
                if self._stop_requested is not None:
                    break
                pending = [c.restart_at for c in self.children if c.restart_at is not None]
                timeout = min([max(0.0, t - time.monotonic()) for t in pending] + [1.0])
                _wait_readable(rfd, timeout)
            if self._stop_requested and self._stop_requested > 0:
                self._log(f"received {signal.Signals(self._stop_requested).name}, stopping")
        finally:
            self.stop_all()
            signal.signal(signal.SIGCHLD, old_chld)
            for sig, handler in old_handlers.items():
                signal.signal(sig, handler)
            signal.set_wakeup_fd(old_wakeup)
            self._wake_fd = None
            os.close(rfd)
            os.close(wfd)
        return status


def _wait_readable(fd: int | None, timeout: float) -> None:
    """Wait until ``fd`` has data (a signal arrived) or ``timeout`` passes; drain it."""
    try:
        ready, _, _ = select.select([fd] if fd is not None else [], [], [], timeout)
    except InterruptedError:
        return
    if ready and fd is not None:
        try:
            while os.read(fd, 512):
                pass
        except BlockingIOError:
            pass
        except OSError as exc:  # pragma: no cover - closed under us
            if exc.errno != errno.EBADF:
                raise
