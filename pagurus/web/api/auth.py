"""Who is calling the API (spec §1.3), and the project a call is about.

A call authenticates with ``Authorization: token <TOKEN>`` or with the
browser session of a logged-in user. A session never authenticates a
state-changing call without a valid ``X-CSRFToken`` header: a page on another
site cannot use a visitor's session to drive the API.

Modes, as declared by each route:

* ``none`` — anonymous allowed; a valid token or session only widens what is
  visible, an invalid token is ignored (Pagure parses no token there);
* ``optional`` — anonymous allowed, but a token that is sent must be valid;
* ``token`` — a valid token holding at least one of the route's ACLs, or a session;
* ``any-token`` — any valid token, or a session.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, request

from pagurus.core import access
from pagurus.core import projects as core_projects
from pagurus.core import tokens as core_tokens
from pagurus.model import ApiToken, Project, User
from pagurus.web import context, csrf
from pagurus.web.api.errors import ApiError

MODES = ("none", "optional", "token", "any-token")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Caller:
    """The authenticated user (if any) and how they authenticated."""

    user: User | None = None
    token: ApiToken | None = None
    via_session: bool = False

    @property
    def authenticated(self) -> bool:
        return self.user is not None


def token_from_header() -> str | None:
    """What follows the first ``token`` in the Authorization header, stripped;
    None when the header is absent or blank."""
    header = request.headers.get("Authorization", "")
    if not header.strip():
        return None
    if "token" in header:
        return header.split("token", 1)[1].strip()
    return header.strip()


def authenticate(mode: str, acls: tuple[str, ...] = ()) -> Caller:
    """The caller of this request, or ApiError(EINVALIDTOK) per the route's mode."""
    raw = token_from_header()
    if raw is not None:
        if mode == "none":
            try:
                token = core_tokens.authenticate(context.db(), raw)
            except core_tokens.TokenRefused:
                return Caller()
        else:
            token = core_tokens.authenticate(context.db(), raw)
            if mode == "token":
                missing = access.token_missing_acls(token, acls)
                if missing:
                    raise ApiError("EINVALIDTOK", errors=f"Missing ACLs: {', '.join(missing)}")
        context.set_current_user(token.user)
        return Caller(user=token.user, token=token)
    user = context.current_user()
    if user is not None:
        if request.method not in SAFE_METHODS and not csrf.is_valid():
            if mode == "none":
                return Caller()
            raise ApiError("EINVALIDTOK", errors="Calls made with a browser session need a "
                                                 f"valid {csrf.HEADER} header")
        return Caller(user=user, via_session=True)
    if mode in ("token", "any-token"):
        raise ApiError("EINVALIDTOK")
    return Caller()


def current() -> Caller:
    return g.get("api_caller") or Caller()


def load_project(caller: Caller, repo: str, namespace: str | None, username: str | None,
                 *, mode: str, project_token_only: bool = False) -> Project:
    """The project named by the URL, checked against the caller.

    Invisible and unknown projects give the same 404. A token bound to another
    project is refused on calls that need a token, and reads nothing private
    elsewhere. A user blocked on the project may not change anything there."""
    session = context.db()
    token = caller.token
    viewer = caller.user
    if token is not None and mode in ("none", "optional"):
        project = core_projects.get_project(session, repo, namespace, username)
        if project is not None and not access.token_fits_project(token, project):
            viewer = None
    project = core_projects.find_visible(session, viewer, repo, namespace, username)
    if token is not None and mode in ("token", "any-token"):
        if not access.token_fits_project(token, project):
            raise ApiError("EINVALIDTOK", errors="This token is bound to another project")
        if project_token_only and token.project_id is None:
            raise ApiError("EINVALIDTOK",
                           errors="This call needs a token bound to this project")
    if (request.method not in SAFE_METHODS and caller.user is not None
            and access.is_blocked_on(caller.user, project)):
        raise ApiError("EUBLOCKED")
    return project


def require_user(caller: Caller) -> User:
    """The authenticated user (routes in token modes always have one)."""
    if caller.user is None:
        raise ApiError("EINVALIDTOK")
    return caller.user
