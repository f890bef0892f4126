"""The ``pagurus`` command: ``serve``, ``web``, ``worker``, ``admin``, ``version``.

Every command builds its settings the same way (``pagurus.config.load``):
defaults < TOML file (``--config`` / ``PAGURUS_CONFIG``) < ``PAGURUS_*``
environment < command-line options. ``--data`` and ``--config`` are accepted
at any level (``pagurus --data D admin user list`` and
``pagurus admin user list --data D`` are the same); the innermost wins.

Exit codes follow pagure-admin: 0 ok, 1 interrupted or crashed, 2 usage or
configuration error, 3 refused action.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from pagurus import __version__, config

F = TypeVar("F", bound=Callable[..., Any])

DATA_KEY = "pagurus.data"
CONFIG_KEY = "pagurus.config"


class UsageFailure(click.ClickException):
    """Bad configuration or arguments (exit 2)."""

    exit_code = 2


class Refused(click.ClickException):
    """The forge refused the action; nothing was changed (exit 3)."""

    exit_code = 3


def _remember(key: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        if value is not None:
            ctx.meta[key] = value  # meta is shared by the whole context chain
        return value

    return callback


def data_options(func: F) -> F:
    """Add ``--data`` and ``--config`` to a command or group."""
    func = click.option(
        "--config", "config_file", type=click.Path(dir_okay=False), expose_value=False,
        callback=_remember(CONFIG_KEY),
        help="TOML settings file (default: $PAGURUS_CONFIG).",
    )(func)
    func = click.option(
        "--data", type=click.Path(file_okay=False), expose_value=False,
        callback=_remember(DATA_KEY),
        help="Data directory (default: $PAGURUS_DATA, else ./pagurus-data).",
    )(func)
    return func


def chosen_paths() -> tuple[str | None, str | None]:
    """The ``--data`` and ``--config`` given on the command line, if any."""
    meta = click.get_current_context().meta
    return meta.get(DATA_KEY), meta.get(CONFIG_KEY)


def load_settings(**overrides: Any) -> config.Settings:
    """Settings for this command: file < environment < command-line options."""
    data, config_file = chosen_paths()
    try:
        return config.load(config_file, data_dir=data, **overrides)
    except config.ConfigError as exc:
        raise UsageFailure(str(exc)) from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@data_options
def cli() -> None:
    """Pagurus, a git forge compatible with Pagure.

    Start with `pagurus serve`: it creates the data directory, the database
    and runs everything on this machine.
    """


@cli.command()
def version() -> None:
    """Print the version of Pagurus and of its API."""
    from pagurus import API_VERSION

    click.echo(f"pagurus {__version__} (API v0 {API_VERSION})")


def _register() -> None:
    import pagurus.cli.dispatcher  # noqa: F401  (adds dispatcher)
    import pagurus.cli.hookd  # noqa: F401  (adds hookd)
    import pagurus.cli.hooks  # noqa: F401  (adds admin ensure-hooks, hook)
    import pagurus.cli.ssh  # noqa: F401  (adds ssh, keyhelper, aclchecker, gitolite, admin ssh-key)
    from pagurus.cli import admin, run

    cli.add_command(admin.admin)
    for command in run.COMMANDS:
        cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "pagurus"
    if not prog or prog in ("__main__.py", "__init__.py", "-c"):
        prog = "pagurus"
    cli.main(args=argv, prog_name=prog)


if __name__ == "__main__":
    main()
