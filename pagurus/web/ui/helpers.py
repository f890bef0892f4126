"""Shared helpers for the server-rendered pages.

Decorators for who may see a page, flash shortcuts, turning core errors into
per-field messages, and the Jinja filters every template uses. Views in every
UI blueprint import from here so a rule (say, where a login redirects) lives
in one place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from flask import Blueprint, abort, flash, redirect, request
from markupsafe import Markup, escape

from pagurus import __version__
from pagurus.core import access
from pagurus.core.errors import ForgeError
from pagurus.web import context

F = TypeVar("F", bound=Callable[..., Any])

TRUE_WORDS = frozenset({"1", "true", "yes", "on", "y", "t"})


# -- flash shortcuts -----------------------------------------------------------
def flash_error(message: str) -> None:
    flash(message, "error")


def flash_success(message: str) -> None:
    flash(message, "success")


def flash_info(message: str) -> None:
    flash(message, "info")


def flash_forge_error(exc: ForgeError) -> None:
    """Flash the message of a refused core action (never a traceback)."""
    flash(exc.message or "The action was refused.", "error")


# -- small parsers -------------------------------------------------------------
def is_true(value: Any) -> bool:
    """A form checkbox or query flag: "1", "true", "on", "yes"… are true."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    return str(value).strip().lower() in TRUE_WORDS


def safe_next(url: str | None, default: str = "/") -> str:
    """``url`` if it is a path on this site, else ``default``.

    Refuses absolute URLs, scheme-relative ``//host`` and ``/\\host`` forms and
    anything with control characters, so ``?next=`` can't send a user away."""
    if not url or not isinstance(url, str) or len(url) > 2048:
        return default
    if any(ord(c) < 32 or ord(c) == 127 for c in url) or "\\" in url:
        return default
    if not url.startswith("/") or url.startswith("//"):
        return default
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return default
    return url


def current_path() -> str:
    """The path + query of this request, for ``?next=``."""
    path = request.full_path if request.query_string else request.path
    return path.rstrip("?") if path.endswith("?") else path


def _referrer_path() -> str:
    """The same-site page a POST came from (where to return after a re-login)."""
    ref = request.referrer or ""
    parts = urlsplit(ref)
    if parts.netloc and parts.netloc != request.host:
        return "/"
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return safe_next(path, "/")


def login_url(next_path: str | None = None) -> str:
    target = safe_next(next_path or current_path(), "")
    return "/login/" + (f"?next={quote(target, safe='/')}" if target else "")


def form_errors_from(exc: ForgeError, rename: Mapping[str, str] | None = None
                     ) -> dict[str, list[str]]:
    """Per-field messages from a core error's ``errors`` (field -> [messages]).

    ``rename`` maps core field names to the form's (``username`` -> ``user``).
    A message without a field goes under ``"_"``."""
    rename = rename or {}
    out: dict[str, list[str]] = {}
    errors = getattr(exc, "errors", None)
    if isinstance(errors, Mapping):
        for key, value in errors.items():
            msgs = [value] if isinstance(value, str) else [str(v) for v in (value or [])]
            out.setdefault(rename.get(str(key), str(key)), []).extend(msgs)
    elif isinstance(errors, list | tuple):
        out.setdefault("_", []).extend(str(v) for v in errors)
    elif isinstance(errors, str):
        out.setdefault("_", []).append(errors)
    return out


def form_failed(exc: ForgeError, rename: Mapping[str, str] | None = None
                ) -> dict[str, list[str]]:
    """Per-field errors for the form; the message is flashed when no field names it."""
    errors = form_errors_from(exc, rename)
    if not any(k != "_" for k in errors):
        flash_forge_error(exc)
    return errors


# -- access decorators ---------------------------------------------------------
def login_required(view: F) -> F:
    """Anonymous visitors go to the login page, then come back here."""
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if context.current_user() is None:
            return redirect(login_url())
        return view(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


def recent_login_required(view: F) -> F:
    """Sensitive pages want a fresh login: an old one is ended and asked again."""
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if context.current_user() is None:
            return redirect(login_url())
        if not context.login_is_recent():
            next_path = current_path() if request.method == "GET" else _referrer_path()
            context.logout()
            flash_error("Action canceled, try it again")
            return redirect(login_url(next_path))
        return view(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


def admin_required(view: F) -> F:
    """Site admins only; everyone else sees a 404 (the page does not exist for them)."""
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not access.is_site_admin(context.current_user()):
            abort(404)
        return view(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


# -- template filters ----------------------------------------------------------
def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def reltime(dt: datetime | None, now: datetime | None = None) -> str:
    """"3 hours ago" / "in 5 days"; "never" for None."""
    if dt is None:
        return "never"
    now = _aware(now or datetime.now(UTC))
    delta = (now - _aware(dt)).total_seconds()
    future = delta < 0
    secs = abs(int(delta))
    if secs < 45:
        return "just now" if not future else "in a moment"
    units = ((31536000, "year"), (2592000, "month"), (604800, "week"),
             (86400, "day"), (3600, "hour"), (60, "minute"))
    size, unit = next(((sz, name) for sz, name in units if secs >= sz), (60, "minute"))
    count = max(1, secs // size)
    text = f"{count} {unit}{'' if count == 1 else 's'}"
    return f"in {text}" if future else f"{text} ago"


def utc(dt: datetime | None) -> str:
    """Exact time, for ``title`` attributes."""
    if dt is None:
        return ""
    return _aware(dt).strftime("%Y-%m-%d %H:%M:%S UTC")


def isotime(dt: datetime | None) -> str:
    return _aware(dt).isoformat() if dt is not None else ""


def avatar_hue(name: Any) -> int:
    """A stable colour (hue 0-359) per name, for locally drawn avatars."""
    digest = hashlib.sha256(str(name or "").encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:2], "big") % 360


def initials(user: Any) -> str:
    """One or two letters from the full name (or the user name)."""
    if isinstance(user, str):
        text = user
    else:
        text = getattr(user, "fullname", "") or getattr(user, "name", "") or ""
    words = [w for w in str(text).replace("-", " ").replace("_", " ").split() if w[:1].isalnum()]
    if not words:
        return "?"
    letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
    return letters.upper()


def form_error_list(errors: Any, name: str) -> list[str]:
    """Messages for field ``name`` from a dict, a list or a single string."""
    if not errors:
        return []
    if isinstance(errors, Mapping):
        value = errors.get(name) or []
    else:
        value = errors
    if isinstance(value, str | Markup):
        return [str(value)]
    return [str(v) for v in value]


def nl2br(text: str | None) -> Markup:
    return Markup("<br>").join(escape(text or "").split("\n"))


def template_context() -> dict[str, Any]:
    """Globals for ``base.html``: version, registration switch, site admin flag."""
    user = context.current_user()
    return {
        "pagurus_version": __version__,
        "allow_registration": context.settings().allow_registration,
        "is_site_admin": access.is_site_admin(user),
    }


def register(bp: Blueprint) -> None:
    """Install the filters and globals on the app through ``bp`` (done once, by account)."""
    bp.app_template_filter("reltime")(reltime)
    bp.app_template_filter("utc")(utc)
    bp.app_template_filter("isotime")(isotime)
    bp.app_template_filter("avatar_hue")(avatar_hue)
    bp.app_template_filter("initials")(initials)
    bp.app_template_filter("nl2br")(nl2br)
    bp.app_template_global("form_error_list")(form_error_list)
    bp.app_context_processor(template_context)
