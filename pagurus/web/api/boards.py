"""Kanban boards (spec §2.4): list, declare, delete, columns, issues on them.

The rules live in core.boards; these views read the JSON body and answer
board JSON. Unlike Pagure, every change checks that the caller is an admin of
the project (401 EMODIFYPROJECTNOTALLOWED), whatever ACLs the token holds.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify

from pagurus.core import boards as core_boards
from pagurus.core import issues as core_issues
from pagurus.model import Board, Project
from pagurus.web import context
from pagurus.web.api import bp
from pagurus.web.api.auth import Caller, require_user
from pagurus.web.api.errors import ApiError
from pagurus.web.api.params import body
from pagurus.web.api.registry import Param, api_route
from pagurus.web.api.schemas import BOOL, INT, NSTR, STR, array, obj

TAG = obj({"tag": STR, "tag_description": STR, "tag_color": STR})
STATUS = obj({"name": STR, "bg_color": STR, "close": BOOL, "close_status": NSTR,
              "default": BOOL})
BOARD = obj({"name": STR, "active": BOOL, "status": array(STATUS), "tag": TAG,
             "full_url": STR})
ONE_BOARD = obj({"board": BOARD})
BOARDS = obj({"boards": array(BOARD)})
JSON_BODY = ("A JSON object (Content-Type: application/json); form bodies are refused "
             "with 400 EINVALIDREQ.")
CHANGE_ERRORS = ("EINVALIDREQ", "ENOCODE", "EMODIFYPROJECTNOTALLOWED", "ETRACKERDISABLED")


def _boards_json(boards: list[Board]) -> list[dict[str, Any]]:
    return [core_boards.board_json(b, context.base_url()) for b in boards]


def _json_object() -> dict[str, Any]:
    """The whole JSON body (these endpoints take objects keyed by names)."""
    data = body()
    if data.is_form:
        raise ApiError("EINVALIDREQ", errors="A JSON body is required")
    return data.flat()


def _board(project: Project, name: str) -> Board:
    core_issues.require_tracker(project)
    return core_boards.get_board(context.db(), project, name)


@api_route(
    bp, project="/boards", tag="boards", summary="The boards of a project",
    response=obj({"total_requests": {**INT, "description": "Number of boards (Pagure's "
                                                           "name, sic)"},
                  "boards": array(BOARD)}),
    errors=("ETRACKERDISABLED",),
)
def api_boards(caller: Caller, project: Project) -> Any:
    """404 ETRACKERDISABLED when the project's issue tracker is off."""
    core_issues.require_tracker(project)
    boards = core_boards.project_boards(context.db(), project)
    return jsonify({"total_requests": len(boards), "boards": _boards_json(boards)})


@api_route(
    bp, project="/boards", methods=("POST",), auth_mode="token", acls=("modify_project",),
    tag="boards", summary="Declare the boards of a project",
    description=(
        "Body: {\"<board name>\": {\"active\": bool, \"tag\": \"<existing tag>\"}, …}. "
        "Declarative: boards absent from the body are deleted, the others updated or "
        "created (active defaults to true). Tagged issues fill an active board's default "
        "column once it has one. Unknown tag: 400 ENOCODE; missing tag, bad name or an "
        "empty object: 400 EINVALIDREQ. " + JSON_BODY),
    response=BOARDS, errors=CHANGE_ERRORS,
)
def api_boards_set(caller: Caller, project: Project) -> Any:
    actor = require_user(caller)
    spec = _json_object()
    session = context.db()
    boards = core_boards.set_boards(session, actor, project, spec)
    session.commit()
    return jsonify({"boards": _boards_json(boards)})


@api_route(
    bp, project="/boards/delete", methods=("POST",), auth_mode="token",
    acls=("modify_project",), tag="boards", summary="Delete boards",
    body=(Param("name", "Board name; repeat the form key or send a JSON list.",
                required=True, repeat=True),),
    response=BOARDS, errors=CHANGE_ERRORS,
)
def api_boards_delete(caller: Caller, project: Project) -> Any:
    """An unknown name refuses the whole call with 400 EINVALIDREQ (nothing deleted).
    Answers the boards that remain."""
    actor = require_user(caller)
    names = body().list("name")
    session = context.db()
    boards = core_boards.delete_boards(session, actor, project, names)
    session.commit()
    return jsonify({"boards": _boards_json(boards)})


@api_route(
    bp, project="/boards/<board_name>/status", methods=("POST",), auth_mode="token",
    acls=("modify_project",), tag="boards", summary="Declare the columns of a board",
    description=(
        "Body: {\"<status name>\": {\"rank\": int, \"default\": bool, \"close\": bool, "
        "\"close_status\": str, \"bg_color\": str}, …}. Declarative; exactly one default; "
        "names follow the tag rule; rank and default are required; a close_status that is "
        "not one of the project's is dropped; a close status implies close. bg_color is "
        "#rgb, #rrggbb or a colour name (else 400). Issues of a removed column move to the "
        "default one. Unknown board: 404 EINVALIDREQ. " + JSON_BODY),
    response=ONE_BOARD, errors=CHANGE_ERRORS,
)
def api_board_statuses(caller: Caller, project: Project, board_name: str) -> Any:
    actor = require_user(caller)
    board = _board(project, board_name)
    spec = _json_object()
    session = context.db()
    core_boards.set_statuses(session, actor, board, spec)
    session.commit()
    return jsonify({"board": core_boards.board_json(board, context.base_url())})


def _update(caller: Caller, project: Project, board_name: str, by: str) -> Any:
    actor = require_user(caller)
    board = _board(project, board_name)
    spec = _json_object()
    session = context.db()
    core_boards.update_issues(session, actor, board, spec, base_url=context.base_url(), by=by)
    session.commit()
    return jsonify({"board": core_boards.board_json(board, context.base_url())})


UPDATE_DOC = (
    "An unknown or missing status means the board's default column; a missing rank, the "
    "end of the column. An issue without the board's tag is tagged with it; moving into "
    "a closing column closes the issue with that column's close status (refused with "
    "400 ENOCODE when open issues block it), moving out of one reopens it; each move "
    "adds a metadata comment. Every issue is checked before any moves. Unknown board: "
    "404 EINVALIDREQ; unknown issue: 404 ENOISSUE; read-only tracker: 401 "
    "ETRACKERREADONLY. ")


@api_route(
    bp, project="/boards/<board_name>/update_issue", methods=("POST",), auth_mode="token",
    acls=("modify_project",), tag="boards", summary="Place issues on a board, by uid",
    description=("Body: {\"<issue uid>\": {\"status\": name, \"rank\": int}, …}. "
                 + UPDATE_DOC + JSON_BODY),
    response=ONE_BOARD,
    errors=(*CHANGE_ERRORS, "ENOISSUE", "ETRACKERREADONLY"),
)
def api_board_update_issue(caller: Caller, project: Project, board_name: str) -> Any:
    return _update(caller, project, board_name, "uid")


@api_route(
    bp, project="/boards/<board_name>/add_issue", methods=("POST",), auth_mode="token",
    acls=("modify_project",), tag="boards", summary="Place issues on a board, by number",
    description=("Body: {\"<issue number>\": {\"status\": name, \"rank\": int}, …}. "
                 + UPDATE_DOC + JSON_BODY),
    response=ONE_BOARD,
    errors=(*CHANGE_ERRORS, "ENOISSUE", "ETRACKERREADONLY"),
)
def api_board_add_issue(caller: Caller, project: Project, board_name: str) -> Any:
    return _update(caller, project, board_name, "number")
