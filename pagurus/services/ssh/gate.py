"""Who holds this key, and may they run this git command? (database side)

Shared by the built-in server and ``pagurus aclchecker``. Keys are looked up
on every attempt, never cached: a key added a second ago works, a removed
key or a blocked owner stops working at once. Every function opens and closes
its own short session so callers can run it in a thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from pagurus.config import Settings
from pagurus.core import access, gitaccess, sshkeys
from pagurus.core.errors import NotFound
from pagurus.git.pushenv import git_env
from pagurus.model import Project, SSHKey, User
from pagurus.paths import repo_path
from pagurus.services.ssh.commands import GitCommand

NOT_FOUND = "Repository not found, or you do not have access to it: {path}"
NO_PUSH = "You are not allowed to push to {path}"
KEY_GONE = "This SSH key is no longer accepted."


class Refusal(Exception):
    """The command may not run; ``message`` is for the client's stderr."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class KeyHolder:
    """An accepted key: a user's, or a project's deploy key."""

    key_id: int
    public_key: str
    user_name: str | None
    project_id: int | None

    @property
    def label(self) -> str:
        """How the greeting names the holder."""
        return self.user_name or f"deploy key {self.key_id}"


@dataclass(frozen=True)
class Launch:
    """What to execute: ``argv`` (starting with ``git``) in the environment ``env``."""

    argv: list[str]
    env: dict[str, str]
    repo: Path


def _holder(session: Session, key: SSHKey | None) -> KeyHolder | None:
    """The key's holder if the key may log in now."""
    if key is None:
        return None
    if key.user_id is not None:
        user = session.get(User, key.user_id)
        if user is None or not user.active or access.is_blocked(user):
            return None
        return KeyHolder(key.id, key.public_key, user.name, None)
    project = session.get(Project, key.project_id) if key.project_id is not None else None
    if project is None or project.repo_state == "deleting":
        return None
    return KeyHolder(key.id, key.public_key, None, project.id)


def holder_by_fingerprint(sessions: sessionmaker[Session], fingerprint: str,
                          blob: bytes | None = None) -> KeyHolder | None:
    """The holder of the key with this ``SHA256:`` fingerprint; when ``blob`` is
    given it must also be the stored key itself."""
    with sessions() as session:
        key = sshkeys.find_by_fingerprint(session, fingerprint)
        holder = _holder(session, key)
        if holder is not None and blob is not None:
            stored = sshkeys.parse_public_key(holder.public_key)
            if stored.blob != blob:
                return None
        return holder


def holder_by_id(sessions: sessionmaker[Session], key_id: int) -> KeyHolder | None:
    with sessions() as session:
        return _holder(session, session.get(SSHKey, key_id))


def authorize(sessions: sessionmaker[Session], settings: Settings, key_id: int,
              command: GitCommand, protocol: str | None = None) -> Launch:
    """Check ``command`` for the holder of ``key_id`` through ``core.gitaccess``
    and return the git process to start, or raise Refusal."""
    with sessions() as session:
        key = session.get(SSHKey, key_id)
        holder = _holder(session, key)
        if key is None or holder is None:
            raise Refusal(KEY_GONE)
        if holder.user_name is not None:
            user = session.get(User, key.user_id)
            identity = gitaccess.Identity(user=user)
        else:
            identity = gitaccess.Identity(deploy_key=key)
        try:
            project, kind = gitaccess.resolve(session, identity, command.path)
        except NotFound:
            raise Refusal(NOT_FOUND.format(path=command.path)) from None
        if command.is_push and not gitaccess.can_write_somewhere(session, identity, project,
                                                                 kind):
            raise Refusal(NO_PUSH.format(path=command.path))
        repo = repo_path(settings.data_dir, kind, project.fullname)
        env = git_env(settings, user=holder.user_name,
                      deploy_key=key.id if holder.user_name is None else None,
                      protocol=protocol)
    if not (repo / "HEAD").is_file():
        raise Refusal(NOT_FOUND.format(path=command.path))
    return Launch(["git", *command.git_args, str(repo)], env, repo)
