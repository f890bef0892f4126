"""Kanban boards: ``{P}/boards`` (list, creation), ``{P}/boards/<name>`` (the
columns and their cards) and ``{P}/settings/boards/<name>`` (columns editor).

Rules live in ``core.boards``. Every action is a plain form; ``boards.js``
adds drag and drop, posting to the same move endpoint (CSRF token in a
header) and asking for JSON. Column and tag colours come from a small
stylesheet built from colours checked by ``core.tags.COLOR_RE`` (the page's
CSP forbids inline styles).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from flask import Blueprint, abort, jsonify, redirect, render_template, request
from werkzeug.wrappers import Response

from pagurus.core import boards as core_boards
from pagurus.core import issues as core_issues
from pagurus.core import tags as core_tags
from pagurus.core.errors import ForgeError, InvalidInput
from pagurus.model import Board, Project, TagColored
from pagurus.web import csrf
from pagurus.web.context import base_url, current_user, db
from pagurus.web.routes import project_route
from pagurus.web.ui.helpers import (
    flash_forge_error,
    flash_success,
    form_errors_from,
    is_true,
    login_url,
    recent_login_required,
)
from pagurus.web.ui.project import _gate, _project, header_context

bp = Blueprint("ui_boards", __name__)
bp.before_request(csrf.protect)

NEW_STATUS_ROWS = 3


# -- lookups ------------------------------------------------------------------------

def _tracker_project(repo: str, namespace: str | None, username: str | None) -> Project:
    project = _project(repo, namespace, username)
    if not core_issues.tracker_enabled(project):
        abort(404)
    return project


def _board(project: Project, name: str) -> Board:
    try:
        return core_boards.get_board(db(), project, name)
    except core_boards.BoardNotFound:
        abort(404)


def _manager_project(repo: str, namespace: str | None, username: str | None) -> Project:
    """Board settings: project admins only; everyone else gets the 404 of a
    missing page."""
    project = _tracker_project(repo, namespace, username)
    if not core_boards.can_manage(db(), current_user(), project):
        abort(404)
    return project


def board_url(project: Project, board: Board | str, suffix: str = "") -> str:
    name = board if isinstance(board, str) else board.name
    return f"/{project.url_path}/boards/{quote(name, safe='')}{suffix}"


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json" or request.args.get("js") == "1"


def _status_of(exc: ForgeError) -> int:
    status = int(getattr(exc, "status", 400) or 400)
    return 403 if status == 401 else (status if 400 <= status < 500 else 400)


# -- colours ----------------------------------------------------------------------

def text_color(color: str) -> str:
    """Dark or light text for a ``#rgb``/``#rrggbb`` background; '' for names
    (those are drawn as a border, never under text)."""
    if not color.startswith("#"):
        return ""
    hexa = color[1:]
    if len(hexa) == 3:
        hexa = "".join(c * 2 for c in hexa)
    r, g, b = (int(hexa[i:i + 2], 16) for i in (0, 2, 4))
    return "#111" if (0.299 * r + 0.587 * g + 0.114 * b) > 150 else "#fff"


def colors_css(rules: list[tuple[str, str]]) -> Response:
    """A stylesheet giving each class its colour; colours that do not match
    COLOR_RE (say, written by an old import) are left out."""
    lines = ["/* generated: board column and tag colours */"]
    for cls, color in rules:
        if not color or not core_tags.COLOR_RE.match(color):
            continue
        fg = text_color(color)
        if fg:
            lines.append(f".{cls} {{ background: {color}; color: {fg}; }}")
        else:
            lines.append(f".{cls} {{ border-left: .5rem solid {color}; }}")
    resp = Response("\n".join(lines) + "\n", mimetype="text/css")
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def tag_rules(tags: list[TagColored]) -> list[tuple[str, str]]:
    return [(f"tagc-{t.id}", t.color) for t in tags]


# -- list and creation -----------------------------------------------------------------

def _list_page(project: Project, errors: dict[str, list[str]] | None = None,
               status: int = 200) -> tuple[str, int]:
    session = db()
    return render_template(
        "boards/list.html", boards=core_boards.project_boards(session, project),
        tag_names=[t.name for t in core_tags.project_tags(session, project)],
        can_manage=core_boards.can_manage(session, current_user(), project),
        errors=errors or {}, form=request.form, board_url=board_url,
        **header_context(project, "boards")), status


@project_route(bp, "/boards", methods=["GET", "POST"])
@project_route(bp, "/boards/", methods=["GET", "POST"], endpoint="boards_slash")
def boards(repo: str, namespace: str | None = None, username: str | None = None) -> Any:
    """GET: the project's boards. POST (admins): create one board."""
    project = _tracker_project(repo, namespace, username)
    if request.method == "GET":
        return _list_page(project)
    user = current_user()
    if user is None:
        return redirect(login_url(f"/{project.url_path}/boards"))
    if not core_boards.can_manage(db(), user, project):
        abort(403)
    form = request.form
    try:
        board = core_boards.create_board(db(), user, project, form.get("name"), form.get("tag"),
                                         is_true(form.get("active")))
        db().commit()
    except ForgeError as exc:
        db().rollback()
        flash_forge_error(exc)
        return _list_page(project, form_errors_from(exc, {"board": "name"}), _status_of(exc))
    flash_success(f"Board {board.name} created; now give it its columns")
    return redirect(f"/{project.url_path}/settings/boards/{quote(board.name, safe='')}")


