"""Groups of users: creation, membership."""

from __future__ import annotations

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from pagurus.core import access
from pagurus.core.errors import Conflict, InvalidInput, NotAllowed, NotFound
from pagurus.core.names import glob_to_like, validate_groupname
from pagurus.events import outbox
from pagurus.model import Group, GroupMember, User


def get_group(session: Session, name: str) -> Group | None:
    if not isinstance(name, str) or not name:
        return None
    return session.scalar(select(Group).where(func.lower(Group.name) == name.lower()))


def require_group(session: Session, name: str) -> Group:
    group = get_group(session, name)
    if group is None:
        raise NotFound("Group not found", code="ENOGROUP")
    return group


def visible_to(group: Group, viewer: User | None) -> bool:
    """Admin-type groups are hidden from everyone but site admins."""
    return group.group_type != "admin" or access.is_site_admin(viewer)


def create_group(
    session: Session,
    name: str,
    creator: User,
    *,
    display_name: str | None = None,
    description: str = "",
    group_type: str = "user",
) -> Group:
    name = validate_groupname(name)
    display_name = (display_name or name).strip()
    if not display_name or len(display_name) > 255 or any(ord(c) < 32 for c in display_name):
        raise InvalidInput("Invalid display name", errors={"display_name": ["1 to 255 chars."]})
    if group_type not in ("user", "admin"):
        raise InvalidInput("group_type must be user or admin")
    if group_type == "admin" and not access.is_site_admin(creator):
        raise NotAllowed("Only site admins create admin groups")
    if len(description or "") > 10_000:
        raise InvalidInput("Description too long")
    if get_group(session, name) is not None:
        raise Conflict(f"There is already a group named {name}")
    if session.scalar(select(Group).where(Group.display_name == display_name)):
        raise Conflict(f"There is already a group with display name {display_name}")
    group = Group(name=name, display_name=display_name, description=description or "",
                  group_type=group_type, creator_id=creator.id)
    group.memberships.append(GroupMember(user_id=creator.id, is_admin=True))
    session.add(group)
    session.flush()
    return group


def members(group: Group) -> list[User]:
    return sorted((m.user for m in group.memberships), key=lambda u: u.name)


def is_member(group: Group, user: User | None) -> bool:
    return bool(user) and any(m.user_id == user.id for m in group.memberships)


def add_member(session: Session, group: Group, actor: User, user: User) -> None:
    """Members, the creator and site admins may add members."""
    if not (is_member(group, actor) or group.creator_id == actor.id
            or access.is_site_admin(actor)):
        raise NotAllowed("You are not allowed to add users to this group", code="EDBERROR",
                         status=400, errors=["Not a member of this group"])
    if is_member(group, user):
        raise Conflict(f"User `{user.name}` already in the group", code="EDBERROR",
                       errors=[f"User `{user.name}` already in the group"])
    group.memberships.append(GroupMember(user_id=user.id))
    session.flush()
    outbox.record(session, "group.edit", {"agent": actor.name, "group": group.name,
                                          "fields": ["members"]})


def remove_member(session: Session, group: Group, actor: User, user: User) -> None:
    """Members and site admins may remove; the creator stays."""
    if not (is_member(group, actor) or access.is_site_admin(actor)):
        raise NotAllowed("You are not allowed to remove users from this group",
                         code="EDBERROR", status=400, errors=["Not a member of this group"])
    if user.id == group.creator_id:
        raise Conflict("The creator of a group cannot be removed", code="EDBERROR",
                       errors=["The creator of a group cannot be removed"])
    for m in list(group.memberships):
        if m.user_id == user.id:
            group.memberships.remove(m)
            session.delete(m)
            session.flush()
            outbox.record(session, "group.edit", {"agent": actor.name, "group": group.name,
                                                  "fields": ["members"]})
            return
    raise NotFound(f"User `{user.name}` not in the group", code="EDBERROR", status=400,
                   errors=[f"User `{user.name}` not in the group"])


def groups_query(viewer: User | None, pattern: str | None = None) -> Select[tuple[Group]]:
    """Groups ``viewer`` may see whose name or display name starts with ``pattern``."""
    stmt = select(Group).order_by(func.lower(Group.name))
    if not access.is_site_admin(viewer):
        stmt = stmt.where(Group.group_type != "admin")
    if pattern:
        like = glob_to_like(pattern, prefix=True)
        stmt = stmt.where(or_(Group.name.ilike(like, escape="\\"),
                              Group.display_name.ilike(like, escape="\\")))
    return stmt


def list_groups(session: Session, viewer: User | None, pattern: str | None = None) -> list[Group]:
    return list(session.scalars(groups_query(viewer, pattern)))


def user_groups(session: Session, user: User) -> list[Group]:
    stmt = (select(Group).join(GroupMember).where(GroupMember.user_id == user.id)
            .order_by(Group.name))
    return list(session.scalars(stmt))
