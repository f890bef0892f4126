"""Kanban boards: a board follows one tag; its columns are statuses.

Tagging an issue with a board's tag puts it in the board's default column;
removing the tag takes it off the board.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from pagurus.core.tags import tag_json
from pagurus.model import Board, BoardIssue, BoardStatus, Issue, TagColored, User


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
