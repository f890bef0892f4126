"""Shared fixtures: a real database (SQLite, or PostgreSQL when
PAGURUS_TEST_DATABASE_URL is set), a real Celery worker thread on the
filesystem broker (or Redis when PAGURUS_TEST_REDIS_URL is set), and the app.

One instance serves the whole run; tests make their own uniquely named users
and projects so they never depend on each other.
"""

from __future__ import annotations

import email
import email.policy
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from pagurus import config, db
from pagurus.core import tokens as core_tokens
from pagurus.core import users as core_users
from pagurus.model import ApiToken, Project, User

PASSWORD = "correct horse battery"

# argon2 at its production cost takes ~80 ms a hash; the suite makes hundreds of users
core_users.use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def unique(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database for this run: SQLite file, or a new PostgreSQL database."""
    server = os.environ.get("PAGURUS_TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
        return
    url = make_url(server)
    name = f"pagurus_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
            ), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


class Mailbox:
    """Messages received by the test SMTP server, as ``email.message.Message``."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self._cond = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._cond:
            self.messages.append(msg)
            self._cond.notify_all()
        return "250 OK"

    def wait_for(self, predicate: Callable[[Any], bool], timeout: float = 30) -> Any:
        """The first message matching ``predicate``, waiting for it to arrive."""
        with self._cond:
            found: list[Any] = []

            def check() -> bool:
                found[:] = [m for m in self.messages if predicate(m)]
                return bool(found)

            if not self._cond.wait_for(check, timeout=timeout):
                raise AssertionError("no matching email arrived")
            return found[0]


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on a free local port."""
    from aiosmtpd.controller import Controller

    box = Mailbox()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    box.port = port  # type: ignore[attr-defined]
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, database_url: str,
             mailbox: Mailbox) -> config.Settings:
    data = tmp_path_factory.mktemp("data")
    redis = os.environ.get("PAGURUS_TEST_REDIS_URL", "")
    s = config.load(env={}, data_dir=str(data), database_url=database_url, redis_url=redis,
                    app_url="http://pagurus.test", smtp_host="127.0.0.1",
                    smtp_port=mailbox.port)  # type: ignore[attr-defined]
    s = config.ensure_data_dir(s)
    db.upgrade(s.sqlalchemy_url)
    return s


@pytest.fixture(scope="session")
def app(settings: config.Settings) -> Any:
    from pagurus.tasks.app import celery_app
    from pagurus.web.app import create_app

    application = create_app(settings)
    application.config["TESTING"] = True
    # a queue of its own so parallel runs on one Redis never take each other's tasks
    celery_app.conf.task_default_queue = unique("pagurus-test-")
    return application


@pytest.fixture(scope="session")
def worker(app: Any) -> Iterator[Any]:
    """A real Celery worker (threads) consuming the configured broker."""
    from celery.contrib.testing.worker import start_worker

    from pagurus.tasks.app import celery_app

    with start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False,
                      shutdown_timeout=30, loglevel="WARNING") as w:
        yield w


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def session(app: Any) -> Iterator[Session]:
    factory = app.extensions["pagurus"]["sessions"]
    s = factory()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


@pytest.fixture
def make_user(session: Session) -> Callable[..., User]:
    def _make(name: str | None = None, *, admin: bool = False, password: str = PASSWORD,
              active: bool = True) -> User:
        name = name or unique("u")
        user = core_users.create_user(session, name, f"{name}@example.com", fullname=name.title(),
                                      password=password, is_admin=admin, active=active)
        session.commit()
        return user
    return _make


@pytest.fixture
def make_token(session: Session) -> Callable[..., str]:
    def _make(user: User, acls: list[str], project: Project | None = None,
              days: int = 30) -> str:
        raw, _row = core_tokens.create_token(session, user, acls, project=project, days=days)
        session.commit()
        return raw
    return _make


def auth(raw: str) -> dict[str, str]:
    return {"Authorization": f"token {raw}"}


__all__ = ["PASSWORD", "ApiToken", "Path", "auth", "csrf_of", "login_as", "unique"]


def login_as(client: Any, user: User) -> None:
    """Log ``user`` in on this test client (the login form has its own tests)."""
    from pagurus.model import utcnow

    with client.session_transaction() as sess:
        sess["uid"] = user.id
        sess["login_at"] = utcnow().timestamp()


def csrf_of(client: Any) -> str:
    """The CSRF token of this client's session (made if missing)."""
    with client.session_transaction() as sess:
        token = sess.get("_csrf")
        if not token:
            token = sess["_csrf"] = uuid.uuid4().hex
        return token
