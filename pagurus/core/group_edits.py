"""Editing and deleting groups (kept apart from ``core.groups``, which covers
creation and membership).

Who may: edit — the creator, members and site admins; delete — the creator
and site admins. A deleted group's grants on projects go with it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pagurus.core import access
from pagurus.core.errors import Conflict, InvalidInput, NotAllowed
from pagurus.core.groups import is_member
from pagurus.events import outbox
from pagurus.model import Group, ProjectGroup, User

DESCRIPTION_MAX = 10_000


def can_edit(group: Group, user: User | None) -> bool:
    if user is None or access.is_blocked(user):
        return False
    return group.creator_id == user.id or is_member(group, user) or access.is_site_admin(user)


def can_delete(group: Group, user: User | None) -> bool:
    if user is None or access.is_blocked(user):
        return False
    return group.creator_id == user.id or access.is_site_admin(user)


def edit_group(session: Session, group: Group, actor: User, *, display_name: str | None = None,
               description: str | None = None) -> list[str]:
    """Change display name and/or description; returns the changed fields."""
    if not can_edit(group, actor):
        raise NotAllowed("You are not allowed to edit this group")
    changed: list[str] = []
    if display_name is not None:
        display_name = display_name.strip()
        if (not display_name or len(display_name) > 255
                or any(ord(c) < 32 or ord(c) == 127 for c in display_name)):
            raise InvalidInput("Invalid display name",
                               errors={"display_name": ["1 to 255 characters, no control "
                                                        "characters."]})
        if display_name != group.display_name:
            taken = session.scalar(select(Group.id).where(Group.display_name == display_name,
                                                          Group.id != group.id))
            if taken is not None:
                raise Conflict(f"There is already a group with display name {display_name}",
                               errors={"display_name": ["Already used by another group."]})
            group.display_name = display_name
            changed.append("display_name")
    if description is not None:
        if len(description) > DESCRIPTION_MAX or "\x00" in description:
            raise InvalidInput("Invalid description",
                               errors={"description": [f"At most {DESCRIPTION_MAX} "
                                                       "characters."]})
        if description != group.description:
            group.description = description
            changed.append("description")
    if changed:
        session.flush()
        outbox.record(session, "group.edit", {"agent": actor.name, "group": group.name,
                                              "fields": changed})
    return changed


def delete_group(session: Session, group: Group, actor: User) -> None:
    """Remove the group, its memberships and its project grants."""
    if not can_delete(group, actor):
        raise NotAllowed("Only the creator of a group or a site admin may delete it")
    for row in session.scalars(select(ProjectGroup).where(ProjectGroup.group_id == group.id)):
        row.project.group_access.remove(row)
        session.delete(row)
    name = group.name
    session.delete(group)
    session.flush()
    outbox.record(session, "group.edit", {"agent": actor.name, "group": name,
                                          "fields": ["deleted"]})
