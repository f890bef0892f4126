"""Global pages: project index and search, users, groups, the task wait page.

Every list only shows what the viewer may see (``core.projects.visible_clause``,
``core.groups.visible_to``); a hidden group or project answers 404 exactly
like a missing one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC
from typing import Any

from flask import (
    Blueprint,
    abort,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import Select, func, select
from werkzeug.wrappers import Response

from pagurus.core import access, group_edits, social
from pagurus.core import activity as core_activity
from pagurus.core import groups as core_groups
from pagurus.core import projects as core_projects
from pagurus.core import users as core_users
from pagurus.core.errors import ForgeError
from pagurus.core.users import get_user
from pagurus.model import Group, GroupMember, Project, Star, User, utcnow
from pagurus.web import csrf
from pagurus.web.context import current_user, db, settings
from pagurus.web.ui.helpers import (
    flash_error,
    flash_forge_error,
    flash_info,
    flash_success,
    form_errors_from,
    is_true,
    login_required,
    login_url,
    safe_next,
)

bp = Blueprint("ui_pages", __name__)
bp.before_request(csrf.protect)

SORTINGS = ("latest", "oldest")
_TASK_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")


# -- list helpers (also used by the project pages) -----------------------------

def page_number() -> int:
    """``?page`` as a positive int; anything else is page 1."""
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        return 1
    return max(1, min(page, 1_000_000))


def paginate(stmt: Select[Any], per_page: int | None = None) -> tuple[list[Any], int, int, int]:
    """One page of ``stmt``: (items, page, pages, total)."""
    per_page = per_page or settings().items_per_page
    session = db()
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(page_number(), pages)
    items = list(session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return items, page, pages, total


def page_url() -> Callable[[int], str]:
    """URL of another page of this same list (filters and sort kept)."""
    endpoint = request.endpoint or ""
    view_args = dict(request.view_args or {})
    args = {k: v for k, v in request.args.items() if k != "page"}

    def url(page: int) -> str:
        return url_for(endpoint, **view_args, **args, page=page)
    return url


def project_counts(session: Any, viewer: User | None, projects: list[Project]
                   ) -> dict[str, Any]:
    """Stars and visible forks of each listed project, in two queries."""
    ids = [p.id for p in projects]
    if not ids:
        return {"stars": {}, "forks": {}}
    stars = dict(session.execute(select(Star.project_id, func.count(Star.id))
                                 .where(Star.project_id.in_(ids)).group_by(Star.project_id)).all())
    forks = dict(session.execute(
        select(Project.parent_id, func.count(Project.id))
        .where(Project.parent_id.in_(ids), core_projects.visible_clause(session, viewer))
        .group_by(Project.parent_id)).all())
    return {"stars": stars, "forks": forks}


def _render_projects(template: str, stmt: Select[Any], **extra: Any) -> str:
    projects, page, pages, total = paginate(stmt)
    counts = project_counts(db(), current_user(), projects)
    return render_template(template, projects=projects, page=page, pages=pages, total=total,
                           page_url=page_url(), counts=counts, **extra)


# -- project index and search --------------------------------------------------

@bp.route("/browse/projects")
@bp.route("/browse/projects/")
@bp.route("/")
def index() -> str:
    """Projects (not forks) the viewer may see; by name, or newest/oldest first."""
    viewer = current_user()
    sorting = request.args.get("sorting", "")
    stmt = core_projects.query_projects(db(), viewer, fork=False)
    if sorting == "latest":
        stmt = stmt.order_by(None).order_by(Project.date_created.desc(), Project.id.desc())
    elif sorting == "oldest":
        stmt = stmt.order_by(None).order_by(Project.date_created, Project.id)
    else:
        sorting = ""
    return _render_projects("pages/index.html", stmt, sorting=sorting)


@bp.route("/projects/")
@bp.route("/projects")
@bp.route("/projects/<pattern>")
@bp.route("/projects/<namespace>/<pattern>")
def projects(pattern: str | None = None, namespace: str | None = None) -> Any:
    """Search by name (``*`` is a wildcard); one match goes straight to it."""
    viewer = current_user()
    with_forks = is_true(request.args.get("forks"))
    pattern = (pattern or "").strip() or None
    tags = [t for t in request.args.getlist("tags") if t.strip()][:10]
    stmt = core_projects.query_projects(db(), viewer, pattern=pattern, namespace=namespace,
                                        fork=None if with_forks else False, tags=tags)
    found = list(db().scalars(stmt.limit(2)))
    if (pattern or tags) and len(found) == 1:
        flash_info("Only one result found, redirecting you to it")
        return redirect("/" + found[0].url_path)
    return _render_projects("pages/projects.html", stmt, pattern=pattern or "",
                            namespace=namespace, with_forks=with_forks, tags=tags)


@bp.route("/search/")
@bp.route("/search")
def search() -> Response:
    """The header search box: send the term to the right list."""
    stype = request.args.get("type", "projects")
    term = request.args.get("term", "").strip()
    if is_true(request.args.get("direct")) and term:
        return redirect(safe_next("/" + term.lstrip("/"), "/"))
    if any(ord(c) < 32 for c in term):
        term = ""
    if stype == "users":
        return redirect(url_for("ui_pages.users", pattern=term) if term
                        else url_for("ui_pages.users"))
    if stype == "groups":
        return redirect(url_for("ui_pages.groups", pattern=term) if term
                        else url_for("ui_pages.groups"))
    args: dict[str, Any] = {"forks": 1} if stype == "projects_forks" else {}
    if not term:
        return redirect(url_for("ui_pages.projects", **args))
    if "*" not in term:
        term = f"*{term}*"
    if "/" in term:
        namespace, _, name = term.partition("/")
        return redirect(url_for("ui_pages.projects", namespace=namespace.strip("*") or None,
                                pattern=name or "*", **args))
    return redirect(url_for("ui_pages.projects", pattern=term, **args))


# -- users ------------------------------------------------------------------

@bp.route("/api")
@bp.route("/api/")
def api_docs() -> Any:
    return redirect("/api/0/")


@bp.route("/avatar/<name>")
def avatar(name: str) -> Any:
    """A locally drawn avatar (initials on a colour from the name): no third-party
    avatar service sees who reads which page."""
    user = get_user(db(), name)
    if user is None:
        abort(404)
    size = request.args.get("size", "32")
    size_px = int(size) if size.isdigit() and 8 <= int(size) <= 512 else 32
    resp = make_response(render_template("pages/avatar.svg", user=user, size=size_px))
    resp.headers["Content-Type"] = "image/svg+xml; charset=utf-8"
    resp.headers["Cache-Control"] = "public, max-age=3600"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return resp


@bp.route("/users/")
@bp.route("/users")
@bp.route("/users/<pattern>")
def users(pattern: str | None = None) -> Any:
    """All users (prefix search), with their visible project and fork counts."""
    pattern = pattern or request.args.get("pattern") or None
    stmt = core_users.users_query(pattern)
    if pattern:
        found = list(db().scalars(stmt.limit(2)))
        if len(found) == 1:
            flash_info("Only one result found, redirecting you to it")
            return redirect(url_for("ui_pages.user", username=found[0].name))
    items, page, pages, total = paginate(stmt)
    counts: dict[tuple[int, bool], int] = {}
    if items:
        rows = db().execute(
            select(Project.user_id, Project.is_fork, func.count(Project.id))
            .where(Project.user_id.in_([u.id for u in items]),
                   core_projects.visible_clause(db(), current_user()))
            .group_by(Project.user_id, Project.is_fork))
        counts = {(uid, fork): n for uid, fork, n in rows}
    return render_template("pages/users.html", users=items, page=page, pages=pages,
                           total=total, page_url=page_url(), counts=counts,
                           pattern=pattern or "")


def _load_user(username: str) -> User:
    user = get_user(db(), username)
    if user is None:
        abort(404)
    return user


def _user_projects(user: User, *, fork: bool) -> Select[tuple[Project]]:
    """Projects the viewer may see that ``user`` owns (forks) or has access to."""
    viewer = current_user()
    if fork:
        return core_projects.query_projects(db(), viewer, owner=user.name, fork=True)
    stmt = select(Project).where(core_projects.visible_clause(db(), viewer),
                                 core_projects.with_access_clause(user),
                                 Project.is_fork.is_(False))
    return stmt.order_by(func.lower(Project.name), Project.id)


def _visible_groups(user: User) -> list[Group]:
    viewer = current_user()
    return [g for g in core_groups.user_groups(db(), user) if core_groups.visible_to(g, viewer)]


@bp.route("/user/<username>/")
@bp.route("/user/<username>")
def user(username: str) -> str:
    """A user's public page: a few projects, forks and groups."""
    owner = _load_user(username)
    limit = 6
    session = db()
    projects_stmt = _user_projects(owner, fork=False)
    forks_stmt = _user_projects(owner, fork=True)

    def count(stmt: Select[Any]) -> int:
        return session.scalar(select(func.count()).select_from(stmt.order_by(None)
                                                                .subquery())) or 0

    return render_template(
        "pages/user.html", owner=owner, tab="overview",
        projects=list(session.scalars(projects_stmt.limit(limit))),
        project_total=count(projects_stmt),
        forks=list(session.scalars(forks_stmt.limit(limit))),
        fork_total=count(forks_stmt),
        groups=_visible_groups(owner),
        star_total=count(social.user_stars_query(session, owner, current_user())),
        **_activity(owner),
    )


