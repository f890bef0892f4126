"""Errors raised by core; each names the API v0 error code it maps to."""

from __future__ import annotations

from typing import Any


class ForgeError(Exception):
    """A refused action. ``code``/``status`` map to the API's error JSON."""

    code = "ENOCODE"
    status = 400

    def __init__(self, message: str = "", *, code: str | None = None,
                 status: int | None = None, errors: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.errors = errors


class InvalidInput(ForgeError):
    """Bad input; ``errors`` maps field names to lists of messages."""

    code = "EINVALIDREQ"
    status = 400


class NotFound(ForgeError):
    code = "ENOPROJECT"
    status = 404


class NotAllowed(ForgeError):
    code = "ENOTHIGHENOUGH"
    status = 401


class Conflict(ForgeError):
    code = "ENOCODE"
    status = 400
