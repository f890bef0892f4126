"""The API's error JSON and the table of error codes (Pagure's wire contract).

Every refusal inside ``/api/0`` ends here: core's ``ForgeError``s, HTTP errors
raised by Flask (404/405/413…), and unexpected exceptions, so a client never
receives an HTML error page from the API.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request
from flask.wrappers import Response
from werkzeug.exceptions import HTTPException

from pagurus.core.errors import ForgeError
from pagurus.web import context

# code -> (fixed message, usual HTTP status). Wording is ours; codes are Pagure's.
ERROR_CODES: dict[str, tuple[str, int]] = {
    "ENOCODE": ("Variable message describing the issue", 400),
    "ENOPROJECT": ("Project not found", 404),
    "ENOPROJECTS": ("No projects found", 404),
    "ETRACKERDISABLED": ("Issue tracker disabled for this project", 404),
    "EDBERROR": ("An error occurred at the database level and prevented the action "
                 "from reaching completion", 400),
    "EINVALIDREQ": ("Invalid or incomplete input submitted", 400),
    "EINVALIDTOK": ("Invalid or expired token. Please visit {base_url}/settings#nav-api-tab "
                    "to get or renew your API token.", 401),
    "ENOISSUE": ("Issue not found", 404),
    "EISSUENOTALLOWED": ("You are not allowed to view this issue", 403),
    "EPRNOTALLOWED": ("You are not allowed to view this pull-request", 403),
    "EPULLREQUESTSDISABLED": ("Pull-Request have been deactivated for this project", 404),
    "ENOREQ": ("Pull-Request not found", 404),
    "ENOPRCLOSE": ("You are not allowed to merge/close pull-request for this project", 403),
    "EPRSCORE": ("This request does not have the minimum review score necessary to be "
                 "merged", 403),
    "EPRCONFLICTS": ("This pull-request conflicts and thus cannot be merged", 409),
    "ENOTASSIGNEE": ("Only the assignee can merge this request", 403),
    "ENOTASSIGNED": ("This request must be assigned to be merged", 403),
    "ENOUSER": ("No such user found", 404),
    "ENOCOMMENT": ("Comment not found", 404),
    "ENEWPROJECTDISABLED": ("Creating project have been disabled for this instance", 404),
    "ENEWPROJECTFORBIDDEN": ("You are not allowed to create projects on this instance", 403),
    "ETIMESTAMP": ("Invalid timestamp format", 400),
    "EDATETIME": ("Invalid datetime format", 400),
    "EINVALIDISSUEFIELD": ("Invalid custom field submitted", 400),
    "EINVALIDISSUEFIELD_LINK": ("Invalid custom field submitted, the value is not a link", 400),
    "EINVALIDPRIORITY": ("Invalid priority submitted", 400),
    "ENOGROUP": ("Group not found", 404),
    "ENOTMAINADMIN": ("Only the main admin can set the main admin of a project", 401),
    "EMODIFYPROJECTNOTALLOWED": ("You are not allowed to modify this project", 401),
    "EINVALIDPERPAGEVALUE": ("The per_page value must be between 1 and 100", 400),
    "EGITERROR": ("An error occurred during a git operation", 400),
    "ENOCOMMIT": ("No such commit found in this repository", 404),
    "EEMPTYGIT": ("This git repository is empty", 404),
    "EBRANCHNOTFOUND": ("Branch not found in this git repository", 400),
    "EFILENOTFOUND": ("File not found in this git repository", 404),
    "ENOTHIGHENOUGH": ("You do not have sufficient permissions to perform this action", 401),
    "ENOSIGNEDOFF": ("This repo enforces that all commits are signed off by their author.",
                     400),
    "ETRACKERREADONLY": ("The issue tracker of this project is read-only", 401),
    "ENOPRSTATS": ("No statistics could be computed for this PR", 400),
    "EUBLOCKED": ("You have been blocked from this project", 403),
    "EREBASENOTALLOWED": ("You are not authorized to rebase this pull-request", 403),
    "ENOPLUGIN": ("No such plugin", 404),
    "EPLUGINDISABLED": ("Plugin disabled", 404),
    "EPLUGINCHANGENOTALLOWED": ("This plugin cannot be changed", 403),
    "EPLUGINNOTINSTALLED": ("Project doesn't have this plugin installed", 400),
    "ENOTAG": ("Tag not found", 404),
    "EMIRRORINGDISABLED": ("Mirroring external project has been disabled in this instance",
                           400),
}


def _base_url() -> str:
    try:
        return context.base_url()
    except RuntimeError:  # outside a request (e.g. building docs)
        return ""


def message_of(code: str) -> str:
    """The fixed message of ``code`` (EINVALIDTOK names this instance's settings page)."""
    text = ERROR_CODES.get(code, ERROR_CODES["ENOCODE"])[0]
    return text.replace("{base_url}", _base_url())


def all_messages() -> dict[str, str]:
    return {code: message_of(code) for code in ERROR_CODES}


class ApiError(ForgeError):
    """A refusal decided by the API layer itself (request shape, auth, pagination)."""

    def __init__(self, code: str, *, errors: Any = None, message: str = "",
                 status: int | None = None) -> None:
        super().__init__(message or message_of(code), code=code,
                         status=status or ERROR_CODES.get(code, ("", 400))[1], errors=errors)


def error_json(code: str, status: int, *, message: str | None = None,
               errors: Any = None) -> tuple[Response, int]:
    body: dict[str, Any] = {"error": message if message is not None else message_of(code),
                            "error_code": code}
    if errors is not None:
        body["errors"] = errors
    return jsonify(body), status


def from_forge_error(exc: ForgeError) -> tuple[Response, int]:
    """ENOCODE carries the operation's own message; other codes their fixed one,
    with core's more specific message moved to ``errors`` when there is nothing else."""
    code = exc.code if exc.code in ERROR_CODES else "ENOCODE"
    if code == "ENOCODE":
        return error_json(code, exc.status, message=exc.message or message_of(code),
                          errors=exc.errors)
    fixed = message_of(code)
    errors = exc.errors
    if errors is None and exc.message and exc.message != fixed:
        errors = exc.message
    return error_json(code, exc.status, message=fixed, errors=errors)


def from_http_error(exc: HTTPException) -> tuple[Response, int]:
    status = exc.code or 500
    code = "EINVALIDREQ" if status in (400, 413, 415) else "ENOCODE"
    message = f"{exc.name}: {exc.description}" if exc.description else str(exc.name)
    if code == "ENOCODE":
        return error_json(code, status, message=message)
    return error_json(code, status, errors=message)


def is_api_path() -> bool:
    path = request.path
    return path == "/api/0" or path.startswith("/api/0/")


def install(bp: Any) -> None:
    """Blueprint error handlers, plus an app-wide safety net for errors raised
    before any API view ran (unknown URL, wrong method)."""

    @bp.errorhandler(ForgeError)
    def _forge(exc: ForgeError) -> tuple[Response, int]:
        return from_forge_error(exc)

    @bp.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        if exc.code is not None and exc.code < 400:  # redirects stay redirects
            return exc
        return from_http_error(exc)

    @bp.errorhandler(Exception)
    def _crash(exc: Exception) -> tuple[Response, int]:
        current_app.logger.exception("API error on %s %s", request.method, request.path)
        return error_json("ENOCODE", 500, message="Internal server error")

    @bp.after_app_request
    def _json_errors(resp: Response) -> Response:
        if (resp.status_code >= 400 and is_api_path()
                and resp.mimetype != "application/json"):
            status = resp.status_code
            exc = _http_for(status)
            body, _ = from_http_error(exc) if exc else error_json("ENOCODE", status,
                                                                 message=resp.status)
            body.status_code = status
            for name in ("Allow", "Retry-After"):
                if name in resp.headers:
                    body.headers[name] = resp.headers[name]
            return body
        return resp


def _http_for(status: int) -> HTTPException | None:
    from werkzeug.exceptions import default_exceptions

    cls = default_exceptions.get(status)
    return cls() if cls else None

