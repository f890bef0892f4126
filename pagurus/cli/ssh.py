"""git over SSH from the command line.

``pagurus ssh`` runs the built-in server alone. ``pagurus keyhelper`` and
``pagurus aclchecker`` let a system OpenSSH serve git instead (an
``AuthorizedKeysCommand`` and the forced command it installs), ``pagurus
gitolite sync`` hands the access rules to gitolite, and ``pagurus admin
ssh-key`` manages users' keys.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from pagurus import config, db
from pagurus.cli import UsageFailure, chosen_paths, cli, data_options, load_settings
from pagurus.cli.admin import admin, admin_session
from pagurus.core import sshkeys
from pagurus.core import users as core_users
from pagurus.model import Project, SSHKey, User

DEFAULT_SSH_USER = "git"
DEFAULT_FORBIDDEN = ("root",)


# -- built-in server --------------------------------------------------------

@click.command("ssh")
@data_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535),
              help="Port (default: the ssh_port setting, 2222; 0 picks a free one).")
def ssh_command(host: str, port: int | None) -> None:
    """Run the built-in SSH server for git clone/fetch/push (keys from the database)."""
    from pagurus.services.ssh.server import serve_forever

    settings = config.ensure_data_dir(load_settings())
    chosen = settings.ssh_port if port is None else port

    def listening(actual: int) -> None:
        click.echo(f"SSH server listening on {host}:{actual}", err=True)

    try:
        serve_forever(settings, host, chosen, on_listening=listening)
    except OSError as exc:
        raise UsageFailure(f"cannot listen on {host}:{chosen}: {exc.strerror or exc}") from exc


# -- OpenSSH helpers ----------------------------------------------------------

def _ssh_user(settings: config.Settings) -> str:
    return str(settings.extra.get("ssh_user", DEFAULT_SSH_USER))


def _forbidden(settings: config.Settings) -> set[str]:
    value = settings.extra.get("ssh_forbidden_users", DEFAULT_FORBIDDEN)
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",")]
    return {str(v) for v in value if str(v)}


def _sessions(settings: config.Settings):  # type: ignore[no-untyped-def]
    return db.make_sessionmaker(db.make_engine(settings.sqlalchemy_url))


def _self_argv() -> list[str]:
    """How sshd should start this very program (absolute paths only)."""
    argv0 = sys.argv[0] if sys.argv else ""
    if os.path.basename(argv0) == "pagurus" and os.path.exists(argv0):
        return [os.path.abspath(argv0)]
    found = shutil.which("pagurus", path=os.path.dirname(sys.executable))
    if found:
        return [os.path.abspath(found)]
    return [os.path.abspath(sys.executable), "-m", "pagurus.cli"]


def _where_options(settings: config.Settings) -> list[str]:
    """``--data``/``--config`` so the forced command loads these settings (sshd
    passes no environment)."""
    opts = ["--data", str(settings.data_dir)]
    _data, config_file = chosen_paths()
    config_file = config_file or os.environ.get("PAGURUS_CONFIG")
    if config_file:
        opts += ["--config", os.path.abspath(config_file)]
    return opts


def authorized_keys_line(settings: config.Settings, key_id: int, public_key: str) -> str:
    """``restrict,command="<pagurus> --data D aclchecker <id>" <key>``."""
    words = [*_self_argv(), *_where_options(settings), "aclchecker", str(key_id)]
    command = " ".join(shlex.quote(w) for w in words)
    if any(c in command for c in '"\\\n\r\0'):
        raise UsageFailure("the paths of pagurus or of its data contain characters that "
                           "cannot go into an authorized_keys line")
    return f'restrict,command="{command}" {public_key}'


@click.command("keyhelper")
@data_options
@click.argument("user")
@click.argument("homedir")
@click.argument("keytype")
@click.argument("fingerprint")
def keyhelper(user: str, homedir: str, keytype: str, fingerprint: str) -> None:
    """OpenSSH AuthorizedKeysCommand: `pagurus keyhelper %u %h %t %f`.

    Prints one authorized_keys line forcing `pagurus aclchecker` for a known key
    of an active user (or a deploy key); prints nothing otherwise."""
    from pagurus.services.ssh import gate

    del homedir  # part of the sshd calling convention, not needed
    settings = load_settings()
    if user in _forbidden(settings) or user != _ssh_user(settings):
        click.echo(f"pagurus keyhelper: not answering for user {user!r}", err=True)
        return
    sessions = _sessions(settings)
    try:
        holder = gate.holder_by_fingerprint(sessions, fingerprint)
    except SQLAlchemyError as exc:  # say why on sshd's log, print no key
        click.echo(f"pagurus keyhelper: database error: {type(exc).__name__}", err=True)
        sys.exit(1)
    finally:
        sessions.kw["bind"].dispose()
    if holder is None:
        return
    if keytype and not holder.public_key.startswith(keytype + " "):
        return
    click.echo(authorized_keys_line(settings, holder.key_id, holder.public_key))


@click.command("aclchecker")
@data_options
@click.argument("key_id", type=int)
def aclchecker(key_id: int) -> None:
    """OpenSSH forced command: run the git command in $SSH_ORIGINAL_COMMAND if
    the holder of KEY_ID may; without a command, greet."""
    from pagurus.services.ssh import gate
    from pagurus.services.ssh.commands import CommandRefused, greeting, parse_command

    settings = load_settings()

    def refuse(message: str) -> None:
        sys.stderr.write(f"pagurus: {message}\n")
        sys.stderr.flush()
        sys.exit(1)

    try:
        command = parse_command(os.environ.get("SSH_ORIGINAL_COMMAND"))
    except CommandRefused as exc:
        refuse(exc.message)
        return
    sessions = _sessions(settings)
    try:
        if command is None:
            holder = gate.holder_by_id(sessions, key_id)
            if holder is None:
                refuse(gate.KEY_GONE)
                return
            sys.stdout.write(greeting(holder.label))
            sys.stdout.flush()
            return
        try:
            launch = gate.authorize(sessions, settings, key_id, command,
                                    os.environ.get("GIT_PROTOCOL"))
        except gate.Refusal as exc:
            refuse(exc.message)
            return
    except SQLAlchemyError:  # the client sees no details (URLs, passwords)
        refuse("internal error, try again later")
        return
    finally:
        sessions.kw["bind"].dispose()
    os.chdir(launch.repo)
    os.execvpe(launch.argv[0], launch.argv, launch.env)  # noqa: S606


# -- gitolite ---------------------------------------------------------------

@click.group("gitolite")
@data_options
def gitolite() -> None:
    """Keep a gitolite installation in step with the database."""


@gitolite.command("sync")
@data_options
@click.option("--gitolite-home", type=click.Path(file_okay=False),
              help="HOME of the gitolite user (default: gitolite_home setting, else $HOME).")
@click.option("--admin", "admin_name",
              help="gitolite user with RW+ on gitolite-admin (default: gitolite_admin "
                   "setting; none when unset).")
def gitolite_sync(gitolite_home: str | None, admin_name: str | None) -> None:
    """Write conf/gitolite.conf and keydir from the database, then compile."""
    from pagurus.services.ssh import gitolite as gl

    settings = load_settings()
    home = gitolite_home or settings.extra.get("gitolite_home") or os.environ.get("HOME")
    if not home:
        raise UsageFailure("give --gitolite-home (no HOME and no gitolite_home setting)")
    admin_name = admin_name or settings.extra.get("gitolite_admin") or None
    sessions = _sessions(settings)
    try:
        with sessions() as session:
            generated = gl.build(session, admin=admin_name)
    finally:
        sessions.kw["bind"].dispose()
    try:
        gl.write_and_compile(Path(home), generated, admin=admin_name)
    except gl.GitoliteError as exc:
        raise click.ClickException(str(exc)) from exc
    for note in generated.skipped:
        click.echo(f"skipped {note}", err=True)
    click.echo(f"gitolite config written to {Path(home).resolve() / '.gitolite'} "
               f"({len(generated.keys)} keys)", err=True)


# -- admin ssh-key ----------------------------------------------------------

@admin.group("ssh-key")
@data_options
def ssh_key() -> None:
    """Add, list, remove users' SSH keys."""