def _activity(owner: User) -> dict[str, Any]:
    """The heatmap of the past year (UTC days) and, with ``?date=``, that
    day's entries — only what the viewer may see."""
    from pagurus.web.activity import describe
    from pagurus.web.context import base_url
    from pagurus.web.ui.heatmap import render

    session, viewer = db(), current_user()
    today = utcnow().date()
    counts = core_activity.stats(session, owner, viewer, UTC)
    heat = render(counts, today, label=f"Contributions of {owner.name} in the last year",
                  link=lambda d: f"?date={d.isoformat()}#activity-day")
    out: dict[str, Any] = {"heatmap": heat, "activity_day": None, "activity_items": [],
                           "activity_error": None}
    wanted = request.args.get("date")
    if wanted:
        try:
            on = core_activity.parse_day(wanted)
        except ForgeError as exc:
            out["activity_error"] = exc.message
        else:
            base = base_url()
            out["activity_day"] = on
            out["activity_items"] = [
                describe(item, owner, base)
                for item in core_activity.day(session, owner, viewer, on, UTC)]
    return out


@bp.route("/user/<username>/projects")
def user_projects(username: str) -> str:
    owner = _load_user(username)
    return _render_projects("pages/user_list.html", _user_projects(owner, fork=False),
                            owner=owner, tab="projects", heading="Projects")


