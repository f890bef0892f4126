"""``pagurus serve`` (everything on one machine), ``pagurus web``, ``pagurus worker``."""

from __future__ import annotations

import os
import shlex
import socket
import sys
from typing import Any

import click

from pagurus import config, db
from pagurus.cli import UsageFailure, chosen_paths, data_options, load_settings
from pagurus.services.supervisor import ChildSpec, Supervisor

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
WORKER_QUEUE = "pagurus"


def _self_command(*args: str) -> list[str]:
    """Run another ``pagurus`` subcommand with this very interpreter."""
    return [sys.executable, "-m", "pagurus.cli", *args]


def child_env(settings: config.Settings) -> dict[str, str]:
    """The environment that makes a child load exactly these settings.

    Children inherit our environment (so ``PAGURUS_*`` variables apply the
    same way) plus the command-line choices turned into variables, which
    rank just below command-line options in ``config.load``."""
    env = dict(os.environ)
    _data, config_file = chosen_paths()
    env["PAGURUS_DATA"] = str(settings.data_dir)
    if config_file:
        env["PAGURUS_CONFIG"] = os.path.abspath(config_file)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def children(settings: config.Settings, host: str, port: int,
             ssh_port: int | None = None) -> list[ChildSpec]:
    """What ``serve`` runs. Later daemons (ev, webhooks) are added here.

    ``ssh_port`` None or 0: no SSH server."""
    env = child_env(settings)
    specs = [
        ChildSpec("web", _self_command("web", "--host", host, "--port", str(port)), env,
                  stop_timeout=20),
        # warm shutdown lets running tasks finish (5-10 s measured)
        ChildSpec("worker", _self_command("worker"), env, stop_timeout=30),
        # the git hooks' warm server; running hooks get 20 s to finish
        ChildSpec("hookd", _self_command("hookd"), env, stop_timeout=25),
        # outbox -> notification emails (links need the URL when app_url is unset)
        ChildSpec("dispatcher", _self_command("dispatcher", "--base-url",
                                              _display_url(settings, host, port)), env,
                  stop_timeout=10),
    ]
    if ssh_port:
        specs.append(ChildSpec("ssh", _self_command("ssh", "--host", host,
                                                    "--port", str(ssh_port)), env,
                               stop_timeout=10))
    return specs


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise UsageFailure(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


def _display_url(settings: config.Settings, host: str, port: int) -> str:
    if settings.app_url:
        return settings.app_url
    shown = "localhost" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def _has_users(settings: config.Settings) -> bool:
    from sqlalchemy import func, select

    from pagurus.model import User

    engine = db.make_engine(settings.sqlalchemy_url)
    try:
        with engine.connect() as conn:
            return bool(conn.scalar(select(func.count()).select_from(User.__table__)))
    finally:
        engine.dispose()


def first_admin_hint(prog: str) -> str:
    """The exact command that creates the first admin, with this run's options."""
    data, config_file = chosen_paths()
    where: list[str] = []
    if data:
        where += ["--data", os.path.abspath(data)]
    if config_file:
        where += ["--config", os.path.abspath(config_file)]

    def line(*words: str) -> str:
        return " ".join(w if w in ("NAME", "EMAIL") else shlex.quote(w)
                        for w in (prog, *words, *where))

    create = line("admin", "user", "create", "NAME", "--email", "EMAIL", "--password-stdin",
                  "--admin")
    return ("No user yet. Create the first admin (the password is read from the first "
            "line of standard input):\n"
            f"    {create}\n"
            "then an API token:\n"
            f"    {line('admin', 'token', 'create', 'NAME', '--acl', 'create_project')}")


def _prog() -> str:
    argv0 = sys.argv[0] if sys.argv else ""
    return argv0 if os.path.basename(argv0) == "pagurus" else "pagurus"


@click.command()
@data_options
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True,
              help="HTTP port.")
@click.option("--ssh-port", type=click.IntRange(0, 65535),
              help="Port of the built-in SSH server for git (default: the ssh_port "
                   "setting, 2222; 0 disables it).")
@click.option("--no-ssh", is_flag=True, help="Do not run the built-in SSH server.")
def serve(host: str, port: int, ssh_port: int | None, no_ssh: bool) -> None:
    """Run the whole forge on this machine: web app and worker, supervised.

    On first run this creates the data directory, the database and a secret
    key. Children that crash are restarted; SIGINT/SIGTERM stops them all.
    """
    settings = config.ensure_data_dir(load_settings())
    ssh_port = 0 if no_ssh else (settings.ssh_port if ssh_port is None else ssh_port)
    _check_port_free(host, port)
    if ssh_port:
        _check_port_free(host, ssh_port)
    try:
        db.upgrade(settings.sqlalchemy_url)
    except Exception as exc:  # a database we cannot reach or migrate: say which
        raise click.ClickException(f"cannot migrate the database: {exc}") from exc
    specs = children(settings, host, port, ssh_port)

    def announce() -> None:
        click.echo(f"{settings.instance_name} is starting at "
                   f"{_display_url(settings, host, port)}")
        click.echo(f"Data directory: {settings.data_dir}")
        if ssh_port:
            click.echo(f"git over SSH: ssh://git@{host}:{ssh_port}/<project>.git")
        if not _has_users(settings):
            click.echo(first_admin_hint(_prog()))
        click.echo("Press Ctrl-C to stop.", err=True)

    status = Supervisor(specs).run(on_started=announce)
    sys.exit(status)


@click.command()
@data_options
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True,
              help="HTTP port.")
@click.option("--workers", type=click.IntRange(1, 256),
              help="Gunicorn worker processes (default: web_workers setting).")
def web(host: str, port: int, workers: int | None) -> None:
    """Run the web app (UI, API, git over HTTP) under gunicorn."""
    from pagurus.web.wsgi import WebServer

    overrides: dict[str, Any] = {"web_workers": workers}
    settings = config.ensure_data_dir(load_settings(**overrides))
    WebServer(settings, host, port).run()


@click.command()
@data_options
@click.option("--concurrency", type=click.IntRange(1, 256),
              help="Tasks run at once (default: worker_concurrency setting).")
@click.option("--pool", type=click.Choice(["threads", "prefork", "solo"]), default="threads",
              show_default=True, help="Celery execution pool.")
@click.option("--loglevel", default="INFO", show_default=True)
def worker(concurrency: int | None, pool: str, loglevel: str) -> None:
    """Run a Celery worker for the queued jobs (repo creation, forks, ...)."""
    from pagurus.tasks.app import configure

    settings = load_settings(worker_concurrency=concurrency)
    app = configure(settings)
    app.worker_main([
        "worker",
        f"--loglevel={loglevel}",
        f"--concurrency={settings.worker_concurrency}",
        f"--pool={pool}",
        "--queues", WORKER_QUEUE,
        "--hostname", f"pagurus-{os.getpid()}@%h",
        # no cluster chatter to wait for at start-up
        "--without-gossip", "--without-mingle",
    ])


COMMANDS = [serve, web, worker]
