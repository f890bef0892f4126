"""Helpers for the git-over-SSH tests: the built-in server on a thread, client
keys made by ssh-keygen, git run through the real OpenSSH client."""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from pagurus.config import Settings
from pagurus.core import projects as core_projects
from pagurus.core import sshkeys
from pagurus.model import Project, User
from pagurus.services.ssh.server import make_context, start_server
from pagurus.tasks import projects as tasks


class ServerThread:
    """The built-in SSH server on its own event loop thread, on a free port."""

    def __init__(self, settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.ctx = make_context(settings)
        future = asyncio.run_coroutine_threadsafe(
            start_server(self.ctx, "127.0.0.1", 0), self.loop)
        self.acceptor = future.result(timeout=60)
        self.port: int = self.acceptor.get_port()

    def close(self) -> None:
        async def stop() -> None:
            self.acceptor.close()
            await self.acceptor.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.ctx.executor.shutdown(wait=False)
        self.ctx.sessions.kw["bind"].dispose()


@dataclass
class Key:
    private: Path
    public: str


def make_key(folder: Path, name: str, kind: str = "ed25519") -> Key:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", name, "-f", str(path)],
                   check=True, capture_output=True)
    return Key(path, (folder / f"{name}.pub").read_text().strip())


def ssh_base(key: Key, port: int, user: str = "git") -> list[str]:
    return ["ssh", "-i", str(key.private), "-p", str(port), "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-F", "/dev/null"]


def client_env(key: Key | None = None, port: int | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GIT_", "PAGURUS_", "SSH_"))}
    env.update({"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})
    if key is not None and port is not None:
        env["GIT_SSH_COMMAND"] = " ".join(ssh_base(key, port))
    return env


def run_ssh(key: Key, port: int, *command: str, host: str = "127.0.0.1",
            user: str = "git", timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``ssh -T git@host COMMAND`` with the real OpenSSH client."""
    return subprocess.run([*ssh_base(key, port), "-T", f"{user}@{host}", *command],
                          capture_output=True, text=True, timeout=timeout,
                          env=client_env(), stdin=subprocess.DEVNULL)


def git(*args: str, key: Key | None = None, port: int | None = None, cwd: Path | None = None,
        check: bool = True, timeout: float = 120,
        extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = client_env(key, port)
    env.update(extra_env or {})
    proc = subprocess.run(["git", "-c", "user.name=Tester", "-c", "user.email=t@example.com",
                           "-c", "init.defaultBranch=main", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def url(port: int, path: str, host: str = "127.0.0.1", user: str = "git") -> str:
    return f"ssh://{user}@{host}:{port}/{path}"


def add_key(session, user: User, key: Key) -> int:
    row = sshkeys.add_user_key(session, user, key.public)
    session.commit()
    return row.id


def make_project(session, settings: Settings, owner: User, name: str, *,
                 private: bool = False, namespace: str | None = None) -> Project:
    """A project with its repos (made by the real worker) and a README commit."""
    project = core_projects.create_project(session, settings, owner, name, "ssh test",
                                           private=private, namespace=namespace)
    session.commit()
    tasks.create_project_repos.delay(project.id, True).get(timeout=60)
    session.expire_all()
    return session.get(Project, project.id)