# -- the board ------------------------------------------------------------------------

@project_route(bp, "/boards/<name>")
@project_route(bp, "/boards/<name>/", endpoint="board_slash")
def board(repo: str, name: str, namespace: str | None = None,
          username: str | None = None) -> Any:
    project = _tracker_project(repo, namespace, username)
    session = db()
    the_board = _board(project, name)
    viewer = current_user()
    columns = core_boards.column_issues(session, viewer, the_board)
    manage = core_boards.can_manage(session, viewer, project) and not \
        core_issues.tracker_read_only(project)
    return render_template(
        "boards/board.html", board=the_board, statuses=list(the_board.statuses),
        columns=columns, can_manage=manage,
        can_configure=core_boards.can_manage(session, viewer, project),
        board_url=board_url, **header_context(project, "boards"))


@project_route(bp, "/boards/<name>/colors.css")
def board_colors(repo: str, name: str, namespace: str | None = None,
                 username: str | None = None) -> Response:
    project = _tracker_project(repo, namespace, username)
    the_board = _board(project, name)
    rules = [(f"bcol-{s.id}", s.bg_color) for s in the_board.statuses]
    return colors_css(rules + tag_rules(core_tags.project_tags(db(), project)))


def _done(project: Project, the_board: Board, message: str, **extra: Any) -> Any:
    if _wants_json():
        return jsonify({"ok": True, "message": message, **extra})
    flash_success(message)
    return redirect(board_url(project, the_board))


def _refused(project: Project, the_board: Board, exc: ForgeError) -> Any:
    db().rollback()
    if _wants_json():
        return jsonify({"ok": False, "error": exc.message or "Refused"}), _status_of(exc)
    flash_forge_error(exc)
    return redirect(board_url(project, the_board))


def _mover(repo: str, name: str, namespace: str | None, username: str | None
           ) -> tuple[Project, Board] | Response:
    project = _tracker_project(repo, namespace, username)
    the_board = _board(project, name)
    user = current_user()
    if user is None:
        return redirect(login_url(board_url(project, the_board)))
    if not core_boards.can_manage(db(), user, project):
        abort(403)
    return project, the_board


@project_route(bp, "/boards/<name>/move", methods=["POST"])
def move(repo: str, name: str, namespace: str | None = None,
         username: str | None = None) -> Any:
    """Fields ``issue`` (number), ``status`` (column name), ``position``
    (0-based place in the column; empty: the end)."""
    found = _mover(repo, name, namespace, username)
    if isinstance(found, Response):
        return found
    project, the_board = found
    form = request.form
    try:
        issue = core_issues.get_issue(db(), current_user(), project, form.get("issue", ""),
                                      by_uid=False)
        row = core_boards.move_issue(db(), current_user(), the_board, issue,
                                     form.get("status"), base_url=base_url(),
                                     position=form.get("position") or None)
        status_name, number, issue_status = row.status.name, issue.number, issue.status
        db().commit()
    except ForgeError as exc:
        return _refused(project, the_board, exc)
    return _done(project, the_board, f"Issue #{number} moved to {status_name}",
                 issue=number, status=status_name, issue_status=issue_status)


@project_route(bp, "/boards/<name>/add", methods=["POST"])
def add(repo: str, name: str, namespace: str | None = None,
        username: str | None = None) -> Any:
    """The "+" form of a column: ``issue`` (number, ``#`` allowed) and ``status``."""
    found = _mover(repo, name, namespace, username)
    if isinstance(found, Response):
        return found
    project, the_board = found
    number = (request.form.get("issue") or "").strip().lstrip("#")
    status = request.form.get("status") or ""
    try:
        core_boards.update_issues(db(), current_user(), the_board, {number: {"status": status}},
                                  base_url=base_url(), by="number")
        db().commit()
    except ForgeError as exc:
        return _refused(project, the_board, exc)
    return _done(project, the_board, f"Issue #{number} is on the board")


# -- board settings -------------------------------------------------------------------

def _settings_page(project: Project, the_board: Board, errors: dict[str, list[str]] | None = None,
                   status: int = 200) -> tuple[str, int]:
    session = db()
    rows = [{"name": s.name, "rank": s.rank, "bg_color": s.bg_color, "default": s.default,
             "close": s.close, "close_status": s.close_status or ""}
            for s in the_board.statuses]
    return render_template(
        "boards/settings.html", board=the_board, rows=rows, new_rows=NEW_STATUS_ROWS,
        close_statuses=list(project.close_status or []),
        tag_names=[t.name for t in core_tags.project_tags(session, project)],
        errors=errors or {}, board_url=board_url, picker_value=picker_value,
        **header_context(project, "settings")), status


