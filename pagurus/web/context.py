"""Per-request state: DB session, logged-in user, instance URL.

Every view reaches the database and the current user through these helpers,
so a request never sees another request's session.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, g, request, session
from sqlalchemy.orm import Session

from pagurus.config import Settings
from pagurus.core import access
from pagurus.model import User, utcnow


def settings() -> Settings:
    return current_app.extensions["pagurus"]["settings"]


def db() -> Session:
    if "db" not in g:
        g.db = current_app.extensions["pagurus"]["sessions"]()
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
    sess = g.pop("db", None)
    if sess is not None:
        sess.close()


def base_url() -> str:
    """Instance URL without trailing slash (config wins over the Host header)."""
    return settings().app_url.rstrip("/") or request.host_url.rstrip("/")


def login(user: User) -> None:
    session.clear()
    session["uid"] = user.id
    session["login_at"] = utcnow().timestamp()
    session.permanent = True


def logout() -> None:
    session.clear()


def current_user() -> User | None:
    """The logged-in user of this browser session, if the session is still good.

    A session dies when the account is blocked, deactivated, or its owner
    asked to log out everywhere after the session began."""
    if "current_user" in g:
        return g.current_user
    user: User | None = None
    uid = session.get("uid")
    if uid is not None:
        candidate = db().get(User, uid)
        login_at = session.get("login_at", 0)
        ok = (
            candidate is not None
            and candidate.active
            and not access.is_blocked(candidate)
            and utcnow().timestamp() - login_at < timedelta(days=settings().session_days)
            .total_seconds()
            and not (candidate.refuse_sessions_before
                     and candidate.refuse_sessions_before.timestamp() > login_at)
        )
        if ok:
            user = candidate
        else:
            session.clear()
    g.current_user = user
    return user


def set_current_user(user: User | None) -> None:
    """Used by the API once a token has been checked."""
    g.current_user = user


def login_is_recent() -> bool:
    """Sensitive pages want a login younger than ``admin_session_minutes``."""
    login_at = session.get("login_at", 0)
    return utcnow().timestamp() - login_at < settings().admin_session_minutes * 60


def template_globals() -> dict[str, Any]:
    return {"current_user": current_user(), "instance_name": settings().instance_name}
