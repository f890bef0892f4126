"""Issue lists (spec §2.3): ``GET {P}/issues`` and ``GET /user/<username>/issues``.

Both are thin: the filters, visibility and search live in ``core.issue_query``.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from werkzeug.datastructures import MultiDict

import pagurus.web.api.issues  # noqa: F401  (defines the Issue schema)
from pagurus.core import access
from pagurus.core import issue_query as iq
from pagurus.core import issues as core_issues
from pagurus.core import users as core_users
from pagurus.core.issue_json import issues_json
from pagurus.model import Project, User
from pagurus.web import context
from pagurus.web.api import bp
from pagurus.web.api.auth import Caller
from pagurus.web.api.pagination import page_arg, pagination, per_page_arg
from pagurus.web.api.params import query_optional_flag
from pagurus.web.api.registry import Param, api_route
from pagurus.web.api.schemas import BOOL, INT, NAMES, NSTR, array, obj, ref

STATUS_DOC = ("Open (default), Closed, all, or a close status name (lists the closed "
              "issues with that close status).")
SINCE_DOC = ("Only issues updated at or after this time: Unix epoch seconds (bad: 400 "
             "ETIMESTAMP) or YYYY-MM-DD (bad: 400 EDATETIME).")
ORDER_DOC = "asc or desc (default desc)."
ORDER_KEY_DOC = ("date_created (default), last_updated, closed_at, title, priority (a lower "
                 "weight is a higher priority: desc lists the highest first), assignee, "
                 "user (author), number, status, milestone or close_status.")
TAGS_DOC = "A tag name; repeat for any of several; '!tag' excludes issues with that tag."
MILESTONES_DOC = "A milestone; repeat for any of several; 'none' means without milestone."
NO_STONES_DOC = "true: only issues without milestone; false: only issues with one."
RANGE_DOC = ("since..until (either side optional; a lone value is since), each bound as "
             "Unix epoch seconds or YYYY-MM-DD (an until date includes that whole day).")
ARGS_NSTR = {**NSTR, "description": "As given, or null"}
TIME_ERRORS = ("ETIMESTAMP", "EDATETIME")


def _viewer(caller: Caller, project: Project) -> User | None:
    """A token bound to another project reads only what anonymous visitors see."""
    if caller.token is not None and not access.token_fits_project(caller.token, project):
        return None
    return caller.user


def _raw(key: str) -> str | None:
    value = request.args.get(key)
    return value if value not in (None, "") else None


@api_route(
    bp, project="/issues", auth_mode="optional", tag="issues", paginated=True,
    summary="List the issues of a project",
    query=(
        Param("status", STATUS_DOC, default="Open"),
        Param("close_status", "Only closed issues with this close status; repeatable.",
              repeat=True),
        Param("tags", TAGS_DOC, repeat=True),
        Param("assignee", "A user name; '!name': not assigned to name; true or 1: assigned "
                          "to anyone; false or 0: unassigned."),
        Param("author", "User name of the reporter; '!name' excludes that reporter."),
        Param("milestones", MILESTONES_DOC, repeat=True),
        Param("no_stones", NO_STONES_DOC, "boolean"),
        Param("priority", "A priority weight or title, case-insensitive (unknown: 400 "
                          "EINVALIDPRIORITY)."),
        Param("since", SINCE_DOC),
        Param("search_pattern",
              "Words searched in titles, descriptions and comments (full-text; the last "
              "word also matches as a prefix; \"quoted phrases\"; an issue number). "
              "key:value tokens filter instead: status, priority, tags, assignee, author, "
              "milestones, content (searched like free text) and any custom field name "
              "('*' wildcards). At most 500 characters."),
        Param("ckeys", "A custom field name, paired with the cvalue at the same position; "
                       "repeatable.", repeat=True),
        Param("cvalue", "The value of the custom field named by the ckeys at the same "
                        "position, case-insensitive; '*' is a wildcard.", repeat=True),
        Param("private", "true: only private issues; false: only public ones.", "boolean"),
        Param("query_id", "Digits that the issue number contains."),
        Param("order", ORDER_DOC, default="desc"),
        Param("order_key", ORDER_KEY_DOC, default="date_created"),
    ),
    response=obj({
        "total_issues": {**INT, "description": "Issues matching the filters, all pages "
                                               "together"},
        "issues": array(ref("Issue")),
        "args": obj({"assignee": ARGS_NSTR, "author": ARGS_NSTR, "milestones": NAMES,
                     "no_stones": {"type": ["boolean", "null"]}, "order": ARGS_NSTR,
                     "order_key": ARGS_NSTR, "priority": ARGS_NSTR, "since": ARGS_NSTR,
                     "status": ARGS_NSTR, "tags": NAMES, "close_status": NAMES,
                     "search_pattern": ARGS_NSTR, "ckeys": NAMES, "cvalue": NAMES,
                     "private": {"type": ["boolean", "null"]}, "query_id": ARGS_NSTR,
                     "page": INT, "per_page": INT}),
        "pagination": ref("Pagination"),
    }),
    errors=("ETRACKERDISABLED", "EINVALIDREQ", "EINVALIDPERPAGEVALUE", "EINVALIDPRIORITY",
            *TIME_ERRORS),
)
def api_view_issues(caller: Caller, project: Project) -> Any:
    """Private issues are listed only to their author, their assignee and users with
    ticket access or more (Pagure leaves the assignee out). Unlike Pagure, whose
    ``total_issues`` is the number of issues on the returned page, ``total_issues``
    is the real total of all pages, consistent with ``pagination.pages``. A disabled
    tracker answers 404 ETRACKERDISABLED."""
    core_issues.require_tracker(project)
    session = context.db()
    viewer = _viewer(caller, project)
    page, per_page = page_arg(), per_page_arg()
    filters = iq.parse_filters(session, project, request.args)
    found = iq.listing(session, viewer, project, filters, page, per_page, with_counts=False)
    total = found.total
    items = iq.issues_by_id(session, found.ids, project=project)
    args = request.args
    return jsonify({
        "total_issues": total,
        "issues": issues_json(session, items, context.base_url()),
        "args": {
            "assignee": _raw("assignee"), "author": _raw("author"),
            "milestones": args.getlist("milestones"),
            "no_stones": query_optional_flag("no_stones") if _raw("no_stones") else None,
            "order": _raw("order"), "order_key": _raw("order_key"),
            "priority": _raw("priority"), "since": _raw("since"), "status": _raw("status"),
            "tags": args.getlist("tags"), "close_status": args.getlist("close_status"),
            "search_pattern": _raw("search_pattern"), "ckeys": args.getlist("ckeys"),
            "cvalue": args.getlist("cvalue"),
            "private": query_optional_flag("private") if _raw("private") else None,
            "query_id": _raw("query_id"), "page": page, "per_page": per_page,
        },
        "pagination": pagination(total, page, per_page),
    })


@api_route(
    bp, ("/user/<username>/issues", "/user/<username>/issues/"), tag="users", paginated=True,
    summary="Issues a user reported or is assigned, across projects",
    query=(
        Param("status", STATUS_DOC, default="Open"),
        Param("tags", TAGS_DOC, repeat=True),
        Param("milestones", MILESTONES_DOC, repeat=True),
        Param("no_stones", NO_STONES_DOC, "boolean"),
        Param("since", SINCE_DOC),
        Param("order", ORDER_DOC, default="desc"),
        Param("order_key", ORDER_KEY_DOC, default="date_created"),
        Param("assignee", "List the issues assigned to the user (default true).", "boolean",
              default=True),
        Param("author", "List the issues the user reported (default true).", "boolean",
              default=True),
        Param("created", "Creation time range: " + RANGE_DOC),
        Param("updated", "Last update range: " + RANGE_DOC),
        Param("closed", "Closing time range: " + RANGE_DOC),
    ),
    response=obj({
        "issues_created": array(ref("Issue")), "issues_assigned": array(ref("Issue")),
        "total_issues_created": INT, "total_issues_assigned": INT,
        "pagination_issues_created": ref("Pagination"),
        "pagination_issues_assigned": ref("Pagination"),
        "total_issues_created_pages": {**INT, "description": "Always 1 (legacy); use the "
                                                             "pagination objects"},
        "total_issues_assigned_pages": {**INT, "description": "Always 1 (legacy)"},
        "args": obj({"milestones": NAMES, "no_stones": {"type": ["boolean", "null"]},
                     "order": ARGS_NSTR, "order_key": ARGS_NSTR, "since": ARGS_NSTR,
                     "status": ARGS_NSTR, "tags": NAMES, "page": INT, "assignee": BOOL,
                     "author": BOOL, "created": ARGS_NSTR, "updated": ARGS_NSTR,
                     "closed": ARGS_NSTR}),
    }),
    errors=("ENOUSER", "EINVALIDREQ", "EINVALIDPERPAGEVALUE", *TIME_ERRORS),
)
def api_view_user_issues(caller: Caller, username: str) -> Any:
    """Each issue carries its ``project``. Unlike Pagure, which lists every issue
    of the user to anyone, only issues the caller may see are listed and counted:
    none of projects the caller may not see or whose tracker is off, and private
    issues only for their author, their assignee and users with ticket access or
    more on their project. Both lists share ``page`` and ``per_page``."""
    session = context.db()
    user = core_users.require_user(session, username)
    page, per_page = page_arg(), per_page_arg()
    with_assigned = query_optional_flag("assignee")
    with_created = query_optional_flag("author")
    # the person filters of project lists mean something else here
    args = MultiDict([(k, v) for k, v in request.args.items(multi=True)
                      if k not in ("assignee", "author", "priority", "search_pattern",
                                   "ckeys", "cvalue")])
    filters = iq.parse_filters(session, None, args)
    scope = iq.user_scope(session, caller.user, user)
    base = context.base_url()
    out: dict[str, Any] = {}
    for role, wanted in (("created", with_created is not False),
                         ("assigned", with_assigned is not False)):
        total = iq.user_count(session, scope, user, role, filters) if wanted else 0
        items = (iq.page_of(session, iq.user_issues_query(session, scope, user, role, filters),
                            page, per_page, with_project=True) if wanted and total else [])
        out[f"issues_{role}"] = issues_json(session, items, base, with_project=True)
        out[f"total_issues_{role}"] = total
        out[f"pagination_issues_{role}"] = pagination(total, page, per_page)
        out[f"total_issues_{role}_pages"] = 1
    out["args"] = {
        "milestones": request.args.getlist("milestones"),
        "no_stones": query_optional_flag("no_stones") if _raw("no_stones") else None,
        "order": _raw("order"), "order_key": _raw("order_key"), "since": _raw("since"),
        "status": _raw("status"), "tags": request.args.getlist("tags"), "page": page,
        "assignee": with_assigned is not False, "author": with_created is not False,
        "created": _raw("created"), "updated": _raw("updated"), "closed": _raw("closed"),
    }
    return jsonify(out)
