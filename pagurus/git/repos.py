"""Creating, forking and removing bare repositories on disk."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pygit2

GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"}


def git(*args: str, cwd: Path | None = None, check: bool = True,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run git with a clean environment; callers put user input after ``--``."""
    full_env = {**os.environ, **GIT_ENV, **(env or {})}
    return subprocess.run(["git", *args], cwd=cwd, env=full_env, check=check,
                          capture_output=True)


def init_bare(path: Path, default_branch: str = "main") -> pygit2.Repository:
    """A new bare repo whose HEAD names ``default_branch``; refuses to reuse a path."""
    if path.exists():
        raise FileExistsError(f"repository already exists: {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    repo = pygit2.init_repository(str(path), bare=True, initial_head=default_branch)
    repo.config["receive.denyNonFastForwards"] = False
    repo.config["uploadpack.allowFilter"] = True
    repo.config["uploadpack.allowAnySHA1InWant"] = False
    return repo


def commit_readme(repo: pygit2.Repository, branch: str, content: str,
                  author_name: str, author_email: str) -> None:
    """First commit with a README.md, written without a worktree."""
    blob = repo.create_blob(content.encode("utf-8"))
    builder = repo.TreeBuilder()
    builder.insert("README.md", blob, pygit2.enums.FileMode.BLOB)
    tree = builder.write()
    sig = pygit2.Signature(author_name or "Pagurus", author_email or "pagurus@localhost")
    repo.create_commit(f"refs/heads/{branch}", sig, sig, "Added the README\n", tree, [])


def fork_bare(source: Path, target: Path) -> None:
    """Clone ``source`` to ``target`` sharing disk by hard links (same filesystem).

    Hard links, unlike alternates, keep the fork whole if the parent is deleted
    or repacked."""
    if target.exists():
        raise FileExistsError(f"repository already exists: {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".fork-", dir=target.parent))
    try:
        dest = tmp / "repo.git"
        extra = ["--no-hardlinks"] if _cross_device(source, target) else []
        git("clone", "--bare", "--local", *extra, "--", str(source), str(dest))
        head = git("symbolic-ref", "HEAD", cwd=source, check=False).stdout.decode().strip()
        if head:
            git("symbolic-ref", "HEAD", head, cwd=dest)
        # the fork is its own origin-less repo
        git("remote", "remove", "origin", cwd=dest, check=False)
        os.rename(dest, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _cross_device(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_dev != b.parent.stat().st_dev
    except OSError:
        return True


def remove(path: Path) -> None:
    """Delete a bare repo (missing is fine) and empty parent folders it leaves."""
    if path.exists():
        shutil.rmtree(path)
    parent = path.parent
    for _ in range(3):
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent
