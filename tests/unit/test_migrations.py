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
from pagurus.model.search import is_search_object


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
        names = set(inspect(engine).get_table_names()) - {"alembic_version"}
        return {n for n in names if not is_search_object(n)}
    finally:
        engine.dispose()


def schema_differences(url: str) -> list:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={
                "compare_type": True,
                "include_object": lambda obj, name, *_: not is_search_object(name)})
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


def test_the_search_index_follows_issue_edits(empty_database):
    """The full-text index is maintained by the database itself: inserts,
    edits and deletes of issues are all reflected."""
    db.upgrade(empty_database)
    engine = db.make_engine(empty_database)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO users (name, fullname, default_email, is_admin, active,"
                              " settings, created_at, updated_at) VALUES ('u', '', 'u@x', false,"
                              " true, '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
            conn.execute(text("INSERT INTO projects (key, name, user_id, is_fork, description, url,"
                              " avatar_email, private, read_only, repo_state, default_branch,"
                              " hook_token, settings, block_users, priorities, milestones,"
                              " milestones_keys, close_status, quick_replies, plugins,"
                              " date_created, date_modified) VALUES ('p', 'p', 1, false, '', '',"
                              " '', false, false, 'ready', 'main', 't', '{}', '[]', '{}', '{}',"
                              " '[]', '[]', '[]', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
            conn.execute(text("INSERT INTO issues (uid, project_id, number, title, content, status,"
                              " private, user_id, date_created, last_updated) VALUES ('a', 1, 1,"
                              " 'Crash on élan', 'segfault', 'Open', false, 1, CURRENT_TIMESTAMP,"
                              " CURRENT_TIMESTAMP)"))
        if engine.dialect.name == "sqlite":
            def find(word):
                with engine.connect() as conn:
                    return conn.scalars(text("SELECT rowid FROM issues_fts WHERE issues_fts"
                                             " MATCH :q"), {"q": f'"{word}"'}).all()
        else:
            def find(word):
                with engine.connect() as conn:
                    return conn.scalars(text("SELECT id FROM issues WHERE to_tsvector('simple',"
                                             " coalesce(title, '') || ' ' || coalesce(content,"
                                             " '')) @@ plainto_tsquery('simple', :q)"),
                                        {"q": word}).all()
        assert find("segfault") == [1]
        assert find("élan") == [1]
        with engine.begin() as conn:
            conn.execute(text("UPDATE issues SET content = 'overflow' WHERE id = 1"))
        assert find("segfault") == []
        assert find("overflow") == [1]
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM issues WHERE id = 1"))
        assert find("overflow") == []
    finally:
        engine.dispose()
