"""Rules shared by issues and pull requests: both are discussions (a
description, comments with reactions, tags, watchers), so text checks,
reactions, the "Metadata Update" comment, tag changes and the subscriber
computation are written once here; ``core.issues`` and ``core.pulls`` pass
their own rows and keep their own rights and events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from pagurus.core import access
from pagurus.core import tags as core_tags
from pagurus.core.errors import ForgeError, InvalidInput
from pagurus.model import Project, TagColored, User

TITLE_MAX = 255
CONTENT_MAX = 100_000
COMMENT_MAX = 100_000
REACTION_MAX = 50
METADATA_HEADER = "**Metadata Update from @{user}**:"

UNSET: Any = object()
"""Marks an argument the caller did not pass (``None`` may mean "reset")."""


class Reactable(Protocol):
    reactions: dict[str, list[str]] | None


class Tagged(Protocol):
    tags: list[TagColored]


# -- text ---------------------------------------------------------------------

def check_text(field: str, value: Any, maxlen: int, *, required: bool = True) -> str:
    """A text field: a string, CRLF folded, not blank (when required), not
    too long, no NUL; errors name ``field`` in Pagure's error shape."""
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"Invalid {field}", errors={field: ["This field is required."]})
    value = value.replace("\r\n", "\n")
    if required and not value.strip():
        raise InvalidInput(f"Invalid {field}", errors={field: ["This field is required."]})
    if len(value) > maxlen:
        raise InvalidInput(f"{field} is too long",
                           errors={field: [f"At most {maxlen} characters."]})
    if "\x00" in value:
        raise InvalidInput(f"Invalid {field}", errors={field: ["NUL characters are refused."]})
    return value


def check_title(value: Any) -> str:
    title = check_text("title", value, TITLE_MAX).strip()
    if any(ord(c) < 32 and c not in "\t" for c in title):
        raise InvalidInput("Invalid title", errors={"title": ["One line of text."]})
    return title


# -- rights ----------------------------------------------------------------------

def may_act(user: User | None, project: Project) -> bool:
    """Logged in, not blocked on the site or the project."""
    return user is not None and not access.is_blocked(user) and not access.is_blocked_on(
        user, project)


# -- reactions -----------------------------------------------------------------------

def add_reaction(comment: Reactable, actor: User, reaction: Any) -> None:
    """Add ``actor``'s reaction; giving the same one twice is a conflict (409).
    The caller checks the right to react first."""
    if not isinstance(reaction, str) or not reaction.strip() or len(reaction) > REACTION_MAX:
        raise InvalidInput("Invalid reaction", errors={"reaction": ["This field is required."]})
    current = {k: list(v) for k, v in (comment.reactions or {}).items()}
    users = current.setdefault(reaction.strip(), [])
    if actor.name in users:
        raise ForgeError("Already reacted", status=409)
    users.append(actor.name)
    comment.reactions = current


def remove_reaction(comment: Reactable, actor: User, reaction: Any) -> bool:
    """Take ``actor``'s reaction back; False when they had not given it."""
    current = {k: list(v) for k, v in (comment.reactions or {}).items()}
    users = current.get(reaction if isinstance(reaction, str) else "", [])
    if actor.name not in users:
        return False
    users.remove(actor.name)
    comment.reactions = {k: v for k, v in current.items() if v}
    return True


# -- metadata ----------------------------------------------------------------------

def metadata_comment(actor: User, messages: Iterable[str]) -> str:
    """Pagure's "Metadata Update" notification text listing the changes."""
    return METADATA_HEADER.format(user=actor.name) + "\n" + "\n".join(
        f"- {m}" for m in messages)


def change_tags(session: Session, project: Project, owner: Tagged, wanted: list[str]
                ) -> tuple[list[TagColored], list[TagColored]]:
    """Make ``owner``'s tags the ``wanted`` names (case-insensitive; unknown
    ones are created); returns (added, removed)."""
    current = {t.name.lower(): t for t in owner.tags}
    wanted_lower = [w.lower() for w in wanted]
    removed = [t for k, t in current.items() if k not in wanted_lower]
    added = core_tags.resolve(session, project,
                              [w for w in wanted if w.lower() not in current], create=True)
    if added or removed:
        owner.tags = [t for t in owner.tags if t not in removed] + added
        session.flush()
    return added, removed


def announce_tags(emit: Callable[..., None], prefix: str, noun: str,
                  added: list[TagColored], removed: list[TagColored]) -> list[str]:
    """Record the ``<prefix>.tag.added/removed`` events through ``emit(topic,
    tags=...)`` and return the change messages about ``noun``."""
    out = []
    if added:
        emit(f"{prefix}.tag.added", tags=[t.name for t in added])
        out.append(f"{noun} tagged with: " + ", ".join(t.name for t in added))
    if removed:
        emit(f"{prefix}.tag.removed", tags=[t.name for t in removed])
        out.append(f"{noun} **un**tagged with: " + ", ".join(t.name for t in removed))
    return out


# -- subscriptions ----------------------------------------------------------------------

def subscriber_ids(session: Session, project: Project, *, author_id: int,
                   assignee_id: int | None, commenter_ids: Iterable[int], watch_kind: str,
                   choices: dict[int, bool]) -> set[int]:
    """Who hears about a discussion: its author and assignee, commenters, the
    project owner, users and group members with access, project watchers of
    ``watch_kind``, explicit subscribers — minus the explicit opt-outs in
    ``choices`` (user id -> watch)."""
    from pagurus.core import social
    from pagurus.model import GroupMember, ProjectGroup, ProjectUser

    ids: set[int] = {author_id, project.user_id}
    if assignee_id:
        ids.add(assignee_id)
    ids.update(commenter_ids)
    ids.update(session.scalars(select(ProjectUser.user_id).where(
        ProjectUser.project_id == project.id)))
    ids.update(session.scalars(select(GroupMember.user_id).join(
        ProjectGroup, ProjectGroup.group_id == GroupMember.group_id).where(
        ProjectGroup.project_id == project.id)))
    ids.update(u.id for u in social.watcher_users(session, project, watch_kind))
    ids.update(uid for uid, watch in choices.items() if watch)
    ids -= {uid for uid, watch in choices.items() if not watch}
    return ids


def users_by_id(session: Session, ids: set[int]) -> list[User]:
    """The users with these ids, by name."""
    return list(session.scalars(select(User).where(User.id.in_(ids)).order_by(User.name)))
