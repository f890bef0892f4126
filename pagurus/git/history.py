"""Commit history: log pages, commit ranges and repository statistics.

Long histories are read with ``git log`` (which uses the commit-graph and
never loads the whole graph for the default order), so page 500 of a
100,000-commit branch costs one walk of 25,000 commits in C, not in Python.
The order is git's default one, the same as ``git rev-list <ref>``.
Identifiers reaching git here are always full hex object ids resolved by
:mod:`pagurus.git.refs`; patterns (author emails) are passed as fixed strings.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pygit2

from pagurus.git.repos import GIT_ENV

PER_PAGE = 50
MAX_PAGE = 100_000
COMPARE_MAX = 1000
# one record per commit: fields split by \x1f, records ended by \x1e
_FORMAT = "%H%x1f%P%x1f%an%x1f%ae%x1f%at%x1f%cn%x1f%ce%x1f%ct%x1f%s%x1e"


@dataclass
class LogEntry:
    """One commit as a log row shows it."""

    id: str
    parents: list[str]
    author_name: str
    author_email: str
    author_time: int
    committer_name: str
    committer_email: str
    commit_time: int
    subject: str
    branches: list[str] = field(default_factory=list)

    @property
    def short(self) -> str:
        return self.id[:8]


def _run(repo_dir: Path, args: Sequence[str]) -> bytes:
    env = {**GIT_ENV, "GIT_DIR": str(repo_dir), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "GIT_CONFIG_GLOBAL": os.devnull}
    proc = subprocess.run(["git", *args], env=env, capture_output=True, check=False)
    if proc.returncode != 0:
        raise GitLogError(proc.stderr.decode("utf-8", "replace").strip())
    return proc.stdout


class GitLogError(RuntimeError):
    """git refused the request (should not happen with resolved ids)."""


def _check_oid(oid: str) -> str:
    if not (len(oid) in (40, 64) and all(c in "0123456789abcdef" for c in oid)):
        raise ValueError(f"not a full object id: {oid!r}")
    return oid


def _parse(raw: bytes) -> list[LogEntry]:
    out = []
    for record in raw.split(b"\x1e"):
        record = record.strip(b"\n")
        if not record:
            continue
        parts = record.decode("utf-8", "replace").split("\x1f")
        if len(parts) != 9:
            continue
        oid, parents, an, ae, at, cn, ce, ct, subject = parts
        out.append(LogEntry(
            id=oid, parents=parents.split() if parents else [], author_name=an,
            author_email=ae, author_time=int(at or 0), committer_name=cn,
            committer_email=ce, commit_time=int(ct or 0), subject=subject))
    return out


def _author_args(emails: Sequence[str] | None) -> list[str]:
    """``--author`` patterns matching exactly ``<email>`` (fixed strings, ORed)."""
    if emails is None:
        return []
    args = ["--fixed-strings", "--regexp-ignore-case"]
    for email in emails:
        if email and "\n" not in email and ">" not in email and "<" not in email:
            args.append(f"--author=<{email}>")
    return args


def log_page(repo_dir: Path, head: str, page: int = 1, per_page: int = PER_PAGE,
             emails: Sequence[str] | None = None) -> tuple[list[LogEntry], bool]:
    """Page ``page`` (1-based) of the history of ``head`` (a full commit id),
    newest first, and whether an older page exists.

    ``emails`` keeps only commits authored with one of them (an empty list
    matches nothing)."""
    _check_oid(head)
    page = max(1, min(page, MAX_PAGE))
    if emails is not None and not [e for e in emails if e]:
        return [], False
    # rev-list walks the commit-graph only; the few commits shown are then
    # read in process (cheaper than git log parsing every skipped commit)
    args = ["rev-list", f"--skip={(page - 1) * per_page}", f"--max-count={per_page + 1}",
            *_author_args(emails), head, "--"]
    ids = _run(repo_dir, args).decode("ascii").split()
    entries = read_commits(repo_dir, ids[:per_page])
    return entries, len(ids) > per_page


def _text(raw: bytes | None) -> str:
    return (raw or b"").decode("utf-8", "replace")


def read_commits(repo_dir: Path, ids: Sequence[str]) -> list[LogEntry]:
    """Log entries for these commit ids, in this order."""
    repo = pygit2.Repository(str(repo_dir))
    out = []
    for oid in ids:
        c = repo[oid]
        message = _text(c.raw_message)
        # git's %s: the first paragraph joined into one line
        subject = " ".join(message.strip("\n").split("\n\n", 1)[0].split())
        out.append(LogEntry(
            id=oid, parents=[str(p) for p in c.parent_ids],
            author_name=_text(c.author.raw_name), author_email=_text(c.author.raw_email),
            author_time=c.author.time, committer_name=_text(c.committer.raw_name),
            committer_email=_text(c.committer.raw_email), commit_time=c.commit_time,
            subject=subject))
    return out


def commit_range(repo_dir: Path, base: str, tip: str,
                 limit: int = COMPARE_MAX) -> tuple[list[LogEntry], bool]:
    """Commits reachable from ``tip`` but not from ``base`` (``git rev-list
    base..tip``), newest first, at most ``limit``; and whether more exist."""
    _check_oid(base)
    _check_oid(tip)
    args = ["log", "--no-color", f"--format={_FORMAT}", f"--max-count={limit + 1}",
            f"{base}..{tip}", "--"]
    entries = _parse(_run(repo_dir, args))
    return entries[:limit], len(entries) > limit


# -- statistics ---------------------------------------------------------------

@dataclass
class AuthorCount:
    name: str
    email: str
    commits: int


def top_authors(repo_dir: Path, head: str, limit: int = 50) -> list[AuthorCount]:
    """Authors by commit count in the history of ``head`` (``git shortlog -sne``)."""
    _check_oid(head)
    raw = _run(repo_dir, ["shortlog", "-sne", "--no-merges", head, "--"])
    out = []
    for line in raw.decode("utf-8", "replace").splitlines():
        count, _, who = line.strip().partition("\t")
        name, _, email = who.rpartition(" <")
        try:
            out.append(AuthorCount(name=name, email=email.rstrip(">"), commits=int(count)))
        except ValueError:
            continue
    out.sort(key=lambda a: (-a.commits, a.name.lower()))
    return out[:limit]


WEEK = 7 * 24 * 3600


def weekly_commits(repo_dir: Path, head: str, now: int | None = None,
                   weeks: int = 52) -> list[tuple[int, int]]:
    """Commits per week over the last ``weeks`` weeks: ``[(week_start, count)]``
    oldest first; weeks start on Monday 00:00 UTC."""
    _check_oid(head)
    now = int(now if now is not None else time.time())
    # Monday 00:00 UTC of the current week (epoch 0 was a Thursday)
    this_week = now - ((now - 4 * 86400) % WEEK)
    first = this_week - (weeks - 1) * WEEK
    raw = _run(repo_dir, ["log", "--format=%at", f"--since={first}", head, "--"])
    counts = [0] * weeks
    for line in raw.split():
        ts = int(line)
        index = (ts - first) // WEEK
        if 0 <= index < weeks:
            counts[index] += 1
    return [(first + i * WEEK, c) for i, c in enumerate(counts)]
