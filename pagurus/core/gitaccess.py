"""Who may read or write which repository: the rules every git transport uses.

Smart HTTP, the built-in SSH server, the OpenSSH ``aclchecker`` and the
pre-receive hook all resolve a repository path and ask these functions, so a
rule such as "tickets repos need ticket access" exists once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from pagurus.core import access
from pagurus.core.errors import InvalidInput, NotFound
from pagurus.core.names import PROJECT_NAME_MAX
from pagurus.core.projects import get_project, settings_of
from pagurus.model import Project, SSHKey, User

KIND_PREFIXES = ("docs", "tickets", "requests")
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")
PATH_MAX = 4 * PROJECT_NAME_MAX


@dataclass(frozen=True)
class RepoRef:
    """A parsed repository path: which kind of repo of which project."""

    kind: str  # main | docs | tickets | requests
    name: str
    namespace: str | None = None
    fork_user: str | None = None

    @property
    def fullname(self) -> str:
        base = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"forks/{self.fork_user}/{base}" if self.fork_user else base


@dataclass(frozen=True)
class Identity:
    """Who is talking to git: a user, a deploy key, both absent (anonymous),
    or the forge itself (``internal``: merges, online edits, fork clones)."""

    user: User | None = None
    deploy_key: SSHKey | None = None
    internal: bool = False

    @property
    def name(self) -> str:
        if self.internal:
            return "pagurus"
        if self.user is not None:
            return self.user.name
        if self.deploy_key is not None:
            return f"deploykey_{self.deploy_key.project_id}_{self.deploy_key.id}"
        return "anonymous"


def parse_repo_path(path: str) -> RepoRef:
    """``[docs|tickets|requests/][fork(s)/<user>/][<ns>/]<name>[.git]`` -> RepoRef.

    Refuses (InvalidInput) anything else: ``..``, segments starting with ``-``
    or ``.``, empty segments, control characters, over-long paths."""
    if not isinstance(path, str) or not path or len(path) > PATH_MAX:
        raise InvalidInput("Invalid repository path")
    path = path.strip("/")
    if path.endswith(".git"):
        path = path[:-4]
    parts = path.split("/")
    if any(not _SEGMENT.match(p) or ".." in p for p in parts):
        raise InvalidInput("Invalid repository path")
    kind = "main"
    if parts[0] in KIND_PREFIXES and len(parts) > 1:
        kind, parts = parts[0], parts[1:]
    fork_user = None
    if parts[0] in ("forks", "fork"):
        if len(parts) < 3:
            raise InvalidInput("Invalid repository path")
        fork_user, parts = parts[1], parts[2:]
    if len(parts) == 1:
        return RepoRef(kind, parts[0], None, fork_user)
    if len(parts) == 2:
        return RepoRef(kind, parts[1], parts[0], fork_user)
    raise InvalidInput("Invalid repository path")


def resolve(session: Session, identity: Identity, path: str) -> tuple[Project, str]:
    """The project and repo kind behind ``path`` if ``identity`` may read it.

    Unknown, hidden and malformed paths all raise the same NotFound."""
    try:
        ref = parse_repo_path(path)
    except InvalidInput:
        raise NotFound("Project not found", code="ENOPROJECT") from None
    project = get_project(session, ref.name, ref.namespace, ref.fork_user)
    if project is None or project.repo_state != "ready" or not can_read(
            session, identity, project, ref.kind):
        raise NotFound("Project not found", code="ENOPROJECT")
    return project, ref.kind


def can_read(session: Session, identity: Identity, project: Project, kind: str) -> bool:
    """Main and docs: whoever sees the project (a deploy key: its own project);
    tickets and requests: ticket access or more."""
    if identity.internal:
        return True
    if identity.deploy_key is not None:
        return identity.deploy_key.project_id == project.id and kind in ("main", "docs")
    if kind in ("main", "docs"):
        return access.can_see(session, identity.user, project)
    return access.can_ticket(session, identity.user, project)


def can_write_somewhere(session: Session, identity: Identity, project: Project,
                        kind: str) -> bool:
    """May this identity push at all (some branch)? Transports refuse a
    receive-pack early when not; the hook still checks each ref."""
    return can_update_ref(session, identity, project, kind, None)


def can_update_ref(session: Session, identity: Identity, project: Project, kind: str,
                   ref: str | None) -> bool:
    """May ``identity`` update ``ref`` (``refs/heads/x``, ``refs/tags/y``…) in
    this repo? ``ref`` None asks whether any ref could be updated.

    Main repo: committers anywhere; collaborators on branches matching their
    patterns (never tags); deploy keys with push access. Other repos:
    committers only. ``pull_request_access_only`` leaves the main repo to
    internal pushes (PR merges). Read-only projects and blocked users: never."""
    if identity.internal:
        return True
    if project.read_only or not can_read(session, identity, project, kind):
        return False
    if identity.deploy_key is not None:
        return bool(identity.deploy_key.push_access) and kind == "main" and not (
            settings_of(project)["pull_request_access_only"])
    user = identity.user
    if user is None:
        return False
    if kind == "main" and settings_of(project)["pull_request_access_only"]:
        return False
    if kind != "main" or (ref is not None and not ref.startswith("refs/heads/")):
        # docs, tickets, requests and tags need full commit rights
        return access.level(session, user, project) >= access.Level.COMMIT and \
            access.can_commit(session, user, project, None)
    branch = ref[len("refs/heads/"):] if ref else None
    return access.can_commit(session, user, project, branch)