@bp.route("/user/<username>/forks")
def user_forks(username: str) -> str:
    owner = _load_user(username)
    return _render_projects("pages/user_list.html", _user_projects(owner, fork=True),
                            owner=owner, tab="forks", heading="Forks")


@bp.route("/user/<username>/stars")
def user_stars(username: str) -> str:
    owner = _load_user(username)
    stmt = social.user_stars_query(db(), owner, current_user())
    return _render_projects("pages/user_list.html", stmt, owner=owner, tab="stars",
                            heading="Starred projects")


@bp.route("/user/<username>/groups")
def user_groups(username: str) -> str:
    owner = _load_user(username)
    return render_template("pages/user_groups.html", owner=owner, tab="groups",
                           groups=_visible_groups(owner))


# -- groups -----------------------------------------------------------------

def _render_groups(form: dict[str, str] | None = None,
                   errors: dict[str, list[str]] | None = None, status: int = 200
                   ) -> tuple[str, int]:
    pattern = request.args.get("pattern", "").strip() or None
    groups, page, pages, total = paginate(core_groups.groups_query(current_user(), pattern))
    member_counts: dict[int, int] = {}
    if groups:
        member_counts = dict(db().execute(
            select(GroupMember.group_id, func.count(GroupMember.id))
            .where(GroupMember.group_id.in_([g.id for g in groups]))
            .group_by(GroupMember.group_id)).all())
    return render_template(
        "pages/groups.html", groups=groups, page=page, pages=pages, total=total,
        page_url=page_url(), pattern=pattern or "", member_counts=member_counts,
        form=form or {}, errors=errors or {},
        can_admin_groups=access.is_site_admin(current_user()),
    ), status


@bp.route("/groups/")
@bp.route("/groups")
def groups() -> tuple[str, int]:
    return _render_groups()


@bp.route("/group/add/", methods=["GET", "POST"])
@bp.route("/group/add", methods=["GET", "POST"])
@login_required
def group_add() -> Any:
    """New group; the creator becomes its first member."""
    if request.method == "GET":
        return _render_groups()
    actor = current_user()
    assert actor is not None
    form = {k: request.form.get(k, "") for k in
            ("group_name", "display_name", "description", "group_type")}
    try:
        group = core_groups.create_group(
            db(), form["group_name"].strip(), actor,
            display_name=form["display_name"].strip() or None,
            description=form["description"],
            group_type=form["group_type"] or "user")
        db().commit()
    except ForgeError as exc:
        db().rollback()
        errors = form_errors_from(exc)
        if not errors:
            field = "group_type" if "admin" in exc.message.lower() else (
                "display_name" if "display name" in exc.message.lower() else "group_name")
            errors = {field: [exc.message]}
        flash_error(exc.message or "The group could not be created")
        return _render_groups(form, errors, 400)
    flash_success(f"Group {group.name} created")
    return redirect(url_for("ui_pages.group", name=group.name))


def _load_group(name: str) -> Group:
    group = core_groups.get_group(db(), name)
    if group is None or not core_groups.visible_to(group, current_user()):
        abort(404)
    return group


