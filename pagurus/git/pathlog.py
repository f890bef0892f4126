"""History of one path: the commits ``git log <commit> -- <path>`` lists.

The first page of a linear history is found with pygit2 by walking parents
and stopping as soon as the page is full (a recently changed file costs a
few commits). Anything else - later pages, merges on the way, a file that
has not changed for a long time - goes to ``git log``, which uses the
commit-graph's changed-path Bloom filters when the repository has them.
Both give the same answer: git's default history simplification.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

import pygit2

from pagurus.git.repos import GIT_ENV

FAST_WALK_BUDGET = 250  # ~20 ms of pygit2 tree lookups; git log beyond that
_FORMAT = "%H%x1f%an%x1f%ae%x1f%at%x1f%s%x1e"


class HistoryError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class LogEntry:
    id: str
    author: str
    email: str
    time: int
    subject: str

    @property
    def short(self) -> str:
        return self.id[:8]


@dataclass(frozen=True, slots=True)
class Page:
    entries: list[LogEntry]
    page: int
    per_page: int
    has_next: bool

    def to_json(self) -> str:
        """For caches: a page is a pure function of (commit id, path, page)."""
        return json.dumps({"entries": [asdict(e) for e in self.entries], "page": self.page,
                           "per_page": self.per_page, "has_next": self.has_next})

    @classmethod
    def from_json(cls, raw: str) -> Page:
        data = json.loads(raw)
        return cls(entries=[LogEntry(**e) for e in data["entries"]], page=data["page"],
                   per_page=data["per_page"], has_next=data["has_next"])


def _entry_of(commit: pygit2.Commit) -> LogEntry:
    author = commit.author
    subject = commit.raw_message.decode("utf-8", "replace").split("\n", 1)[0]
    return LogEntry(id=str(commit.id), author=author.raw_name.decode("utf-8", "replace"),
                    email=author.raw_email.decode("utf-8", "replace"),
                    time=commit.author.time, subject=subject)


def _at(tree: pygit2.Tree, path: str) -> tuple[pygit2.Oid, int] | None:
    try:
        obj = tree[path]
    except (KeyError, ValueError, pygit2.GitError):
        return None
    return obj.id, obj.filemode


def _first_page_linear(repo: pygit2.Repository, commit: pygit2.Commit, path: str,
                       wanted: int, budget: int = FAST_WALK_BUDGET) -> list[LogEntry] | None:
    """The first ``wanted`` commits touching ``path`` while the history is a
    single line of parents; None when it meets a merge or runs out of budget
    (the caller then asks git)."""
    found: list[LogEntry] = []
    current: pygit2.Commit | None = commit
    here = _at(commit.tree, path)
    steps = 0
    while current is not None and len(found) < wanted:
        steps += 1
        if steps > budget:
            return None
        parents = current.parent_ids
        if len(parents) > 1:
            return None
        if not parents:
            if here is not None:
                found.append(_entry_of(current))
            return found
        parent = repo[parents[0]]
        before = _at(parent.tree, path)
        if before != here:
            found.append(_entry_of(current))
        current, here = parent, before
    return found


def _git_log(git_dir: Path | str, commit_id: str, path: str, skip: int,
             count: int) -> list[LogEntry]:
    env = {**os.environ, **GIT_ENV}
    args = ["git", "--literal-pathspecs", "--git-dir", str(git_dir), "log",
            f"--format={_FORMAT}",
            f"--skip={skip}", f"--max-count={count}", commit_id, "--", path]
    proc = subprocess.run(args, capture_output=True, env=env, timeout=120)
    if proc.returncode != 0:
        raise HistoryError(proc.stderr.decode("utf-8", "replace").strip())
    entries = []
    for record in proc.stdout.split(b"\x1e"):
        record = record.strip(b"\n")
        if not record:
            continue
        fields = record.split(b"\x1f")
        if len(fields) != 5:
            continue
        sha, name, email, when, subject = (f.decode("utf-8", "replace") for f in fields)
        entries.append(LogEntry(id=sha, author=name, email=email, time=int(when or 0),
                                subject=subject))
    return entries


def history(repo: pygit2.Repository, commit: pygit2.Commit, path: str, page: int = 1,
            per_page: int = 50) -> Page:
    """One page of the commits that changed ``path`` up to ``commit``."""
    page = max(1, page)
    commit_id = str(commit.id)
    if not path:
        raise HistoryError("a path is required")
    entries: list[LogEntry] | None = None
    if page == 1:
        entries = _first_page_linear(repo, commit, path, per_page + 1)
    if entries is None:
        entries = _git_log(repo.path, commit_id, path, (page - 1) * per_page, per_page + 1)
    return Page(entries=entries[:per_page], page=page, per_page=per_page,
                has_next=len(entries) > per_page)
