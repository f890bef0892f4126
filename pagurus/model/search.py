# ruff: noqa: S608 -- DDL built from the constants of this module, never from input
"""Full-text indexes of issue titles, contents and comments.

The ORM does not model them: on SQLite they are FTS5 tables kept in step by
triggers, on PostgreSQL GIN indexes over a ``to_tsvector`` expression. The
``simple`` configuration (no stemming, no stop words) is used on both so
the two databases find the same issues in any language.

SQLite's batch migrations rebuild a table to alter it and lose its
triggers: a migration that alters ``issues`` or ``issue_comments`` must run
``drop_statements`` before and ``create_statements`` after.
"""

from __future__ import annotations

# virtual table -> (indexed table, indexed columns)
SQLITE_FTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "issues_fts": ("issues", ("title", "content")),
    "issue_comments_fts": ("issue_comments", ("comment",)),
}

# the query must repeat these expressions exactly for PostgreSQL to use the index
PG_ISSUE_TSV = "to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(content, ''))"
PG_COMMENT_TSV = "to_tsvector('simple', coalesce(comment, ''))"
PG_INDEXES = {
    "ix_issues_fulltext": ("issues", PG_ISSUE_TSV),
    "ix_issue_comments_fulltext": ("issue_comments", PG_COMMENT_TSV),
}


def _sqlite_create(fts: str, table: str, cols: tuple[str, ...]) -> list[str]:
    # names come from the constants above, never from input
    names = ", ".join(cols)
    new = ", ".join(f"new.{c}" for c in cols)
    old = ", ".join(f"old.{c}" for c in cols)
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5({names}, content='{table}', "
        f"content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new}); END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old}); END",
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {names} ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old}); "
        f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new}); END",
        # index what is already there
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
    ]


def create_statements(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [s for fts, (table, cols) in SQLITE_FTS.items()
                for s in _sqlite_create(fts, table, cols)]
    if dialect == "postgresql":
        return [f"CREATE INDEX {name} ON {table} USING gin (({expr}))"
                for name, (table, expr) in PG_INDEXES.items()]
    return []


def drop_statements(dialect: str) -> list[str]:
    if dialect == "sqlite":
        out = []
        for fts in SQLITE_FTS:
            out += [f"DROP TRIGGER IF EXISTS {fts}_{t}" for t in ("ai", "ad", "au")]
            out.append(f"DROP TABLE IF EXISTS {fts}")
        return out
    if dialect == "postgresql":
        return [f"DROP INDEX IF EXISTS {name}" for name in PG_INDEXES]
    return []


def is_search_object(name: str | None) -> bool:
    """True for the FTS tables (and their shadow tables) and indexes: schema
    comparison leaves them out, as the models do not describe them."""
    if not name:
        return False
    return name in PG_INDEXES or any(name == f or name.startswith(f + "_") for f in SQLITE_FTS)
