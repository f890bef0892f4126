"""Server-rendered pages: every blueprint checks CSRF on state changes."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, make_response, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

MESSAGES = {
    400: "The request could not be understood.",
    403: "You are not allowed to do this.",
    404: "There is nothing here, or you may not see it.",
    405: "This page does not accept that kind of request.",
    413: "What you sent is too large.",
}


def error_page(exc: Exception) -> Any:
    """A styled error page; the same 404 whether a thing is missing or hidden."""
    if isinstance(exc, HTTPException) and exc.code is not None and exc.code < 400:
        return exc
    if not isinstance(exc, HTTPException):
        current_app.logger.exception("error on %s %s", request.method, request.path)
        exc = InternalServerError()
    status = exc.code or 500
    # our own aborts carry a useful description (e.g. the CSRF one); werkzeug's
    # defaults are replaced with plainer words
    default = type(exc).description
    detail = exc.description if exc.description and exc.description != default else \
        MESSAGES.get(status, "Something went wrong on our side; it has been logged.")
    resp = make_response(render_template("errors.html", status=status, title=exc.name,
                                         detail=detail), status)
    for name, value in exc.get_response().headers.items():  # e.g. Allow on a 405
        if name.lower() not in ("content-type", "content-length"):
            resp.headers[name] = value
    return resp


def register(app: Flask) -> None:
    """Attach the UI blueprints; project routes go last since ``/<repo>`` catches much."""
    from pagurus.web.ui import (
        about,
        account,
        admin,
        attachments,
        browse,
        commits,
        edit,
        pages,
        project,
    )
    from pagurus.web.ui import boards as board_pages
    from pagurus.web.ui import issue_lists as issue_list_pages
    from pagurus.web.ui import issue_settings as tracker_settings
    from pagurus.web.ui import issues as issue_pages
    from pagurus.web.ui import plugin_settings as hook_pages
    from pagurus.web.ui import project_activity as activity_pages
    from pagurus.web.ui import pull_lists as pull_list_pages
    from pagurus.web.ui import pulls as pull_pages
    from pagurus.web.ui import releases as release_pages
    from pagurus.web.ui import webhooks as webhook_pages

    for module in (about, account, admin, pages, browse, commits, edit, attachments, issue_pages,
                   board_pages, tracker_settings, issue_list_pages, pull_pages,
                   pull_list_pages, release_pages, activity_pages, hook_pages, webhook_pages,
                   project):
        app.register_blueprint(module.bp)
    app.register_error_handler(HTTPException, error_page)
    app.register_error_handler(Exception, error_page)
