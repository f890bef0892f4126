"""Who watches a project, changing one's watch status, and the project's
webhook signing key (spec §2.2 ``{P}/watchers``, ``{P}/watchers/update``,
``{P}/webhook/token``). The rules are core's (``core.social``, ``core.access``).
"""

from __future__ import annotations

from typing import Any

from flask import jsonify

from pagurus.core import access, social
from pagurus.core.errors import ForgeError
from pagurus.model import Project
from pagurus.web import context
from pagurus.web.api import bp
from pagurus.web.api.auth import Caller, require_user
from pagurus.web.api.errors import ApiError
from pagurus.web.api.params import body
from pagurus.web.api.registry import Param, api_route
from pagurus.web.api.schemas import INT, STR, obj

WATCH_KINDS = {"type": "array", "items": {"type": "string", "enum": ["issues", "commits"]}}
STATUS_OK = obj({"message": STR, "status": {**STR, "enum": ["ok"]}})


@api_route(
    bp, project="/watchers", tag="projects", summary="Who watches a project",
    response=obj({"total_watchers": INT, "watchers": {
        "type": "object", "additionalProperties": WATCH_KINDS,
        "description": "User name, or @group name, -> what they watch"}}),
)
def api_project_watchers(caller: Caller, project: Project) -> Any:
    """The owner, every user with access and every group with access watch
    issues and pull requests unless they chose otherwise; users who chose
    are listed with their choice, and an explicit unwatch removes them."""
    return jsonify(social.watchers(context.db(), project))


@api_route(
    bp, project="/watchers/update", methods=("POST",), auth_mode="token",
    acls=("modify_project", "update_watch_status"), tag="projects",
    summary="Change a user's watch status on a project",
    body=(Param("watcher", "The user whose watch status changes: the caller, unless "
                           "the caller is a site admin.", required=True),
          Param("status", "-1 back to the default, 0 unwatch, 1 issues and pull "
                          "requests, 2 commits, 3 both.", required=True,
                enum=("-1", "0", "1", "2", "3"))),
    response=STATUS_OK,
    errors=("EINVALIDREQ", "EMODIFYPROJECTNOTALLOWED", "ENOCODE"),
)
def api_project_watchers_update(caller: Caller, project: Project) -> Any:
    """Only the watcher themself or a site admin (401 EMODIFYPROJECTNOTALLOWED);
    a missing or unknown watcher is 400 EINVALIDREQ, a status outside -1..3
    400 ENOCODE."""
    actor = require_user(caller)
    data = body()
    watcher = data.text("watcher")
    if not watcher or not watcher.strip():
        raise ApiError("EINVALIDREQ", errors={"watcher": ["This field is required."]})
    session = context.db()
    try:
        message = social.update_watch_status(session, actor, project, watcher.strip(),
                                             data.raw("status"))
        session.commit()
    except ForgeError:
        session.rollback()
        raise
    return jsonify({"message": message, "status": "ok"})


@api_route(
    bp, project="/webhook/token", auth_mode="any-token", tag="projects",
    summary="The key webhook notifications of a project are signed with",
    response=obj({"webhook": obj({"token": STR}), "status": {**STR, "enum": ["ok"]}}),
    errors=("ENOTHIGHENOUGH",),
)
def api_project_webhook_token(caller: Caller, project: Project) -> Any:
    """For the owner and anyone with access to the project (401 ENOTHIGHENOUGH
    otherwise), so that a receiver can check the signatures. Unlike Pagure,
    access through a group counts too, site admins count as admins, and a user
    blocked on the project is refused."""
    actor = require_user(caller)
    if not access.can_ticket(context.db(), actor, project):
        raise ApiError("ENOTHIGHENOUGH")
    resp = jsonify({"webhook": {"token": project.hook_token}, "status": "ok"})
    resp.headers["Cache-Control"] = "no-store"
    return resp
