"""Kanban boards: a board follows one tag; its columns are statuses.

Tagging an issue with a board's tag puts it in the board's default column;
removing the tag takes it off the board. Boards are configured by project
admins, who also move issues between columns; a move that closes or reopens
an issue goes through core.issues.update_metadata like any status change.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from pagurus.core import access, issues
from pagurus.core import projects as core_projects
from pagurus.core.errors import InvalidInput, NotFound
from pagurus.core.tags import COLOR_RE, TAG_MAX, TAG_RE, find_tag, tag_json
from pagurus.model import (
    Board,
    BoardIssue,
    BoardStatus,
    Issue,
    IssueDependency,
    IssueTag,
    Project,
    TagColored,
    User,
)


def status_json(status: BoardStatus) -> dict[str, Any]:
    return {"name": status.name, "bg_color": status.bg_color, "close": status.close,
            "close_status": status.close_status, "default": status.default}


def board_json(board: Board, base_url: str) -> dict[str, Any]:
    return {
        "name": board.name,
        "active": board.active,
        "status": [status_json(s) for s in board.statuses],
        "tag": tag_json(board.tag),
        "full_url": f"{base_url}/{board.project.url_path}/boards/{board.name}",
    }


def board_issue_json(row: BoardIssue, base_url: str) -> dict[str, Any]:
    return {"board": board_json(row.board, base_url), "status": status_json(row.status),
            "rank": row.rank}


def on_tags_changed(session: Session, actor: User | None, issue: Issue, *,
                    added: list[TagColored], removed: list[TagColored]) -> None:
    """Keep board membership in step with the issue's tags (active boards only
    gain issues; any board loses an issue whose tag was removed)."""
    if removed:
        board_ids = select(Board.id).where(Board.tag_id.in_([t.id for t in removed]))
        session.execute(delete(BoardIssue).where(BoardIssue.issue_id == issue.id,
                                                 BoardIssue.board_id.in_(board_ids)))
    for tag in added:
        for board in session.scalars(select(Board).where(Board.tag_id == tag.id,
                                                         Board.active.is_(True))):
            if session.get(BoardIssue, (board.id, issue.id)) is not None:
                continue
            default = next((s for s in board.statuses if s.default), None)
            if default is None:
                continue
            rank = session.scalar(select(func.coalesce(func.max(BoardIssue.rank), 0)).where(
                BoardIssue.board_id == board.id, BoardIssue.status_id == default.id)) or 0
            session.add(BoardIssue(board_id=board.id, issue_id=issue.id,
                                   status_id=default.id, rank=rank + 1))
    session.flush()


# -- rules: boards, their statuses, issues on them -------------------------------

BOARD_NAME_MAX = 255
RANK_MAX = 1_000_000_000
# Pagure's documented starting set; "Done" closes (with "Fixed" when the
# project has that close status)
DEFAULT_STATUSES = (
    ("Backlog", "#e1e4e8"), ("Triaged", "#c5def5"), ("In Progress", "#fbca04"),
    ("In Review", "#d4c5f9"), ("Done", "#0e8a16"), ("Blocked", "#b60205"),
)


class BoardNotFound(NotFound):
    """Pagure answers an unknown board with 404 and EINVALIDREQ."""

    code = "EINVALIDREQ"


def can_manage(session: Session, user: User | None, project: Project) -> bool:
    """Create, configure and delete boards, and move issues on them: project
    admins (Pagure's ``modify_project``), never someone blocked on the project."""
    return access.can_admin(session, user, project)


def _require_manage(session: Session, actor: User | None, project: Project) -> User:
    return core_projects.require_admin(session, actor, project)


def project_boards(session: Session, project: Project) -> list[Board]:
    """Every board of the project, by name (inactive ones included)."""
    return list(session.scalars(select(Board).where(Board.project_id == project.id)
                                .order_by(Board.name)))


def get_board(session: Session, project: Project, name: Any) -> Board:
    """The board called exactly ``name``; BoardNotFound (404 EINVALIDREQ) else."""
    board = None
    if isinstance(name, str):
        board = session.scalar(select(Board).where(Board.project_id == project.id,
                                                   Board.name == name))
    if board is None:
        raise BoardNotFound("Board not found")
    return board


def check_board_name(name: Any) -> str:
    """Board names follow the tag rule: safe in URLs, CSS-free, one line."""
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > BOARD_NAME_MAX \
            or not TAG_RE.match(name.strip()):
        raise InvalidInput(f"Invalid board name: {str(name)[:80]!r}", errors={"name": [
            "letters, digits and - _ . : or spaces, starting with a letter or digit"]})
    return name.strip()


def default_status(board: Board) -> BoardStatus | None:
    """Where newly tagged issues land; None until the board has columns."""
    return next((s for s in board.statuses if s.default), None)


def _flag(value: Any, field: str, default: bool) -> bool:
    if value is None:
        return default
    return issues.parse_bool(value, field)


def _check_board_spec(session: Session, project: Project, name: Any, value: Any
                      ) -> tuple[str, bool, TagColored]:
    board_name = check_board_name(name)
    if not isinstance(value, dict):
        raise InvalidInput(f"Board {board_name}: expected an object with 'tag' and 'active'",
                           errors={board_name: ["expected {\"active\": bool, \"tag\": name}"]})
    if value.get("tag") in (None, ""):
        raise InvalidInput(f"Board {board_name}: no tag given",
                           errors={board_name: ["tag is required"]})
    tag_name = value["tag"]
    tag = find_tag(session, project, tag_name) if isinstance(tag_name, str) else None
    if tag is None:
        raise InvalidInput(f"No tag found with the name: {str(tag_name)[:80]}", code="ENOCODE",
                           errors={board_name: ["unknown tag"]})
    return board_name, _flag(value.get("active"), "active", True), tag


def set_boards(session: Session, actor: User | None, project: Project, spec: Any
               ) -> list[Board]:
    """Declarative: ``{name: {"active": bool, "tag": tag}}`` is the whole set of
    boards; boards not named are deleted, the others updated or created.
    ``active`` defaults to true. An empty set is refused (use delete_boards)."""
    issues.require_tracker(project)
    _require_manage(session, actor, project)
    if not isinstance(spec, dict) or not spec:
        raise InvalidInput("Expected a JSON object {board name: {active, tag}}",
                           errors={"boards": ["at least one board"]})
    wanted: dict[str, tuple[bool, TagColored]] = {}
    for name, value in spec.items():
        board_name, active, tag = _check_board_spec(session, project, name, value)
        if board_name in wanted:
            raise InvalidInput(f"Board {board_name} given twice",
                               errors={board_name: ["given twice"]})
        wanted[board_name] = (active, tag)
    existing = {b.name: b for b in project_boards(session, project)}
    for name, board in existing.items():
        if name not in wanted:
            session.delete(board)
    for name, (active, tag) in wanted.items():
        board = existing.get(name)
        if board is None:
            session.add(Board(project_id=project.id, name=name, active=active, tag_id=tag.id))
        else:
            _update_board(session, board, active=active, tag=tag)
    session.flush()
    boards = project_boards(session, project)
    for board in boards:
        sync_board(session, board)
    return boards


def create_board(session: Session, actor: User | None, project: Project, name: Any,
                 tag: Any, active: Any = True) -> Board:
    """One new board (the UI's form); a taken name is refused."""
    issues.require_tracker(project)
    _require_manage(session, actor, project)
    board_name, is_active, tag_row = _check_board_spec(
        session, project, name, {"tag": tag, "active": active})
    if session.scalar(select(Board.id).where(Board.project_id == project.id,
                                             Board.name == board_name)) is not None:
        raise InvalidInput(f"A board named {board_name} already exists",
                           errors={"name": ["already exists"]})
    board = Board(project_id=project.id, name=board_name, active=is_active, tag_id=tag_row.id)
    session.add(board)
    session.flush()
    return board


def edit_board(session: Session, actor: User | None, board: Board, *, tag: Any = None,
               active: Any = None) -> Board:
    project = board.project
    issues.require_tracker(project)
    _require_manage(session, actor, project)
    _name, is_active, tag_row = _check_board_spec(session, project, board.name, {
        "tag": tag if tag not in (None, "") else board.tag.name,
        "active": board.active if active is None else active})
    _update_board(session, board, active=is_active, tag=tag_row)
    session.flush()
    sync_board(session, board)
    return board


def _update_board(session: Session, board: Board, *, active: bool, tag: TagColored) -> None:
    if board.tag_id != tag.id:
        # the board now follows another tag: its cards were the old tag's issues
        session.execute(delete(BoardIssue).where(BoardIssue.board_id == board.id))
        board.tag_id = tag.id
        session.flush()
        session.expire(board, ["tag"])
    board.active = active


def delete_boards(session: Session, actor: User | None, project: Project, names: Any
                  ) -> list[Board]:
    """Delete the boards named; an unknown name refuses the whole call."""
    issues.require_tracker(project)
    _require_manage(session, actor, project)
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list | tuple) or not names or not all(
            isinstance(n, str) for n in names):
        raise InvalidInput("Give the names of the boards to delete",
                           errors={"name": ["This field is required."]})
    existing = {b.name: b for b in project_boards(session, project)}
    unknown = [n for n in names if n not in existing]
    if unknown:
        raise InvalidInput(f"No board named {unknown[0][:80]}",
                           errors={"name": [f"unknown board: {n[:80]}" for n in unknown]})
    for name in dict.fromkeys(names):
        session.delete(existing[name])
    session.flush()
    return project_boards(session, project)