@bp.route("/group/<name>/", methods=["GET", "POST"])
@bp.route("/group/<name>", methods=["GET", "POST"])
def group(name: str) -> Any:
    """Group page; POST ``user`` adds a member (members, creator, site admins)."""
    grp = _load_group(name)
    viewer = current_user()
    if request.method == "POST":
        if viewer is None:
            return redirect(login_url(url_for("ui_pages.group", name=grp.name)))
        username = request.form.get("user", "").strip()
        new_member = get_user(db(), username)
        if new_member is None:
            flash_error(f"No user {username!r} found")
            return redirect(url_for("ui_pages.group", name=grp.name))
        try:
            core_groups.add_member(db(), grp, viewer, new_member)
            db().commit()
        except ForgeError as exc:
            db().rollback()
            flash_forge_error(exc)
        else:
            flash_success(f"User {new_member.name} added to the group {grp.name}")
        return redirect(url_for("ui_pages.group", name=grp.name))
    projects_stmt = core_projects.group_projects_query(db(), viewer, grp)
    is_admin = access.is_site_admin(viewer)
    member = core_groups.is_member(grp, viewer)
    return render_template(
        "pages/group.html", group=grp, members=core_groups.members(grp),
        projects=list(db().scalars(projects_stmt)),
        can_add=bool(viewer) and (member or grp.creator_id == viewer.id or is_admin),
        can_remove=bool(viewer) and (member or is_admin),
        can_edit=group_edits.can_edit(grp, viewer),
        can_delete=group_edits.can_delete(grp, viewer),
    )


@bp.route("/group/<name>/<username>/delete", methods=["POST"])
@login_required
def group_member_delete(name: str, username: str) -> Response:
    grp = _load_group(name)
    actor = current_user()
    assert actor is not None
    member = get_user(db(), username)
    if member is None:
        flash_error(f"No user {username!r} found")
        return redirect(url_for("ui_pages.group", name=grp.name))
    try:
        core_groups.remove_member(db(), grp, actor, member)
        db().commit()
    except ForgeError as exc:
        db().rollback()
        flash_forge_error(exc)
    else:
        flash_success(f"User {member.name} removed from the group {grp.name}")
    return redirect(url_for("ui_pages.group", name=grp.name))


@bp.route("/group/<name>/edit/", methods=["GET", "POST"])
@bp.route("/group/<name>/edit", methods=["GET", "POST"])
@login_required
def group_edit(name: str) -> Any:
    grp = _load_group(name)
    actor = current_user()
    assert actor is not None
    if not group_edits.can_edit(grp, actor):
        abort(404)
    form = {"display_name": grp.display_name, "description": grp.description}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        form = {k: request.form.get(k, "") for k in ("display_name", "description")}
        try:
            group_edits.edit_group(db(), grp, actor, display_name=form["display_name"],
                                   description=form["description"])
            db().commit()
        except ForgeError as exc:
            db().rollback()
            errors = form_errors_from(exc) or {"display_name": [exc.message]}
            flash_error(exc.message or "The group could not be changed")
            return render_template("pages/group_edit.html", group=grp, form=form,
                                   errors=errors), 400
        flash_success(f"Group {grp.name} updated")
        return redirect(url_for("ui_pages.group", name=grp.name))
    return render_template("pages/group_edit.html", group=grp, form=form, errors=errors)


@bp.route("/group/<name>/delete", methods=["POST"])
@login_required
def group_delete(name: str) -> Response:
    grp = _load_group(name)
    actor = current_user()
    assert actor is not None
    try:
        group_edits.delete_group(db(), grp, actor)
        db().commit()
    except ForgeError as exc:
        db().rollback()
        flash_forge_error(exc)
        return redirect(url_for("ui_pages.group", name=grp.name))
    flash_success(f"Group {name} deleted")
    return redirect(url_for("ui_pages.groups"))


# -- waiting for a task ------------------------------------------------------

@bp.route("/wait/<taskid>/")
@bp.route("/wait/<taskid>")
def wait(taskid: str) -> Any:
    """Refresh until the task ends, then go to ``next`` (or ``prev`` on failure)."""
    from pagurus.tasks.status import task_status

    if not _TASK_ID.match(taskid):
        abort(404)
    status = task_status(taskid)
    try:
        count = max(0, min(int(request.args.get("count", "0")), 1_000_000))
    except ValueError:
        count = 0
    if is_true(request.args.get("js")):
        resp = jsonify({"count": count + 1, "status": status["status"]})
        resp.status_code = 417 if status["ready"] else 200
        return resp
    if not status["ready"]:
        args = {k: v for k, v in request.args.items() if k != "count"}
        refresh = url_for("ui_pages.wait", taskid=taskid, **args, count=count + 1)
        return render_template("pages/wait.html", refresh_url=refresh, count=count)
    if status.get("successful"):
        result = status.get("result")
        if isinstance(result, dict) and isinstance(result.get("message"), str):
            flash_success(result["message"])
        return redirect(safe_next(request.args.get("next"), "/"))
    flash_error("The operation failed; it has been logged for the administrators.")
    return redirect(safe_next(request.args.get("prev"), "/"))
