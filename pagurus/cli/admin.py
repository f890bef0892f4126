"""``pagurus admin``: users, tokens, groups and the database schema.

Each command opens the database, calls ``pagurus.core``, and commits only
when everything went well: a refused action changes nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import click
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from pagurus import config, db
from pagurus.cli import Refused, UsageFailure, data_options, load_settings
from pagurus.core import groups as core_groups
from pagurus.core import projects as core_projects
from pagurus.core import tokens as core_tokens
from pagurus.core import users as core_users
from pagurus.core.errors import ForgeError
from pagurus.core.names import split_project_path
from pagurus.model import ApiToken, Group, utcnow

# what `user block` without --until means: Pagure's "forever"
BLOCK_FOREVER = datetime(2099, 1, 1, tzinfo=UTC)


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(db.alembic_config("sqlite://")).get_current_head()


def prepare_database(settings: config.Settings) -> None:
    """Create the schema of an empty database; refuse one that lags behind."""
    try:
        current = db.current_revision(settings.sqlalchemy_url)
    except OperationalError as exc:
        raise Refused(f"cannot open the database: {exc.orig}") from exc
    if current is None:
        db.upgrade(settings.sqlalchemy_url)
        return
    head = head_revision()
    if current != head:
        raise Refused(f"the database schema is at {current}, this version needs {head}: "
                      "run `pagurus admin db upgrade` first")


@contextmanager
def admin_session() -> Iterator[tuple[config.Settings, Session]]:
    """A committed-on-success session; forge errors become exit code 3."""
    settings = config.ensure_data_dir(load_settings())
    prepare_database(settings)
    engine = db.make_engine(settings.sqlalchemy_url)
    try:
        with db.session_scope(db.make_sessionmaker(engine)) as session:
            yield settings, session
    except ForgeError as exc:
        raise Refused(exc.message or type(exc).__name__) from exc
    except IntegrityError as exc:
        raise Refused(f"refused by the database: {exc.orig}") from exc
    except (OperationalError, ProgrammingError) as exc:
        raise Refused(f"database error: {exc.orig}") from exc
    finally:
        engine.dispose()


def _date(value: str, option: str) -> datetime:
    try:
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError as exc:
        raise UsageFailure(f"{option} takes a date as YYYY-MM-DD, not {value!r}") from exc
    return day.replace(tzinfo=UTC)


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def _table(rows: list[list[str]], header: list[str]) -> None:
    """Tab-separated, header first: readable and easy to cut/awk."""
    click.echo("\t".join(header))
    for row in rows:
        click.echo("\t".join(row))


@click.group()
@data_options
def admin() -> None:
    """Administer the instance: users, API tokens, groups, database."""


# -- users -----------------------------------------------------------------

@admin.group()
@data_options
def user() -> None:
    """Create, list, block users."""


@user.command("create")
@data_options
@click.argument("name")
@click.option("--email", required=True, help="The user's (verified) email address.")
@click.option("--fullname", default="", help="Full name shown on pages.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input "
                   "(without it the account has no password: API tokens only).")
@click.option("--admin", "is_admin", is_flag=True, help="Make the user a site admin.")
def user_create(name: str, email: str, fullname: str, password_stdin: bool,
                is_admin: bool) -> None:
    """Create the account NAME (active, email verified)."""
    password = None
    if password_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        password = password[:-1] if password.endswith("\r") else password
        if not password:
            raise UsageFailure("--password-stdin: no password on standard input")
    with admin_session() as (_settings, session):
        created = core_users.create_user(session, name, email, fullname=fullname,
                                         password=password, is_admin=is_admin, active=True)
    label = "site admin" if is_admin else "user"
    click.echo(f"Created {label} {created.name} <{created.default_email}>", err=True)


@user.command("list")
@data_options
@click.argument("pattern", required=False)
def user_list(pattern: str | None) -> None:
    """List users (optionally those whose name starts with PATTERN; * is a wildcard)."""
    with admin_session() as (_settings, session):
        now = utcnow()
        rows = [[u.name, u.default_email, "yes" if u.is_admin else "no",
                 "yes" if u.active else "no",
                 _when(u.blocked_until) if u.blocked_until and u.blocked_until > now else "-"]
                for u in core_users.list_users(session, pattern)]
    _table(rows, ["name", "email", "admin", "active", "blocked_until"])


@user.command("block")
@data_options
@click.argument("name")
@click.option("--until", "until", metavar="YYYY-MM-DD",
              help="Block until this date (default: 2099-01-01, i.e. for good).")
def user_block(name: str, until: str | None) -> None:
    """Block NAME: no login, no token, no push; open sessions end now."""
    when = _date(until, "--until") if until else BLOCK_FOREVER
    if when <= utcnow():
        raise UsageFailure("--until must be a date in the future")
    with admin_session() as (_settings, session):
        target = core_users.require_user(session, name)
        core_users.block_user(target, when)
    click.echo(f"Blocked {target.name} until {when:%Y-%m-%d}", err=True)


@user.command("unblock")
@data_options
@click.argument("name")
def user_unblock(name: str) -> None:
    """Lift the block on NAME."""
    with admin_session() as (_settings, session):
        target = core_users.require_user(session, name)
        core_users.block_user(target, None)
    click.echo(f"Unblocked {target.name}", err=True)


# -- tokens ----------------------------------------------------------------

@admin.group()
@data_options
def token() -> None:
    """Create, list, expire API tokens."""


@token.command("create")
@data_options
@click.argument("username")
@click.option("--acl", "acls", multiple=True, required=True, metavar="ACL",
              help=f"An ACL to grant (repeat for several): {', '.join(sorted(core_tokens.ACLS))}.")
@click.option("--project", metavar="[NS/]NAME", help="Limit the token to this project.")
@click.option("--days", type=int, help="Lifetime in days (default: token_default_days).")
@click.option("--description", default="", help="What the token is for.")
def token_create(username: str, acls: tuple[str, ...], project: str | None, days: int | None,
                 description: str) -> None:
    """Create a token for USERNAME; prints only the token (shown once)."""
    with admin_session() as (settings, session):
        owner = core_users.require_user(session, username)
        target = None
        if project is not None:
            namespace, name = split_project_path(project)
            target = core_projects.get_project(session, name, namespace)
            if target is None:
                raise Refused(f"No project {project!r}")
        raw, _row = core_tokens.create_token(
            session, owner, list(acls), project=target,
            days=settings.token_default_days if days is None else days,
            max_days=settings.token_max_days, description=description,
            allowed=tuple(core_tokens.ACLS))
    click.echo(raw)


@token.command("list")
@data_options
@click.option("--user", "username", help="Only this user's tokens.")
def token_list(username: str | None) -> None:
    """List tokens (their first characters only, never the secret)."""
    with admin_session() as (_settings, session):
        owner = core_users.require_user(session, username) if username else None
        now = utcnow()
        rows = [[t.prefix + "…", t.user.name, t.project.fullname if t.project else "-",
                 ",".join(t.acls or []), _when(t.expiration),
                 "yes" if t.expiration <= now else "no", t.description or ""]
                for t in core_tokens.user_tokens(session, owner)]
    _table(rows, ["prefix", "user", "project", "acls", "expires", "expired", "description"])


def _find_token(session: Session, text: str) -> ApiToken:
    found = core_tokens.find_token(session, text)
    if found is not None:
        return found
    prefix = text.rstrip("…")
    if 4 <= len(prefix) <= 12:
        matches = list(session.scalars(select(ApiToken).where(ApiToken.prefix == prefix)))
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise Refused(f"{len(matches)} tokens start with {prefix!r}: give the whole token")
    raise Refused("No such token")


@token.command("expire")
@data_options
@click.argument("token_text", metavar="TOKEN")
def token_expire(token_text: str) -> None:
    """Expire TOKEN now (the whole token, or the prefix `token list` shows)."""
    with admin_session() as (_settings, session):
        row = _find_token(session, token_text)
        core_tokens.expire(row)
        message = f"Expired token {row.prefix}… of {row.user.name}"
    click.echo(message, err=True)


# -- groups ----------------------------------------------------------------

@admin.group()
@data_options
def group() -> None:
    """Create and list groups."""


@group.command("create")
@data_options
@click.argument("name")
@click.option("--creator", required=True, help="User who creates (and first administers) it.")
@click.option("--display-name", help="Name shown on pages (default: NAME).")
@click.option("--description", default="", help="What the group is about.")
def group_create(name: str, creator: str, display_name: str | None, description: str) -> None:
    """Create the group NAME with CREATOR as its first member."""
    with admin_session() as (_settings, session):
        owner = core_users.require_user(session, creator)
        made = core_groups.create_group(session, name, owner, display_name=display_name,
                                        description=description)
    click.echo(f"Created group {made.name}", err=True)


@group.command("list")
@data_options
def group_list() -> None:
    """List every group (admin-type groups included)."""
    with admin_session() as (_settings, session):
        rows = []
        for g in session.scalars(select(Group).order_by(Group.name)):
            rows.append([g.name, g.display_name, g.group_type, str(len(g.memberships)),
                         g.description.splitlines()[0] if g.description else ""])
    _table(rows, ["name", "display_name", "type", "members", "description"])


# -- database --------------------------------------------------------------

@admin.group("db")
@data_options
def db_group() -> None:
    """Database schema migrations."""


@db_group.command("upgrade")
@data_options
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def db_upgrade(revision: str) -> None:
    """Migrate the database schema (creating it when empty). Safe to repeat."""
    settings = config.ensure_data_dir(load_settings())
    try:
        db.upgrade(settings.sqlalchemy_url, revision)
        current = db.current_revision(settings.sqlalchemy_url)
    except OperationalError as exc:
        raise Refused(f"cannot migrate the database: {exc.orig}") from exc
    click.echo(f"Database at revision {current}", err=True)


@db_group.command("current")
@data_options
def db_current() -> None:
    """Print the schema revision of the database ('none' when empty)."""
    settings = load_settings()
    if not settings.database_url and not (settings.data_dir / "pagurus.sqlite").exists():
        click.echo("none")  # reading must not create the data dir
        return
    try:
        current = db.current_revision(settings.sqlalchemy_url)
    except OperationalError as exc:
        raise Refused(f"cannot open the database: {exc.orig}") from exc
    head = head_revision()
    click.echo(f"{current or 'none'}{' (head)' if current == head else ''}")