def sync_board(session: Session, board: Board) -> None:
    """An active board with a default column shows the issues carrying its tag:
    tagged issues not on it yet go to the default column (no comment: the board
    changed, not the issue); issues without the tag leave it."""
    session.execute(delete(BoardIssue).where(
        BoardIssue.board_id == board.id,
        BoardIssue.issue_id.not_in(select(IssueTag.issue_id).where(
            IssueTag.tag_id == board.tag_id))))
    default = default_status(board)
    if not board.active or default is None:
        session.flush()
        return
    missing = list(session.scalars(
        select(Issue.id).join(IssueTag, IssueTag.issue_id == Issue.id)
        .where(IssueTag.tag_id == board.tag_id,
               Issue.id.not_in(select(BoardIssue.issue_id).where(
                   BoardIssue.board_id == board.id)))
        .order_by(Issue.number)))
    rank = _last_rank(session, board, default)
    for issue_id in missing:
        rank += 1
        session.add(BoardIssue(board_id=board.id, issue_id=issue_id, status_id=default.id,
                               rank=rank))
    session.flush()


def _last_rank(session: Session, board: Board, status: BoardStatus) -> int:
    return int(session.scalar(select(func.coalesce(func.max(BoardIssue.rank), 0)).where(
        BoardIssue.board_id == board.id, BoardIssue.status_id == status.id)) or 0)


