"""The hook server (``pagurus hookd``): runs the git hooks of every push in a
warm process, so a push does not pay ~0.5 s of imports twice.

The installed hooks are tiny clients (:mod:`pagurus.git.hookclient`) that
talk to :class:`~pagurus.services.hookd.server.HookServer` over the Unix
socket :func:`socket_path`; the server runs :func:`pagurus.git.hookrun.run`,
the same code the clients fall back to when it is not running.
"""

from __future__ import annotations

from pathlib import Path

from pagurus.git.hookclient import RUN_DIR, SOCKET_NAME


def run_dir(data_dir: Path) -> Path:
    """``<data>/run``: the forge's sockets, only for its own user (0700)."""
    return Path(data_dir) / RUN_DIR


def socket_path(data_dir: Path) -> Path:
    """Where the hook server listens (and the hook clients connect)."""
    return run_dir(data_dir) / SOCKET_NAME
