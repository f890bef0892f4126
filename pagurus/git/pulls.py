"""The git side of pull requests, all in the *target* repository.

A pull request's head is kept at ``refs/pull/<number>/head`` of the target
repo (fetched from the fork, or set from the branch of the same repo), so
``git fetch origin pull/<n>/head`` works, every diff and merge reads one
repository, and the PR stays readable after its fork is deleted.

Merge analysis is done in memory with pygit2 (no checkout, no temporary
clone): conflicts are found by merging the trees.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pygit2

FETCH_TIMEOUT = 600
COMMITS_MAX = 10_000  # commits listed for one pull request
FFORWARD, MERGE, CONFLICTS, NO_CHANGE = "FFORWARD", "MERGE", "CONFLICTS", "NO_CHANGE"


class PullGitError(Exception):
    """The branches of a pull request cannot be read or compared."""


def pull_ref(number: int) -> str:
    return f"refs/pull/{int(number)}/head"


def _git_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}


def branch_head(repo: pygit2.Repository, branch: str) -> pygit2.Commit | None:
    try:
        ref = repo.lookup_reference(f"refs/heads/{branch}")
        obj = repo[ref.resolve().target]
    except (KeyError, ValueError, pygit2.GitError):
        return None
    return obj if isinstance(obj, pygit2.Commit) else None


def sync_head(target: pygit2.Repository, number: int, source_path: Path | None,
              branch: str) -> str:
    """Point ``refs/pull/<number>/head`` of ``target`` at ``branch`` of the
    source repo (``None``: the target itself) and return that commit id."""
    if branch.startswith("-") or "\n" in branch:
        raise PullGitError(f"Invalid branch name: {branch!r}")
    same = source_path is None or Path(source_path).resolve() == Path(target.path).resolve()
    if same:
        head = branch_head(target, branch)
        if head is None:
            raise PullGitError(f"Branch {branch} could not be found in the source repo")
        target.references.create(pull_ref(number), head.id, force=True)
        return str(head.id)
    proc = subprocess.run(
        ["git", "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--",
         str(source_path), f"+refs/heads/{branch}:{pull_ref(number)}"],
        cwd=target.path, env=_git_env(), capture_output=True, timeout=FETCH_TIMEOUT,
        check=False)
    if proc.returncode != 0:
        raise PullGitError(f"Branch {branch} could not be found in the source repo")
    ref = target.lookup_reference(pull_ref(number))
    return str(ref.target)


def fetch_remote_head(target: pygit2.Repository, number: int, url: str, branch: str,
                      config: Sequence[str] = ()) -> str:
    """Like :func:`sync_head` for a remote repository (the caller has
    checked the URL against the outgoing-address guard, whose ``config``
    — ``-c`` values pinning the checked addresses — is passed on)."""
    if branch.startswith("-") or url.startswith("-"):
        raise PullGitError("Invalid remote or branch")
    options = [arg for value in config for arg in ("-c", value)]
    proc = subprocess.run(
        ["git", "-c", "protocol.file.allow=never", "-c", "protocol.ext.allow=never", *options,
         "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--",
         url, f"+refs/heads/{branch}:{pull_ref(number)}"],
        cwd=target.path, env={**_git_env(), "GIT_TERMINAL_PROMPT": "0"}, capture_output=True,
        timeout=FETCH_TIMEOUT, check=False)
    if proc.returncode != 0:
        raise PullGitError(f"Could not fetch branch {branch} of {url}")
    return str(target.lookup_reference(pull_ref(number)).target)


def drop_head(target: pygit2.Repository, number: int) -> None:
    try:
        target.references.delete(pull_ref(number))
    except (KeyError, pygit2.GitError):
        pass


@dataclass
class Range:
    """What a pull request brings: commits on ``head`` not on the target."""

    head: str
    base: str | None  # merge base with the target branch (None: unrelated or empty target)
    commits: list[pygit2.Commit] = field(default_factory=list)  # oldest first
    truncated: bool = False

    @property
    def start(self) -> str | None:
        return str(self.commits[0].id) if self.commits else None

    @property
    def stop(self) -> str | None:
        return str(self.commits[-1].id) if self.commits else None


def commit_range(repo: pygit2.Repository, target_branch: str, head: str) -> Range:
    try:
        head_commit = repo[head]
    except (KeyError, ValueError) as exc:
        raise PullGitError(f"Commit {head} not found") from exc
    tip = branch_head(repo, target_branch)
    base = None
    walker = repo.walk(head_commit.id, pygit2.enums.SortMode.TOPOLOGICAL)
    if tip is not None:
        merge_base = repo.merge_base(tip.id, head_commit.id)
        base = str(merge_base) if merge_base else None
        walker.hide(tip.id)
    commits: list[pygit2.Commit] = []
    truncated = False
    for commit in walker:
        if len(commits) >= COMMITS_MAX:
            truncated = True
            break
        commits.append(commit)
    commits.reverse()
    return Range(head=str(head_commit.id), base=base, commits=commits, truncated=truncated)


@dataclass(frozen=True)
class MergeCheck:
    status: str  # FFORWARD | MERGE | CONFLICTS | NO_CHANGE
    target_tip: str | None
    head: str
    conflicts: tuple[str, ...] = ()


def merge_check(repo: pygit2.Repository, target_branch: str, head: str) -> MergeCheck:
    """How ``head`` would merge into the branch, computed in memory."""
    tip = branch_head(repo, target_branch)
    head_id = repo[head].id
    if tip is None:
        return MergeCheck(FFORWARD, None, str(head_id))
    if tip.id == head_id or repo.descendant_of(tip.id, head_id):
        return MergeCheck(NO_CHANGE, str(tip.id), str(head_id))
    if repo.descendant_of(head_id, tip.id):
        return MergeCheck(FFORWARD, str(tip.id), str(head_id))
    index = repo.merge_commits(tip.id, head_id)
    if index.conflicts is not None:
        files = set()
        for ancestor, ours, theirs in index.conflicts:
            for entry in (ours, theirs, ancestor):
                if entry is not None:
                    files.add(entry.path)
                    break
        return MergeCheck(CONFLICTS, str(tip.id), str(head_id), tuple(sorted(files)))
    return MergeCheck(MERGE, str(tip.id), str(head_id))


def merge_tree(repo: pygit2.Repository, target_tip: str, head: str) -> pygit2.Oid:
    """The tree of the merge of ``head`` into ``target_tip`` (no conflicts
    allowed: check with :func:`merge_check` first)."""
    index = repo.merge_commits(repo[target_tip].id, repo[head].id)
    if index.conflicts is not None:
        raise PullGitError("Merge conflicts!")
    return index.write_tree(repo)


@dataclass(frozen=True)
class ReadyBranch:
    name: str
    commit: str
    time: int
    ahead: int


def ready_branches(repo: pygit2.Repository, default: str, *, since: int,
                   limit: int = 5) -> list[ReadyBranch]:
    """Branches other than ``default`` whose head is newer than ``since``
    (epoch seconds) and has commits ``default`` lacks, newest first: the
    ones worth a "New PR" button. Only the ``limit * 4`` newest are counted."""
    from pagurus.git.branches import ahead_behind

    tip = branch_head(repo, default)
    candidates = []
    for name in repo.branches.local:
        if name == default:
            continue
        head = branch_head(repo, name)
        if head is not None and head.commit_time >= since:
            candidates.append((head.commit_time, name, head))
    candidates.sort(key=lambda c: c[0], reverse=True)
    out: list[ReadyBranch] = []
    for when, name, head in candidates[: limit * 4]:
        ahead = ahead_behind(repo, str(head.id), str(tip.id))[0] if tip is not None else 1
        if ahead:
            out.append(ReadyBranch(name, str(head.id), when, ahead))
        if len(out) >= limit:
            break
    return out
