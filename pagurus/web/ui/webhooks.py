"""Web-hooks of a project: the delivery log (``{P}/settings/webhooks``), the
settings page's test button (``{P}/settings/test_hook``) and redelivery.

Project admins only, with a recent login, like every settings page; everyone
else gets the project's 404. The rules live in ``core.webhooks``; the POSTs
are made by the worker (``tasks.webhooks``), never by the web process.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template
from werkzeug.wrappers import Response

from pagurus.core import webhooks as core_webhooks
from pagurus.core.errors import ForgeError
from pagurus.model import Project
from pagurus.web import csrf
from pagurus.web.context import base_url, current_user, db
from pagurus.web.routes import project_route
from pagurus.web.ui.helpers import (
    flash_error,
    flash_forge_error,
    flash_success,
    recent_login_required,
)
from pagurus.web.ui.project import _admin_project, _gate, header_context, project_url

bp = Blueprint("ui_webhooks", __name__)
bp.before_request(csrf.protect)


def _gated(repo: str, namespace: str | None, username: str | None) -> Project | Response:
    project = _admin_project(repo, namespace, username)
    refused = _gate(recent_login_required)
    return refused if refused is not None else project


def _log_url(project: Project) -> str:
    return project_url(project, "/settings/webhooks")


@project_route(bp, "/settings/webhooks")
@project_route(bp, "/settings/webhooks/", endpoint="webhook_log_slash")
def webhook_log(repo: str, namespace: str | None = None, username: str | None = None) -> Any:
    """The newest deliveries: topic, URL, status, answer, attempts, time, error."""
    found = _gated(repo, namespace, username)
    if isinstance(found, Response):
        return found
    project = found
    deliveries = core_webhooks.recent(db(), current_user(), project)
    return render_template("webhooks/log.html", deliveries=deliveries,
                           urls=core_webhooks.urls_of(project),
                           log_size=core_webhooks.LOG_SIZE,
                           **header_context(project, "settings"))


def _queue(ids: list[int]) -> bool:
    from kombu.exceptions import KombuError

    from pagurus.tasks import webhooks as webhook_tasks

    try:
        webhook_tasks.queue(ids)
    except (KombuError, OSError):
        # the rows are pending: the dispatcher's upkeep queues them later
        flash_error("The worker queue is not reachable; the notification will be sent later")
        return False
    return True


@project_route(bp, "/settings/test_hook", methods=["POST"])
def test_hook(repo: str, namespace: str | None = None, username: str | None = None) -> Any:
    """Send a ``Test.notification`` to every saved web-hook URL."""
    found = _gated(repo, namespace, username)
    if isinstance(found, Response):
        return found
    project = found
    try:
        rows = core_webhooks.queue_test(db(), current_user(), project, base_url())
        ids = [r.id for r in rows]
        db().commit()
    except ForgeError as exc:
        db().rollback()
        flash_forge_error(exc)
        return redirect(project_url(project, "/settings"))
    if not ids:
        flash_error("No web-hook URL is set: add one in the project options first")
        return redirect(project_url(project, "/settings#options"))
    if _queue(ids):
        flash_success("Notification triggered")
    return redirect(_log_url(project))


@project_route(bp, "/settings/webhooks/<int:delivery_id>/redeliver", methods=["POST"])
def redeliver(repo: str, delivery_id: int, namespace: str | None = None,
              username: str | None = None) -> Any:
    """Send a logged delivery again (same URL, same body) as a new delivery."""
    found = _gated(repo, namespace, username)
    if isinstance(found, Response):
        return found
    project = found
    try:
        row = core_webhooks.redeliver(db(), current_user(), project, delivery_id)
        new_id = row.id
        db().commit()
    except ForgeError as exc:
        db().rollback()
        if exc.status == 404:
            abort(404)
        flash_forge_error(exc)
        return redirect(_log_url(project))
    if _queue([new_id]):
        flash_success("Delivery queued again")
    return redirect(_log_url(project))
