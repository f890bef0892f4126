"""API tokens: 64 random characters shown once, stored as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
import string
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from pagurus.core import access
from pagurus.core.errors import InvalidInput, NotAllowed, NotFound
from pagurus.model import ApiToken, Project, User, utcnow

ACLS: dict[str, str] = {
    "create_branch": "Create a git branch on a project",
    "create_project": "Create a new project",
    "commit_flag": "Flag a commit",
    "fork_project": "Fork a project",
    "internal_access": "Access Pagurus's internal APIs",
    "issue_assign": "Assign an issue to someone",
    "issue_change_status": "Change the status of a ticket",
    "issue_comment": "Comment on a ticket",
    "issue_create": "Create a new ticket",
    "issue_subscribe": "Subscribe the user with this token to an issue",
    "issue_update": "Update an issue, status, comments, custom fields...",
    "issue_update_custom_fields": "Update the custom fields of an issue",
    "issue_update_milestone": "Update the milestone of an issue",
    "modify_project": "Modify an existing project",
    "pull_request_create": "Open a new pull-request",
    "pull_request_close": "Close a pull-request",
    "pull_request_comment": "Comment on a pull-request",
    "pull_request_flag": "Flag a pull-request",
    "pull_request_merge": "Merge a pull-request",
    "pull_request_subscribe": "Subscribe the user with this token to a pull-request",
    "pull_request_assign": "Assign someone to a pull-request",
    "pull_request_update": "Update a pull-request (title, comment...)",
    "update_watch_status": "Update the watch status on a project",
    "pull_request_rebase": "Rebase a pull-request",
    "tag_project": "Allows adding git tags to a project",
    "commit": "Commit to a git repository via http(s)",
    "modify_git_alias": "Modify git aliases",
    "create_git_alias": "Create git aliases",
    "delete_git_alias": "Delete git aliases",
    "group_modify": "Modify a group",
}
USER_ACLS = tuple(sorted(a for a in ACLS if a != "internal_access"))
CROSS_PROJECT_ACLS = (
    "create_project", "fork_project", "modify_project", "group_modify",
    "update_watch_status", "pull_request_create", "pull_request_update", "commit",
)
TOKEN_LENGTH = 64
_ALPHABET = string.ascii_uppercase + string.digits


class TokenRefused(NotAllowed):
    code = "EINVALIDTOK"
    status = 401


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(
    session: Session,
    user: User,
    acls: list[str] | tuple[str, ...],
    *,
    project: Project | None = None,
    days: int = 180,
    max_days: int = 730,
    description: str = "",
    allowed: tuple[str, ...] | None = None,
) -> tuple[str, ApiToken]:
    """A new token for ``user``; returns the secret (shown once) and the row.

    ``allowed`` limits the ACLs a caller may grant (USER_ACLS for users,
    CROSS_PROJECT_ACLS for project-less tokens made from the UI)."""
    acls = sorted(set(acls or []))
    if not acls:
        raise InvalidInput("At least one ACL is required", errors={"acls": ["Pick at least one."]})
    allowed = allowed if allowed is not None else tuple(ACLS)
    bad = [a for a in acls if a not in allowed]
    if bad:
        raise InvalidInput(
            f"Invalid ACLs: {', '.join(bad)}", errors={"acls": [f"Not allowed: {', '.join(bad)}"]}
        )
    if not isinstance(days, int) or days < 1 or days > max_days:
        raise InvalidInput(f"A token lives between 1 and {max_days} days")
    if len(description or "") > 255:
        raise InvalidInput("Description too long", errors={"description": ["At most 255."]})
    if project is not None and not access.can_see(session, user, project):
        raise NotFound("Project not found")
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(TOKEN_LENGTH))
    row = ApiToken(
        token_hash=hash_token(raw),
        prefix=raw[:8],
        user_id=user.id,
        project_id=project.id if project else None,
        acls=acls,
        description=description or "",
        expiration=utcnow() + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    return raw, row


def find_token(session: Session, raw: str) -> ApiToken | None:
    if not isinstance(raw, str) or not raw or len(raw) > 256:
        return None
    return session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(raw)))


def authenticate(session: Session, raw: str) -> ApiToken:
    """The valid token for ``raw``, or TokenRefused("Invalid token"/"Expired token")."""
    token = find_token(session, raw)
    if token is None:
        raise TokenRefused("Invalid token")
    if not access.token_is_valid(token):
        raise TokenRefused("Expired token")
    if not token.user.active or access.is_blocked(token.user):
        raise TokenRefused("Invalid token")
    return token


def expire(token: ApiToken) -> None:
    token.expiration = utcnow()


def user_tokens(session: Session, user: User | None = None) -> list[ApiToken]:
    stmt = select(ApiToken).order_by(ApiToken.created_at.desc())
    if user is not None:
        stmt = stmt.where(ApiToken.user_id == user.id)
    return list(session.scalars(stmt))