def _settings_gate(repo: str, name: str, namespace: str | None, username: str | None
                   ) -> tuple[Project, Board] | Response:
    project = _manager_project(repo, namespace, username)
    the_board = _board(project, name)
    refused = _gate(recent_login_required)
    if refused is not None:
        return refused
    return project, the_board


def _statuses_from_form(form: Any) -> dict[str, dict[str, Any]]:
    """Rows ``s-<i>-name/rank/color/pick/close/close_status/delete`` and the
    radio ``default`` (a row index) -> core's ``{name: {...}}``; rows with a
    blank name are skipped. The text colour wins unless only the picker changed."""
    rows = str(form.get("rows", "0"))
    count = min(int(rows), 200) if rows.isdigit() else 0
    default = form.get("default", "")
    spec: dict[str, dict[str, Any]] = {}
    for i in range(count):
        name = (form.get(f"s-{i}-name") or "").strip()
        if not name or is_true(form.get(f"s-{i}-delete")):
            continue
        if name in spec:
            raise InvalidInput(f"Two columns are named {name}",
                               errors={"status": [f"Two columns are named {name}."]})
        spec[name] = {
            "rank": (form.get(f"s-{i}-rank") or "").strip() or str(i + 1),
            "default": default == str(i),
            "close": is_true(form.get(f"s-{i}-close")),
            "close_status": form.get(f"s-{i}-close_status") or None,
            "bg_color": picked_color(form, f"s-{i}-color", f"s-{i}-pick"),
        }
    return spec


def picked_color(form: Any, text: str, pick: str) -> str:
    """A colour given as text and with ``<input type=color>``: the text,
    unless it was left as it was and the picker moved (works without JS;
    ``<name>-orig`` fields hold what the page showed)."""
    color = (form.get(text) or "").strip()
    picked = (form.get(pick) or "").strip()
    if color == (form.get(f"{text}-orig") or "").strip() and picked and \
            picked != (form.get(f"{pick}-orig") or "").strip():
        return picked
    return color


def picker_value(color: str | None) -> str:
    """What ``<input type=color>`` can show: ``#rrggbb`` (names show as black
    until boards.js reads the browser's value for them)."""
    if color and core_tags.COLOR_RE.match(color) and color.startswith("#"):
        hexa = color[1:]
        return "#" + ("".join(c * 2 for c in hexa) if len(hexa) == 3 else hexa).lower()
    return "#000000"


def _settings_change(repo: str, name: str, namespace: str | None, username: str | None,
                     change: Callable[[Project, Board], object], done: str,
                     back: Callable[[Project, Board], str] | None = None) -> Any:
    """One board-settings form: admins only; a refusal re-renders the settings
    page with the errors and changes nothing; success flashes ``done``."""
    found = _settings_gate(repo, name, namespace, username)
    if isinstance(found, Response):
        return found
    project, the_board = found
    try:
        change(project, the_board)
        db().commit()
    except ForgeError as exc:
        db().rollback()
        flash_forge_error(exc)
        return _settings_page(project, the_board, form_errors_from(exc), _status_of(exc))
    flash_success(done)
    return redirect(back(project, the_board) if back is not None
                    else f"/{project.url_path}/settings/boards/{quote(the_board.name, safe='')}")


@project_route(bp, "/settings/boards/<name>", methods=["GET", "POST"])
def board_settings(repo: str, name: str, namespace: str | None = None,
                   username: str | None = None) -> Any:
    """GET: the columns editor. POST: the whole set of columns."""
    if request.method == "GET":
        found = _settings_gate(repo, name, namespace, username)
        return found if isinstance(found, Response) else _settings_page(*found)
    return _settings_change(repo, name, namespace, username, lambda _p, b: core_boards.set_statuses(
        db(), current_user(), b, _statuses_from_form(request.form)), "Columns saved")


@project_route(bp, "/settings/boards/<name>/defaults", methods=["POST"])
def board_default_statuses(repo: str, name: str, namespace: str | None = None,
                           username: str | None = None) -> Any:
    """Give a board the documented starting columns (replacing its columns)."""
    return _settings_change(repo, name, namespace, username, lambda p, b: core_boards.set_statuses(
        db(), current_user(), b, core_boards.default_statuses_spec(p)), "Default columns set")


@project_route(bp, "/settings/boards/<name>/edit", methods=["POST"])
def board_edit(repo: str, name: str, namespace: str | None = None,
               username: str | None = None) -> Any:
    """The board's tag and active flag."""
    return _settings_change(repo, name, namespace, username, lambda _p, b: core_boards.edit_board(
        db(), current_user(), b, tag=request.form.get("tag"),
        active=is_true(request.form.get("active"))), "Board updated")


@project_route(bp, "/settings/boards/<name>/delete", methods=["POST"])
def board_delete(repo: str, name: str, namespace: str | None = None,
                 username: str | None = None) -> Any:
    return _settings_change(
        repo, name, namespace, username,
        lambda p, b: core_boards.delete_boards(db(), current_user(), p, [b.name]),
        "Board deleted (its issues keep their tag)",
        back=lambda p, _b: f"/{p.url_path}/boards")
