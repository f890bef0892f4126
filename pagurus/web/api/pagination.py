"""Pagination arguments and the ``pagination`` object (spec §1.5)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import request

from pagurus.web import context
from pagurus.web.api.errors import ApiError

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100


def page_arg(key: str = "page") -> int:
    """``key`` from the query string: an integer >= 1 (default 1), else 400 EINVALIDREQ."""
    raw = request.args.get(key)
    if raw is None or raw == "":
        return 1
    try:
        page = int(raw)
    except ValueError:
        raise ApiError("EINVALIDREQ", errors={key: ["Must be an integer."]}) from None
    if page < 1:
        raise ApiError("EINVALIDREQ", errors={key: ["Must be 1 or more."]})
    return page


def per_page_arg() -> int:
    """``per_page``: non-integer -> EINVALIDREQ; outside 1..100 -> EINVALIDPERPAGEVALUE."""
    raw = request.args.get("per_page")
    if raw is None or raw == "":
        return DEFAULT_PER_PAGE
    try:
        per_page = int(raw)
    except ValueError:
        raise ApiError("EINVALIDREQ", errors={"per_page": ["Must be an integer."]}) from None
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ApiError("EINVALIDPERPAGEVALUE")
    return per_page


def pages_for(total: int, per_page: int) -> int:
    return (total + per_page - 1) // per_page


def _url(page_key: str, page: int, per_page: int) -> str:
    kept = [(k, v) for k, v in request.args.items(multi=True)
            if not k.startswith("_") and k not in ("endpoint", "per_page", page_key)]
    kept += [("per_page", str(per_page)), (page_key, str(page))]
    return f"{context.base_url()}{request.path}?{urlencode(kept)}"


def pagination(total: int, page: int, per_page: int, page_key: str = "page") -> dict[str, Any]:
    """Absolute first/last/prev/next URLs to this endpoint, other query args kept."""
    pages = pages_for(total, per_page)
    return {
        page_key: page,
        "pages": pages,
        "per_page": per_page,
        "prev": _url(page_key, page - 1, per_page) if page > 1 else None,
        "next": _url(page_key, page + 1, per_page) if page < pages else None,
        "first": _url(page_key, 1, per_page),
        "last": _url(page_key, pages, per_page),
    }
