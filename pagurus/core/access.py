"""Who may do what: the one place every surface asks.

UI, API, smart HTTP, SSH, hooks, the event source and the doc server all call
these functions; none of them re-implements a rule.
"""

from __future__ import annotations

import fnmatch
from enum import IntEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from pagurus.model import (
    ApiToken,
    GroupMember,
    Project,
    ProjectGroup,
    ProjectUser,
    User,
    utcnow,
)


class Level(IntEnum):
    NONE = 0
    TICKET = 1
    COLLABORATOR = 2
    COMMIT = 3
    ADMIN = 4
    OWNER = 5


ACCESS_NAMES = {"ticket": Level.TICKET, "collaborator": Level.COLLABORATOR,
                "commit": Level.COMMIT, "admin": Level.ADMIN}


def is_blocked(user: User | None) -> bool:
    """Blocked instance-wide (``admin user block``) right now."""
    return bool(user and user.blocked_until and user.blocked_until > utcnow())


def is_site_admin(user: User | None) -> bool:
    return bool(user and user.is_admin and not is_blocked(user))


def grants(session: Session, user: User, project: Project) -> list[tuple[Level, str | None]]:
    """Every (level, branch patterns) the user holds on the project, direct or by group."""
    out: list[tuple[Level, str | None]] = []
    if project.user_id == user.id:
        out.append((Level.OWNER, None))
    for pu in session.scalars(
        select(ProjectUser).where(ProjectUser.project_id == project.id,
                                  ProjectUser.user_id == user.id)
    ):
        out.append((ACCESS_NAMES[pu.access], pu.branches))
    stmt = (
        select(ProjectGroup)
        .join(GroupMember, GroupMember.group_id == ProjectGroup.group_id)
        .where(ProjectGroup.project_id == project.id, GroupMember.user_id == user.id)
    )
    for pg in session.scalars(stmt):
        out.append((ACCESS_NAMES[pg.access], pg.branches))
    return out


def level(session: Session, user: User | None, project: Project) -> Level:
    """The user's highest level on the project (site admins count as admin)."""
    if user is None or is_blocked(user):
        return Level.NONE
    best = max((lvl for lvl, _ in grants(session, user, project)), default=Level.NONE)
    if user.is_admin and best < Level.ADMIN:
        best = Level.ADMIN
    return best


def is_blocked_on(user: User | None, project: Project) -> bool:
    """In the project's ``block_users`` list: may read, may not act."""
    return bool(user and user.name in (project.block_users or []))


def can_see(session: Session, user: User | None, project: Project) -> bool:
    if project.repo_state == "deleting":
        return False
    if not project.private:
        return True
    return level(session, user, project) >= Level.TICKET


def can_ticket(session: Session, user: User | None, project: Project) -> bool:
    """Edit issue metadata, see private issues, read tickets/requests repos."""
    if is_blocked_on(user, project):
        return False
    return level(session, user, project) >= Level.TICKET


def branch_matches(patterns: str | None, branch: str) -> bool:
    """Collaborator patterns are comma-separated globs matched on refs/heads/<branch>."""
    ref = branch if branch.startswith("refs/") else f"refs/heads/{branch}"
    for pattern in (patterns or "").split(","):
        pattern = pattern.strip()
        if pattern and fnmatch.fnmatchcase(ref, f"refs/heads/{pattern}"):
            return True
    return False


def can_commit(
    session: Session, user: User | None, project: Project, branch: str | None = None
) -> bool:
    """Push to ``branch`` (any branch when None: collaborators then qualify only
    if they could push somewhere, which is what UI buttons need)."""
    if user is None or is_blocked(user) or is_blocked_on(user, project) or project.read_only:
        return False
    if user.is_admin:
        return True
    for lvl, patterns in grants(session, user, project):
        if lvl >= Level.COMMIT:
            return True
        if lvl == Level.COLLABORATOR and (branch is None or branch_matches(patterns, branch)):
            return True
    return False


def can_admin(session: Session, user: User | None, project: Project) -> bool:
    if is_blocked_on(user, project):
        return False
    return level(session, user, project) >= Level.ADMIN


def is_owner(user: User | None, project: Project) -> bool:
    return bool(user and project.user_id == user.id and not is_blocked(user))


def token_is_valid(token: ApiToken) -> bool:
    """A token is expired from its expiration instant on (Pagure: the date)."""
    return token.expiration > utcnow()


def token_missing_acls(token: ApiToken, acls: tuple[str, ...]) -> list[str]:
    """Empty when the token holds at least one of ``acls``; else all of them, sorted."""
    if not acls or set(acls) & set(token.acls or []):
        return []
    return sorted(acls)


def token_fits_project(token: ApiToken, project: Project | None) -> bool:
    """A project-scoped token is only good on its own project."""
    return token.project_id is None or (project is not None and token.project_id == project.id)
