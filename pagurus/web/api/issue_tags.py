"""A project's coloured issue/PR tags (spec §2.2 ``{P}/tags*``, ``{P}/tag/<tag>``,
``{P}/tags/new``) — not git tags, which live under ``{P}/git/tags``.

Unlike Pagure, creating and deleting a tag needs admin rights on the project,
whatever ACLs the token holds.
"""

from __future__ import annotations

import re
from typing import Any

from flask import jsonify, request
from sqlalchemy.exc import IntegrityError

from pagurus.core import projects as core_projects
from pagurus.core import tags as core_tags
from pagurus.core.errors import ForgeError
from pagurus.model import Project
from pagurus.web import context
from pagurus.web.api import bp
from pagurus.web.api.auth import Caller, require_user
from pagurus.web.api.errors import ApiError
from pagurus.web.api.params import body
from pagurus.web.api.registry import Param, api_route
from pagurus.web.api.schemas import COMPONENTS, INT, MESSAGE, NAMES, STR, obj, ref

COMPONENTS.setdefault("Tag", obj({"tag": STR, "tag_description": STR, "tag_color": STR}))
TAGS = obj({"total_tags": INT, "tags": NAMES})
PATTERN = Param("pattern", "Start of the tag name, case-insensitive; '*' is a wildcard.")


def _matcher(pattern: str | None) -> re.Pattern[str] | None:
    if not pattern:
        return None
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")),
                      re.IGNORECASE)


def _names(project: Project) -> Any:
    match = _matcher(request.args.get("pattern"))
    names = [t.name for t in core_tags.project_tags(context.db(), project)
             if match is None or match.match(t.name)]
    return jsonify({"total_tags": len(names), "tags": names})


@api_route(bp, project="/tags", tag="tags", summary="The issue tags of a project",
           query=(PATTERN,), response=TAGS)
def api_project_tags(caller: Caller, project: Project) -> Any:
    """Names of the project's coloured tags, sorted."""
    return _names(project)


@api_route(bp, project="/tags/", tag="tags", summary="The issue tags of a project",
           query=(PATTERN,), response=TAGS)
def api_project_tags_slash(caller: Caller, project: Project) -> Any:
    """Same as without the trailing slash."""
    return _names(project)


def _tag(project: Project, name: str) -> Any:
    tag = core_tags.find_tag(context.db(), project, name)
    if tag is None:
        raise ApiError("ENOTAG")
    return tag


@api_route(bp, project="/tag/<tag>", tag="tags", summary="One issue tag",
           response=ref("Tag"), errors=("ENOTAG",))
def api_project_tag_view(caller: Caller, project: Project, tag: str) -> Any:
    """Names are matched case-insensitively."""
    return jsonify(core_tags.tag_json(_tag(project, tag)))


@api_route(
    bp, project="/tags/new", methods=("POST",), auth_mode="token", acls=("modify_project",),
    tag="tags", summary="Create an issue tag",
    body=(Param("tag", "Letters, digits, spaces and - _ . :, starting with a letter or "
                       "digit; at most 255 characters.", required=True),
          Param("tag_color", "#rgb, #rrggbb or a CSS colour name.", required=True),
          Param("tag_description", "What the tag means.")),
    response=obj({"message": STR, "tag": ref("Tag")}),
    errors=("EINVALIDREQ", "EDBERROR", "EMODIFYPROJECTNOTALLOWED"),
)
def api_project_tags_new(caller: Caller, project: Project) -> Any:
    """Project admins only (401 EMODIFYPROJECTNOTALLOWED). A tag of that name
    (case-insensitive) already existing is 400 EDBERROR."""
    actor = require_user(caller)
    session = context.db()
    core_projects.require_admin(session, actor, project)
    data = body()
    name = data.text("tag", required=True) or ""
    color = data.text("tag_color", required=True)
    description = data.text("tag_description") or ""
    if core_tags.find_tag(session, project, name.strip()) is not None:
        raise ApiError("EDBERROR", errors=f"Tag {name.strip()} already exists")
    try:
        tag = core_tags.create_tag(session, actor, project, name, description, color)
        session.commit()
    except IntegrityError:  # created meanwhile by another request
        session.rollback()
        raise ApiError("EDBERROR", errors=f"Tag {name.strip()} already exists") from None
    except ForgeError:
        session.rollback()
        raise
    return jsonify({"message": "Tag created", "tag": core_tags.tag_json(tag)})


@api_route(
    bp, project="/tag/<tag>", methods=("DELETE",), auth_mode="token",
    acls=("modify_project",), project_token_only=True, tag="tags",
    summary="Delete an issue tag", response=MESSAGE,
    errors=("ENOTAG", "EMODIFYPROJECTNOTALLOWED"),
)
def api_project_tag_delete(caller: Caller, project: Project, tag: str) -> Any:
    """Project admins only. The tag is also taken off every issue and pull
    request, and its boards go with it."""
    actor = require_user(caller)
    session = context.db()
    core_projects.require_admin(session, actor, project)
    row = _tag(project, tag)
    name = row.name
    core_tags.delete_tag(session, actor, project, row)
    session.commit()
    return jsonify({"message": f"Tag: {name} has been deleted"})
