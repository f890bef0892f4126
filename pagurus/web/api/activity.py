"""User activity (spec §2.6): the heatmap counts and one day's entries."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from flask import jsonify, request

from pagurus.core import activity as core_activity
from pagurus.core import users as core_users
from pagurus.web import context
from pagurus.web.activity import entry_json
from pagurus.web.api import bp
from pagurus.web.api.auth import Caller
from pagurus.web.api.errors import ApiError
from pagurus.web.api.registry import Param, api_route
from pagurus.web.api.schemas import INT, STR, array, obj

TZ_PARAM = Param("tz", "Olson time zone name the days are counted in (default UTC).")
TRUE_WORDS = ("1", "true", "t", "y", "yes", "on")


@api_route(
    bp, "/user/<username>/activity/stats", tag="users",
    summary="A user's activity per day over the last year (the heatmap)",
    query=(Param("format", "Keys as dates (isoformat) or as epoch seconds at noon of the "
                           "day in tz (timestamp).", enum=("isoformat", "timestamp"),
                 default="isoformat"),
           TZ_PARAM),
    response={"type": "object", "additionalProperties": INT,
              "description": "day -> number of activity entries; days without any are "
                             "absent"},
    errors=("ENOUSER", "ENOCODE", "EINVALIDREQ"),
)
def api_activity_stats(caller: Caller, username: str) -> Any:
    """Only entries on projects the caller may see are counted."""
    session = context.db()
    user = core_users.require_user(session, username)
    fmt = request.args.get("format") or "isoformat"
    if fmt not in ("isoformat", "timestamp"):
        raise ApiError("EINVALIDREQ", errors={"format": ["Either isoformat or timestamp."]})
    tz = core_activity.timezone_named(request.args.get("tz"))
    counts = core_activity.stats(session, user, caller.user, tz)
    if fmt == "timestamp":
        return jsonify({str(int(datetime.combine(day, time(12), tzinfo=tz).timestamp())): n
                        for day, n in counts.items()})
    return jsonify({day.isoformat(): n for day, n in counts.items()})


@api_route(
    bp, "/user/<username>/activity/<date>", tag="users",
    summary="A user's activity on one day",
    query=(Param("grouped", "Collapse each project's commits into one entry.", "boolean",
                 default=False),
           TZ_PARAM),
    response=obj({
        "date": STR,
        "activities": array({
            "type": "object",
            "description": "Activity entry (id, type, ref_id, date, date_created, user) "
                           "with description_mk, an HTML sentence; grouped commit entries "
                           "only carry description_mk",
            "properties": {"id": INT, "type": STR, "ref_id": STR, "date": STR,
                           "date_created": STR, "user": {"$ref": "#/components/schemas/User"},
                           "description_mk": STR},
            "required": ["description_mk"]}),
    }),
    errors=("ENOUSER", "ENOCODE"),
)
def api_activity_day(caller: Caller, username: str, date: str) -> Any:
    """``date`` is ``YYYY-MM-DD`` in ``tz``; entries oldest first."""
    session = context.db()
    user = core_users.require_user(session, username)
    day = core_activity.parse_day(date)
    tz = core_activity.timezone_named(request.args.get("tz"))
    grouped = (request.args.get("grouped") or "").strip().lower() in TRUE_WORDS
    items = core_activity.day(session, user, caller.user, day, tz, grouped=grouped)
    base = context.base_url()
    return jsonify({"activities": [entry_json(item, user, base, tz) for item in items],
                    "date": day.isoformat()})
