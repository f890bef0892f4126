"""Per-file statistics of a pull request's diff (API ``diffstats``).

An open pull request is compared from its merge base with the target branch
to its head (what merging would bring); a closed or merged one from the
parent of its first commit to its last, so the answer stays the same after
the target moved on. Renames are detected. Read from the target repository,
which holds every PR head at ``refs/pull/<n>/head``.
"""

from __future__ import annotations

from typing import Any

import pygit2

from pagurus.git.diff import STATS_MAX_BYTES, tree_diff
from pagurus.git.pulls import branch_head

# git's status letters folded into the four Pagure reports
_STATUS = {"A": "A", "C": "A", "D": "D", "M": "M", "T": "M", "R": "R"}


def _commit(repo: pygit2.Repository, oid: str | None) -> pygit2.Commit | None:
    if not oid:
        return None
    try:
        found = repo.get(oid)
    except (KeyError, ValueError, pygit2.GitError):
        return None
    return found if isinstance(found, pygit2.Commit) else None


def pr_trees(repo: pygit2.Repository, *, target_branch: str, start: str | None,
             stop: str | None, is_open: bool
             ) -> tuple[pygit2.Tree | None, pygit2.Tree] | None:
    """(old tree or None for the empty tree, new tree) of the PR's diff;
    None when there is nothing to compare (no commits, objects gone)."""
    head = _commit(repo, stop)
    if head is None:
        return None
    if is_open:
        tip = branch_head(repo, target_branch)
        if tip is None:
            return None, head.tree
        base = repo.merge_base(tip.id, head.id)
        if base is not None and base == head.id:
            return None  # already in the target: nothing left to show
        return (repo[base].tree if base is not None else None), head.tree
    first = _commit(repo, start) or head
    return (first.parents[0].tree if first.parents else None), head.tree


def _size(repo: pygit2.Repository, oid: pygit2.Oid) -> int:
    if oid is None or oid.raw == b"\x00" * len(oid.raw):
        return 0
    try:
        return int(repo.odb.read_header(oid)[1])
    except (KeyError, ValueError, pygit2.GitError):
        return 0


def diffstats(repo: pygit2.Repository, old: pygit2.Tree | None, new: pygit2.Tree
              ) -> dict[str, dict[str, Any]]:
    """{new path: {lines_added, lines_removed, old_path, status, old_id, new_id}};
    line counts of files over ``STATS_MAX_BYTES`` are not computed (0)."""
    diff = tree_diff(repo, old, new, context_lines=0)
    out: dict[str, dict[str, Any]] = {}
    for i, delta in enumerate(diff.deltas):
        added = removed = 0
        if max(_size(repo, delta.old_file.id), _size(repo, delta.new_file.id)) <= \
                STATS_MAX_BYTES:
            _ctx, added, removed = diff[i].line_stats
        new_path = delta.new_file.raw_path.decode("utf-8", "replace")
        out[new_path] = {
            "lines_added": added,
            "lines_removed": removed,
            "old_path": delta.old_file.raw_path.decode("utf-8", "replace"),
            "status": _STATUS.get(delta.status_char(), "M"),
            "old_id": str(delta.old_file.id),
            "new_id": str(delta.new_file.id),
        }
    return out
