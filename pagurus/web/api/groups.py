"""Group endpoints (spec §2.1 ``/groups``, §2.7)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from pagurus.core import groups as core_groups
from pagurus.core import projects as core_projects
from pagurus.core import serialize
from pagurus.core.users import get_user
from pagurus.model import Group
from pagurus.web import context
from pagurus.web.api import bp
from pagurus.web.api.auth import Caller, require_user
from pagurus.web.api.errors import ApiError
from pagurus.web.api.pagination import page_arg, pagination, per_page_arg
from pagurus.web.api.params import body, query_flag
from pagurus.web.api.projects import count, page_of, project_json
from pagurus.web.api.registry import Param, api_route
from pagurus.web.api.schemas import INT, STR, array, obj, ref

# ``acl`` filter of GET /group/<group>: a level and those above it
ACL_FILTER = {
    "admin": ("admin",),
    "commit": ("commit", "admin"),
    "ticket": ("ticket", "collaborator", "commit", "admin"),
}


def visible_group(name: str, caller: Caller) -> Group:
    """The group, or 404 ENOGROUP (admin-type groups exist only for site admins)."""
    group = core_groups.get_group(context.db(), name)
    if group is None or not core_groups.visible_to(group, caller.user):
        raise ApiError("ENOGROUP")
    return group


@api_route(
    bp, ("/groups", "/groups/"), tag="groups", paginated=True, summary="List groups",
    query=(Param("pattern", "Start of the group or display name (case-insensitive)."),
           Param("extended", "Return {name, description} items.", "boolean")),
    response=obj({"total_groups": INT,
                  "groups": array({"oneOf": [STR, obj({"name": STR, "description": STR})]}),
                  "pagination": ref("Pagination")}),
    errors=("EINVALIDREQ", "EINVALIDPERPAGEVALUE"),
)
def api_groups(caller: Caller) -> Any:
    """Admin-type groups are listed only to site admins."""
    page, per_page = page_arg(), per_page_arg()
    extended = query_flag("extended")
    groups = core_groups.list_groups(context.db(), caller.user,
                                     request.args.get("pattern") or None)
    shown = groups[(page - 1) * per_page: page * per_page]
    return jsonify({
        "total_groups": len(groups),
        "groups": [{"name": g.name, "description": g.description} if extended else g.name
                   for g in shown],
        "pagination": pagination(len(groups), page, per_page),
    })


@api_route(
    bp, "/group/<group>", auth_mode="optional", tag="groups", summary="One group",
    query=(Param("projects", "Add the projects the group has access to.", "boolean"),
           Param("acl", "With projects: admin, commit (commit and admin) or ticket (all).",
                 enum=("admin", "commit", "ticket")),
           Param("page", "Page of projects, 1 or more.", "integer", default=1),
           Param("per_page", "Projects per page, 1 to 100.", "integer", default=20)),
    response={"allOf": [ref("Group"), obj({"total_projects": INT,
                                           "projects": array(ref("Project")),
                                           "pagination": ref("Pagination")},
                                          required=())]},
    errors=("ENOGROUP", "EINVALIDREQ", "EINVALIDPERPAGEVALUE"),
)
def api_group(caller: Caller, group: str) -> Any:
    """The creator's emails are included when the caller is authenticated."""
    found = visible_group(group, caller)
    data = serialize.group_json(found, context.base_url(), public=not caller.authenticated)
    if query_flag("projects"):
        acl = request.args.get("acl") or None
        if acl is not None and acl not in ACL_FILTER:
            raise ApiError("EINVALIDREQ", errors={"acl": ["Must be admin, commit or ticket."]})
        page, per_page = page_arg(), per_page_arg()
        levels = ACL_FILTER[acl] if acl else core_projects.ACCESS_LEVELS
        stmt = core_projects.group_projects_query(context.db(), caller.user, found, levels)
        total = count(stmt)
        data["total_projects"] = total
        data["projects"] = [project_json(p) for p in page_of(stmt, page, per_page)]
        data["pagination"] = pagination(total, page, per_page)
    return jsonify(data)


def _member_change(caller: Caller, group: str, add: bool) -> Any:
    actor = require_user(caller)
    found = visible_group(group, caller)
    name = body().text("user", required=True) or ""
    session = context.db()
    user = get_user(session, name)
    if user is None:
        raise ApiError("EDBERROR", errors=[f"No user `{name}` found"])
    if add:
        core_groups.add_member(session, found, actor, user)
    else:
        core_groups.remove_member(session, found, actor, user)
    session.commit()
    return jsonify(serialize.group_json(found, context.base_url(), public=False))


_MEMBER_DOC: dict[str, Any] = {
    "methods": ("POST",), "auth_mode": "token", "acls": ("group_modify",), "tag": "groups",
    "body": (Param("user", "User name.", required=True),),
    "response": ref("Group"), "errors": ("EINVALIDREQ", "ENOGROUP", "EDBERROR"),
}


@api_route(bp, "/group/<group>/add", summary="Add a user to a group", **_MEMBER_DOC)
def api_group_add(caller: Caller, group: str) -> Any:
    """Members, the creator and site admins may add; failures are 400 EDBERROR
    with an ``errors`` list."""
    return _member_change(caller, group, add=True)


@api_route(bp, "/group/<group>/remove", summary="Remove a user from a group", **_MEMBER_DOC)
def api_group_remove(caller: Caller, group: str) -> Any:
    """Members and site admins may remove; the creator cannot be removed."""
    return _member_change(caller, group, add=False)
