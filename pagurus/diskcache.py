"""Size bounds for caches kept as files (source archives, slow blames).

Their entries are pure functions of object ids, so any of them may go at any
time: when a cache folder grows past its bound, the least recently used
files (a hit touches its file) are removed until it is back to
``KEEP_FRACTION`` of the bound. Walking a big folder costs, so a trim runs
at most once per ``every`` seconds per folder, whichever process writes,
decided by a stamp file's age. Files being written (``*.part``, ``*.tmp``)
are left alone unless they are older than an hour (a writer that died).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)

KEEP_FRACTION = 0.8
STAMP = ".trimmed"
_IN_PROGRESS = (".part", ".tmp")
_STALE_WRITE = 3600.0


def touch(path: Path) -> None:
    """Mark a cache hit (the file is then among the last to go)."""
    try:
        os.utime(path)
    except OSError:
        pass


def _files(folder: Path) -> list[tuple[float, int, str]]:
    out: list[tuple[float, int, str]] = []
    now = time.time()
    stack = [str(folder)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                    continue
                if entry.name == STAMP or entry.name.endswith(".lock"):
                    continue
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if entry.name.endswith(_IN_PROGRESS) and now - info.st_mtime < _STALE_WRITE:
                continue
            out.append((info.st_mtime, info.st_size, entry.path))
    return out


def _drop_empty_dirs(folder: Path, start: Path) -> None:
    parent = start
    while parent != folder and folder in parent.parents:
        try:
            parent.rmdir()
        except OSError:
            return
        parent = parent.parent


def trim(folder: Path, max_bytes: int, *, every: float = 600.0) -> int:
    """Bring ``folder`` back under ``max_bytes`` if it is over; returns the
    bytes freed (0 when not due, under the bound, or ``max_bytes`` <= 0,
    which means unbounded)."""
    if max_bytes <= 0 or not folder.is_dir():
        return 0
    stamp = folder / STAMP
    try:
        if time.time() - stamp.stat().st_mtime < every:
            return 0
    except OSError:
        pass
    try:
        stamp.touch()
    except OSError:
        return 0
    files = _files(folder)
    total = sum(size for _mtime, size, _path in files)
    if total <= max_bytes:
        return 0
    goal = int(max_bytes * KEEP_FRACTION)
    freed = 0
    for _mtime, size, path in sorted(files):
        if total - freed <= goal:
            break
        try:
            os.unlink(path)
        except OSError:
            continue
        freed += size
        _drop_empty_dirs(folder, Path(path).parent)
    log.info("cache %s trimmed: %d bytes freed", folder, freed)
    return freed
