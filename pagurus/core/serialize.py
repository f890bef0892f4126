"""JSON shapes of Pagure's API v0 (field names are the wire contract).

``base_url`` is the instance URL without a trailing slash; dates are strings of
integer epoch seconds, as Pagure clients expect.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import object_session

from pagurus.core.projects import settings_of
from pagurus.model import Group, Project, User


def epoch(value: datetime | None) -> str | None:
    return None if value is None else str(int(value.timestamp()))


def user_json(user: User, base_url: str, public: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": user.name,
        "fullname": user.fullname,
        "url_path": f"user/{user.name}",
        "full_url": f"{base_url}/user/{user.name}",
    }
    if not public:
        data["default_email"] = user.default_email
        data["emails"] = sorted(e.email for e in user.emails)
    return data


def project_json(project: Project, base_url: str, *, public: bool = True,
                 api: bool = True) -> dict[str, Any]:
    access_users: dict[str, list[str]] = {"owner": [project.user.name], "admin": [],
                                          "commit": [], "collaborator": [], "ticket": []}
    for row in project.user_access:
        access_users[row.access].append(row.user.name)
    access_groups: dict[str, list[str]] = {"admin": [], "commit": [], "collaborator": [],
                                           "ticket": []}
    for grow in project.group_access:
        access_groups[grow.access].append(grow.group.name)
    for values in (*access_users.values(), *access_groups.values()):
        values.sort()
    milestones = {
        name: {"date": (info or {}).get("date"), "active": bool((info or {}).get("active", True))}
        for name, info in (project.milestones or {}).items()
    }
    data: dict[str, Any] = {
        "id": project.id,
        "name": project.name,
        "fullname": project.fullname,
        "url_path": project.url_path,
        "full_url": f"{base_url}/{project.url_path}",
        "description": project.description,
        "namespace": project.namespace,
        "parent": project_json(project.parent, base_url, public=public, api=api)
        if project.parent else None,
        "date_created": epoch(project.date_created),
        "date_modified": epoch(project.date_modified),
        "user": user_json(project.user, base_url, public=public),
        "access_users": access_users,
        "access_groups": access_groups,
        "tags": [t.name for t in project.tags],
        "priorities": dict(project.priorities or {}),
        "custom_keys": custom_keys_of(project),
        "close_status": list(project.close_status or []),
        "milestones": milestones,
    }
    if not api and not public:
        data["settings"] = settings_of(project)
        from pagurus.core.boards import board_json, project_boards

        session = object_session(project)
        data["boards"] = ([board_json(b, base_url) for b in project_boards(session, project)]
                          if session is not None else [])
    return data


def custom_keys_of(project: Project) -> list[list[str]]:
    """``[[name, key_type], …]`` of the project's issue custom fields, in order."""
    if project.id is None:
        return []
    return [[key.name, key.key_type] for key in project.custom_keys]


def project_short_json(project: Project) -> dict[str, Any]:
    return {
        "name": project.name,
        "namespace": project.namespace,
        "fullname": project.fullname.replace("forks/", "fork/", 1) if project.is_fork
        else project.fullname,
        "description": project.description,
    }


def group_json(group: Group, base_url: str, public: bool = True) -> dict[str, Any]:
    return {
        "name": group.name,
        "display_name": group.display_name,
        "description": group.description,
        "group_type": group.group_type,
        "creator": user_json(group.creator, base_url, public=public),
        "date_created": epoch(group.created_at),
        "full_url": f"{base_url}/group/{group.name}",
        "members": sorted(m.user.name for m in group.memberships),
    }
