"""Reading the state of a queued task (API ``/task/<id>/status``, UI wait page)."""

from __future__ import annotations

from typing import Any

from celery import states
from celery.result import AsyncResult

from pagurus.tasks.app import celery_app


def task_status(task_id: str) -> dict[str, Any]:
    """``ready``, ``status`` (Celery state) and, once ready, ``successful`` and ``result``."""
    res = AsyncResult(task_id, app=celery_app)
    # one read of the state: ready() and successful() would each read the
    # backend again and could see a later state than ``status`` shows
    state = res.state
    data: dict[str, Any] = {"ready": state in states.READY_STATES, "status": state}
    if data["ready"]:
        data["successful"] = state == states.SUCCESS
        data["result"] = res.result if state == states.SUCCESS else str(res.result)
    return data


def wait_for(task_id: str, timeout: float) -> Any:
    """Block until the task ends; re-raises its error, TimeoutError after ``timeout``."""
    from celery.exceptions import TimeoutError as CeleryTimeout

    res = AsyncResult(task_id, app=celery_app)
    try:
        return res.get(timeout=timeout, interval=0.05, propagate=True)
    except CeleryTimeout as exc:
        raise TimeoutError(f"task {task_id} did not finish in {timeout} s") from exc
