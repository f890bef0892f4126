"""Queueing repository work and, when the client asks, waiting for it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pagurus.core import projects as core_projects
from pagurus.model import Project
from pagurus.tasks.status import wait_for
from pagurus.web import context
from pagurus.web.api.errors import ApiError

log = logging.getLogger(__name__)


def queue(project: Project, send: Callable[[], Any]) -> str:
    """Queue the task for a just-committed project row; if the broker refuses,
    remove the row again so nothing half-made stays behind."""
    try:
        return send().id
    except Exception:
        log.exception("queueing work for %s failed", project.fullname)
        session = context.db()
        session.rollback()
        row = session.get(Project, project.id)
        if row is not None:
            core_projects.delete_row(session, row, context.current_user())
            session.commit()
        raise ApiError("ENOCODE", message="The task queue is unavailable; nothing was "
                                          "created, try again later", status=503) from None


def wait(task_id: str) -> tuple[bool, Any]:
    """(finished, result). A task that fails re-raises its error; one that takes
    longer than ``task_wait_seconds`` is reported as not finished."""
    try:
        return True, wait_for(task_id, context.settings().task_wait_seconds)
    except TimeoutError:
        return False, None
