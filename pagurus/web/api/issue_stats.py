"""Issue history statistics of a project (spec §2.2 ``issues/history``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import jsonify, request

from pagurus.core import issue_stats
from pagurus.core import issues as core_issues
from pagurus.model import Project
from pagurus.web import context
from pagurus.web.api import bp
from pagurus.web.api.auth import Caller
from pagurus.web.api.errors import ApiError
from pagurus.web.api.registry import Param, api_route
from pagurus.web.api.schemas import INT, obj


def _key(end: datetime) -> str:
    return end.replace(microsecond=0).isoformat()


@api_route(
    bp, project="/issues/history/stats", tag="issues",
    summary="Open issues at the end of each of the last 53 weeks",
    response={"type": "object", "additionalProperties": INT,
              "description": "ISO datetime of the week's end -> issues open then"},
    errors=("ETRACKERDISABLED",),
)
def api_issue_history_stats(caller: Caller, project: Project) -> Any:
    core_issues.require_tracker(project)
    rows = issue_stats.weekly(context.db(), project, 53)
    return jsonify({"stats": {_key(end): n for end, n, _o, _c in rows}})


@api_route(
    bp, project="/issues/history/detailed_stats", tag="issues",
    summary="Issues open, opened and closed, week by week",
    query=(Param("weeks_range", "Number of weeks, 1 to 520.", "integer", default=53),),
    response={"type": "object", "additionalProperties": obj(
        {"open_ticket": INT, "closed_ticket": INT, "count": INT}),
        "description": "ISO datetime of the week's end -> opened and closed during the "
                       "week, and open at its end (count)"},
    errors=("ETRACKERDISABLED", "EINVALIDREQ"),
)
def api_issue_history_detailed(caller: Caller, project: Project) -> Any:
    core_issues.require_tracker(project)
    raw = request.args.get("weeks_range", "53").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= issue_stats.WEEKS_MAX:
        raise ApiError("EINVALIDREQ", errors={"weeks_range": ["An integer from 1 to 520."]})
    rows = issue_stats.weekly(context.db(), project, int(raw))
    return jsonify({"stats": {_key(end): {"open_ticket": opened, "closed_ticket": closed,
                                                "count": n}
                              for end, n, opened, closed in rows}})
