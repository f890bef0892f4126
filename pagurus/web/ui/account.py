"""UI pages: login, registration, passwords and user settings.

Views stay thin: read the form, call ``core``, commit, then (only after the
commit) queue any email, and answer with a redirect or the same form showing
what to fix. A refused action changes nothing: the session is rolled back.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, make_response, redirect, render_template, request
from sqlalchemy import select
from werkzeug.wrappers import Response

from pagurus.core import sshkeys as core_sshkeys
from pagurus.core import tokens as core_tokens
from pagurus.core import users as core_users
from pagurus.core.errors import ForgeError, InvalidInput
from pagurus.model import ApiToken, User, UserEmail, utcnow
from pagurus.web import context, csrf
from pagurus.web.ui import helpers
from pagurus.web.ui.helpers import (
    flash_error,
    flash_info,
    flash_success,
    form_failed,
    is_true,
    login_required,
    recent_login_required,
    safe_next,
)

log = logging.getLogger(__name__)

bp = Blueprint("ui_account", __name__)
bp.before_request(csrf.protect)
helpers.register(bp)

REGISTER_FIELDS = {"username": "user", "email": "email_address", "fullname": "fullname"}


# -- small shared pieces -------------------------------------------------------
def _me() -> User:
    user = context.current_user()
    assert user is not None  # guaranteed by login_required
    return user


def queue_email(to: str, subject: str, body: str) -> bool:
    """Queue an email (call after the commit). False if the queue refused it."""
    from pagurus.tasks import mail

    try:
        mail.send_email.delay(to, subject, body)
    except Exception:  # broker down: the action stands, tell the user
        log.exception("could not queue an email to %s", to)
        flash_error("The email could not be queued; try again later.")
        return False
    return True


def _render(template: str, status: int = 200, **values: Any) -> Response:
    resp = make_response(render_template(template, **values), status)
    return resp


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


# -- login / logout ------------------------------------------------------------
@bp.route("/login/", methods=["GET", "POST"])
@bp.route("/dologin", methods=["POST"], endpoint="dologin")
def login() -> Response:
    next_url = safe_next(request.values.get("next_url") or request.args.get("next"), "/")
    if request.method == "GET":
        if context.current_user() is not None:
            return redirect(next_url)
        return _render("account/login.html", next_url=next_url, username="")
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    session = context.db()
    try:
        user = core_users.authenticate(session, username, password)
    except core_users.LoginRefused as exc:
        session.rollback()
        flash_error(exc.message)
        return _render("account/login.html", 401, next_url=next_url, username=username)
    session.commit()  # a transparently upgraded password hash
    context.login(user)
    flash_success(f"Welcome, {user.name}.")
    return redirect(next_url)


@bp.route("/logout/", methods=["GET", "POST"])
def logout() -> Response:
    if request.method == "GET":
        if context.current_user() is None:
            return redirect("/")
        return _render("account/logout.html")
    context.logout()
    flash_info("You are logged out.")
    return redirect("/")


# -- registration --------------------------------------------------------------
@bp.route("/user/new", methods=["GET", "POST"])
def register() -> Response:
    if not context.settings().allow_registration:
        abort(404)
    form = {k: request.form.get(k, "") for k in ("user", "fullname", "email_address")}
    if request.method == "GET":
        return _render("account/register.html", form=form, errors={})
    errors: dict[str, list[str]] = {}
    password = request.form.get("password", "")
    if password != request.form.get("confirm_password", ""):
        errors["confirm_password"] = ["The passwords do not match."]
    session = context.db()
    if not errors:
        try:
            user = core_users.create_user(
                session, form["user"].strip(), form["email_address"].strip(),
                fullname=form["fullname"].strip(), password=password, active=False)
            token = user.confirm_token or ""
            session.commit()
        except ForgeError as exc:
            session.rollback()
            errors = form_failed(exc, REGISTER_FIELDS)
        else:
            link = f"{context.base_url()}/confirm/{token}"
            queue_email(
                user.default_email, f"Confirm your {context.settings().instance_name} account",
                f"Hello {user.name},\n\nYou (or someone else) created an account named "
                f"{user.name!r} on {context.base_url()}.\nTo activate it, open this link:\n\n"
                f"    {link}\n\nIf you did not ask for it, ignore this email.\n")
            flash_success("Account created. Open the link sent to your email address "
                          "to activate it, then log in.")
            return redirect("/login/")
    return _render("account/register.html", 400, form=form, errors=errors)


@bp.route("/confirm/<token>")
def confirm(token: str) -> Response:
    session = context.db()
    try:
        user = core_users.confirm_account(session, token)
        session.commit()
    except ForgeError as exc:
        session.rollback()
        flash_error(exc.message or "Invalid confirmation link.")
        return redirect("/login/")
    flash_success(f"Account {user.name} confirmed: you can log in now.")
    return redirect("/login/")


# -- passwords -----------------------------------------------------------------
@bp.route("/password/lost", methods=["GET", "POST"])
def password_lost() -> Response:
    if request.method == "GET":
        return _render("account/password_lost.html", username="")
    username = request.form.get("username", "").strip()
    session = context.db()
    started = None
    try:
        started = core_users.start_password_reset(session, username)
        session.commit()
    except ForgeError:  # asked less than 3 minutes ago: say nothing different
        session.rollback()
    if started is not None:
        user, token = started
        link = f"{context.base_url()}/password/reset/{token}"
        queue_email(
            user.default_email, f"Reset your {context.settings().instance_name} password",
            f"Hello {user.name},\n\nSomeone asked to reset the password of your account "
            f"on {context.base_url()}.\nTo choose a new password, open this link:\n\n"
            f"    {link}\n\nIf you did not ask for it, ignore this email.\n")
    flash_info("If this account exists, an email with a link to reset its password is "
               "on its way (at most one every 3 minutes).")
    return redirect("/login/")


def _reset_user(token: str) -> User | None:
    if not token:
        return None
    return context.db().scalar(select(User).where(User.reset_token == token))


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def password_reset(token: str) -> Response:
    if _reset_user(token) is None:
        flash_error("This reset link is invalid or was already used.")
        return redirect("/password/lost")
    if request.method == "GET":
        return _render("account/password_reset.html", token=token, errors={})
    password = request.form.get("password", "")
    if password != request.form.get("confirm_password", ""):
        return _render("account/password_reset.html", 400, token=token,
                       errors={"confirm_password": ["The passwords do not match."]})
    session = context.db()
    try:
        core_users.finish_password_reset(session, token, password)
        session.commit()
    except ForgeError as exc:
        session.rollback()
        return _render("account/password_reset.html", 400, token=token,
                       errors=form_failed(exc))
    context.logout()
    flash_success("Password changed: log in with the new one.")
    return redirect("/login/")


@bp.route("/password/change", methods=["GET", "POST"])
@login_required
def password_change() -> Response:
    if request.method == "GET":
        return _render("account/password_change.html", errors={})
    user = _me()
    errors: dict[str, list[str]] = {}
    password = request.form.get("password", "")
    if not core_users.check_password(user, request.form.get("old_password", "")):
        errors["old_password"] = ["This is not your current password."]
    if password != request.form.get("confirm_password", ""):
        errors["confirm_password"] = ["The passwords do not match."]
    session = context.db()
    if not errors:
        try:
            core_users.set_password(user, password)
            session.commit()
        except ForgeError as exc:
            session.rollback()
            errors = form_failed(exc)
    if errors:
        return _render("account/password_change.html", 400, errors=errors)
    context.login(user)  # other sessions end; this one goes on
    flash_success("Password changed. Your other sessions were logged out.")
    return redirect("/settings")


# -- settings ------------------------------------------------------------------
def _user_level_tokens(user: User) -> list[ApiToken]:
    return [t for t in core_tokens.user_tokens(context.db(), user) if t.project_id is None]


def _settings_page(status: int = 200, errors: dict[str, list[str]] | None = None,
                   values: dict[str, str] | None = None) -> Response:
    user = _me()
    session = context.db()
    return _render(
        "account/settings.html", status,
        user=user,
        emails=sorted(user.emails, key=lambda e: (e.email != user.default_email, e.email)),
        keys=core_sshkeys.user_keys(session, user),
        tokens=_user_level_tokens(user),
        now=utcnow(),
        acl_help=core_tokens.ACLS,
        errors=errors or {},
        values=values or {},
    )


@bp.route("/settings", methods=["GET", "POST"])
@bp.route("/settings/", methods=["GET", "POST"])
@recent_login_required
def settings_page() -> Response:
    if request.method == "GET":
        return _settings_page()
    user = _me()
    fullname = request.form.get("fullname", "")
    try:
        core_users.set_fullname(user, fullname)
    except InvalidInput as exc:
        return _settings_page(400, exc.errors, {"fullname": fullname})
    context.db().commit()
    flash_success("Profile updated.")
    return redirect("/settings")


@bp.route("/settings/usersettings", methods=["POST"])
@recent_login_required
def user_preferences() -> Response:
    user = _me()
    prefs = dict(user.settings or {})
    prefs["cc_me_to_my_actions"] = is_true(request.form.get("cc_me_to_my_actions"))
    user.settings = prefs
    context.db().commit()
    flash_success("Preferences saved.")
    return redirect("/settings#preferences")


@bp.route("/settings/forcelogout", methods=["POST"])
@recent_login_required
def force_logout() -> Response:
    user = _me()
    user.refuse_sessions_before = utcnow()
    context.db().commit()
    context.logout()
    flash_success("All your sessions, this one included, are logged out.")
    return redirect("/login/")


# -- emails --------------------------------------------------------------------
def _send_email_check(address: str, token: str) -> None:
    link = f"{context.base_url()}/settings/email/confirm/{token}"
    queue_email(
        address, f"Confirm your email address on {context.settings().instance_name}",
        f"Hello,\n\nThe account {_me().name!r} on {context.base_url()} wants to add this "
        f"email address.\nTo confirm it, open this link (while logged in):\n\n    {link}\n\n"
        "If you did not ask for it, ignore this email.\n")


@bp.route("/settings/email/add", methods=["GET", "POST"])
@recent_login_required
def email_add() -> Response:
    if request.method == "GET":
        return _render("account/email_add.html", email="", errors={})
    address = request.form.get("email", "").strip()
    session = context.db()
    try:
        row = core_users.add_email(session, _me(), address)
        token = row.confirm_token or ""
        address = row.email
        session.commit()
    except ForgeError as exc:
        session.rollback()
        return _render("account/email_add.html", 400, email=address, errors=form_failed(exc))
    _send_email_check(address, token)
    flash_success(f"Email {address} added: open the link sent to it to confirm it.")
    return redirect("/settings#emails")


@bp.route("/settings/email/confirm/<token>")
@login_required
def email_confirm(token: str) -> Response:
    session = context.db()
    row = session.scalar(select(UserEmail).where(UserEmail.confirm_token == token,
                                                 UserEmail.user_id == _me().id))
    if row is None:
        flash_error("This confirmation link is invalid or belongs to another account.")
        return redirect("/settings#emails")
    core_users.confirm_email(session, token)
    session.commit()
    flash_success(f"Email {row.email} confirmed.")
    return redirect("/settings#emails")


def _email_action(action: str) -> Response:
    user = _me()
    address = request.form.get("email", "").strip()
    session = context.db()
    try:
        if action == "drop":
            core_users.drop_email(session, user, address)
            done = f"Email {address} removed."
        elif action == "default":
            core_users.set_default_email(user, address)
            done = f"Default email set to {address}."
        else:
            row = next((e for e in user.emails if e.email.lower() == address.lower()), None)
            if row is None:
                abort(404)
            if row.verified or not row.confirm_token:
                flash_info(f"Email {row.email} is already confirmed.")
                return redirect("/settings#emails")
            _send_email_check(row.email, row.confirm_token)
            flash_success(f"Confirmation email sent again to {row.email}.")
            return redirect("/settings#emails")
        session.commit()
    except ForgeError as exc:
        session.rollback()
        flash_error(exc.message)
        return redirect("/settings#emails")
    flash_success(done)
    return redirect("/settings#emails")


@bp.route("/settings/email/drop", methods=["POST"])
@recent_login_required
def email_drop() -> Response:
    return _email_action("drop")


@bp.route("/settings/email/default", methods=["POST"])
@recent_login_required
def email_default() -> Response:
    return _email_action("default")


@bp.route("/settings/email/resend", methods=["POST"])
@recent_login_required
def email_resend() -> Response:
    return _email_action("resend")


# -- API tokens ----------------------------------------------------------------
def _token_form(status: int = 200, errors: dict[str, list[str]] | None = None,
                description: str = "", days: str = "", acls: list[str] | None = None
                ) -> Response:
    settings = context.settings()
    return _render(
        "account/token_new.html", status,
        acl_choices=[(a, core_tokens.ACLS[a]) for a in core_tokens.CROSS_PROJECT_ACLS],
        description=description, days=days or str(settings.token_default_days),
        max_days=settings.token_max_days, chosen=acls or [], errors=errors or {},
    )


def _token_created(raw: str, row: ApiToken) -> Response:
    resp = _render("account/token_created.html", raw=raw, token=row)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/settings/token/new", methods=["GET", "POST"])
@recent_login_required
def token_new() -> Response:
    if request.method == "GET":
        return _token_form()
    description = request.form.get("description", "").strip()
    days_text = request.form.get("expiration_days", "").strip()
    acls = request.form.getlist("acls")
    errors: dict[str, list[str]] = {}
    days = _int(days_text)
    max_days = context.settings().token_max_days
    if days is None or not 1 <= days <= max_days:
        errors["expiration_days"] = [f"A whole number of days from 1 to {max_days}."]
    if any(ord(c) < 32 for c in description):
        errors["description"] = ["Control characters are refused."]
    session = context.db()
    if not errors:
        try:
            raw, row = core_tokens.create_token(
                session, _me(), acls, days=days or 0, max_days=max_days,
                description=description, allowed=core_tokens.CROSS_PROJECT_ACLS)
            session.commit()
        except ForgeError as exc:
            session.rollback()
            errors = form_failed(exc)
        else:
            return _token_created(raw, row)
    return _token_form(400, errors, description, days_text, acls)


def _own_token(token_id: int) -> ApiToken:
    row = context.db().get(ApiToken, token_id)
    if row is None or row.user_id != _me().id or row.project_id is not None:
        abort(404)
    return row


@bp.route("/settings/token/revoke/<int:token_id>", methods=["POST"])
@recent_login_required
def token_revoke(token_id: int) -> Response:
    row = _own_token(token_id)
    core_tokens.expire(row)
    context.db().commit()
    flash_success(f"Token {row.prefix}… revoked.")
    return redirect("/settings#tokens")


@bp.route("/settings/token/renew/<int:token_id>", methods=["POST"])
@recent_login_required
def token_renew(token_id: int) -> Response:
    old = _own_token(token_id)
    session = context.db()
    try:
        raw, row = core_tokens.create_token(
            session, _me(), list(old.acls or []), days=context.settings().token_default_days,
            max_days=context.settings().token_max_days, description=old.description,
            allowed=core_tokens.USER_ACLS)
        session.commit()
    except ForgeError as exc:
        session.rollback()
        flash_error(exc.message)
        return redirect("/settings#tokens")
    return _token_created(raw, row)


# -- SSH keys ------------------------------------------------------------------
@bp.route("/settings/usersettings/addkey", methods=["POST"])
@recent_login_required
def key_add() -> Response:
    text = request.form.get("ssh_key", "")
    session = context.db()
    try:
        row = core_sshkeys.add_user_key(session, _me(), text)
        fingerprint = row.fingerprint
        session.commit()
    except ForgeError as exc:
        session.rollback()
        return _settings_page(400, form_failed(exc), {"ssh_key": text[:20000]})
    flash_success(f"SSH key {fingerprint} added.")
    return redirect("/settings#keys")


@bp.route("/settings/usersettings/removekey/<int:key_id>", methods=["POST"])
@recent_login_required
def key_remove(key_id: int) -> Response:
    session = context.db()
    try:
        core_sshkeys.remove_key(session, _me(), key_id)
        session.commit()
    except ForgeError:
        session.rollback()
        abort(404)
    flash_success("SSH key removed.")
    return redirect("/settings#keys")
