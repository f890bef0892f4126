"""The OpenAPI 3.1 document and the HTML index of the API, both built from the
endpoint declarations in :mod:`pagurus.web.api.registry`."""

from __future__ import annotations

import re
from html import escape
from typing import Any

from flask import Response, jsonify

from pagurus import API_VERSION
from pagurus.web import context
from pagurus.web.api import bp
from pagurus.web.api.auth import Caller
from pagurus.web.api.errors import ERROR_CODES, message_of
from pagurus.web.api.registry import ENDPOINTS, Endpoint, Param, api_route
from pagurus.web.api.schemas import COMPONENTS, ref

_RULE_ARG = re.compile(r"<(?:(?P<conv>[a-z]+):)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)>")
PATH_PARAM_DOC = {
    "repo": "Project name.",
    "namespace": "Project namespace.",
    "username": "Owner of the fork (fork forms) or the user.",
    "group": "Group name.",
    "taskid": "Task id returned by an asynchronous call.",
}
AUTH_TEXT = {
    "none": "No authentication needed; a valid token or session shows what its user "
            "may see.",
    "optional": "Authentication optional; a token that is sent must be valid.",
    "token": "Needs a token holding at least one of the listed ACLs, or a logged-in "
             "session (with an X-CSRFToken header on calls other than GET).",
    "any-token": "Needs any valid token, or a logged-in session (with an X-CSRFToken "
                 "header on calls other than GET).",
}


def openapi_path(rule: str) -> str:
    """Flask ``/<namespace>/<repo>`` -> OpenAPI ``/{namespace}/{repo}``."""
    return _RULE_ARG.sub(lambda m: "{" + m.group("name") + "}", rule)


def _schema(p: Param) -> dict[str, Any]:
    if p.repeat:
        schema: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
    else:
        schema = {"type": p.type}
    if p.enum:
        schema["enum"] = list(p.enum)
    if p.default is not None:
        schema["default"] = p.default
    return schema


def _error_codes(ep: Endpoint, method: str) -> dict[str, int]:
    """code -> HTTP status; an endpoint may give ``(code, status)`` for an unusual status."""
    codes: list[str | tuple[str, int]] = list(ep.errors)
    if ep.auth in ("token", "any-token", "optional"):
        codes.append("EINVALIDTOK")
    if ep.project:
        codes.append("ENOPROJECT")
        if method not in ("GET", "HEAD") and ep.auth != "none":
            codes.append("EUBLOCKED")
    if ep.paginated:
        codes += ["EINVALIDREQ", "EINVALIDPERPAGEVALUE"]
    out: dict[str, int] = {}
    for entry in codes:
        code, status = entry if isinstance(entry, tuple) else (entry, ERROR_CODES[entry][1])
        out.setdefault(code, status)
    return out


def _operation(ep: Endpoint, rule: str, index: int, method: str) -> dict[str, Any]:
    description = ep.description
    notes = [AUTH_TEXT[ep.auth]]
    if ep.acls:
        notes.append("ACLs (any one of): " + ", ".join(ep.acls) + ".")
    if ep.project_token_only:
        notes.append("A user-level token is refused: use a token bound to this project.")
    op: dict[str, Any] = {
        "operationId": ep.endpoint if index == 0 else f"{ep.endpoint}_{index}",
        "summary": ep.summary,
        "description": "\n\n".join(x for x in (description, " ".join(notes)) if x),
        "tags": [ep.tag or "api"],
    }
    params: list[dict[str, Any]] = []
    for m in _RULE_ARG.finditer(rule):
        name = m.group("name")
        params.append({"name": name, "in": "path", "required": True,
                       "description": PATH_PARAM_DOC.get(name, name),
                       "schema": {"type": "integer" if m.group("conv") == "int"
                                  else "string"}})
    for p in ep.query:
        entry = {"name": p.name, "in": "query", "required": p.required,
                 "description": p.description, "schema": _schema(p)}
        if p.repeat:
            entry.update(style="form", explode=True)
        params.append(entry)
    if params:
        op["parameters"] = params
    if ep.body:
        schema = {"type": "object",
                  "properties": {p.name: {**_schema(p), "description": p.description}
                                 for p in ep.body},
                  "required": [p.name for p in ep.body if p.required]}
        op["requestBody"] = {"required": any(p.required for p in ep.body), "content": {
            "application/json": {"schema": schema},
            "application/x-www-form-urlencoded": {"schema": schema},
        }}
    if ep.auth in ("token", "any-token"):
        op["security"] = [{"tokenAuth": []}, {"sessionAuth": []}]
    elif ep.auth == "optional":
        op["security"] = [{}, {"tokenAuth": []}, {"sessionAuth": []}]
    else:
        op["security"] = [{}]
    ok: dict[str, Any] = {"description": "Success"}
    if ep.media_type == "application/json":
        ok["content"] = {"application/json": {"schema": ep.response}}
    else:
        ok["content"] = {ep.media_type: {"schema": {"type": "string"}}}
    responses: dict[str, Any] = {"200": ok}
    by_status: dict[str, list[str]] = {}
    for code, status in _error_codes(ep, method).items():
        by_status.setdefault(str(status), []).append(code)
    for status, codes in sorted(by_status.items()):
        responses[status] = {
            "description": "Error codes: " + ", ".join(codes),
            "content": {"application/json": {"schema": ref("Error")}},
        }
    responses["default"] = {"description": "Any other error, as the same JSON",
                            "content": {"application/json": {"schema": ref("Error")}}}
    op["responses"] = responses
    return op


