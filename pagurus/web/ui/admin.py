"""UI pages: site administration (users: list, block/unblock, create).

Only site admins see these pages; to everyone else they do not exist (404).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time

from flask import Blueprint, abort, make_response, redirect, render_template, request
from werkzeug.wrappers import Response

from pagurus.core import access
from pagurus.core import users as core_users
from pagurus.core.errors import ForgeError
from pagurus.model import User, utcnow
from pagurus.web import context, csrf
from pagurus.web.ui.helpers import (
    admin_required,
    flash_error,
    flash_success,
    form_failed,
    is_true,
    recent_login_required,
)

bp = Blueprint("ui_admin", __name__)
bp.before_request(csrf.protect)

NEW_USER_FIELDS = {"username": "user", "email": "email_address"}


def _page_number() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def _admin_page(status: int = 200, errors: dict[str, list[str]] | None = None,
                form: dict[str, str] | None = None) -> Response:
    pattern = request.args.get("q", "").strip()[:64]
    users = core_users.list_users(context.db(), pattern or None)
    per_page = max(1, context.settings().items_per_page)
    pages = max(1, math.ceil(len(users) / per_page))
    page = min(_page_number(), pages)

    def url_for_page(number: int) -> str:
        from urllib.parse import urlencode

        args = {"page": str(number)}
        if pattern:
            args["q"] = pattern
        return "/admin?" + urlencode(args)

    return make_response(render_template(
        "admin/index.html",
        users=users[(page - 1) * per_page: page * per_page],
        total=len(users), page=page, pages=pages, url_for_page=url_for_page,
        pattern=pattern, now=utcnow(), today=date.today().isoformat(),
        errors=errors or {}, form=form or {},
        is_blocked=access.is_blocked,
    ), status)


@bp.route("/admin")
@bp.route("/admin/")
@admin_required
@recent_login_required
def index() -> Response:
    return _admin_page()


def _target(name: str) -> User:
    user = core_users.get_user(context.db(), name)
    if user is None:
        abort(404)
    return user


def _parse_until(text: str) -> datetime | None:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return None
    return datetime.combine(day, time.min, tzinfo=UTC)


@bp.route("/admin/users/<name>/block", methods=["POST"])
@admin_required
@recent_login_required
def block(name: str) -> Response:
    user = _target(name)
    me = context.current_user()
    until = _parse_until(request.form.get("until", ""))
    if me is not None and user.id == me.id:
        flash_error("You cannot block yourself.")
    elif until is None:
        flash_error("Give the date (YYYY-MM-DD) until which the user is blocked.")
    elif until <= utcnow():
        flash_error("The block must end at a future date.")
    else:
        core_users.block_user(user, until)
        context.db().commit()
        flash_success(f"User {user.name} is blocked until {until:%Y-%m-%d}; "
                      "their sessions and tokens no longer work.")
    return redirect("/admin")


@bp.route("/admin/users/<name>/unblock", methods=["POST"])
@admin_required
@recent_login_required
def unblock(name: str) -> Response:
    user = _target(name)
    core_users.block_user(user, None)
    context.db().commit()
    flash_success(f"User {user.name} is no longer blocked.")
    return redirect("/admin")


@bp.route("/admin/users/new", methods=["POST"])
@admin_required
@recent_login_required
def new_user() -> Response:
    form = {k: request.form.get(k, "").strip() for k in ("user", "fullname", "email_address")}
    password = request.form.get("password", "")
    session = context.db()
    try:
        user = core_users.create_user(
            session, form["user"], form["email_address"], fullname=form["fullname"],
            password=password or None, is_admin=is_true(request.form.get("is_admin")),
            active=True)
        session.commit()
    except ForgeError as exc:
        session.rollback()
        return _admin_page(400, form_failed(exc, NEW_USER_FIELDS), form)
    note = "" if password else " Without a password, they log in after a password reset."
    flash_success(f"User {user.name} created.{note}")
    return redirect("/admin")