@ssh_key.command("add")
@data_options
@click.argument("username")
@click.argument("pubkey_file", type=click.File("r"))
def ssh_key_add(username: str, pubkey_file: click.utils.LazyFile) -> None:
    """Add the key in PUBKEY_FILE (`-`: standard input) to USERNAME's account."""
    text = pubkey_file.read(sshkeys.MAX_TEXT + 1)
    with admin_session() as (_settings, session):
        user = core_users.require_user(session, username)
        key = sshkeys.add_user_key(session, user, text)
        key_id, fingerprint = key.id, key.fingerprint
    click.echo(f"Added key {key_id} ({fingerprint}) to {username}", err=True)
    click.echo(str(key_id))


@ssh_key.command("list")
@data_options
@click.argument("username", required=False)
def ssh_key_list(username: str | None) -> None:
    """List SSH keys (of USERNAME only, if given), deploy keys included."""
    from sqlalchemy import select

    with admin_session() as (_settings, session):
        stmt = (select(SSHKey, User, Project).outerjoin(User, User.id == SSHKey.user_id)
                .outerjoin(Project, Project.id == SSHKey.project_id).order_by(SSHKey.id))
        if username:
            user = core_users.require_user(session, username)
            stmt = stmt.where(SSHKey.user_id == user.id)
        rows = [[str(k.id), u.name if u else f"deploy:{p.fullname}" if p else "-",
                 k.key_type, k.fingerprint, "rw" if k.push_access else "-", k.comment or ""]
                for k, u, p in session.execute(stmt)]
    click.echo("\t".join(["id", "owner", "type", "fingerprint", "push", "comment"]))
    for row in rows:
        click.echo("\t".join(row))


@ssh_key.command("remove")
@data_options
@click.argument("key_id", type=int)
def ssh_key_remove(key_id: int) -> None:
    """Remove the key KEY_ID (a user's key or a deploy key)."""
    from pagurus.core.errors import NotFound

    with admin_session() as (_settings, session):
        key = session.get(SSHKey, key_id)
        if key is None:
            raise NotFound("No such SSH key", code="ENOKEY")
        if key.user_id is not None:
            sshkeys.remove_key(session, session.get(User, key.user_id), key_id)
        else:
            project = session.get(Project, key.project_id)
            sshkeys.remove_key(session, project.user, key_id, project=project)
    click.echo(f"Removed key {key_id}", err=True)


COMMANDS = [ssh_command, keyhelper, aclchecker, gitolite]

for _command in COMMANDS:  # importing this module (from cli._register) adds them
    cli.add_command(_command)
