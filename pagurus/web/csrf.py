"""CSRF tokens for forms (and for API calls made with a browser session)."""

from __future__ import annotations

import hmac
import secrets

from flask import abort, request, session

FIELD = "csrf_token"
HEADER = "X-CSRFToken"


def token() -> str:
    value = session.get("_csrf")
    if not value:
        value = secrets.token_urlsafe(32)
        session["_csrf"] = value
    return value


def is_valid() -> bool:
    expected = session.get("_csrf")
    given = request.form.get(FIELD) or request.headers.get(HEADER) or ""
    return bool(expected) and hmac.compare_digest(str(expected), str(given))


def protect() -> None:
    """Refuse a state-changing request whose CSRF token is missing or wrong."""
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and not is_valid():
        abort(400, description="The form expired or its CSRF token is missing; "
                               "reload the page and try again.")
