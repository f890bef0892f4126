"""Project endpoints (spec §2.1 ``/projects`` and §2.2).

Unlike Pagure, every call that changes a project checks the caller's role on
that project through core, whatever ACLs the token holds.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any

from flask import jsonify, request
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from pagurus.core import access, serialize
from pagurus.core import projects as core_projects
from pagurus.core import tokens as core_tokens
from pagurus.core.errors import Conflict, InvalidInput
from pagurus.core.groups import members
from pagurus.core.users import get_user
from pagurus.model import Project, ProjectGroup, ProjectUser
from pagurus.tasks import projects as project_tasks
from pagurus.web import context
from pagurus.web.api import bp, jobs
from pagurus.web.api.auth import Caller, require_user
from pagurus.web.api.errors import ApiError
from pagurus.web.api.pagination import page_arg, pagination, per_page_arg
from pagurus.web.api.params import body, query_flag, query_optional_flag
from pagurus.web.api.registry import Param, api_route
from pagurus.web.api.schemas import (
    BOOL,
    INT,
    MESSAGE,
    NAMES,
    NSTR,
    STR,
    array,
    obj,
    ref,
)

log = logging.getLogger(__name__)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
WAIT_DOC = ("Wait for the repositories to be made (default true). Unlike Pagure, the form "
            "values \"false\", \"0\", \"no\" and an empty value mean false, as does JSON false.")
QUEUED = obj({"message": STR, "taskid": {**STR, "description": "Only when not waiting"}},
             required=("message",))


def project_json(project: Project, public: bool = True) -> dict[str, Any]:
    return serialize.project_json(project, context.base_url(), public=public, api=True)


def count(stmt: Any) -> int:
    return context.db().scalar(select(func.count()).select_from(stmt.order_by(None)
                                                                .subquery())) or 0


_EAGER = (
    selectinload(Project.user),
    selectinload(Project.tags),
    selectinload(Project.custom_keys),
    selectinload(Project.user_access).selectinload(ProjectUser.user),
    selectinload(Project.group_access).selectinload(ProjectGroup.group),
    selectinload(Project.parent).selectinload(Project.user),
)


def page_of(stmt: Any, page: int, per_page: int) -> list[Project]:
    """One page of projects, with what their JSON needs loaded in a few queries."""
    stmt = stmt.options(*_EAGER).limit(per_page).offset((page - 1) * per_page)
    return list(context.db().scalars(stmt))


def as_enocode(exc: InvalidInput | Conflict) -> ApiError:
    """Name, namespace and duplicate refusals are ENOCODE with the reason (Pagure's)."""
    context.db().rollback()
    return ApiError("ENOCODE", message=exc.message, errors=exc.errors)


# -- lists and lookup ---------------------------------------------------------

@api_route(
    bp, "/projects", tag="projects", paginated=True,
    summary="List projects",
    query=(
        Param("tags", "Project tag; repeat for several (all must match).", repeat=True),
        Param("pattern", "Project name; '*' is a wildcard (case-insensitive)."),
        Param("username", "Projects this user owns or has admin/commit/collaborator "
                          "access to, directly or through a group."),
        Param("owner", "Owner user name; '!name' means not owned by name."),
        Param("namespace", "Namespace of the projects."),
        Param("fork", "true: only forks; false: no forks.", "boolean"),
        Param("short", "Return {name, namespace, fullname, description} items.", "boolean"),
    ),
    response=obj({
        "total_projects": INT,
        "projects": array({"oneOf": [ref("Project"), ref("ProjectShort")]}),
        "args": obj({"tags": NAMES, "username": NSTR, "fork": {"type": ["boolean", "null"]},
                     "pattern": NSTR, "namespace": NSTR, "owner": NSTR, "short": BOOL,
                     "page": INT, "per_page": INT}),
        "pagination": ref("Pagination"),
    }),
    errors=("EINVALIDREQ", "EINVALIDPERPAGEVALUE"),
)
def api_projects(caller: Caller) -> Any:
    """Private projects appear only to those who may see them. ``username`` and
    ``owner`` together are refused with 400 EINVALIDREQ (Pagure crashes)."""
    args = request.args
    tags = [t for t in args.getlist("tags") if t]
    pattern = args.get("pattern") or None
    username = args.get("username") or None
    owner = args.get("owner") or None
    namespace = args.get("namespace") or None
    fork = query_optional_flag("fork")
    short = query_flag("short")
    page, per_page = page_arg(), per_page_arg()
    if username and owner:
        raise ApiError("EINVALIDREQ", errors="username and owner cannot be used together")
    stmt = core_projects.query_projects(
        context.db(), caller.user, pattern=pattern, namespace=namespace, owner=owner,
        username=username, fork=fork, tags=tags)
    total = count(stmt)
    items = page_of(stmt, page, per_page)
    projects = [serialize.project_short_json(p) if short else project_json(p) for p in items]
    return jsonify({
        "total_projects": total,
        "projects": projects,
        "args": {"tags": tags, "username": username, "fork": fork, "pattern": pattern,
                 "namespace": namespace, "owner": owner, "short": short, "page": page,
                 "per_page": per_page},
        "pagination": pagination(total, page, per_page),
    })


@api_route(
    bp, project="", tag="projects", summary="One project",
    query=(Param("expand_group", "Add group_details: members of each group with access.",
                 "boolean"),),
    response={"allOf": [ref("Project"), {"type": "object", "properties": {
        "group_details": {"type": "object", "additionalProperties": NAMES}}}]},
)
def api_project(caller: Caller, project: Project) -> Any:
    """A private project answers 404 ENOPROJECT to whoever may not see it."""
    data = project_json(project)
    if query_flag("expand_group"):
        data["group_details"] = {
            row.group.name: [u.name for u in members(row.group)]
            for row in sorted(project.group_access, key=lambda r: r.group.name)
        }
    return jsonify(data)


@api_route(
    bp, project="", forks=False, methods=("PATCH",), auth_mode="token",
    acls=("modify_project",), tag="projects", summary="Change the main admin of a project",
    body=(Param("main_admin", "User name of the new owner (main admin)."),
          Param("retain_access", "Keep the previous owner as an admin.", "boolean")),
    response=ref("Project"),
    errors=("EINVALIDREQ", ("ENOUSER", 400), "EMODIFYPROJECTNOTALLOWED", "ENOTMAINADMIN"),
)
def api_modify_project(caller: Caller, project: Project) -> Any:
    """Only ``main_admin`` and ``retain_access`` may be sent (else 400 EINVALIDREQ).
    The caller must be an admin of the project; only the owner or a site admin
    may hand the project over (401 ENOTMAINADMIN). Unknown user: 400 ENOUSER.
    The answer includes the users' emails."""
    actor = require_user(caller)
    data = body()
    keys = data.keys()
    unknown = sorted(set(keys) - {"main_admin", "retain_access"})
    if not keys or unknown:
        raise ApiError("EINVALIDREQ", errors=(f"Unknown keys: {', '.join(unknown)}" if unknown
                                              else "Nothing to change"))
    session = context.db()
    core_projects.require_admin(session, actor, project)
    if "main_admin" in keys:
        name = data.text("main_admin", required=True) or ""
        new_owner = get_user(session, name)
        if new_owner is None:
            raise ApiError("ENOUSER", status=400)
        core_projects.give_project(session, actor, project, new_owner,
                                   retain_access=data.flag("retain_access"))
        session.commit()
    return jsonify(project_json(project, public=False))


# -- creation, forking, deletion ----------------------------------------------

@api_route(
    bp, ("/new", "/new/"), methods=("POST",), auth_mode="token", acls=("create_project",),
    tag="projects", summary="Create a project",
    body=(
        Param("name", "Project name.", required=True),
        Param("description", "Short description.", required=True),
        Param("namespace", "An allowed prefix or a group you belong to."),
        Param("url", "Project home page (http or https)."),
        Param("avatar_email", "Email whose avatar represents the project."),
        Param("create_readme", "Commit a README.md.", "boolean"),
        Param("default_branch", "Name of the default branch (default main)."),
        Param("private", "Private project (if the instance allows them).", "boolean"),
        Param("mirrored_from", "URL of a repository to mirror."),
        Param("wait", WAIT_DOC, "boolean", default=True),
    ),
    response=QUEUED, errors=("ENOCODE", "EINVALIDREQ", "ENEWPROJECTDISABLED"),
)
def api_new_project(caller: Caller) -> Any:
    """Writes the project, then makes its repositories in a worker. With
    ``wait`` the answer is ``Project "<fullname>" created``; otherwise
    ``Project creation queued`` and a ``taskid`` to poll. A bad or taken name
    is refused with 400 ENOCODE and nothing is created; a missing name or
    description with 400 EINVALIDREQ."""
    actor = require_user(caller)
    data = body()
    settings = context.settings()
    session = context.db()
    name = data.text("name") or ""
    description = data.text("description") or ""
    missing = {key: ["This field is required."]
               for key, value in (("name", name), ("description", description))
               if not value.strip()}
    if missing:  # like a form that does not validate (Pagure's EINVALIDREQ)
        raise ApiError("EINVALIDREQ", errors=missing)
    fields = {
        "namespace": data.text("namespace") or None,
        "url": data.text("url") or "",
        "avatar_email": data.text("avatar_email") or "",
        "private": data.flag("private"),
        "default_branch": data.text("default_branch") or None,
        "mirrored_from": data.text("mirrored_from") or None,
    }
    create_readme = data.flag("create_readme")
    wait = data.wait()
    try:
        project = core_projects.create_project(session, settings, actor, name, description,
                                               **fields)
    except (InvalidInput, Conflict) as exc:
        raise as_enocode(exc) from None
    session.commit()
    fullname = project.fullname
    task_id = jobs.queue(project, lambda: project_tasks.create_project_repos.delay(
        project.id, create_readme))
    if not wait:
        return jsonify({"message": "Project creation queued", "taskid": task_id})
    try:
        done, _result = jobs.wait(task_id)
    except Exception:
        log.exception("creating the repositories of %s failed", fullname)
        raise ApiError("ENOCODE", message=f'The repositories of "{fullname}" could not be '
                                          "created; nothing was kept") from None
    if not done:
        return jsonify({"message": "Project creation queued", "taskid": task_id})
    return jsonify({"message": f'Project "{fullname}" created'})


@api_route(
    bp, ("/fork", "/fork/"), methods=("POST",), auth_mode="token", acls=("fork_project",),
    tag="projects", summary="Fork a project",
    body=(
        Param("repo", "Name of the project to fork.", required=True),
        Param("namespace", "Its namespace."),
        Param("username", "Owner of the fork to fork from (to fork a fork)."),
        Param("wait", WAIT_DOC, "boolean", default=True),
    ),
    response=QUEUED, errors=("EINVALIDREQ", "ENOPROJECT", "ENOCODE", "EUBLOCKED"),
)
def api_fork_project(caller: Caller) -> Any:
    """With ``wait``: ``Repo "<fullname>" cloned to "<user>/<fullname>"``; else
    ``Project forking queued`` and a ``taskid``. Already forked: 400 ENOCODE."""
    actor = require_user(caller)
    data = body()
    repo = data.text("repo", required=True) or ""
    namespace = data.text("namespace") or None
    fork_of = data.text("username") or None
    wait = data.wait()
    session = context.db()
    source = core_projects.find_visible(session, actor, repo, namespace, fork_of)
    if caller.token is not None and not access.token_fits_project(caller.token, source):
        raise ApiError("EINVALIDTOK", errors="This token is bound to another project")
    if access.is_blocked_on(actor, source):
        raise ApiError("EUBLOCKED")
    try:
        fork = core_projects.fork_project(session, actor, source)
    except (InvalidInput, Conflict) as exc:
        raise as_enocode(exc) from None
    session.commit()
    message = f'Repo "{source.fullname}" cloned to "{actor.name}/{source.fullname}"'
    task_id = jobs.queue(fork, lambda: project_tasks.fork_project.delay(fork.id))
    if not wait:
        return jsonify({"message": "Project forking queued", "taskid": task_id})
    try:
        done, _result = jobs.wait(task_id)
    except Exception:
        log.exception("forking %s failed", source.fullname)
        raise ApiError("ENOCODE", message=f'Forking "{source.fullname}" failed; nothing was '
                                          "kept") from None
    if not done:
        return jsonify({"message": "Project forking queued", "taskid": task_id})
    return jsonify({"message": message})


@api_route(
    bp, project="/delete", methods=("POST",), auth_mode="token", acls=("modify_project",),
    project_token_only=True, tag="projects", summary="Delete a project",
    body=(Param("wait", "Wait for the repositories to be removed (default true); "
                        "with false the answer also carries a taskid.", "boolean",
                default=True),),
    response=obj({"message": STR, "project": ref("Project"),
                  "taskid": {**STR, "description": "Only when not waiting"}},
                 required=("message", "project")),
    errors=("ENOTHIGHENOUGH", "ENOPROJECT"),
)
def api_delete_project(caller: Caller, project: Project) -> Any:
    """Owner or admins only, with a token bound to this project (or a session).
    The project disappears at once; a worker removes its repositories and row.
    Its forks stay, as standalone projects."""
    actor = require_user(caller)
    wait = body().wait()
    session = context.db()
    before = project_json(project)
    state = project.repo_state
    core_projects.request_delete(session, context.settings(), actor, project)
    session.commit()
    try:
        task_id = project_tasks.delete_project.delay(project.id, actor.name).id
    except Exception:
        log.exception("queueing the deletion of %s failed", before["fullname"])
        project.repo_state = state  # still whole: show it again rather than lose it
        session.commit()
        raise ApiError("ENOCODE", message="The task queue is unavailable; the project was "
                                          "not deleted, try again later", status=503) from None
    out: dict[str, Any] = {"message": "Project deleted", "project": before}
    if wait:
        try:
            jobs.wait(task_id)
        except Exception:
            log.exception("removing %s failed", before["fullname"])
    else:
        out["taskid"] = task_id
    return jsonify(out)


# -- access ---------------------------------------------------------------------

@api_route(bp, project="/contributors", tag="projects", summary="Who has access, by level",
           response=ref("Contributors"))
def api_project_contributors(caller: Caller, project: Project) -> Any:
    """Each level lists those whose highest level it is; ``admin`` includes the owner."""
    return jsonify(core_projects.contributors(context.db(), project))


@api_route(
    bp, project="/git/modifyacls", methods=("POST",), auth_mode="token",
    acls=("modify_project",), tag="projects", summary="Grant, change or remove access",
    body=(
        Param("user_type", "user or group.", required=True, enum=("user", "group")),
        Param("name", "User or group name.", required=True),
        Param("acl", "admin, commit or ticket; empty removes the access.",
              enum=("admin", "commit", "ticket", "")),
    ),
    response=ref("Project"),
    errors=("EINVALIDREQ", "EMODIFYPROJECTNOTALLOWED", "ENOUSER", "ENOGROUP"),
)
def api_modify_acls(caller: Caller, project: Project) -> Any:
    """Admins change anyone's access; a user may always remove their own."""
    actor = require_user(caller)
    data = body()
    user_type = data.text("user_type", required=True)
    name = data.text("name", required=True) or ""
    acl = data.text("acl") or None
    if user_type not in ("user", "group"):
        raise ApiError("EINVALIDREQ", errors={"user_type": ["Must be user or group."]})
    if acl is not None and acl not in ("admin", "commit", "ticket"):
        raise ApiError("EINVALIDREQ", errors={"acl": ["Must be admin, commit or ticket."]})
    session = context.db()
    core_projects.modify_acl(session, actor, project, user_type, name, acl)
    session.commit()
    return jsonify(project_json(project))


@api_route(
    bp, project="/blockuser", methods=("POST",), auth_mode="token", acls=("modify_project",),
    project_token_only=True, tag="projects", summary="Block users from a project",
    body=(Param("username", "User to block; repeat for several. The list replaces the "
                            "current one (empty unblocks everyone).", repeat=True),),
    response=MESSAGE, errors=("ENOTHIGHENOUGH", "ENOCODE"),
)
def api_block_users(caller: Caller, project: Project) -> Any:
    """Blocked users may still read the project but change nothing there."""
    actor = require_user(caller)
    session = context.db()
    if not access.can_admin(session, actor, project):
        raise ApiError("ENOTHIGHENOUGH")
    names = [n for n in body().list("username") if n.strip()]
    core_projects.block_users(session, actor, project, names)
    session.commit()
    return jsonify({"message": "User(s) blocked"})


# -- settings and tokens ----------------------------------------------------------

@api_route(
    bp, project="/options", auth_mode="token", acls=("modify_project",), tag="projects",
    summary="Project settings",
    response=obj({"settings": ref("Settings"), "status": STR}),
    errors=("EMODIFYPROJECTNOTALLOWED",),
)
def api_project_options(caller: Caller, project: Project) -> Any:
    """Project admins only (Pagure lets any token with modify_project read them)."""
    actor = require_user(caller)
    core_projects.require_admin(context.db(), actor, project)
    return jsonify({"settings": core_projects.settings_of(project), "status": "ok"})


@api_route(
    bp, project="/options/update", methods=("POST",), auth_mode="token",
    acls=("modify_project",), tag="projects", summary="Change project settings",
    body=tuple(Param(key, "Setting (see GET options).", "string")
               for key in core_projects.DEFAULT_SETTINGS),
    response=obj({"message": STR, "status": STR}),
    errors=("EMODIFYPROJECTNOTALLOWED", "ENOCODE", "EINVALIDREQ"),
)
def api_update_options(caller: Caller, project: Project) -> Any:
    """Settings not sent keep their value; unknown keys are ignored; "true"/"false"
    and digits are understood. A non-numeric Minimum_score_to_merge_pull-request
    is refused with 400 ENOCODE."""
    actor = require_user(caller)
    session = context.db()
    core_projects.require_admin(session, actor, project)
    changes = body().flat()
    for key, value in changes.items():
        if value is not None and not isinstance(value, (str, bool, int, float)):
            raise ApiError("EINVALIDREQ", errors={key: ["Must be a string, number or boolean."]})
    changed = core_projects.update_settings(session, actor, project, changes)
    session.commit()
    message = (f"Edited successfully settings of repo: {project.fullname}" if changed
               else "No settings to change")
    return jsonify({"message": message, "status": "ok"})


@api_route(
    bp, project="/token/new", methods=("POST",), auth_mode="token", acls=("modify_project",),
    tag="projects", summary="Create an API token bound to this project",
    body=(
        Param("acls", "ACL names (repeat the key, or a JSON list).", required=True,
              repeat=True),
        Param("description", "What the token is for."),
        Param("expiration_date", "YYYY-MM-DD; default in 180 days, at most 730."),
    ),
    response=obj({"token": obj({"description": STR,
                                "id": {**STR, "description": "The secret token, shown once"}})}),
    errors=("ENOTHIGHENOUGH", "EINVALIDREQ"),
)
def api_new_token(caller: Caller, project: Project) -> Any:
    """Owner and admins only (401 ENOTHIGHENOUGH). The token belongs to the caller."""
    actor = require_user(caller)
    session = context.db()
    settings = context.settings()
    if not access.can_admin(session, actor, project):
        raise ApiError("ENOTHIGHENOUGH")
    data = body()
    acls = data.list("acls")
    if not acls:
        raise ApiError("EINVALIDREQ", errors={"acls": ["This field is required."]})
    description = data.text("description") or ""
    days = settings.token_default_days
    expiration = data.text("expiration_date")
    if expiration:
        try:
            if not _DATE.match(expiration):
                raise ValueError(expiration)
            days = (date.fromisoformat(expiration) - date.today()).days
        except ValueError:
            raise ApiError("EINVALIDREQ",
                           errors={"expiration_date": ["Use the YYYY-MM-DD format."]}) from None
        if not 1 <= days <= settings.token_max_days:
            raise ApiError("EINVALIDREQ", errors={"expiration_date": [
                f"Must be between tomorrow and {settings.token_max_days} days from today."]})
    raw, row = core_tokens.create_token(
        session, actor, acls, project=project, days=days, max_days=settings.token_max_days,
        description=description, allowed=core_tokens.USER_ACLS)
    session.commit()
    resp = jsonify({"token": {"description": row.description, "id": raw}})
    resp.headers["Cache-Control"] = "no-store"
    return resp


@api_route(
    bp, project="/connector", auth_mode="token", acls=("modify_project",), tag="projects",
    summary="Hook token and the caller's tokens on this project",
    response=obj({"connector": obj({
        "hook_token": STR,
        "api_tokens": array(obj({"description": STR,
                                 "id": {**STR, "description": "First characters of the "
                                                              "token (secrets are stored "
                                                              "hashed)"},
                                 "expired": BOOL}))}),
        "status": STR}),
    errors=("ENOTHIGHENOUGH",),
)
def api_project_connector(caller: Caller, project: Project) -> Any:
    """Owner and admins only. Tokens are identified by their first characters,
    since Pagurus never stores a token in clear."""
    actor = require_user(caller)
    session = context.db()
    if not access.can_admin(session, actor, project):
        raise ApiError("ENOTHIGHENOUGH")
    tokens = [t for t in core_tokens.user_tokens(session, actor) if t.project_id == project.id]
    resp = jsonify({
        "connector": {
            "hook_token": project.hook_token,
            "api_tokens": [{"description": t.description, "id": t.prefix,
                            "expired": not access.token_is_valid(t)} for t in tokens],
        },
        "status": "ok",
    })
    resp.headers["Cache-Control"] = "no-store"
    return resp
