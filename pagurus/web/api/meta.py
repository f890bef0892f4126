"""Instance-wide endpoints: version, error codes, whoami, task status."""

from __future__ import annotations

import re
from typing import Any

from flask import jsonify

from pagurus import API_VERSION
from pagurus.tasks.status import task_status
from pagurus.web.api import bp
from pagurus.web.api.auth import Caller
from pagurus.web.api.errors import ApiError, all_messages
from pagurus.web.api.registry import api_route
from pagurus.web.api.schemas import BOOL, STR, obj

_TASK_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")


@api_route(bp, ("/-/version", "/version", "/version/"), tag="meta",
           summary="API version", response=obj({"version": STR}))
def api_version(caller: Caller) -> Any:
    """The version of the API v0 this server speaks (Pagure's numbering)."""
    return jsonify({"version": API_VERSION})


@api_route(bp, ("/-/error_codes", "/error_codes", "/error_codes/"), tag="meta",
           summary="Every error code and its message",
           response={"type": "object", "additionalProperties": STR})
def api_error_codes(caller: Caller) -> Any:
    """Object mapping each ``error_code`` the API may return to its fixed message."""
    return jsonify(all_messages())


@api_route(bp, "/-/whoami", methods=("POST",), auth_mode="optional", tag="meta",
           summary="The user the token (or session) belongs to",
           response=obj({"username": STR}), errors=("EINVALIDTOK",))
def api_whoami(caller: Caller) -> Any:
    """Answers 401 EINVALIDTOK without a valid token or session."""
    if caller.user is None:
        raise ApiError("EINVALIDTOK")
    return jsonify({"username": caller.user.name})


@api_route(bp, ("/task/<taskid>/status", "/task/<taskid>/status/"), tag="meta",
           summary="State of a queued task",
           response=obj({"ready": BOOL, "status": STR,
                         "successful": {**BOOL, "description": "Only once ready"}},
                        required=("ready", "status")),
           errors=("EINVALIDREQ",))
def api_task_status(caller: Caller, taskid: str) -> Any:
    """Poll the task id returned by project creation or forking with ``wait=false``.
    ``status`` is the Celery state (PENDING for unknown ids)."""
    if not _TASK_ID.match(taskid):
        raise ApiError("EINVALIDREQ", errors={"taskid": ["Not a task id."]})
    state = task_status(taskid)
    out: dict[str, Any] = {"ready": state["ready"], "status": state["status"]}
    if state["ready"]:
        out["successful"] = state["successful"]
    return jsonify(out)
