"""Issue lists in the web UI: a project's issues (status tabs, filters, sort,
search, pagination), saved reports, the roadmap, and a user's issues across
projects.

Filtering, visibility and search all live in ``core.issue_query``; these views
read the query string, ask core, render. Every list is addressed by its query
string alone, so a saved or shared URL shows the same view; links built here
keep every argument (repeated ones too) and change only what they mean to.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from flask import Blueprint, abort, redirect, render_template, request
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from pagurus.core import access
from pagurus.core import issue_query as iq
from pagurus.core import issues as core_issues
from pagurus.core.errors import ForgeError
from pagurus.core.tags import COLOR_RE, project_tags
from pagurus.core.users import get_user
from pagurus.model import DEFAULT_TAG_COLOR, Issue, Project
from pagurus.web import csrf
from pagurus.web.context import current_user, db, settings
from pagurus.web.routes import project_route
from pagurus.web.ui.helpers import (
    flash_forge_error,
    flash_success,
    is_true,
    login_url,
)
from pagurus.web.ui.project import _project, header_context

bp = Blueprint("ui_issue_lists", __name__)
bp.before_request(csrf.protect)

MAX_PER_PAGE = 500
MILESTONE_ISSUES = 100
# what a user's issue list filters on (the rest is per project: priorities, fields…)
USER_FILTER_KEYS = ("status", "tags", "milestones", "order", "order_key", "since", "n",
                    "search_pattern")
ORDER_LABELS = {
    "date_created": "Date created", "last_updated": "Last updated", "closed_at": "Date closed",
    "title": "Title", "priority": "Priority", "assignee": "Assignee", "user": "Reporter",
    "number": "Number", "milestone": "Milestone",
}


# -- shared pieces ------------------------------------------------------------------

def _tracker_project(repo: str, namespace: str | None, username: str | None) -> Project:
    """The project if the viewer may see it and its tracker is on; 404 otherwise."""
    project = _project(repo, namespace, username)
    if not core_issues.tracker_enabled(project):
        abort(404)
    return project


def purl(project: Project, suffix: str = "") -> str:
    return f"/{project.url_path}{suffix}"


def list_args(source: Any) -> MultiDict[str, str]:
    """The issue-list arguments of ``source`` (query args, a form, a stored report),
    repeated keys kept, empty values dropped."""
    out: MultiDict[str, str] = MultiDict()
    for key in iq.LIST_KEYS:
        for value in iq.values(source, key):
            if value.strip():
                out.add(key, value)
    return out


def url_with(path: str, args: MultiDict[str, str], **changes: Any) -> str:
    """``path`` with ``args``; each change replaces its key (None removes it, a list
    repeats it)."""
    pairs = [(k, v) for k, v in args.items(multi=True) if k not in changes]
    for key, value in changes.items():
        if value is None or value == "":
            continue
        for item in value if isinstance(value, list | tuple) else [value]:
            pairs.append((key, str(item)))
    query = urlencode(pairs)
    return f"{path}?{query}" if query else path


def safe_color(color: str | None) -> str:
    """A colour fit for an SVG ``fill`` attribute: ``#rgb``, ``#rrggbb`` or a name."""
    if color and COLOR_RE.match(color.strip()):
        return color.strip()
    return DEFAULT_TAG_COLOR


def _per_page(args: Any) -> int:
    raw = iq.first(args, "n") or ""
    if raw.isdigit() and 1 <= int(raw) <= MAX_PER_PAGE:
        return int(raw)
    return settings().items_per_page


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return max(1, min(int(raw), 1_000_000)) if raw.isdigit() else 1


def issue_rows(project_of: Callable[[Issue], Project], issues: list[Issue]
               ) -> list[dict[str, Any]]:
    """What a row shows, for a page of issues in a handful of queries."""
    session = db()
    ids = [i.id for i in issues]
    tags = core_issues.tags_of(session, ids)
    comments = iq.comment_counts(session, ids)
    rows = []
    for issue in issues:
        project = project_of(issue)
        base = purl(project)
        rows.append({
            "issue": issue,
            "project": project,
            "url": f"{base}/issue/{issue.number}",
            "purl": base,
            "tags": [{"name": t.name, "color": safe_color(t.color), "description": t.description}
                     for t in tags.get(issue.id, [])],
            "comments": comments.get(issue.id, 0),
            "priority": core_issues.priority_title(project, issue.priority),
        })
    return rows


