"""Installing the forge's git hooks in bare repositories.

Every repository (main, docs, tickets, requests; projects and forks) gets a
``pre-receive`` and a ``post-receive`` hook: a short shell script that
``exec``s the interpreter that installed it (absolute ``sys.executable``, in
isolated mode without site-packages) on :mod:`pagurus.git.hookclient`, a
stdlib-only client of the hook server (``pagurus hookd``); without a server
the client execs the in-process runner, :mod:`pagurus.git.hookrun`, which
imports only what a hook needs (settings, SQLAlchemy models, pygit2) — no
click, Flask or Celery.

The repo's ``core.hooksPath`` is pinned to its own ``hooks`` folder so that a
``core.hooksPath`` in some user's global git config cannot bypass the rules.
``ensure`` rewrites a missing, edited or outdated hook; ``pagurus admin
ensure-hooks`` runs it over every repository of every project (and so
upgrades the hooks of older versions, which named the runner directly).
"""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
from pathlib import Path

import pygit2

import pagurus

HOOKS = ("pre-receive", "post-receive")
MARKER = "# pagurus-hook v2"


def _package_root() -> str:
    """The folder holding the ``pagurus`` package that installs the hooks."""
    return str(Path(pagurus.__file__).resolve().parent.parent)


def client_path() -> str:
    """The hook client's file, in the forge that installs the hooks."""
    return str(Path(_package_root()) / "pagurus" / "git" / "hookclient.py")


def script(hook: str, python: str | None = None) -> str:
    """The text of hook ``hook``: run the hook client with this very interpreter.

    ``-I`` (isolated) ignores PYTHON* variables and the current directory (the
    repository being pushed to); ``-S`` skips site-packages (the client needs
    only the stdlib: start-up is all it costs). The client's fallback runs
    the code of the forge that installed it, with the same interpreter."""
    if hook not in HOOKS:
        raise ValueError(f"unknown hook {hook!r}")
    python = python or sys.executable
    return (f"#!/bin/sh\n{MARKER}: written by Pagurus, do not edit "
            f"(`pagurus admin ensure-hooks` rewrites it)\n"
            "# Asks the hook server (`pagurus hookd`, <data>/run/hooks.sock) to run the hook;\n"
            "# without it, runs it in a process of its own (pagurus.git.hookrun).\n"
            f"exec {shlex.quote(python)} -I -S {shlex.quote(client_path())} {hook}\n")


def _write(path: Path, text: str) -> None:
    """Replace ``path`` atomically with an executable file holding ``text``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".hook-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, 0o755)  # noqa: S103 - git must execute it; nothing secret inside
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def install(repo_path: Path) -> None:
    """Write both hooks into the bare repo at ``repo_path`` (overwriting)."""
    for hook in HOOKS:
        _write(repo_path / "hooks" / hook, script(hook))
    _pin_hooks_path(repo_path)


def _pin_hooks_path(repo_path: Path) -> bool:
    config = pygit2.Repository(str(repo_path)).config
    try:
        current = config["core.hooksPath"]
    except KeyError:
        current = None
    if current == "hooks":
        return False
    config["core.hooksPath"] = "hooks"  # relative: the bare repo's own folder
    return True


def is_current(repo_path: Path, hook: str) -> bool:
    """The hook exists, is executable and is exactly what we would write."""
    path = repo_path / "hooks" / hook
    try:
        return path.read_text() == script(hook) and os.access(path, os.X_OK)
    except (OSError, UnicodeDecodeError):
        return False


def ensure(repo_path: Path) -> bool:
    """Repair the hooks of one repo if needed; True when something was rewritten.

    A missing repository is left alone (nothing to protect)."""
    if not (repo_path / "HEAD").exists():
        return False
    changed = False
    for hook in HOOKS:
        if not is_current(repo_path, hook):
            _write(repo_path / "hooks" / hook, script(hook))
            changed = True
    return _pin_hooks_path(repo_path) or changed
