"""The Celery application, configured from Pagurus settings.

Embedded default: the filesystem transport under ``<data>/celery`` and file
results; with ``redis_url`` (or ``broker_url``) the same tasks run on Redis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from celery import Celery
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from pagurus.config import Settings, ensure_data_dir
from pagurus.db import make_engine, make_sessionmaker

celery_app = Celery("pagurus", include=["pagurus.tasks.projects", "pagurus.tasks.mail",
                                         "pagurus.tasks.pulls", "pagurus.tasks.webhooks"])


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]


_runtime: Runtime | None = None


def celery_config(settings: Settings) -> dict[str, Any]:
    conf: dict[str, Any] = {
        "broker_url": settings.celery_broker,
        "result_backend": settings.celery_backend,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_track_started": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "result_expires": 7 * 24 * 3600,
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
        "task_default_queue": "pagurus",
    }
    if settings.celery_broker.startswith("filesystem"):
        queue = settings.data_dir / "celery" / "queue"
        processed = settings.data_dir / "celery" / "processed"
        queue.mkdir(parents=True, exist_ok=True)
        processed.mkdir(parents=True, exist_ok=True)
        (settings.data_dir / "celery" / "results").mkdir(parents=True, exist_ok=True)
        conf["broker_transport"] = "pagurus.tasks.fstransport:Transport"
        conf["broker_transport_options"] = {
            "data_folder_in": str(queue),
            "data_folder_out": str(queue),
            "processed_folder": str(processed),
            # pidbox/broadcast exchanges; kombu's default is ./control in the cwd
            "control_folder": str(settings.data_dir / "celery" / "control"),
            "store_processed": False,
            "polling_interval": 0.1,
        }
    return conf


def configure(settings: Settings) -> Celery:
    """Point the Celery app (and the tasks' DB access) at ``settings``."""
    global _runtime
    settings = ensure_data_dir(settings)
    if _runtime is not None:
        _runtime.engine.dispose()
    engine = make_engine(settings.sqlalchemy_url)
    _runtime = Runtime(settings=settings, engine=engine, sessions=make_sessionmaker(engine))
    celery_app.conf.update(celery_config(settings))
    return celery_app


def runtime() -> Runtime:
    """Settings and DB access for code running inside a task."""
    if _runtime is None:
        from pagurus import config

        configure(config.load())
    assert _runtime is not None
    return _runtime