def _pages(total: int, per_page: int) -> tuple[int, int]:
    pages = max(1, math.ceil(total / per_page))
    return min(_page_number(), pages), pages


# -- a project's issues -----------------------------------------------------------

@project_route(bp, "/issues")
@project_route(bp, "/issues/", endpoint="view_issues_slash")
def view_issues(repo: str, namespace: str | None = None, username: str | None = None
                ) -> tuple[str, int]:
    project = _tracker_project(repo, namespace, username)
    return _render_list(project, list_args(request.args))


def _render_list(project: Project, args: MultiDict[str, str], *,
                 report: str | None = None) -> tuple[str, int]:
    session, viewer = db(), current_user()
    status = 200
    errors: dict[str, list[str]] = {}
    try:
        filters = iq.parse_filters(session, project, args)
    except ForgeError as exc:
        flash_forge_error(exc)
        errors = {k: [str(m) for m in v] for k, v in (exc.errors or {}).items()} \
            if isinstance(exc.errors, dict) else {"_": [exc.message]}
        filters, status = iq.IssueFilters(status=None, nothing=True), 400
    per_page = _per_page(args)
    found = iq.listing(session, viewer, project, filters, _page_number(), per_page,
                       clamp=True)
    counts, total, page = found.counts, found.total, found.page
    pages = max(1, math.ceil(total / per_page))
    items = iq.issues_by_id(session, found.ids, project=project, content=False)
    base = purl(project, "/issues")
    page_base = purl(project, f"/report/{quote(report, safe='')}") if report else base
    page_args = MultiDict() if report else args

    def link(**changes: Any) -> str:
        return url_with(base, args, page=None, **changes)

    reports = sorted((project.reports or {}).keys(), key=str.lower)
    return render_template(
        "issues/list_issues.html",
        rows=issue_rows(lambda _i: project, items), total=total, counts=counts,
        page=page, pages=pages, page_url=lambda p: url_with(page_base, page_args, page=p),
        link=link, args=args, form=_form_values(args, filters), errors=errors,
        filters=filters, report=report, reports=reports,
        report_pairs=list(args.items(multi=True)),
        can_create=core_issues.can_create(session, viewer, project),
        issue_tags=project_tags(session, project),
        milestones=iq.ordered_milestones(project),
        priorities=sorted(((str(k), str(v)) for k, v in (project.priorities or {}).items()
                           if str(k) != ""), key=lambda kv: _weight(kv[0])),
        custom_names=[k.name for k in core_issues.custom_keys(session, project)],
        close_statuses=[str(s) for s in project.close_status or []],
        order_labels=ORDER_LABELS,
        **header_context(project, "issues"),
    ), status


def _weight(key: str) -> int:
    try:
        return int(key)
    except ValueError:
        return 1_000_000


def _form_values(args: MultiDict[str, str], filters: iq.IssueFilters) -> dict[str, Any]:
    """The filter form as the user wrote it (so it comes back unchanged)."""
    first = lambda key: iq.first(args, key) or ""  # noqa: E731
    return {
        "search_pattern": first("search_pattern"),
        "status": first("status") or "Open",
        "tags": ", ".join(args.getlist("tags")),
        "assignee": first("assignee"),
        "author": first("author"),
        "milestones": args.getlist("milestones") + args.getlist("milestone"),
        "priority": first("priority"),
        "private": {True: "true", False: "false"}.get(filters.private, ""),
        "since": first("since"),
        "order": "asc" if first("order").lower() == "asc" else "desc",
        "order_key": filters.order_key,
        "custom": list(zip(args.getlist("ckeys"), args.getlist("cvalue"), strict=False)),
        "n": first("n"),
    }


# -- reports -----------------------------------------------------------------------