def document() -> dict[str, Any]:
    """The OpenAPI description of every registered endpoint."""
    paths: dict[str, dict[str, Any]] = {}
    for ep in ENDPOINTS:
        for index, rule in enumerate(ep.rules):
            item = paths.setdefault(openapi_path(rule), {})
            for method in ep.methods:
                item[method.lower()] = _operation(ep, rule, index, method)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{context.settings().instance_name} API v0",
            "version": API_VERSION,
            "description": (
                "Pagure-compatible API. Project endpoints exist under four path forms: "
                "/{repo}, /{namespace}/{repo}, /fork/{username}/{repo} and "
                "/fork/{username}/{namespace}/{repo}. Errors are always JSON "
                "{error, error_code[, errors]}; see GET /-/error_codes. Unlike Pagure, "
                "changing a project always needs a role on it, a browser session needs "
                "an X-CSRFToken header for calls other than GET, and the wait flag "
                "honours the form value \"false\"."),
        },
        "servers": [{"url": f"{context.base_url()}/api/0"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": COMPONENTS,
            "securitySchemes": {
                "tokenAuth": {"type": "apiKey", "in": "header", "name": "Authorization",
                              "description": "The header value is 'token <TOKEN>'."},
                "sessionAuth": {"type": "apiKey", "in": "cookie", "name": "pagurus_session",
                                "description": "A logged-in browser session; calls other "
                                               "than GET also need the X-CSRFToken header."},
            },
        },
        "x-error-codes": {code: message_of(code) for code in ERROR_CODES},
    }


@api_route(bp, "/openapi.json", tag="meta", summary="This OpenAPI document",
           response={"type": "object"})
def api_openapi(caller: Caller) -> Any:
    """Generated from the same declarations that register the routes."""
    return jsonify(document())


@api_route(bp, "/", tag="meta", summary="Human-readable list of the endpoints",
           media_type="text/html")
def api_index(caller: Caller) -> Any:
    """A plain HTML page (no script) listing every endpoint of the OpenAPI document."""
    doc = document()
    rows = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            rows.append(
                f"<tr><td><code>{escape(method.upper())}</code></td>"
                f"<td><code>/api/0{escape(path)}</code></td>"
                f"<td>{escape(op['summary'])}</td></tr>")
    title = escape(doc["info"]["title"])
    html = (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{title}</title></head><body><h1>{title}</h1>"
        f"<p>{escape(doc['info']['description'])}</p>"
        "<p>Machine-readable: <a href=\"openapi.json\">openapi.json</a>; error codes: "
        "<a href=\"-/error_codes\">-/error_codes</a>.</p>"
        "<table><thead><tr><th>Method</th><th>Path</th><th>What</th></tr></thead><tbody>"
        + "".join(rows) + "</tbody></table></body></html>")
    resp = Response(html, mimetype="text/html")
    resp.headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
    return resp
