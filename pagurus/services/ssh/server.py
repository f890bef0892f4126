"""The built-in SSH server (asyncssh): git clone/fetch/push with keys from the database.

Only public-key authentication exists; the SSH user name is ignored (clients
use ``git@``): who is talking is the holder of the key, looked up on every
attempt. Each session runs one git service chosen by ``commands.parse_command``
and allowed by ``gate.authorize``; everything else is refused with a message
on stderr and exit status 1.

Data is pumped between the channel and the git child by hand with
``drain()`` (``process.redirect`` truncates large fetches), as bytes only
(a str written to an ``encoding=None`` channel kills the connection). The
session ends after both child outputs reached EOF and the child exited.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncssh
from sqlalchemy.orm import Session, sessionmaker

from pagurus import db
from pagurus.config import Settings
from pagurus.core.sshkeys import fingerprint_of
from pagurus.services.ssh import gate
from pagurus.services.ssh.commands import CommandRefused, greeting, parse_command
from pagurus.services.ssh.hostkeys import load_host_keys

log = logging.getLogger("pagurus.ssh")
T = TypeVar("T")
CHUNK = 64 * 1024


@dataclass
class Context:
    """What every connection shares: settings, the session factory and a thread
    pool for database work, so the event loop never waits on the database."""

    settings: Settings
    sessions: sessionmaker[Session]
    executor: ThreadPoolExecutor

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, func, *args)


class _Connection(asyncssh.SSHServer):
    """One client connection: authentication by database key lookup."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.holder: gate.KeyHolder | None = None
        self.peer = "?"

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        peer = conn.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "?"

    def begin_auth(self, username: str) -> bool:
        return True  # authentication is always required

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        # asyncssh calls this right before verifying a signature, so the holder
        # kept here is the one of the key that finally authenticated
        self.holder = None
        blob = key.public_data
        holder = await self.ctx.run(gate.holder_by_fingerprint, self.ctx.sessions,
                                    fingerprint_of(blob), blob)
        self.holder = holder
        return holder is not None


async def _write(stream: Any, data: bytes) -> None:
    stream.write(data)
    await stream.drain()


async def _refuse(process: asyncssh.SSHServerProcess, message: str) -> None:
    with contextlib.suppress(Exception):
        await _write(process.stderr, f"pagurus: {message}\n".encode())
    process.exit(1)


async def _pump_in(process: asyncssh.SSHServerProcess, child: asyncio.subprocess.Process) -> None:
    assert child.stdin is not None
    try:
        while True:
            data = await process.stdin.read(CHUNK)
            if not data:
                break
            child.stdin.write(data)
            await child.stdin.drain()
    except (BrokenPipeError, ConnectionResetError, asyncssh.Error):
        pass
    finally:
        with contextlib.suppress(Exception):
            child.stdin.close()


async def _pump_out(source: asyncio.StreamReader, target: Any) -> None:
    while True:
        data = await source.read(CHUNK)
        if not data:
            return
        target.write(data)
        await target.drain()


async def _run_git(process: asyncssh.SSHServerProcess, launch: gate.Launch) -> int:
    child = await asyncio.create_subprocess_exec(
        *launch.argv, env=launch.env, cwd=str(launch.repo),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, start_new_session=True)
    assert child.stdout is not None and child.stderr is not None
    feeder = asyncio.ensure_future(_pump_in(process, child))
    try:
        await asyncio.gather(_pump_out(child.stdout, process.stdout),
                             _pump_out(child.stderr, process.stderr))
        return await child.wait()
    except BaseException:  # client gone or server stopping: no orphan git
        if child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGTERM)
            await child.wait()
        raise
    finally:
        feeder.cancel()
        with contextlib.suppress(BaseException):
            await feeder


async def _serve_session(ctx: Context, process: asyncssh.SSHServerProcess,
                         holder: gate.KeyHolder | None, peer: str) -> None:
    """Run or refuse what the client asked; always ends with ``process.exit``."""
    if holder is None:
        await _refuse(process, gate.KEY_GONE)
        return
    try:
        command = parse_command(process.command)
    except CommandRefused as exc:
        log.info("%s key %s: refused command %r", peer, holder.key_id, process.command)
        await _refuse(process, exc.message)
        return
    if command is None:
        current = await ctx.run(gate.holder_by_id, ctx.sessions, holder.key_id)
        if current is None:
            await _refuse(process, gate.KEY_GONE)
            return
        await _write(process.stdout, greeting(current.label).encode())
        process.exit(0)
        return
    try:
        launch = await ctx.run(gate.authorize, ctx.sessions, ctx.settings, holder.key_id,
                               command, process.env.get("GIT_PROTOCOL"))
    except gate.Refusal as exc:
        log.info("%s key %s: %s %s refused", peer, holder.key_id, command.service,
                 command.path)
        await _refuse(process, exc.message)
        return
    log.info("%s %s: %s %s", peer, holder.label, command.service, command.path)
    rc = await _run_git(process, launch)
    process.exit(rc if 0 <= rc < 256 else 1)  # killed by a signal: plain failure


async def _session(ctx: Context, process: asyncssh.SSHServerProcess) -> None:
    conn = process.get_extra_info("connection")
    owner = conn.get_owner() if conn is not None else None
    holder = owner.holder if isinstance(owner, _Connection) else None
    peer = owner.peer if isinstance(owner, _Connection) else "?"
    try:
        await _serve_session(ctx, process, holder, peer)
    except (asyncssh.Error, ConnectionError, BrokenPipeError):
        log.info("%s: connection lost", peer)
        process.close()
        return
    except Exception:
        log.exception("%s: session failed", peer)
        with contextlib.suppress(Exception):
            await _refuse(process, "internal error")
    with contextlib.suppress(Exception):
        await process.wait_closed()


def make_context(settings: Settings, threads: int = 8) -> Context:
    engine = db.make_engine(settings.sqlalchemy_url)
    return Context(settings, db.make_sessionmaker(engine),
                   ThreadPoolExecutor(max_workers=threads, thread_name_prefix="pagurus-ssh"))


async def start_server(ctx: Context, host: str, port: int) -> asyncssh.SSHAcceptor:
    """Listen on ``host:port`` (port 0: any free port, see ``get_port()``)."""
    host_keys = await ctx.run(load_host_keys, ctx.settings.data_dir)

    async def handle(process: asyncssh.SSHServerProcess) -> None:
        await _session(ctx, process)

    return await asyncssh.create_server(
        lambda: _Connection(ctx), host, port,
        server_host_keys=host_keys,
        process_factory=handle,
        encoding=None,
        line_editor=False,
        agent_forwarding=False,
        x11_forwarding=False,
        allow_scp=False,
        login_timeout=60,
        keepalive_interval=60,
        server_version="Pagurus",
    )


def serve_forever(settings: Settings, host: str, port: int,
                  on_listening: Callable[[int], None] | None = None) -> None:
    """``pagurus ssh``: run until SIGINT/SIGTERM, logging one line per session."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("asyncssh").setLevel(logging.WARNING)
    ctx = make_context(settings)

    async def main() -> None:
        server = await start_server(ctx, host, port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if on_listening is not None:
            on_listening(server.get_port())
        await stop.wait()
        server.close()
        await server.wait_closed()

    try:
        asyncio.run(main())
    finally:
        ctx.executor.shutdown(wait=False, cancel_futures=True)
        ctx.sessions.kw["bind"].dispose()