@project_route(bp, "/issues/reports", methods=["POST"])
def save_report(repo: str, namespace: str | None = None, username: str | None = None
                ) -> Response:
    """Keep the list arguments posted with the form under ``report_name`` (admins)."""
    project = _tracker_project(repo, namespace, username)
    viewer = current_user()
    args = list_args(request.form)
    back = url_with(purl(project, "/issues"), args)
    if viewer is None:
        return redirect(login_url(back))
    if not access.can_admin(db(), viewer, project):
        abort(403, description="Only the project's admins may save reports")
    try:
        name = iq.save_report(db(), viewer, project, request.form.get("report_name"), args)
        db().commit()
    except ForgeError as exc:
        db().rollback()
        flash_forge_error(exc)
        return redirect(back)
    flash_success(f"Report {name} saved")
    return redirect(purl(project, f"/report/{quote(name, safe='')}"))


@project_route(bp, "/report/<report>")
def view_report(repo: str, report: str, namespace: str | None = None,
                username: str | None = None) -> tuple[str, int]:
    """The issue list with the report's stored arguments (and ``?page``)."""
    project = _tracker_project(repo, namespace, username)
    stored = (project.reports or {}).get(report)
    if not isinstance(stored, dict):
        abort(404)
    return _render_list(project, list_args(stored), report=report)


@project_route(bp, "/report/<report>/delete", methods=["POST"])
def delete_report(repo: str, report: str, namespace: str | None = None,
                  username: str | None = None) -> Response:
    project = _tracker_project(repo, namespace, username)
    viewer = current_user()
    if viewer is None:
        return redirect(login_url(purl(project, "/issues")))
    if not access.can_admin(db(), viewer, project):
        abort(403, description="Only the project's admins may delete reports")
    try:
        iq.delete_report(db(), viewer, project, report)
        db().commit()
    except ForgeError as exc:
        db().rollback()
        flash_forge_error(exc)
    else:
        flash_success(f"Report {report} deleted")
    return redirect(purl(project, "/issues"))


# -- roadmap -------------------------------------------------------------------------

def _stone_row(project: Project, name: str | None, counts: dict[str, int],
               info: dict[str, Any] | None) -> dict[str, Any]:
    opened, closed = counts.get(iq.OPEN, 0), counts.get(iq.CLOSED, 0)
    total = opened + closed
    if name is None:
        url = purl(project, "/roadmap/unplanned")
    elif "/" in name:  # a path segment cannot hold it: the issue list can
        url = url_with(purl(project, "/issues"), MultiDict({"milestones": name,
                                                            "status": "all"}))
    else:
        url = purl(project, f"/roadmap/{quote(name, safe='')}")
    return {
        "name": name, "label": name if name is not None else "Unplanned", "url": url,
        "open": opened, "closed": closed, "total": total,
        "percent": round(100 * closed / total) if total else 0,
        "date": (info or {}).get("date") or None,
        "active": bool((info or {}).get("active", True)),
        "issues_url": url_with(purl(project, "/issues"), MultiDict(
            {"milestones": name if name is not None else "none", "status": "all"})),
    }


@project_route(bp, "/roadmap")
@project_route(bp, "/roadmap/", endpoint="roadmap_slash")
def roadmap(repo: str, namespace: str | None = None, username: str | None = None) -> str:
    """Milestones in the project's order with open/closed counts and progress;
    issues without milestone last, as "Unplanned"."""
    project = _tracker_project(repo, namespace, username)
    wanted = request.args.get("status", "active").lower()
    if wanted not in ("active", "inactive", "all"):
        wanted = "active"
    keyword = (request.args.get("keyword") or "").strip()
    incomplete = is_true(request.args.get("onlyincomplete"))
    counts = iq.milestone_counts(db(), current_user(), project)
    stones = project.milestones or {}
    rows = []
    for name in iq.ordered_milestones(project):
        info = stones.get(name) if isinstance(stones.get(name), dict) else {}
        row = _stone_row(project, name, counts.get(name, {}), info)
        if wanted == "active" and not row["active"] or wanted == "inactive" and row["active"]:
            continue
        if keyword and keyword.lower() not in name.lower():
            continue
        if incomplete and not row["open"]:
            continue
        rows.append(row)
    unplanned = _stone_row(project, None, counts.get(None, {}), None)
    if keyword or (incomplete and not unplanned["open"]) or not unplanned["total"]:
        unplanned = None
    return render_template("issues/roadmap.html", rows=rows, unplanned=unplanned,
                           wanted=wanted, keyword=keyword, incomplete=incomplete,
                           **header_context(project, "roadmap"))


