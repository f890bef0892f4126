"""Reading request input the way Pagure clients send it (spec §1.2).

Bodies: JSON when the Content-Type is ``application/json`` (invalid JSON is an
empty object), else the form, falling back to a JSON body when the form is
empty. Values of the wrong type are refused with 400, never a crash.
"""

from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.datastructures import MultiDict

from pagurus.web.api.errors import ApiError

TRUE_WORDS = ("1", "true", "t", "y", "yes", "on")
FALSE_WORDS = ("", "0", "false", "f", "n", "no", "off")
# sent by pages that call the API with a browser session; never an input
IGNORED_KEYS = ("csrf_token",)


class Body:
    """The request body as one mapping, whatever encoding the client used."""

    def __init__(self, data: MultiDict[str, Any] | dict[str, Any], is_form: bool) -> None:
        self._data = data
        self.is_form = is_form

    def keys(self) -> list[str]:
        return [k for k in self._data.keys() if k not in IGNORED_KEYS]

    def __contains__(self, key: str) -> bool:
        return key in self._data

    def raw(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def text(self, key: str, *, required: bool = False, default: str | None = None) -> str | None:
        """A string field; numbers are accepted as their text, lists/objects refused."""
        value = self._data.get(key)
        if value is None:
            if required:
                raise ApiError("EINVALIDREQ", errors={key: ["This field is required."]})
            return default
        value = as_text(key, value)
        if required and not value.strip():
            raise ApiError("EINVALIDREQ", errors={key: ["This field is required."]})
        return value

    def list(self, key: str) -> list[str]:
        """A repeatable field: repeated form keys, or a JSON list (a lone string counts)."""
        if isinstance(self._data, MultiDict):
            values: list[Any] = self._data.getlist(key)
        else:
            value = self._data.get(key)
            if value is None:
                values = []
            elif isinstance(value, list):
                values = value
            else:
                values = [value]
        return [as_text(key, v) for v in values]

    def flag(self, key: str, default: bool = False) -> bool:
        """Lenient boolean: JSON booleans, or true-ish words."""
        return as_bool(key, self._data.get(key), default)

    def wait(self) -> bool:
        """The ``wait`` flag: true unless explicitly false. Unlike Pagure, the form
        value "false" (and 0, no, empty) means false."""
        value = self._data.get("wait")
        if value is None:
            return True
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return bool(value)
        if isinstance(value, str):
            return value.strip().lower() not in FALSE_WORDS
        raise ApiError("EINVALIDREQ", errors={"wait": ["Must be a boolean."]})

    def flat(self) -> dict[str, Any]:
        """Every key with one value (the first, for repeated form keys)."""
        return {k: self._data.get(k) for k in self.keys()}


def as_text(key: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise ApiError("EINVALIDREQ", errors={key: ["Must be a string."]})


def as_bool(key: str, value: Any, default: bool = False) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    if isinstance(value, str):
        return value.strip().lower() in TRUE_WORDS
    raise ApiError("EINVALIDREQ", errors={key: ["Must be a boolean."]})


def _json_object() -> dict[str, Any]:
    data = request.get_json(force=True, silent=True)
    return data if isinstance(data, dict) else {}


def body() -> Body:
    """The parsed body of this request (cached on the request)."""
    cached = getattr(request, "_pagurus_body", None)
    if cached is not None:
        return cached
    if request.mimetype == "application/json":
        parsed = Body(_json_object(), is_form=False)
    else:
        form = request.form
        if form:
            parsed = Body(form, is_form=True)
        else:
            parsed = Body(_json_object(), is_form=False)
    request._pagurus_body = parsed  # type: ignore[attr-defined]
    return parsed


def query_text(key: str, default: str | None = None) -> str | None:
    return request.args.get(key, default)


def query_flag(key: str, default: bool = False) -> bool:
    return as_bool(key, request.args.get(key), default)


def query_optional_flag(key: str) -> bool | None:
    value = request.args.get(key)
    return None if value is None else as_bool(key, value)
