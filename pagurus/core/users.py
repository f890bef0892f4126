"""Accounts: creation, passwords (argon2), emails, blocking."""

from __future__ import annotations

import secrets
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from pagurus.core import activity
from pagurus.core.errors import Conflict, ForgeError, InvalidInput, NotFound
from pagurus.core.names import glob_to_like, validate_email, validate_username
from pagurus.model import User, UserEmail, utcnow

_hasher = PasswordHasher()


def use_hasher(hasher: PasswordHasher) -> None:
    """Swap the argon2 parameters (tests use cheap ones; production keeps the defaults)."""
    global _hasher
    _hasher = hasher
PASSWORD_MIN = 8
PASSWORD_MAX = 1024
FULLNAME_MAX = 255


class LoginRefused(ForgeError):
    code = "ELOGIN"
    status = 401


def hash_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < PASSWORD_MIN:
        raise InvalidInput(
            "Password too short",
            errors={"password": [f"At least {PASSWORD_MIN} characters."]},
        )
    if len(password) > PASSWORD_MAX:
        raise InvalidInput("Password too long", errors={"password": ["Too long."]})
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    if not user.password_hash or not isinstance(password, str):
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def get_user(session: Session, name: str) -> User | None:
    if not isinstance(name, str) or not name:
        return None
    return session.scalar(select(User).where(func.lower(User.name) == name.lower()))


def require_user(session: Session, name: str) -> User:
    user = get_user(session, name)
    if user is None:
        raise NotFound("No such user found", code="ENOUSER")
    return user


def user_by_email(session: Session, email: str) -> User | None:
    row = session.scalar(select(UserEmail).where(func.lower(UserEmail.email) == email.lower()))
    return row.user if row else None


def check_fullname(fullname: str | None) -> str:
    """Full names are free text, but bounded and without control characters."""
    fullname = (fullname or "").strip()
    if len(fullname) > FULLNAME_MAX:
        raise InvalidInput("Invalid full name",
                           errors={"fullname": [f"At most {FULLNAME_MAX} characters."]})
    if any(ord(c) < 32 or ord(c) == 127 for c in fullname):
        raise InvalidInput("Invalid full name",
                           errors={"fullname": ["Control characters are refused."]})
    return fullname


def set_fullname(user: User, fullname: str) -> None:
    user.fullname = check_fullname(fullname)


def create_user(
    session: Session,
    name: str,
    email: str,
    *,
    fullname: str = "",
    password: str | None = None,
    is_admin: bool = False,
    active: bool = True,
) -> User:
    """Add an account. Inactive accounts get a confirmation token to activate."""
    name = validate_username(name)
    email = validate_email(email)
    fullname = check_fullname(fullname)
    if get_user(session, name) is not None:
        raise Conflict(f"User {name!r} already exists", errors={"username": ["Already taken."]})
    if user_by_email(session, email) is not None:
        raise Conflict("Email address already in use", errors={"email": ["Already in use."]})
    user = User(
        name=name,
        fullname=fullname or "",
        default_email=email,
        password_hash=hash_password(password) if password is not None else None,
        is_admin=is_admin,
        active=active,
        confirm_token=None if active else secrets.token_urlsafe(30),
        settings={"cc_me_to_my_actions": False},
    )
    user.emails.append(UserEmail(email=email, verified=active))
    session.add(user)
    session.flush()
    if active:
        activity.reattribute(session, user, email)
    return user


def confirm_account(session: Session, token: str) -> User:
    user = session.scalar(select(User).where(User.confirm_token == token)) if token else None
    if user is None:
        raise NotFound("No user associated with this token", code="ENOUSER")
    user.active = True
    user.confirm_token = None
    for em in user.emails:
        if em.email == user.default_email:
            em.verified = True
            activity.reattribute(session, user, em.email)
    return user


def authenticate(session: Session, name: str, password: str) -> User:
    """The user for these credentials, or LoginRefused with a reason safe to show."""
    user = get_user(session, name) if isinstance(name, str) else None
    if user is None or not check_password(user, password):
        raise LoginRefused("Username or password invalid.")
    if not user.active:
        raise LoginRefused("Account not yet confirmed: follow the link sent by email.")
    if user.blocked_until and user.blocked_until > utcnow():
        raise LoginRefused("This account is blocked.")
    if _hasher.check_needs_rehash(user.password_hash or ""):
        user.password_hash = _hasher.hash(password)
    return user


def set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.reset_token = None
    user.refuse_sessions_before = utcnow()


def start_password_reset(session: Session, name: str) -> tuple[User, str] | None:
    """A fresh reset token, at most one per 3 minutes; None for unknown users."""
    user = get_user(session, name)
    if user is None:
        return None
    now = utcnow()
    if user.reset_requested_at and (now - user.reset_requested_at).total_seconds() < 180:
        raise InvalidInput("A reset was requested less than 3 minutes ago; check your email.")
    user.reset_token = secrets.token_urlsafe(30)
    user.reset_requested_at = now
    return user, user.reset_token


def finish_password_reset(session: Session, token: str, password: str) -> User:
    user = session.scalar(select(User).where(User.reset_token == token)) if token else None
    if user is None:
        raise NotFound("Invalid or used reset link", code="ENOUSER")
    set_password(user, password)
    return user


def block_user(user: User, until: datetime | None) -> None:
    """Block until ``until`` (None unblocks); existing sessions die at once."""
    user.blocked_until = until
    if until is not None:
        user.refuse_sessions_before = utcnow()


def add_email(session: Session, user: User, email: str) -> UserEmail:
    email = validate_email(email)
    if user_by_email(session, email) is not None:
        raise Conflict("Email address already in use", errors={"email": ["Already in use."]})
    row = UserEmail(email=email, verified=False, confirm_token=secrets.token_urlsafe(30))
    user.emails.append(row)
    session.flush()
    return row


def confirm_email(session: Session, token: str) -> UserEmail:
    stmt = select(UserEmail).where(UserEmail.confirm_token == token)
    row = session.scalar(stmt) if token else None
    if row is None:
        raise NotFound("No email associated with this token", code="ENOUSER")
    row.verified = True
    row.confirm_token = None
    activity.reattribute(session, row.user, row.email)
    return row


def _own_email(user: User, email: str) -> UserEmail:
    for row in user.emails:
        if row.email.lower() == (email or "").lower():
            return row
    raise NotFound("You do not have this email address", code="ENOUSER")


def set_default_email(user: User, email: str) -> None:
    row = _own_email(user, email)
    if not row.verified:
        raise InvalidInput("Confirm this email address before making it the default")
    user.default_email = row.email


def drop_email(session: Session, user: User, email: str) -> None:
    row = _own_email(user, email)
    if len(user.emails) <= 1:
        raise InvalidInput("You must keep at least one email address")
    if row.email == user.default_email:
        raise InvalidInput("You cannot remove your default email address")
    user.emails.remove(row)
    session.delete(row)


def users_query(pattern: str | None = None) -> Select[tuple[User]]:
    """Users whose name starts with ``pattern`` (``*`` wildcards), by name."""
    stmt = select(User).order_by(func.lower(User.name))
    if pattern:
        stmt = stmt.where(User.name.ilike(glob_to_like(pattern, prefix=True), escape="\\"))
    return stmt


def list_users(session: Session, pattern: str | None = None) -> list[User]:
    return list(session.scalars(users_query(pattern)))