@project_route(bp, "/roadmap/<milestone>")
def roadmap_milestone(repo: str, milestone: str, namespace: str | None = None,
                      username: str | None = None) -> str:
    """One milestone's open and closed issues (``unplanned``: those without one)."""
    project = _tracker_project(repo, namespace, username)
    stones = project.milestones or {}
    if milestone in stones:
        name: str | None = milestone
    elif milestone.lower() == "unplanned":
        name = None
    else:
        abort(404)
    session, viewer = db(), current_user()
    visible = core_issues.visible_clause(session, viewer, project)
    counts = iq.milestone_counts(session, viewer, project, visible=visible).get(name, {})
    info = stones.get(name) if name is not None and isinstance(stones.get(name), dict) else {}
    row = _stone_row(project, name, counts, info)
    lists = {}
    for status in (iq.OPEN, iq.CLOSED):
        f = iq.IssueFilters(status=status, order="asc" if status == iq.OPEN else "desc",
                            order_key="priority" if status == iq.OPEN else "closed_at")
        if name is None:
            f.no_milestone = True
        else:
            f.milestones = [name]
        items = iq.page_of(session, iq.issues_query(session, viewer, project, f,
                                                    visible=visible),
                           1, MILESTONE_ISSUES, project=project, content=False)
        lists[status] = issue_rows(lambda _i: project, items)
    return render_template("issues/roadmap_milestone.html", row=row, lists=lists,
                           limit=MILESTONE_ISSUES, **header_context(project, "roadmap"))


# -- a user's issues -----------------------------------------------------------------

USER_ROLES = {"assigned": "Assigned", "created": "Reported"}


@bp.route("/user/<username>/issues")
@bp.route("/user/<username>/issues/")
def user_issues(username: str) -> tuple[str, int]:
    """Issues the user reported or is assigned, across the projects the viewer may
    see; private issues only where the viewer may see them."""
    session = db()
    owner = get_user(session, username)
    if owner is None:
        abort(404)
    role = request.args.get("type", "assigned")
    if role not in USER_ROLES:
        role = "assigned"
    args = MultiDict([(k, v) for k, v in list_args(request.args).items(multi=True)
                      if k in USER_FILTER_KEYS])
    status = 200
    try:
        filters = iq.parse_filters(session, None, args)
    except ForgeError as exc:
        flash_forge_error(exc)
        filters, status = iq.IssueFilters(status=None, nothing=True), 400
    scope = iq.user_scope(session, current_user(), owner)
    counts = iq.user_status_counts(session, scope, owner, role, filters)
    total = (iq.user_count(session, scope, owner, role, filters) if filters.close_status
             else counts[filters.status or "all"])
    per_page = _per_page(args)
    page, pages = _pages(total, per_page)
    items = iq.page_of(session, iq.user_issues_query(session, scope, owner, role, filters),
                       page, per_page, with_project=True, content=False) if total else []
    path = f"/user/{quote(owner.name, safe='')}/issues"
    role_args = MultiDict(list(args.items(multi=True)) + [("type", role)])
    return render_template(
        "issues/list_user.html", owner=owner, tab="issues", role=role, roles=USER_ROLES,
        rows=issue_rows(lambda i: i.project, items), total=total, counts=counts,
        page=page, pages=pages, current=filters.status, args=args,
        form=_form_values(args, filters), order_labels=ORDER_LABELS,
        page_url=lambda p: url_with(path, role_args, page=p),
        link=lambda **changes: url_with(path, role_args, page=None, **changes),
    ), status
