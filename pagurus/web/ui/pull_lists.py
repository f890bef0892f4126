"""Pull-request lists in the web UI: a project's (``{P}/pull-requests``:
status tabs with counts, filters, search, order, pagination) and a user's
across projects (``/user/<name>/requests``: filed, or actionable — opened
by others on projects the user commits to).

Filtering and visibility live in ``core.pull_query``; every list is
addressed by its query string alone (Pagure's argument names).
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote

from flask import Blueprint, abort, render_template, request
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from pagurus.core import pull_query as pq
from pagurus.core import pulls as core_pulls
from pagurus.core.errors import ForgeError
from pagurus.core.tags import project_tags
from pagurus.core.users import get_user
from pagurus.model import Project, PullRequest, PullRequestComment
from pagurus.web import csrf
from pagurus.web.context import current_user, db, settings
from pagurus.web.routes import project_route
from pagurus.web.ui.helpers import flash_forge_error
from pagurus.web.ui.issue_lists import safe_color, url_with
from pagurus.web.ui.project import _project, header_context

bp = Blueprint("ui_pull_lists", __name__)
bp.before_request(csrf.protect)

MAX_PER_PAGE = 500
LIST_KEYS = ("status", "tags", "assignee", "author", "search_pattern", "order", "order_key",
             "n")
USER_KINDS = {"filed": "Filed", "actionable": "Actionable"}
STATUS_TABS = (("Open", "Open"), ("Merged", "Merged"), ("Closed", "Closed"), ("all", "All"))


def list_args(source: Any) -> MultiDict[str, str]:
    """The list arguments of the query, repeated ones kept, empty ones dropped."""
    out: MultiDict[str, str] = MultiDict()
    for key in LIST_KEYS:
        for value in source.getlist(key):
            if value.strip():
                out.add(key, value)
    return out


def _per_page(args: MultiDict[str, str]) -> int:
    raw = args.get("n", "")
    if raw.isdigit() and 1 <= int(raw) <= MAX_PER_PAGE:
        return int(raw)
    return settings().items_per_page


def _pages(total: int, per_page: int) -> tuple[int, int]:
    raw = request.args.get("page", "1")
    wanted = max(1, min(int(raw), 1_000_000)) if raw.isdigit() else 1
    pages = max(1, math.ceil(total / per_page))
    return min(wanted, pages), pages


def _current_status(args: MultiDict[str, str]) -> str:
    statuses = pq.parse_status(args.get("status"))
    if not statuses:
        return "all"
    return statuses[0] if len(statuses) == 1 else "closed-or-merged"


def pull_rows(prs: list[PullRequest]) -> list[dict[str, Any]]:
    """What a row shows, with the comment counts of the page in one query."""
    ids = [p.id for p in prs]
    counts = dict(db().execute(
        select(PullRequestComment.pull_request_id, func.count(PullRequestComment.id))
        .where(PullRequestComment.pull_request_id.in_(ids),
               PullRequestComment.notification.is_(False))
        .group_by(PullRequestComment.pull_request_id)).all()) if ids else {}
    rows = []
    for pr in prs:
        base = f"/{pr.project.url_path}"
        rows.append({
            "pr": pr, "purl": base, "url": f"{base}/pull-request/{pr.number}",
            "tags": [{"name": t.name, "color": safe_color(t.color),
                      "description": t.description} for t in pr.tags],
            "comments": counts.get(pr.id, 0),
        })
    return rows


@project_route(bp, "/pull-requests")
@project_route(bp, "/pull-requests/", endpoint="view_pulls_slash")
def view_pulls(repo: str, namespace: str | None = None, username: str | None = None
               ) -> tuple[str, int]:
    project: Project = _project(repo, namespace, username)
    if not core_pulls.pulls_enabled(project):
        abort(404)
    session, viewer = db(), current_user()
    args = list_args(request.args)
    status = 200
    errors: dict[str, list[str]] = {}
    try:
        filters = pq.parse_filters(args)
    except ForgeError as exc:
        flash_forge_error(exc)
        errors = {k: [str(m) for m in v] for k, v in (exc.errors or {}).items()} \
            if isinstance(exc.errors, dict) else {}
        args = MultiDict()
        filters, status = pq.PullFilters(), 400
    counts = pq.status_counts(session, viewer, project, filters)
    total = pq.count(session, viewer, project, filters)
    per_page = _per_page(args)
    page, pages = _pages(total, per_page)
    prs = pq.page_of(session, pq.pulls_query(session, viewer, project, filters), page,
                     per_page, project=project) if total else []
    base = f"/{project.url_path}/pull-requests"
    return render_template(
        "pulls/list.html", rows=pull_rows(prs), total=total, counts=counts, page=page,
        pages=pages, page_url=lambda p: url_with(base, args, page=p),
        link=lambda **changes: url_with(base, args, page=None, **changes),
        current=_current_status(args), tabs=STATUS_TABS, args=args, errors=errors,
        form={k: ", ".join(args.getlist(k)) if k == "tags" else args.get(k, "")
              for k in LIST_KEYS},
        pr_tags=project_tags(session, project), list_base=base,
        **header_context(project, "pulls")), status


@bp.route("/user/<username>/requests")
@bp.route("/user/<username>/requests/")
def user_pulls(username: str) -> tuple[str, int]:
    """``type=filed`` (default) or ``actionable``, across the projects the
    viewer may see."""
    session = db()
    owner = get_user(session, username)
    if owner is None:
        abort(404)
    kind = request.args.get("type", "filed")
    if kind not in USER_KINDS:
        kind = "filed"
    args = list_args(request.args)
    status = 200
    try:
        filters = pq.parse_filters(args)
    except ForgeError as exc:
        flash_forge_error(exc)
        args = MultiDict()
        filters, status = pq.PullFilters(), 400
    scope = pq.user_scope(session, current_user(), owner, kind)
    counts = pq.user_status_counts(session, scope, owner, kind, filters)
    total = pq.user_count(session, scope, owner, kind, filters)
    per_page = _per_page(args)
    page, pages = _pages(total, per_page)
    prs = pq.page_of(session, pq.user_pulls_query(session, scope, owner, kind, filters), page,
                     per_page) if total else []
    path = f"/user/{quote(owner.name, safe='')}/requests"
    kind_args = MultiDict(list(args.items(multi=True)) + [("type", kind)])
    return render_template(
        "pulls/list_user.html", owner=owner, tab="requests", kind=kind, kinds=USER_KINDS,
        rows=pull_rows(prs), total=total, counts=counts, page=page, pages=pages,
        current=_current_status(args), tabs=STATUS_TABS,
        page_url=lambda p: url_with(path, kind_args, page=p),
        link=lambda **changes: url_with(path, kind_args, page=None, **changes)), status