def _rank(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise InvalidInput(f"Invalid rank for {field}", errors={field: ["rank: an integer"]})
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit() \
            and len(value.strip()) < 12:
        number = int(value.strip())
    else:
        raise InvalidInput(f"Invalid rank for {field}", errors={field: ["rank: an integer"]})
    if abs(number) > RANK_MAX:
        raise InvalidInput(f"Invalid rank for {field}", errors={field: ["rank: too large"]})
    return number


def check_status_name(name: Any) -> str:
    """Column names follow the tag rule (Pagure's)."""
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > TAG_MAX \
            or not TAG_RE.match(name.strip()):
        raise InvalidInput(f"Invalid status name: {str(name)[:80]!r}", errors={"status": [
            "letters, digits and - _ . : or spaces, starting with a letter or digit"]})
    return name.strip()


def check_bg_color(value: Any, field: str = "bg_color") -> str:
    """A column colour: empty, ``#rgb``, ``#rrggbb`` or a CSS colour name
    (the same rule as tag colours), never anything that could escape CSS."""
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or not COLOR_RE.match(value.strip()):
        raise InvalidInput(f"Invalid colour for {field}",
                           errors={field: ["#rgb, #rrggbb or a colour name"]})
    return value.strip()


def set_statuses(session: Session, actor: User | None, board: Board, spec: Any) -> Board:
    """Declarative: ``{name: {rank, default, close, close_status, bg_color}}``
    is the board's whole set of columns. ``rank`` and ``default`` are required
    and exactly one column is the default; a ``close_status`` that is not one
    of the project's is dropped; a close status makes the column a closing one.
    Issues in a column that goes away move to the default column."""
    project = board.project
    issues.require_tracker(project)
    _require_manage(session, actor, project)
    if not isinstance(spec, dict) or not spec:
        raise InvalidInput("Expected a JSON object {status name: {rank, default, ...}}",
                           errors={"status": ["at least one status"]})
    close_statuses = [str(s) for s in project.close_status or []]
    wanted: dict[str, dict[str, Any]] = {}
    for raw_name, value in spec.items():
        name = check_status_name(raw_name)
        if name in wanted:
            raise InvalidInput(f"Status {name} given twice", errors={name: ["given twice"]})
        if not isinstance(value, dict):
            raise InvalidInput(f"Status {name}: expected an object",
                               errors={name: ["expected {rank, default, ...}"]})
        missing = [k for k in ("rank", "default") if value.get(k) is None]
        if missing:
            raise InvalidInput(f"Status {name}: {' and '.join(missing)} required",
                               errors={name: [f"{k} is required" for k in missing]})
        close_status = value.get("close_status")
        if not isinstance(close_status, str) or close_status.strip() not in close_statuses:
            close_status = None
        else:
            close_status = close_status.strip()
        wanted[name] = {
            "rank": _rank(value["rank"], name),
            "default": _flag(value["default"], f"{name}.default", False),
            "close": _flag(value.get("close"), f"{name}.close", False) or bool(close_status),
            "close_status": close_status,
            "bg_color": check_bg_color(value.get("bg_color"), f"{name}.bg_color"),
        }
    defaults = [n for n, v in wanted.items() if v["default"]]
    if len(defaults) != 1:
        raise InvalidInput("Exactly one status must be the default one",
                           errors={"default": [f"{len(defaults)} default statuses given"]})
    existing = {s.name: s for s in board.statuses}
    for name, values in wanted.items():
        status = existing.get(name)
        if status is None:
            board.statuses.append(BoardStatus(name=name, **values))
        else:
            for key, val in values.items():
                setattr(status, key, val)
    session.flush()
    default = next(s for s in board.statuses if s.name == defaults[0])
    gone = [s for name, s in existing.items() if name not in wanted]
    if gone:
        rank = _last_rank(session, board, default)
        for row in session.scalars(select(BoardIssue).where(
                BoardIssue.board_id == board.id,
                BoardIssue.status_id.in_([s.id for s in gone]))
                .order_by(BoardIssue.rank, BoardIssue.issue_id)):
            rank += 1
            row.status_id, row.rank = default.id, rank
        session.flush()
        for status in gone:
            board.statuses.remove(status)
        session.flush()
    session.expire(board, ["statuses"])
    sync_board(session, board)
    return board


def default_statuses_spec(project: Project) -> dict[str, dict[str, Any]]:
    """The documented starting columns, as a set_statuses() argument."""
    fixed = "Fixed" if "Fixed" in (project.close_status or []) else None
    return {name: {"rank": i + 1, "default": i == 0, "bg_color": color,
                   "close": name == "Done", "close_status": fixed if name == "Done" else None}
            for i, (name, color) in enumerate(DEFAULT_STATUSES)}


def find_status(board: Board, name: Any) -> BoardStatus | None:
    """The column called ``name`` (exact, then case-insensitive); None if unknown."""
    if not isinstance(name, str):
        return None
    for status in board.statuses:
        if status.name == name.strip():
            return status
    for status in board.statuses:
        if status.name.lower() == name.strip().lower():
            return status
    return None


def _blocked_by_open(session: Session, issue: Issue) -> bool:
    """Checked for a whole batch before anything moves; update_metadata applies
    the same rule again to each issue."""
    return session.scalar(
        select(Issue.id).join(IssueDependency, IssueDependency.parent_id == Issue.id)
        .where(IssueDependency.child_id == issue.id, Issue.status == issues.OPEN)
        .limit(1)) is not None


def update_issues(session: Session, actor: User | None, board: Board, spec: Any, *,
                  base_url: str, by: str = "uid") -> Board:
    """Put issues on the board: ``{key: {"status": name, "rank": int}}`` keyed
    by issue uid (``by="uid"``) or number (``by="number"``). An unknown or
    missing status means the default column; a missing rank, the end of the
    column. An issue without the board's tag gets it; moving into a closing
    column closes the issue with that column's close status, moving out of one
    reopens it — through core.issues.update_metadata, so the closing rules and
    Pagure's metadata comment apply. Everything is checked before anything
    changes."""
    project = board.project
    issues.require_tracker(project, write=True)
    _require_manage(session, actor, project)
    assert actor is not None
    if by not in ("uid", "number"):
        raise ValueError(by)
    if not isinstance(spec, dict) or not spec:
        raise InvalidInput("Expected a JSON object {issue: {status, rank}}",
                           errors={"issues": ["at least one issue"]})
    default = default_status(board)
    if default is None:
        raise InvalidInput(f"The board {board.name} has no status yet",
                           errors={"status": ["define the board's statuses first"]})
    plan: list[tuple[Issue, BoardStatus, int | None]] = []
    seen: set[int] = set()
    for key, value in spec.items():
        text = str(key).strip()
        if by == "uid" and not re.fullmatch(r"[0-9a-fA-F]{32}", text):
            raise issues.IssueNotFound(f"No issue with the uid {text[:40]}")
        if by == "number" and not (text.isdigit() and len(text) < 10):
            raise InvalidInput(f"Not an issue number: {text[:20]}",
                               errors={"issue": [f"not a number: {text[:20]}"]})
        issue = issues.get_issue(session, actor, project, text)
        if issue.id in seen:
            raise InvalidInput(f"Issue #{issue.number} given twice",
                               errors={"issue": [f"#{issue.number} given twice"]})
        seen.add(issue.id)
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise InvalidInput(f"Issue {text[:40]}: expected an object {{status, rank}}",
                               errors={text[:40]: ["expected {status, rank}"]})
        status = find_status(board, value.get("status")) or default
        rank = None if value.get("rank") is None else _rank(value["rank"], text[:40])
        plan.append((issue, status, rank))
    for issue, status, _rank_value in plan:
        _check_move(session, issue, status)
    for issue, status, rank in plan:
        row = _move(session, actor, board, issue, status, base_url)
        if rank is not None:
            row.rank = rank
    session.flush()
    session.expire(board)
    return board


def move_issue(session: Session, actor: User | None, board: Board, issue: Issue,
               status_name: Any, *, base_url: str, position: Any = None) -> BoardIssue:
    """The UI's move: put ``issue`` in the column at ``position`` (0-based; None:
    at the end) and renumber that column 1..n. Same rules as update_issues."""
    project = board.project
    issues.require_tracker(project, write=True)
    _require_manage(session, actor, project)
    assert actor is not None
    if issue.project_id != project.id or not issues.can_view(session, actor, issue):
        raise issues.IssueNotFound("Issue not found")
    if not board.statuses:
        raise InvalidInput(f"The board {board.name} has no status yet",
                           errors={"status": ["define the board's statuses first"]})
    status = find_status(board, status_name)
    if status is None:
        raise InvalidInput(f"Unknown status: {str(status_name)[:80]}",
                           errors={"status": ["Not a valid choice"]})
    index = None if position in (None, "") else _rank(position, "position")
    _check_move(session, issue, status)
    row = _move(session, actor, board, issue, status, base_url)
    column = [r for r in session.scalars(select(BoardIssue).where(
        BoardIssue.board_id == board.id, BoardIssue.status_id == status.id)
        .order_by(BoardIssue.rank, BoardIssue.issue_id)) if r.issue_id != issue.id]
    index = len(column) if index is None else max(0, min(index, len(column)))
    column.insert(index, row)
    for rank, entry in enumerate(column, start=1):
        if entry.rank != rank:
            entry.rank = rank
    session.flush()
    return row


def _check_move(session: Session, issue: Issue, status: BoardStatus) -> None:
    if status.close and issue.status == issues.OPEN and _blocked_by_open(session, issue):
        raise InvalidInput(f"#{issue.number}: {issues.BLOCKED_CLOSE}", code="ENOCODE")


def _move(session: Session, actor: User, board: Board, issue: Issue, status: BoardStatus,
          base_url: str) -> BoardIssue:
    row = session.get(BoardIssue, (board.id, issue.id))
    old = row.status if row is not None else None
    changes: dict[str, Any] = {}
    if board.tag_id not in (t.id for t in issue.tags):
        changes["add_tags"] = [board.tag.name]
    if status.close:
        if issue.status != issues.CLOSED or (
                status.close_status and issue.close_status != status.close_status):
            changes["status"] = issues.CLOSED
            changes["close_status"] = status.close_status
    elif old is not None and old.close and issue.status == issues.CLOSED:
        changes["status"] = issues.OPEN
    messages = (issues.update_metadata(session, actor, issue, base_url=base_url,
                                       notify=False, **changes) if changes else [])
    row = session.get(BoardIssue, (board.id, issue.id))  # tagging may have added it
    if row is None:
        row = BoardIssue(board_id=board.id, issue_id=issue.id, status_id=status.id,
                         rank=_last_rank(session, board, status) + 1)
        session.add(row)
    elif row.status_id != status.id:
        row.status_id, row.rank = status.id, _last_rank(session, board, status) + 1
    session.flush()
    session.refresh(row, ["status"])
    if old is None:
        messages.append(f"Issue added to the board {board.name} in: {status.name}")
    elif old.id != status.id:
        messages.append(f"Issue moved on the board {board.name} to: {status.name} "
                        f"(was: {old.name})")
    if messages:
        body = issues.METADATA_HEADER.format(user=actor.name) + "\n" + "\n".join(
            f"- {m}" for m in messages)
        issues.add_comment(session, actor, issue, body, base_url=base_url,
                           notification=True, check=False)
        session.expire(issue, ["comments"])
    return row


def column_issues(session: Session, viewer: User | None, board: Board
                  ) -> dict[int, list[Issue]]:
    """The issues of each column (status id -> issues by rank) that ``viewer``
    may see: private ones stay hidden from whoever may not see them."""
    out: dict[int, list[Issue]] = {s.id: [] for s in board.statuses}
    rows = session.execute(
        select(BoardIssue.status_id, Issue).join(Issue, Issue.id == BoardIssue.issue_id)
        .where(BoardIssue.board_id == board.id,
               issues.visible_clause(session, viewer, board.project))
        .options(selectinload(Issue.assignee), selectinload(Issue.tags))
        .order_by(BoardIssue.rank, Issue.number))
    for status_id, issue in rows:
        out.setdefault(status_id, []).append(issue)
    return out
