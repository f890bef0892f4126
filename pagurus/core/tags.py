"""A project's coloured tags, shared by its issues and pull requests."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pagurus.core.errors import InvalidInput, NotFound
from pagurus.events import outbox
from pagurus.model import DEFAULT_TAG_COLOR, Project, TagColored, User

TAG_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_ .:]*$")
TAG_MAX = 255
DESCRIPTION_MAX = 1_000
# CSS named colours are letters only; otherwise #rgb / #rrggbb
COLOR_RE = re.compile(r"^(#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}|[a-zA-Z]{3,30})$")


def check_name(name: Any) -> str:
    if not isinstance(name, str):
        raise InvalidInput("Invalid tag name", errors={"tag": ["must be a string"]})
    name = name.strip()
    if not name or len(name) > TAG_MAX or not TAG_RE.match(name):
        raise InvalidInput(f"Invalid tag: {name[:80]!r}", errors={
            "tag": ["letters, digits and - _ . : or spaces, starting with a letter or digit"]})
    return name


def check_color(color: Any) -> str:
    if color in (None, ""):
        return DEFAULT_TAG_COLOR
    if not isinstance(color, str) or not COLOR_RE.match(color.strip()):
        raise InvalidInput("Invalid tag color", errors={"tag_color": ["#rgb, #rrggbb or a name"]})
    return color.strip()


def split_names(value: Any) -> list[str]:
    """Tags given as a list or a comma-separated string, de-duplicated in order."""
    if value is None:
        return []
    items: Iterable[Any] = value.split(",") if isinstance(value, str) else value
    out: list[str] = []
    for item in items:
        if isinstance(item, str) and not item.strip():
            continue
        name = check_name(item)
        if name.lower() not in (n.lower() for n in out):
            out.append(name)
    return out


def project_tags(session: Session, project: Project) -> list[TagColored]:
    return list(session.scalars(select(TagColored).where(TagColored.project_id == project.id)
                                .order_by(TagColored.name)))


def find_tag(session: Session, project: Project, name: str) -> TagColored | None:
    return session.scalar(select(TagColored).where(
        TagColored.project_id == project.id, func.lower(TagColored.name) == name.lower()))


def require_tag(session: Session, project: Project, name: str) -> TagColored:
    tag = find_tag(session, project, name) if isinstance(name, str) else None
    if tag is None:
        raise NotFound("Tag not found", code="ENOCODE")
    return tag


def resolve(session: Session, project: Project, names: list[str], *,
            create: bool) -> list[TagColored]:
    """The tags called ``names``; unknown ones are created (default colour)
    when ``create``, refused otherwise."""
    found: list[TagColored] = []
    for name in names:
        tag = find_tag(session, project, name)
        if tag is None:
            if not create:
                raise InvalidInput(f"Unknown tag: {name}", errors={"tag": [f"unknown: {name}"]})
            tag = TagColored(project_id=project.id, name=name, description="",
                             color=DEFAULT_TAG_COLOR)
            session.add(tag)
            session.flush()
        found.append(tag)
    return found


def tag_json(tag: TagColored) -> dict[str, Any]:
    return {"tag": tag.name, "tag_description": tag.description, "tag_color": tag.color}


def create_tag(session: Session, actor: User, project: Project, name: Any,
               description: Any = "", color: Any = None) -> TagColored:
    name = check_name(name)
    if find_tag(session, project, name) is not None:
        raise InvalidInput(f"Tag {name} already exists", errors={"tag": ["already exists"]})
    tag = TagColored(project_id=project.id, name=name,
                     description=_description(description), color=check_color(color))
    session.add(tag)
    session.flush()
    return tag


def edit_tag(session: Session, actor: User, project: Project, tag: TagColored, *,
             name: Any = None, description: Any = None, color: Any = None) -> TagColored:
    """Rename or recolour; every issue keeps the tag (it is referenced by id)."""
    new_name = check_name(name) if name not in (None, "") else tag.name
    other = find_tag(session, project, new_name)
    if other is not None and other.id != tag.id:
        raise InvalidInput(f"Tag {new_name} already exists", errors={"tag": ["already exists"]})
    old = tag.name
    new_description = _description(description) if description is not None else tag.description
    new_color = check_color(color) if color is not None else tag.color
    tag.name, tag.description, tag.color = new_name, new_description, new_color
    outbox.record(session, "project.tag.edited", {
        "agent": actor.name, "project": {"id": project.id, "fullname": project.fullname},
        "old_tag": old, "new_tag": new_name, "new_tag_description": new_description,
        "new_tag_color": new_color}, project_id=project.id, private=project.private)
    return tag


def delete_tag(session: Session, actor: User, project: Project, tag: TagColored) -> None:
    """Removes the tag from every issue and pull request, and its boards."""
    outbox.record(session, "project.tag.removed", {
        "agent": actor.name, "project": {"id": project.id, "fullname": project.fullname},
        "tags": [tag.name]}, project_id=project.id, private=project.private)
    session.delete(tag)
    session.flush()


def _description(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > DESCRIPTION_MAX:
        raise InvalidInput("Invalid tag description",
                           errors={"tag_description": [f"text of at most {DESCRIPTION_MAX}"]})
    return value.strip()
