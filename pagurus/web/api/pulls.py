"""Pull-request endpoints (spec §2.5), the global ``/pull-requests/<uid>``
lookup (§2.1) and a user's filed and actionable lists (§2.6).

Rules live in ``core.pulls`` (rights, changes, merge refusals), lists in
``core.pull_query``, flags in ``core.flags``; merge and rebase run in the
worker (``tasks.pulls``). These views read the request, call core, commit,
and shape Pagure's JSON. A refused call changes nothing: the session is
rolled back whenever core refuses. Every endpoint of a project whose pull
requests are disabled answers 404 EPULLREQUESTSDISABLED.

Differences from Pagure, on purpose (also in each endpoint's description):
merging needs commit rights on the PR's target branch; a pull request is
visible to whoever may see its project (Pagure's ``private`` PRs do not
exist here); user lists only show pull requests of projects the caller may
see; ``total_requests`` of user lists counts all pages.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from flask import jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from pagurus.cache import object_cache
from pagurus.core import access
from pagurus.core import flags as core_flags
from pagurus.core import projects as core_projects
from pagurus.core import pull_query as pq
from pagurus.core import pulls as core_pulls
from pagurus.core import users as core_users
from pagurus.core.errors import ForgeError, InvalidInput
from pagurus.core.pull_json import comment_json, pull_json
from pagurus.git import pull_diffstats
from pagurus.model import Project, PullRequest, User
from pagurus.web import context
from pagurus.web.api import bp, jobs
from pagurus.web.api.auth import Caller, require_user
from pagurus.web.api.errors import ApiError
from pagurus.web.api.flags import FLAG_DOC, flag_fields, flag_params
from pagurus.web.api.pagination import page_arg, pagination, per_page_arg
from pagurus.web.api.params import body, query_flag
from pagurus.web.api.registry import Param, api_route
from pagurus.web.api.schemas import (
    BOOL,
    COMPONENTS,
    EPOCH,
    INT,
    NAMES,
    NSTR,
    STR,
    array,
    obj,
    ref,
)
from pagurus.web.api.users import avatar_url

log = logging.getLogger(__name__)

NUSER = {"oneOf": [ref("User"), {"type": "null"}]}
COMPONENTS.setdefault("PullRequestComment", obj({
    "id": INT,
    "commit": {**NSTR, "description": "Commit id of an inline comment"},
    "tree": {**NSTR, "description": "Tree id of an inline comment"},
    "filename": NSTR, "line": {"type": ["integer", "null"]},
    "side": {"type": ["string", "null"], "enum": ["new", "old", None],
             "description": "Not in Pagure: the side of the diff of an inline comment"},
    "comment": STR,
    "parent": {"type": ["integer", "null"]}, "date_created": EPOCH, "user": ref("User"),
    "edited_on": NSTR, "editor": NUSER, "notification": BOOL,
    "reactions": {"type": "object", "additionalProperties": NAMES},
}))
COMPONENTS.setdefault("PullRequest", obj({
    "id": {**INT, "description": "The number of the pull request in its target project"},
    "uid": STR, "title": STR, "branch": {**STR, "description": "Target branch"},
    "project": {**ref("Project"), "description": "The target project"},
    "branch_from": STR,
    "repo_from": {"oneOf": [ref("Project"), {"type": "null"}],
                  "description": "The source project; null for a remote PR or once the "
                                 "source fork is deleted"},
    "remote_git": NSTR, "date_created": EPOCH, "updated_on": EPOCH, "last_updated": EPOCH,
    "closed_at": NSTR, "user": ref("User"), "assignee": NUSER,
    "status": {"type": "string", "enum": ["Open", "Merged", "Closed"]},
    "commit_start": NSTR, "commit_stop": NSTR, "closed_by": NUSER, "initial_comment": STR,
    "cached_merge_status": {"type": "string",
                            "enum": ["FFORWARD", "NO_CHANGE", "CONFLICTS", "MERGE",
                                     "unknown"]},
    "threshold_reached": {"type": ["boolean", "null"]}, "tags": NAMES, "full_url": STR,
    "comments": array(ref("PullRequestComment")),
}))

REQUEST_ID_DOC = "``requestid``: the number of the pull request in this project. "
VISIBLE_DOC = ("A pull request is visible to whoever may see its project (Pagure's private "
               "pull requests, answered with 403 EPRNOTALLOWED, do not exist here). ")
READ_ERRORS: tuple[str | tuple[str, int], ...] = ("EPULLREQUESTSDISABLED", "ENOREQ")
WRITE_ERRORS: tuple[str | tuple[str, int], ...] = (
    "EPULLREQUESTSDISABLED", "ENOREQ", "EPRNOTALLOWED", "EINVALIDREQ")
WAIT_DOC = ("Wait for the worker to finish (default true). Unlike Pagure, the form value "
            "\"false\" (and 0, no, empty) means false.")
QUEUED = obj({"message": STR, "taskid": {**STR, "description": "Only when not waiting"}},
             required=("message",))
STATUS_DOC = ("Open (default), Merged, Closed, all; true or 1: open; false or 0: merged or "
              "closed. Case-insensitive; anything else is 400 EINVALIDREQ.")
RANGE_DOC = ("since..until (either side optional; a lone value is since), each bound as "
             "Unix epoch seconds (bad: 400 ETIMESTAMP) or YYYY-MM-DD (bad: 400 EDATETIME; "
             "an until date includes that whole day).")
ARGS_NSTR = {**NSTR, "description": "As given, or null"}


def _session() -> Session:
    return context.db()


def _base() -> str:
    return context.base_url()


def _viewer(caller: Caller, project: Project) -> User | None:
    """A token bound to another project reads only what anonymous visitors see."""
    if caller.token is not None and not access.token_fits_project(caller.token, project):
        return None
    return caller.user


def _pull(caller: Caller, project: Project, requestid: Any) -> PullRequest:
    core_pulls.require_pulls(project)
    return core_pulls.get_pull(_session(), _viewer(caller, project), project, requestid)


def _refused(exc: ForgeError) -> ForgeError:
    """Undo whatever core flushed before refusing, then report the refusal."""
    _session().rollback()
    return exc


def _raw(key: str) -> str | None:
    value = request.args.get(key)
    return value if value not in (None, "") else None


def _queue(send: Callable[[], Any]) -> str:
    try:
        return send().id
    except Exception:
        log.exception("queueing pull-request work failed")
        raise ApiError("ENOCODE", message="The task queue is unavailable; nothing was done, "
                                          "try again later", status=503) from None


# -- lists ------------------------------------------------------------------------------

@api_route(
    bp, project="/pull-requests", tag="pull-requests", paginated=True,
    summary="List the pull requests of a project",
    query=(
        Param("status", STATUS_DOC, default="Open"),
        Param("assignee", "A user name; '!name': not assigned to name; true or 1: assigned "
                          "to anyone; false or 0: unassigned."),
        Param("author", "User name of the author; '!name' excludes that author."),
        Param("tags", "A tag name; repeat (or separate with commas) for any of several; "
                      "'!tag' excludes pull requests with that tag.", repeat=True),
        Param("search_pattern", "Text found in titles, case-insensitive; with '*' "
                                "wildcards the pattern must match the whole title."),
        Param("order", "asc or desc (default desc).", default="desc"),
        Param("order_key", "date_created (default) or last_updated (the time the code "
                           "last changed).", default="date_created"),
    ),
    response=obj({
        "total_requests": {**INT, "description": "Pull requests matching the filters, all "
                                                 "pages together"},
        "requests": array(ref("PullRequest")),
        "args": obj({"status": ARGS_NSTR, "assignee": ARGS_NSTR, "author": ARGS_NSTR,
                     "tags": NAMES, "search_pattern": ARGS_NSTR, "order": ARGS_NSTR,
                     "order_key": ARGS_NSTR, "page": INT, "per_page": INT}),
        "pagination": ref("Pagination"),
    }),
    errors=("EPULLREQUESTSDISABLED", "EINVALIDREQ"),
)
def api_pull_request_views(caller: Caller, project: Project) -> Any:
    """Newest first by default. Each pull request comes without its comments
    (``comments`` is an empty list; ask for one pull request to read them)."""
    core_pulls.require_pulls(project)
    session = _session()
    viewer = _viewer(caller, project)
    page, per_page = page_arg(), per_page_arg()
    filters = pq.parse_filters(request.args)
    total = pq.count(session, viewer, project, filters)
    items = pq.page_of(session, pq.pulls_query(session, viewer, project, filters), page,
                       per_page, project=project)
    base = _base()
    return jsonify({
        "total_requests": total,
        "requests": [pull_json(session, pr, base, comments=False) for pr in items],
        "args": {"status": _raw("status"), "assignee": _raw("assignee"),
                 "author": _raw("author"), "tags": request.args.getlist("tags"),
                 "search_pattern": _raw("search_pattern"), "order": _raw("order"),
                 "order_key": _raw("order_key"), "page": page, "per_page": per_page},
        "pagination": pagination(total, page, per_page),
    })


def _user_list(caller: Caller, username: str, kind: str) -> Any:
    session = _session()
    user = core_users.require_user(session, username)
    page, per_page = page_arg(), per_page_arg()
    args = {k: request.args.getlist(k) for k in ("status", "created", "updated", "closed")}
    filters = pq.parse_filters(args)
    scope = pq.user_scope(session, caller.user, user, kind)
    total = pq.user_count(session, scope, user, kind, filters)
    items = pq.page_of(session, pq.user_pulls_query(session, scope, user, kind, filters),
                       page, per_page) if total else []
    base = _base()
    return jsonify({
        "total_requests": total,
        "requests": [pull_json(session, pr, base, comments=False) for pr in items],
        "args": {"username": user.name, "status": _raw("status"), "page": page,
                 "per_page": per_page, "created": _raw("created"),
                 "updated": _raw("updated"), "closed": _raw("closed")},
        "pagination": pagination(total, page, per_page),
    })


USER_LIST_QUERY = (
    Param("status", "open (default), merged, closed or all; case-insensitive.",
          default="open"),
    Param("created", "Creation time range: " + RANGE_DOC),
    Param("updated", "Last activity range: " + RANGE_DOC),
    Param("closed", "Closing time range: " + RANGE_DOC),
)
USER_LIST_RESPONSE = obj({
    "total_requests": {**INT, "description": "All pages together (Pagure: this page)"},
    "requests": array(ref("PullRequest")),
    "args": obj({"username": STR, "status": ARGS_NSTR, "page": INT, "per_page": INT,
                 "created": ARGS_NSTR, "updated": ARGS_NSTR, "closed": ARGS_NSTR}),
    "pagination": ref("Pagination"),
})
USER_LIST_DOC = (" Only pull requests of projects the caller may see, with pull requests "
                 "enabled, are listed and counted (Pagure listed them regardless); "
                 "``total_requests`` counts all pages (Pagure: the returned page). Newest "
                 "first; comments are not included.")


@api_route(
    bp, ("/user/<username>/requests/filed", "/user/<username>/requests/filed/"),
    tag="users", paginated=True, summary="Pull requests a user opened",
    description="Pull requests opened by the user, across projects." + USER_LIST_DOC,
    query=USER_LIST_QUERY, response=USER_LIST_RESPONSE,
    errors=("ENOUSER", "EINVALIDREQ", "ETIMESTAMP", "EDATETIME"),
)
def api_user_requests_filed(caller: Caller, username: str) -> Any:
    return _user_list(caller, username, "filed")


@api_route(
    bp, ("/user/<username>/requests/actionable", "/user/<username>/requests/actionable/"),
    tag="users", paginated=True, summary="Pull requests a user may act on",
    description=("Pull requests opened by someone else on projects where the user is "
                 "owner, admin or committer, directly or through a group." + USER_LIST_DOC),
    query=USER_LIST_QUERY, response=USER_LIST_RESPONSE,
    errors=("ENOUSER", "EINVALIDREQ", "ETIMESTAMP", "EDATETIME"),
)
def api_user_requests_actionable(caller: Caller, username: str) -> Any:
    return _user_list(caller, username, "actionable")


# -- reading -----------------------------------------------------------------------------

@api_route(
    bp, ("/pull-requests/<uid>", "/pull-requests/<uid>/"), tag="pull-requests",
    summary="One pull request, by its global uid",
    description=("404 ENOREQ when no pull request has this uid or its project is not "
                 "visible to the caller; 404 EPULLREQUESTSDISABLED when its project has "
                 "pull requests disabled."),
    response=ref("PullRequest"), errors=READ_ERRORS,
)
def api_pull_request_by_uid(caller: Caller, uid: str) -> Any:
    session = _session()
    pr = None
    if len(uid) == 32 and all(c in "0123456789abcdefABCDEF" for c in uid):
        pr = session.scalar(select(PullRequest).where(PullRequest.uid == uid.lower()))
    viewer = caller.user
    if pr is not None and caller.token is not None and not access.token_fits_project(
            caller.token, pr.project):
        viewer = None
    if pr is None or not core_pulls.can_view(session, viewer, pr):
        raise core_pulls.PullNotFound("Pull-Request not found")
    core_pulls.require_pulls(pr.project)
    return jsonify(pull_json(session, pr, _base()))


@api_route(
    bp, project="/pull-request/<int:requestid>", tag="pull-requests",
    summary="One pull request",
    description=REQUEST_ID_DOC + VISIBLE_DOC,
    query=(Param("comments", "Include the comments (default true).", "boolean",
                 default=True),),
    response=ref("PullRequest"), errors=READ_ERRORS,
)
def api_pull_request_view(caller: Caller, project: Project, requestid: int) -> Any:
    pr = _pull(caller, project, requestid)
    return jsonify(pull_json(_session(), pr, _base(), comments=query_flag("comments", True)))


@api_route(
    bp, project="/pull-request/<int:requestid>/comment/<int:commentid>",
    tag="pull-requests", summary="One comment of a pull request",
    description=REQUEST_ID_DOC + VISIBLE_DOC,
    response=ref("PullRequestComment"), errors=READ_ERRORS + ("ENOCOMMENT",),
)
def api_pull_request_comment_view(caller: Caller, project: Project, requestid: int,
                                  commentid: int) -> Any:
    pr = _pull(caller, project, requestid)
    comment = core_pulls.get_comment(_session(), pr, commentid)
    return jsonify(comment_json(comment, _base()))


def _diffstats(project: Project, pr: PullRequest) -> dict[str, Any]:
    settings = context.settings()
    try:
        repo = core_pulls.repo_of(settings.data_dir, project)
    except Exception:  # pygit2 raises several kinds for a missing repo
        raise ApiError("ENOPRSTATS") from None
    trees = pull_diffstats.pr_trees(repo, target_branch=pr.branch, start=pr.commit_start,
                                    stop=pr.commit_stop, is_open=pr.status == "Open")
    if trees is None:
        raise ApiError("ENOPRSTATS")
    old, new = trees
    key = f"{old.id if old is not None else '-'}:{new.id}"
    raw = object_cache(settings.redis_url).get_or_compute(
        "pr-diffstats", key, lambda: json.dumps(pull_diffstats.diffstats(repo, old, new)))
    stats = json.loads(raw)
    if not stats:
        raise ApiError("ENOPRSTATS")
    return stats


@api_route(
    bp, project="/pull-request/<int:requestid>/diffstats", tag="pull-requests",
    summary="Per-file statistics of a pull request's diff",
    description=(REQUEST_ID_DOC + "An open pull request is measured from its merge base "
                 "with the target branch to its head; a closed or merged one from the "
                 "parent of its first commit to its last. Renames are detected (status R, "
                 "``old_path`` the former name); statuses are A, D, M and R. Line counts of "
                 "files over 16 MiB are reported as 0. No diff: 400 ENOPRSTATS. "
                 + VISIBLE_DOC),
    response={"type": "object", "additionalProperties": obj({
        "lines_added": INT, "lines_removed": INT, "old_path": STR,
        "status": {"type": "string", "enum": ["A", "D", "M", "R"]}, "old_id": STR,
        "new_id": STR}), "description": "Keyed by the new path of each file"},
    errors=READ_ERRORS + ("ENOPRSTATS",),
)
def api_pull_request_diffstats(caller: Caller, project: Project, requestid: int) -> Any:
    pr = _pull(caller, project, requestid)
    return jsonify(_diffstats(project, pr))


# -- opening and editing -------------------------------------------------------------------

@api_route(
    bp, project="/pull-request/new", methods=("POST",), auth_mode="token",
    acls=("pull_request_create",), tag="pull-requests", summary="Open a pull request",
    description=(
        "The source is this project, or the project named by ``repo_from`` (with "
        "``repo_from_namespace`` and, for a fork, ``repo_from_username``), which must be "
        "of the same family (this project, its forks, forks of forks…; else 400 "
        "EINVALIDREQ; an unknown or invisible source is 404 ENOPROJECT). The caller needs "
        "commit access on the source (else 401 ENOTHIGHENOUGH). Unknown branches, "
        "identical branches or nothing to merge: 400 EINVALIDREQ; unsigned commits when "
        "the project enforces Signed-off-by: 400 ENOSIGNEDOFF. ``allow_rebase`` is false "
        "for pull requests opened through the API. Records ``pull-request.new``."),
    body=(
        Param("title", "Title (one line).", required=True),
        Param("branch_to", "Target branch in this project.", required=True),
        Param("branch_from", "Source branch.", required=True),
        Param("repo_from", "Name of the source project (default: this project)."),
        Param("repo_from_username", "Owner of the source fork."),
        Param("repo_from_namespace", "Namespace of the source project."),
        Param("initial_comment", "Description (markdown)."),
    ),
    response=ref("PullRequest"),
    errors=("EPULLREQUESTSDISABLED", "EINVALIDREQ", "ENOTHIGHENOUGH", "ENOSIGNEDOFF",
            "EPRNOTALLOWED"),
)
def api_pull_request_create(caller: Caller, project: Project) -> Any:
    actor = require_user(caller)
    core_pulls.require_pulls(project)
    data = body()
    fields = {key: data.text(key) or "" for key in ("title", "branch_to", "branch_from")}
    missing = {key: ["This field is required."] for key, value in fields.items()
               if not value.strip()}
    if missing:
        raise ApiError("EINVALIDREQ", errors=missing)
    session = _session()
    source = project
    repo_from = (data.text("repo_from") or "").strip()
    if repo_from:
        source = core_projects.find_visible(
            session, actor, repo_from, (data.text("repo_from_namespace") or "").strip() or None,
            (data.text("repo_from_username") or "").strip() or None)
    try:
        pr = core_pulls.create_pull(
            session, context.settings().data_dir, actor, project, source=source,
            branch_to=fields["branch_to"], branch_from=fields["branch_from"],
            title=fields["title"], initial_comment=data.text("initial_comment") or "",
            base_url=_base(), allow_rebase=False)
    except ForgeError as exc:
        raise _refused(exc) from None
    session.commit()
    return jsonify(pull_json(session, pr, _base()))


@api_route(
    bp, project="/pull-request/<int:requestid>", methods=("POST",), auth_mode="token",
    acls=("pull_request_update",), tag="pull-requests",
    summary="Edit the title and description of a pull request",
    description=(REQUEST_ID_DOC + "The author, the assignee or users with ticket access "
                 "or more (else 403 EPRNOTALLOWED); open pull requests only (else 400 "
                 "EINVALIDREQ). Without ``initial_comment`` the description is kept "
                 "(Pagure empties it). Re-links the issues the description mentions; "
                 "records ``pull-request.initial_comment.edited`` when the description "
                 "changed. " + VISIBLE_DOC),
    body=(Param("title", "New title.", required=True),
          Param("initial_comment", "New description (markdown).")),
    response=ref("PullRequest"), errors=WRITE_ERRORS,
)
def api_pull_request_update(caller: Caller, project: Project, requestid: int) -> Any:
    actor = require_user(caller)
    data = body()
    pr = _pull(caller, project, requestid)
    title = data.text("title") or ""
    if not title.strip():
        raise ApiError("EINVALIDREQ", errors={"title": ["This field is required."]})
    try:
        core_pulls.edit_pull(_session(), actor, pr, base_url=_base(), title=title,
                             initial_comment=data.text("initial_comment"))
    except ForgeError as exc:
        raise _refused(exc) from None
    _session().commit()
    return jsonify(pull_json(_session(), pr, _base()))


# -- merging, rebasing, closing ----------------------------------------------------------

@api_route(
    bp, project="/pull-request/<int:requestid>/merge", methods=("POST",), auth_mode="token",
    acls=("pull_request_merge",), tag="pull-requests", summary="Merge a pull request",
    description=(
        REQUEST_ID_DOC + "Needs commit rights on the target branch (else 403 ENOPRCLOSE). "
        "When the project allows only the assignee to merge: unassigned is 403 "
        "ENOTASSIGNED, someone else 403 ENOTASSIGNEE. Below the project's minimum review "
        "score: 403 EPRSCORE. A pull request that is not open: 400 EINVALIDREQ. The merge "
        "runs in the worker: with ``wait`` the answer is \"Changes merged!\", or 409 "
        "EPRCONFLICTS naming the reason (conflicting files, non fast-forward merges "
        "disabled, nothing to merge); without it \"Merging queued\" and a ``taskid`` "
        "to poll. " + VISIBLE_DOC),
    body=(Param("wait", WAIT_DOC, "boolean", default=True),),
    response=QUEUED,
    errors=WRITE_ERRORS + ("ENOPRCLOSE", "ENOTASSIGNED", "ENOTASSIGNEE", "EPRSCORE",
                           "EPRCONFLICTS"),
)
def api_pull_request_merge(caller: Caller, project: Project, requestid: int) -> Any:
    actor = require_user(caller)
    wait = body().wait()
    session = _session()
    pr = _pull(caller, project, requestid)
    refusal = core_pulls.merge_refusal(session, actor, pr)
    if refusal is not None:
        raise _refused(refusal)
    pr_id, actor_id, base = pr.id, actor.id, _base()
    session.commit()  # end this transaction before the worker writes
    from pagurus.tasks import pulls as pull_tasks

    task_id = _queue(lambda: pull_tasks.merge_pull.delay(pr_id, actor_id, base))
    if not wait:
        return jsonify({"message": "Merging queued", "taskid": task_id})
    try:
        done, result = jobs.wait(task_id)
    except Exception as exc:
        log.exception("merging pull request %s failed", pr_id)
        raise ApiError("EPRCONFLICTS", errors=str(exc) or "The merge failed") from None
    if not done:
        return jsonify({"message": "Merging queued", "taskid": task_id})
    result = result if isinstance(result, dict) else {}
    if result.get("merged"):
        return jsonify({"message": "Changes merged!"})
    reason = str(result.get("message") or "The merge failed")
    conflicts = [str(c) for c in result.get("conflicts") or []]
    if conflicts and not all(c in reason for c in conflicts):
        reason += " Conflicting files: " + ", ".join(conflicts)
    raise ApiError("EPRCONFLICTS", errors=reason)


@api_route(
    bp, project="/pull-request/<int:requestid>/rebase", methods=("POST",), auth_mode="token",
    acls=("pull_request_rebase",), tag="pull-requests",
    summary="Rebase a pull request onto its target branch",
    description=(
        REQUEST_ID_DOC + "Allowed to committers of the target when the author allowed "
        "rebasing (``allow_rebase``), or to those with commit rights on the source branch "
        "of a local source project. Otherwise 403 EREBASENOTALLOWED (rebasing not allowed "
        "by the author, or a remote pull request) or 403 ENOPRCLOSE. A pull request that "
        "is not open: 400 EINVALIDREQ. Runs in the worker: with ``wait`` the answer is "
        "\"Pull-request rebased\" or 400 ENOCODE with the reason; without it \"Rebasing "
        "queued\" and a ``taskid``. " + VISIBLE_DOC),
    body=(Param("wait", WAIT_DOC, "boolean", default=True),),
    response=QUEUED,
    errors=WRITE_ERRORS + ("EREBASENOTALLOWED", "ENOPRCLOSE", "ENOCODE"),
)
def api_pull_request_rebase(caller: Caller, project: Project, requestid: int) -> Any:
    actor = require_user(caller)
    wait = body().wait()
    session = _session()
    pr = _pull(caller, project, requestid)
    if not core_pulls.can_rebase(session, actor, pr):
        code = "EREBASENOTALLOWED" if (not pr.allow_rebase or pr.remote_git) else "ENOPRCLOSE"
        raise ApiError(code)
    if pr.status != core_pulls.OPEN:
        raise ApiError("EINVALIDREQ", errors="This pull request is not open")
    pr_id, actor_id, base = pr.id, actor.id, _base()
    session.commit()
    from pagurus.tasks import pulls as pull_tasks

    task_id = _queue(lambda: pull_tasks.rebase_pull.delay(pr_id, actor_id, base))
    if not wait:
        return jsonify({"message": "Rebasing queued", "taskid": task_id})
    try:
        done, result = jobs.wait(task_id)
    except Exception as exc:
        log.exception("rebasing pull request %s failed", pr_id)
        raise ApiError("ENOCODE", message=str(exc) or "The rebase failed") from None
    if not done:
        return jsonify({"message": "Rebasing queued", "taskid": task_id})
    result = result if isinstance(result, dict) else {}
    if result.get("rebased"):
        return jsonify({"message": "Pull-request rebased"})
    raise ApiError("ENOCODE", message=str(result.get("message") or "The rebase failed"))


CLOSE_RIGHTS_DOC = ("The author of the pull request or users with commit access (else 403 "
                    "ENOPRCLOSE). ")


@api_route(
    bp, project="/pull-request/<int:requestid>/close", methods=("POST",), auth_mode="token",
    acls=("pull_request_close",), tag="pull-requests", summary="Close a pull request",
    description=(REQUEST_ID_DOC + CLOSE_RIGHTS_DOC + "Only an open pull request can be "
                 "closed (else 400 EINVALIDREQ; Pagure turned even merged ones into "
                 "closed). Adds \"Pull-Request has been closed by <user>\" and records "
                 "``pull-request.closed`` (merged false). " + VISIBLE_DOC),
    response=obj({"message": STR}), errors=WRITE_ERRORS + ("ENOPRCLOSE",),
)
def api_pull_request_close(caller: Caller, project: Project, requestid: int) -> Any:
    actor = require_user(caller)
    session = _session()
    pr = _pull(caller, project, requestid)
    if not core_pulls.can_close(session, actor, pr):
        raise ApiError("ENOPRCLOSE")
    if pr.status != core_pulls.OPEN:
        raise ApiError("EINVALIDREQ", errors="This pull request is not open")
    try:
        core_pulls.close(session, actor, pr, base_url=_base())
    except ForgeError as exc:
        raise _refused(exc) from None
    session.commit()
    return jsonify({"message": "Pull-request closed!"})


@api_route(
    bp, project="/pull-request/<int:requestid>/reopen", methods=("POST",), auth_mode="token",
    acls=("pull_request_close", "pull_request_update"), tag="pull-requests",
    summary="Reopen a closed pull request",
    description=(REQUEST_ID_DOC + CLOSE_RIGHTS_DOC + "Only a closed (not merged, not open) "
                 "pull request can be reopened: else 400 EINVALIDREQ (Pagure failed with a "
                 "server error). Records ``pull-request.reopened``. " + VISIBLE_DOC),
    response=obj({"message": STR}), errors=WRITE_ERRORS + ("ENOPRCLOSE",),
)
def api_pull_request_reopen(caller: Caller, project: Project, requestid: int) -> Any:
    actor = require_user(caller)
    session = _session()
    pr = _pull(caller, project, requestid)
    if not core_pulls.can_close(session, actor, pr):
        raise ApiError("ENOPRCLOSE")
    if pr.status != core_pulls.CLOSED:
        raise ApiError("EINVALIDREQ", errors=f"This pull request is {pr.status.lower()}, "
                                             "not closed")
    try:
        core_pulls.reopen(session, actor, pr, base_url=_base())
    except ForgeError as exc:
        raise _refused(exc) from None
    session.commit()
    return jsonify({"message": "Pull-request reopened!"})


# -- comments, flags, subscription, assignee ---------------------------------------------

@api_route(
    bp, project="/pull-request/<int:requestid>/comment", methods=("POST",),
    auth_mode="token", acls=("pull_request_comment",), tag="pull-requests",
    summary="Comment on a pull request (general or inline)",
    description=(REQUEST_ID_DOC + "Anyone who may see the pull request may comment. With "
                 "``commit``, ``filename`` and ``row`` together the comment is inline, on "
                 "that line of that file at that commit (one or two of them alone: 400 "
                 "EINVALIDREQ). A general comment holding +1/:thumbsup: or -1/:thumbsdown: "
                 "is a vote. Records ``pull-request.comment.added`` (and "
                 "``pull-request.ci.trigger`` when the whole text is one of the instance's CI "
                 "trigger sentences). " + VISIBLE_DOC),
    body=(Param("comment", "The comment (markdown).", required=True),
          Param("commit", "Commit id (inline comments)."),
          Param("filename", "Path of the file (inline comments)."),
          Param("row", "Line number (inline comments).", "integer"),
          Param("tree_id", "Tree id the line was seen in (inline comments)."),
          Param("side", "Not in Pagure: ``old`` when ``row`` is a line of the file before "
                        "the change (``commit`` is then the diff's base), ``new`` (the "
                        "default) for a line of the changed file.")),
    response=obj({"message": STR, "avatar_url": STR,
                  "user": {**STR, "description": "User name of the commenter"}}),
    errors=WRITE_ERRORS,
)
def api_pull_request_add_comment(caller: Caller, project: Project, requestid: int) -> Any:
    actor = require_user(caller)
    data = body()
    pr = _pull(caller, project, requestid)
    text = data.text("comment", required=True)
    try:
        core_pulls.add_comment(_session(), actor, pr, text, base_url=_base(),
                               commit=data.text("commit"), filename=data.text("filename"),
                               row=data.text("row"), tree_id=data.text("tree_id"),
                               trigger_ci=context.settings().trigger_ci,
                               side=data.text("side"))
    except ForgeError as exc:
        raise _refused(exc) from None
    _session().commit()
    return jsonify({"message": "Comment added", "avatar_url": avatar_url(actor.name, 30),
                    "user": actor.name})


@api_route(
    bp, project="/pull-request/<int:requestid>/flag", tag="pull-requests",
    summary="The flags of a pull request",
    description=(REQUEST_ID_DOC + "The flags of the pull request's head commit, most "
                 "recently updated first. " + VISIBLE_DOC),
    response=obj({"flags": array(ref("CommitFlag"))}), errors=READ_ERRORS,
)
def api_pull_request_get_flag(caller: Caller, project: Project, requestid: int) -> Any:
    pr = _pull(caller, project, requestid)
    base = _base()
    return jsonify({"flags": [core_flags.flag_json(f, base)
                              for f in core_flags.flags_of_pull(_session(), pr)]})


@api_route(
    bp, project="/pull-request/<int:requestid>/flag", methods=("POST",), auth_mode="token",
    acls=("pull_request_flag",), tag="pull-requests",
    summary="Flag a pull request (add or update a CI status)",
    description=(REQUEST_ID_DOC + "The flag is a commit flag on the pull request's head "
                 "commit (``commit_stop``), so the returned flag has ``commit_hash``. "
                 "Without ``status``: no ``percent`` gives pending, a percent of 0 "
                 "failure, any other success. " + FLAG_DOC + " Records "
                 "``pull-request.flag.added`` or ``.updated``, and the matching "
                 "``commit.flag.*`` event. " + VISIBLE_DOC),
    body=flag_params("One of: success, failure, error, pending, canceled; optional.",
                     False),
    response=obj({"flag": ref("CommitFlag"), "message": {
        **STR, "description": "\"Flag added\" or \"Flag updated\""}, "uid": STR,
        "avatar_url": {**STR, "description": "Avatar of the caller"},
        "user": {**STR, "description": "User name of the caller"}}),
    errors=WRITE_ERRORS + ("ENOTHIGHENOUGH",),
)
def api_pull_request_add_flag(caller: Caller, project: Project, requestid: int) -> Any:
    actor = require_user(caller)
    fields = flag_fields(body(), status_required=False)
    pr = _pull(caller, project, requestid)
    session = _session()
    base = _base()
    try:
        flag, created = core_flags.add_pull_flag(session, actor, caller.token, pr,
                                                 base_url=base, **fields)
    except ForgeError as exc:
        raise _refused(exc) from None
    session.commit()
    return jsonify({"flag": core_flags.flag_json(flag, base, public=False),
                    "message": "Flag added" if created else "Flag updated",
                    "uid": flag.uid, "avatar_url": avatar_url(actor.name, 30),
                    "user": actor.name})


@api_route(
    bp, project="/pull-request/<int:requestid>/subscribe", methods=("POST",),
    auth_mode="token", acls=("pull_request_subscribe",), project_token_only=True,
    tag="pull-requests", summary="Watch or stop watching a pull request",
    description=REQUEST_ID_DOC + "Subscribes the caller. " + VISIBLE_DOC,
    body=(Param("status", "true: watch; false (or absent): stop watching.", "boolean"),),
    response=obj({"message": STR, "avatar_url": STR, "user": STR}), errors=WRITE_ERRORS,
)
def api_pull_request_subscribe(caller: Caller, project: Project, requestid: int) -> Any:
    actor = require_user(caller)
    watch = body().flag("status")
    pr = _pull(caller, project, requestid)
    try:
        core_pulls.set_subscription(_session(), actor, pr, watch)
    except ForgeError as exc:
        raise _refused(exc) from None
    _session().commit()
    message = ("You are now watching this pull-request" if watch
               else "You are no longer watching this pull-request")
    return jsonify({"message": message, "avatar_url": avatar_url(actor.name, 30),
                    "user": actor.name})


@api_route(
    bp, project="/pull-request/<int:requestid>/assign", methods=("POST",), auth_mode="token",
    acls=("pull_request_assign", "pull_request_update"), project_token_only=True,
    tag="pull-requests", summary="Assign a pull request, or reset its assignee",
    description=(REQUEST_ID_DOC + "Users with ticket access or more, or the current "
                 "assignee (else 403 EPRNOTALLOWED). An unknown user is 400 ENOCODE. Adds "
                 "a \"Metadata Update\" comment and records "
                 "``pull-request.assigned.added`` or ``.reset``. " + VISIBLE_DOC),
    body=(Param("assignee", "User name; empty or absent resets the assignee."),),
    response=obj({"message": {**STR, "description": "\"Request assigned\", \"Request "
                                                    "assignee reset\" or \"Nothing to "
                                                    "change\""}}),
    errors=WRITE_ERRORS + ("ENOCODE",),
)
def api_pull_request_assign(caller: Caller, project: Project, requestid: int) -> Any:
    actor = require_user(caller)
    data = body()
    pr = _pull(caller, project, requestid)
    name = (data.text("assignee") or "").strip() or None
    session = _session()
    try:
        changes = core_pulls.update_metadata(session, actor, pr, base_url=_base(),
                                             assignee=name)
    except InvalidInput as exc:
        session.rollback()
        raise ApiError("ENOCODE", message=exc.message, errors=exc.errors) from None
    except ForgeError as exc:
        raise _refused(exc) from None
    session.commit()
    if not changes:
        return jsonify({"message": "Nothing to change"})
    return jsonify({"message": "Request assigned" if name else "Request assignee reset"})
