"""The hook server: one long-running process that runs every push's hooks.

It listens on ``<data>/run/hooks.sock`` (folder 0700, socket 0600, and the
peer's uid is checked: only the forge's own user — whose processes git runs
the hooks in — may connect). The socket is the trust boundary: a request
names a hook and a repository, never a program; nothing it says is executed.

A request (see :mod:`pagurus.git.hookclient`) is one JSON line — protocol
version, hook name, the forwarded environment, the length of the hook's
standard input — followed by that input. The reply is a stream of frames:
``A`` (accepted, running), ``E`` (stderr for the pusher), ``X`` (exit code,
last); or ``!`` (the request was not run, and why), after which the client
runs the hook itself.

Each connection gets a thread (at most ``max_connections``; beyond that the
request is turned down and the client falls back) and each run a database
session of its own; the settings, the engine and the imported code are
shared. The work itself is :func:`pagurus.git.hookrun.run` — the code the
clients fall back to — with the server's :class:`~pagurus.git.hookrun.Runtime`.
A run opens its own ``pygit2.Repository`` (the quarantine of a pre-receive is
attached to it alone).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pagurus.git import hookclient as proto
from pagurus.git import hookrun
from pagurus.services.hookd import run_dir, socket_path

REQUEST_TIMEOUT = 30.0  # seconds to receive a whole request (the client sends at once)
SEND_TIMEOUT = 60.0  # a client that stops reading is given up on
MAX_ENV_ITEMS = 512
MAX_ENV_VALUE = 64 * 1024


class BadRequest(Exception):
    """The request cannot be run; the message goes back in a ``!`` frame."""


class ServerRunning(Exception):
    """Another hook server holds this data dir's socket."""


@dataclass(frozen=True)
class Request:
    hook: str
    env: dict[str, str]
    stdin: bytes

    @property
    def git_dir(self) -> str:
        return self.env["GIT_DIR"]


def read_request(conn: socket.socket) -> Request:
    """Read and check one request: the JSON line, the announced input, then
    the end of the client's sending side (it shuts it down). BadRequest says
    what is wrong; socket errors (timeout, reset) propagate."""
    buf = bytearray()
    while b"\n" not in buf:
        if len(buf) > proto.MAX_HEADER:
            raise BadRequest("request header too large")
        chunk = conn.recv(1 << 16)
        if not chunk:
            raise BadRequest("incomplete request" if buf else "empty request")
        buf += chunk
    line, _, rest = bytes(buf).partition(b"\n")
    if len(line) > proto.MAX_HEADER:
        raise BadRequest("request header too large")
    try:
        header = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("request is not JSON") from None
    hook, env, size = _check_header(header)
    data = bytearray(rest)
    while len(data) <= size:  # one byte more than announced is enough to refuse
        chunk = conn.recv(min(1 << 16, size + 1 - len(data)))
        if not chunk:
            break
        data += chunk
    if len(data) > size:
        raise BadRequest("more input than announced")
    if len(data) < size:
        raise BadRequest("incomplete request")
    return Request(hook, env, bytes(data))


def _check_header(header: Any) -> tuple[str, dict[str, str], int]:
    if not isinstance(header, dict):
        raise BadRequest("request is not a JSON object")
    if header.get("v") != proto.PROTOCOL:
        raise BadRequest(f"unsupported protocol version (this server speaks {proto.PROTOCOL})")
    hook = header.get("hook")
    if hook not in proto.HOOK_NAMES:
        raise BadRequest("unknown hook")
    size = header.get("stdin_len")
    if type(size) is not int or not 0 <= size <= proto.MAX_STDIN:
        raise BadRequest("bad stdin_len")
    raw_env = header.get("env")
    if not isinstance(raw_env, dict) or len(raw_env) > MAX_ENV_ITEMS:
        raise BadRequest("bad env")
    env: dict[str, str] = {}
    for key, value in raw_env.items():
        if not isinstance(value, str) or len(value) > MAX_ENV_VALUE or "\0" in value:
            raise BadRequest(f"bad value for {key[:64]!r}")
        if proto.forwarded(key):
            env[key] = value  # anything else is not ours to receive: dropped
    git_dir = env.get("GIT_DIR", "")
    if not git_dir.startswith("/"):
        raise BadRequest("GIT_DIR must be an absolute path")
    return hook, env, size


