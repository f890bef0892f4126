"""``pagurus hookd``: the hook server (``pagurus serve`` runs it as a child)."""

from __future__ import annotations

import signal
import sys

import click

from pagurus import config
from pagurus.cli import Refused, cli, data_options, load_settings


@cli.command("hookd")
@data_options
@click.option("--max-connections", type=click.IntRange(1, 1024), default=64,
              show_default=True,
              help="Hook runs at once; further pushes run their hooks themselves.")
@click.option("--grace", type=click.FloatRange(0, 3600), default=20.0, show_default=True,
              help="Seconds running hooks get to finish on SIGTERM.")
@click.option("--verbose", "-v", is_flag=True, help="Log every hook run.")
def hookd(max_connections: int, grace: float, verbose: bool) -> None:
    """Run the git hooks of every push in this warm process.

    Listens on <data>/run/hooks.sock (only this user may connect). The hooks
    installed in the repositories ask it to run; without it they run on their
    own (~0.5 s slower per hook). SIGTERM/SIGINT stop it."""
    from pagurus.services.hookd.server import HookServer, ServerRunning

    settings = config.ensure_data_dir(load_settings())
    server = HookServer(settings, max_connections=max_connections, verbose=verbose)
    server.warm_up()
    try:
        server.bind()
    except ServerRunning as exc:
        raise Refused(str(exc)) from exc
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: server.stop())
    try:
        server.serve_forever()
    finally:
        still = server.close(grace)
    if still:
        click.echo(f"pagurus hookd: stopped with {still} hook run(s) unfinished", err=True)
        sys.exit(1)
