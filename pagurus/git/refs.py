"""Opening project repositories and turning what a URL names into a commit.

Every repository page and API call goes through :func:`open_repo` and
:func:`resolve_commit`, so "which commit does ``feature/x`` mean" has one
answer: a branch first, then a tag (peeled to its commit), then a commit id
(full or abbreviated), then ``HEAD``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pygit2

from pagurus.paths import repo_path

_HEX = re.compile(r"^[0-9a-fA-F]{4,64}$")
MAX_REF = 1024


class RefNotFound(LookupError):
    """The identifier names no branch, tag or commit of this repository."""


def open_repo(data_dir: Path, fullname: str, kind: str = "main") -> pygit2.Repository:
    """The bare repository of a project (``FileNotFoundError`` if it is missing)."""
    path = repo_path(data_dir, kind, fullname)
    if not (path / "HEAD").is_file():
        raise FileNotFoundError(str(path))
    return pygit2.Repository(str(path))


def is_empty(repo: pygit2.Repository) -> bool:
    """No branch has a commit yet (HEAD may still name a default branch)."""
    return repo.is_empty or not any(True for _ in repo.references.iterator(
        pygit2.enums.ReferenceFilter.BRANCHES))


def head_branch(repo: pygit2.Repository) -> str | None:
    """The branch HEAD points to (the default branch), born or not."""
    try:
        target = repo.lookup_reference("HEAD").target
    except (KeyError, pygit2.GitError):
        return None
    if isinstance(target, str) and target.startswith("refs/heads/"):
        return target[len("refs/heads/"):]
    return None


def _peel_commit(obj: pygit2.Object | None) -> pygit2.Commit | None:
    try:
        peeled = obj.peel(pygit2.Commit) if obj is not None else None
    except (pygit2.GitError, ValueError, TypeError):
        return None
    return peeled if isinstance(peeled, pygit2.Commit) else None


def resolve_commit(repo: pygit2.Repository, identifier: str | None) -> pygit2.Commit:
    """The commit that ``identifier`` names (None or "" = HEAD).

    Never passes the identifier to a revparse that could read ``@{…}``,
    ``^``, ``~`` or ``:`` syntax: only exact branch/tag names and hex ids."""
    if not identifier or identifier == "HEAD":
        try:
            return repo.head.peel(pygit2.Commit)
        except (pygit2.GitError, KeyError) as exc:
            raise RefNotFound("HEAD") from exc
    if len(identifier) > MAX_REF or "\x00" in identifier:
        raise RefNotFound(identifier)
    for prefix in ("refs/heads/", "refs/tags/"):
        try:
            ref = repo.references.get(prefix + identifier)
        except (pygit2.GitError, ValueError):
            ref = None
        if ref is not None:
            commit = _peel_commit(repo.get(ref.resolve().target))
            if commit is not None:
                return commit
            raise RefNotFound(identifier)  # e.g. a tag on a tree or a blob
    if _HEX.fullmatch(identifier):
        try:
            obj = repo.get(identifier) if len(identifier) >= 40 else repo.revparse_single(
                identifier)
        except (KeyError, ValueError, pygit2.GitError):
            obj = None
        commit = _peel_commit(obj)
        if commit is not None:
            return commit
    raise RefNotFound(identifier)


def split_ref_and_path(repo: pygit2.Repository, rest: str) -> tuple[str, str]:
    """Split ``<ref>/f/<path>`` where both parts may hold slashes (and even
    ``/f/``): the longest prefix that names a ref wins."""
    parts = rest.split("/f/")
    for i in range(len(parts) - 1, 0, -1):
        ref = "/f/".join(parts[:i])
        try:
            resolve_commit(repo, ref)
        except RefNotFound:
            continue
        return ref, "/f/".join(parts[i:])
    return parts[0], "/f/".join(parts[1:])