class Reply:
    """The frames sent back to one client; a vanished client is remembered
    and then ignored (the run goes on: a post-receive must still record)."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.gone = False
        self._lock = threading.Lock()

    def send(self, kind: bytes, payload: bytes = b"") -> None:
        with self._lock:
            if self.gone:
                return
            try:
                self.conn.sendall(proto.frame(kind, payload))
            except OSError:
                self.gone = True

    def stderr(self, text: str) -> None:
        data = text.encode("utf-8", "surrogateescape")
        for start in range(0, len(data), proto.MAX_FRAME):
            self.send(proto.STDERR, data[start:start + proto.MAX_FRAME])


def _peer_uid(conn: socket.socket) -> int | None:
    try:
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except (OSError, AttributeError):
        return None
    return struct.unpack("3i", creds)[1]


class HookServer:
    """Bind, serve until :meth:`stop`, then :meth:`close`."""

    def __init__(self, settings: Any, *, max_connections: int = 64,
                 log: Callable[[str], None] | None = None, verbose: bool = False) -> None:
        self.settings = settings
        self.runtime = hookrun.Runtime.create(settings)
        self.path = socket_path(settings.data_dir)
        self.verbose = verbose
        self._log = log or (lambda msg: print(f"pagurus hookd: {msg}", file=sys.stderr,
                                              flush=True))
        self._slots = threading.BoundedSemaphore(max_connections)
        self._active = 0
        self._idle = threading.Condition()
        self._listener: socket.socket | None = None
        self._inode: int | None = None
        self._lock_fd: int | None = None
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self.served = 0

    # -- start-up ------------------------------------------------------------------
    def warm_up(self) -> None:
        """Import what runs use and open a database connection, so the first
        push is as fast as the others."""
        import pagurus.core.pushrules  # noqa: F401
        import pagurus.git.postreceive  # noqa: F401

        with self.runtime.sessions() as session:
            from sqlalchemy import text

            session.execute(text("SELECT 1"))

    def bind(self) -> None:
        """Take the data dir's lock, clear a stale socket, listen (0600)."""
        folder = run_dir(self.settings.data_dir)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = folder.lstat()
        if not folder.is_dir() or folder.is_symlink() or st.st_uid != os.geteuid():
            raise OSError(f"{folder} must be a folder owned by this user")
        os.chmod(folder, 0o700)
        self._lock_fd = os.open(folder / "hooks.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise ServerRunning(f"another hook server is running on {self.path}") from None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # we hold the lock: whatever is there is stale
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            _bind(sock, self.path)
        finally:
            os.umask(old_umask)
        os.chmod(self.path, 0o600)
        sock.listen(128)
        self._listener = sock
        self._inode = self.path.stat().st_ino

    # -- serving -----------------------------------------------------------------------
    def serve_forever(self) -> None:
        """Accept connections until :meth:`stop`."""
        assert self._listener is not None, "bind() first"
        self._log(f"listening on {self.path}")
        while True:
            try:
                ready, _, _ = select.select([self._listener, self._wake_r], [], [])
            except InterruptedError:
                continue
            if self._wake_r in ready:
                return
            try:
                conn, _ = self._listener.accept()
            except OSError:
                continue
            self._dispatch(conn)

    def stop(self) -> None:
        """Make :meth:`serve_forever` return (signal handlers and threads may call it)."""
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def _dispatch(self, conn: socket.socket) -> None:
        uid = _peer_uid(conn)
        if uid is None or uid not in (os.geteuid(), 0):
            self._turn_down(conn, "not allowed")
            return
        if not self._slots.acquire(blocking=False):
            self._turn_down(conn, "server busy")
            return
        with self._idle:
            self._active += 1
        thread = threading.Thread(target=self._serve_one, args=(conn,), daemon=True,
                                  name="hookd-request")
        try:
            thread.start()
        except RuntimeError:  # no more threads: let the client do it
            self._done()
            self._turn_down(conn, "server busy")

    def _turn_down(self, conn: socket.socket, why: str) -> None:
        with conn:
            with contextlib.suppress(OSError):
                conn.settimeout(1.0)
                conn.sendall(proto.frame(proto.REFUSED, why.encode()))

    def _done(self) -> None:
        self._slots.release()
        with self._idle:
            self._active -= 1
            self._idle.notify_all()

    def _serve_one(self, conn: socket.socket) -> None:
        try:
            with conn:
                self.handle(conn)
        except Exception as exc:  # noqa: BLE001 - one request never takes the server down
            self._log(f"request failed: {type(exc).__name__}: {exc}")
        finally:
            self._done()

    def handle(self, conn: socket.socket) -> None:
        """One request: read, check, run, reply."""
        conn.settimeout(REQUEST_TIMEOUT)
        try:
            request = read_request(conn)
        except BadRequest as exc:
            if self.verbose or str(exc) != "empty request":  # not a mere probe
                self._log(f"bad request: {exc}")
            with contextlib.suppress(OSError):
                conn.sendall(proto.frame(proto.REFUSED, str(exc).encode()))
            return
        except OSError as exc:  # the client vanished or stalled
            self._log(f"request not received: {type(exc).__name__}")
            return
        conn.settimeout(SEND_TIMEOUT)
        reply = Reply(conn)
        reply.send(proto.ACCEPTED)
        started = time.perf_counter()
        code = self.run(request, reply)
        reply.send(proto.EXIT, str(code).encode())
        self.served += 1
        if self.verbose or reply.gone:
            self._log(f"{request.hook} {request.git_dir}: exit {code} in "
                      f"{(time.perf_counter() - started) * 1000:.1f} ms"
                      + (" (client gone)" if reply.gone else ""))

    def run(self, request: Request, reply: Reply) -> int:
        """The hook, as :func:`hookrun.run` does it in a process of its own,
        for a repository under this server's data dir only."""
        try:
            hookrun.repo_location(self.settings.data_dir, Path(request.git_dir).resolve())
        except hookrun.HookFailure as exc:
            return hookrun.refuse(request.hook, str(exc), reply.stderr)
        except (OSError, ValueError):
            return hookrun.refuse(request.hook, "bad repository path", reply.stderr)
        return hookrun.run(request.hook, request.env, request.stdin, reply.stderr,
                           runtime=self.runtime)

    # -- shutdown ---------------------------------------------------------------------
    def close(self, grace: float = 20.0) -> int:
        """Stop listening (remove our socket), let running requests finish for
        up to ``grace`` seconds; returns how many were still running."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
            with contextlib.suppress(OSError):
                if self.path.stat().st_ino == self._inode:
                    self.path.unlink()
        deadline = time.monotonic() + grace
        with self._idle:
            while self._active and (left := deadline - time.monotonic()) > 0:
                self._idle.wait(left)
            still = self._active
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        return still


def _bind(sock: socket.socket, path: Path) -> None:
    """Bind to ``path``; one too long for ``sun_path`` is bound from its folder."""
    if len(os.fsencode(str(path))) < 100:
        sock.bind(str(path))
        return
    here = os.open(".", os.O_RDONLY)
    try:
        os.chdir(path.parent)
        sock.bind(path.name)
    finally:
        os.fchdir(here)
        os.close(here)
