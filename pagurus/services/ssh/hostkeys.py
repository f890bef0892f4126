"""The built-in server's host keys: made once under ``<data>/ssh/``, then reused.

Clients pin a host key on first contact, so the keys must survive restarts
and must never be regenerated behind their back. Each key is written to a
temporary file (mode 0600) and hard-linked into place, so two processes
starting together end up with the same complete key.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import asyncssh

KEYS = (("ssh_host_ed25519_key", "ssh-ed25519", {}),
        ("ssh_host_rsa_key", "ssh-rsa", {"key_size": 3072}))


def _write_once(path: Path, data: bytes, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            os.link(tmp, path)
        except FileExistsError:  # someone else made it first: keep theirs
            pass
    finally:
        os.unlink(tmp)


def ensure_host_keys(data_dir: Path) -> list[Path]:
    """Paths of the host keys (ed25519, rsa 3072), generating missing ones."""
    folder = data_dir / "ssh"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, alg, options in KEYS:
        path = folder / name
        if not path.exists():
            key = asyncssh.generate_private_key(alg, **options)
            _write_once(path, key.export_private_key(), 0o600)
            pub = folder / f"{name}.pub"
            if not pub.exists():
                loaded = asyncssh.read_private_key(path)
                _write_once(pub, loaded.export_public_key(), 0o644)
        os.chmod(path, 0o600)
        paths.append(path)
    return paths


def load_host_keys(data_dir: Path) -> list[asyncssh.SSHKey]:
    return [asyncssh.read_private_key(p) for p in ensure_host_keys(data_dir)]
