"""``pagurus dispatcher``: relays events to email (``pagurus serve`` runs it)."""

from __future__ import annotations

import signal
import threading

import click

from pagurus import config
from pagurus.cli import cli, data_options, load_settings


@cli.command("dispatcher")
@data_options
@click.option("--base-url", default="", help="Instance URL used in links when app_url is unset.")
@click.option("--interval", type=click.FloatRange(0.05, 60), default=1.0, show_default=True,
              help="Seconds between polls of the outbox when it is empty.")
def dispatcher(base_url: str, interval: float) -> None:
    """Send what events call for (notification emails). SIGTERM/SIGINT stop it."""
    from pagurus.db import make_engine, make_sessionmaker
    from pagurus.services.dispatcher import run_forever
    from pagurus.tasks.app import configure

    settings = config.ensure_data_dir(load_settings())
    configure(settings)
    engine = make_engine(settings.sqlalchemy_url)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    url = (settings.app_url or base_url or "http://localhost").rstrip("/")
    try:
        run_forever(make_sessionmaker(engine), settings, url, stop, interval)
    finally:
        engine.dispose()
