"""The Alembic migrations build exactly the schema the models describe, and
can be undone and redone, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from pagurus import db
from pagurus.model import Base


def _sqlite(tmp_path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'migrations.sqlite'}"


def _postgresql() -> Iterator[str]:
    server = os.environ.get("PAGURUS_TEST_DATABASE_URL")
    if not server:
        pytest.skip("PAGURUS_TEST_DATABASE_URL is not set")
    url = make_url(server)
    name = f"pagurus_mig_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :n"), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path) -> Iterator[str]:
    gen = _sqlite(tmp_path) if request.param == "sqlite" else _postgresql()
    yield from gen


def head() -> str:
    return ScriptDirectory.from_config(db.alembic_config("sqlite://")).get_current_head()


def tables(url: str) -> set[str]:
    engine = db.make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def schema_differences(url: str) -> list:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()


def test_an_empty_database_migrates_to_head_and_back(empty_database):
    url = empty_database
    assert db.current_revision(url) is None

    db.upgrade(url)
    assert db.current_revision(url) == head()
    assert tables(url) == set(Base.metadata.tables)

    db.downgrade(url, "base")
    assert db.current_revision(url) is None
    assert tables(url) == set()

    db.upgrade(url)
    assert db.current_revision(url) == head()
    assert tables(url) == set(Base.metadata.tables)


def test_the_migrated_schema_matches_the_models(empty_database):
    db.upgrade(empty_database)
    assert schema_differences(empty_database) == []


def test_upgrading_twice_changes_nothing(empty_database):
    db.upgrade(empty_database)
    db.upgrade(empty_database)
    assert db.current_revision(empty_database) == head()
