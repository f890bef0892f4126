"""The one place that turns a repository name into a path under the data dir.

Every caller goes through :func:`repo_path`, which refuses any result that
would leave its folder, so a name that slipped past validation still cannot
touch another file.
"""

from __future__ import annotations

from pathlib import Path

REPO_KINDS = ("main", "docs", "tickets", "requests")
_KIND_DIRS = {"main": "repos", "docs": "docs", "tickets": "tickets", "requests": "requests"}


class UnsafePath(ValueError):
    """A computed path would escape the data directory."""


def safe_join(base: Path, *parts: str) -> Path:
    """Join ``parts`` under ``base``; refuse absolute parts, ``..`` and escapes."""
    for part in parts:
        if not part or part.startswith("/") or "\x00" in part:
            raise UnsafePath(part)
        if any(seg in ("", ".", "..") for seg in part.split("/")):
            raise UnsafePath(part)
    base_resolved = base.resolve()
    target = base_resolved.joinpath(*parts)
    if base_resolved != target and base_resolved not in target.parents:
        raise UnsafePath(str(target))
    return target


def repo_path(data_dir: Path, kind: str, fullname: str) -> Path:
    """Bare repository of ``kind`` for a project ``fullname``
    (``[forks/<user>/][<namespace>/]<name>``)."""
    if kind not in _KIND_DIRS:
        raise ValueError(f"unknown repository kind {kind!r}")
    return safe_join(data_dir / _KIND_DIRS[kind], fullname + ".git")
