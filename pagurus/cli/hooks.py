"""``pagurus admin ensure-hooks`` and ``pagurus hook pre-receive|post-receive``.

The installed hooks do not go through click (they are clients of the hook
server, ``pagurus hookd``, and fall back to ``pagurus.git.hookrun``, to stay
fast); ``pagurus hook`` is that runner for humans testing a hook by hand
(``GIT_DIR`` set, ref lines on stdin).
"""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from pagurus.cli import cli, data_options
from pagurus.cli.admin import admin, admin_session
from pagurus.git import hooks as git_hooks
from pagurus.model import Project
from pagurus.paths import REPO_KINDS, repo_path


@admin.command("ensure-hooks")
@data_options
@click.option("--verbose", "-v", is_flag=True, help="Name every repository repaired.")
def ensure_hooks(verbose: bool) -> None:
    """(Re)install the git hooks of every repository of every project.

    Missing, edited or outdated hooks are rewritten (they name the Python
    interpreter that installed them: run this after moving the virtualenv)."""
    checked = repaired = 0
    with admin_session() as (settings, session):
        for project in session.scalars(select(Project).order_by(Project.id)):
            for kind in REPO_KINDS:
                path = repo_path(settings.data_dir, kind, project.fullname)
                if not (path / "HEAD").exists():
                    continue
                checked += 1
                if git_hooks.ensure(path):
                    repaired += 1
                    if verbose:
                        click.echo(f"repaired {kind} {project.fullname}", err=True)
    click.echo(f"{checked} repositories checked, {repaired} repaired", err=True)


@cli.command("hook", context_settings={"ignore_unknown_options": True})
@click.argument("name", type=click.Choice(git_hooks.HOOKS))
def hook(name: str) -> None:
    """Run hook NAME as git would (GIT_DIR and PAGURUS_* from the environment,
    ref updates on stdin)."""
    from pagurus.git.hookrun import main

    sys.exit(main([name]))
