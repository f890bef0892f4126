"""Merging and rebasing pull requests, in memory, in the bare target repo.

No checkout and no temporary clone: the merge is computed by pygit2 over the
object database (``merge_commits`` for a three-way merge, ``merge_trees`` to
replay each commit of a rebase), the new commit objects are written straight
into the repository, and the branch is then moved by a local push
(:func:`pagurus.git.commit_edit.push_ref`) as the merging user. So the merge
goes through the same pre-/post-receive hooks as any push (rights, protected
branches, signed-off commits, events, pull-request refresh), and the push's
``--force-with-lease`` names the tip the merge was computed on: if anything
moved the branch meanwhile, receive-pack refuses the update and nothing is
lost; :func:`merge` then computes the merge again on the new tip (once).

A pull request's head is read from ``refs/pull/<n>/head`` of the target repo
(``core.pulls.sync`` keeps it), so forks and remote repositories look the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pygit2

from pagurus.config import Settings
from pagurus.git import pulls as git_pulls
from pagurus.git.commit_edit import PushResult, push_ref, signature

# what merging the pull request's head into the target branch does
CREATE = "CREATE"  # the branch does not exist yet: it is created
FFORWARD = "FFORWARD"  # the branch moves forward to the head
MERGE = "MERGE"  # a merge commit joins the branch and the head
NO_CHANGE = "NO_CHANGE"  # the branch already contains the head
CONFLICTS = "CONFLICTS"  # the three-way merge has conflicts: refused
NEEDS_REBASE = "NEEDSREBASE"  # a merge commit is needed but the project forbids them
WRITES = (CREATE, FFORWARD, MERGE)
RETRIES = 1  # a lost lease is computed again on the new tip this many times


@dataclass(frozen=True)
class Identity:
    """Who merges or rebases: the name and email recorded in new commits, the
    user name the hooks check."""

    user: str
    name: str
    email: str

    def signature(self) -> pygit2.Signature:
        return signature(self.name, self.email)


@dataclass(frozen=True)
class MergePlan:
    action: str  # one of the constants above
    target_tip: str | None  # the branch tip the plan was computed on
    head: str
    new_tip: str | None = None  # what the branch becomes (WRITES only)
    conflicts: tuple[str, ...] = ()


@dataclass(frozen=True)
class MergeOutcome:
    plan: MergePlan
    pushed: bool
    message: str = ""  # the hooks' messages, or why the push was refused
    stale: bool = False  # the branch kept moving: refused after the retry


def merge_message(number: int, title: str, sign_off: Identity | None = None) -> str:
    """``Merge #<id> `<title>` `` (plus a Signed-off-by line when asked)."""
    title = " ".join((title or "").split())
    text = f"Merge #{int(number)} `{title}`\n"
    if sign_off is not None:
        sig = sign_off.signature()
        text += f"\nSigned-off-by: {sig.name} <{sig.email}>\n"
    return text


def _conflict_paths(index: pygit2.Index) -> tuple[str, ...]:
    files: set[str] = set()
    for ancestor, ours, theirs in index.conflicts or ():
        for entry in (ours, theirs, ancestor):
            if entry is not None:
                files.add(entry.path)
                break
    return tuple(sorted(files))


def plan_merge(repo: pygit2.Repository, branch: str, head: str, *, merger: Identity,
               message: str, always_merge: bool = False,
               allow_merge_commits: bool = True) -> MergePlan:
    """What merging ``head`` into ``branch`` takes, computed in memory. For
    the writing actions the new commit is already in the object database
    (unreferenced until pushed)."""
    tip = git_pulls.branch_head(repo, branch)
    head_commit = repo[head].peel(pygit2.Commit)
    head_id = head_commit.id
    sig = merger.signature()
    if tip is None:
        if not always_merge:
            return MergePlan(CREATE, None, str(head_id), str(head_id))
        oid = repo.create_commit(None, sig, sig, message, head_commit.tree_id, [head_id])
        return MergePlan(CREATE, None, str(head_id), str(oid))
    tip_id = tip.id
    if tip_id == head_id or repo.descendant_of(tip_id, head_id):
        return MergePlan(NO_CHANGE, str(tip_id), str(head_id))
    if repo.descendant_of(head_id, tip_id):
        if not always_merge:
            return MergePlan(FFORWARD, str(tip_id), str(head_id), str(head_id))
        oid = repo.create_commit(None, sig, sig, message, head_commit.tree_id,
                                 [tip_id, head_id])
        return MergePlan(MERGE, str(tip_id), str(head_id), str(oid))
    index = repo.merge_commits(tip_id, head_id)
    if index.conflicts is not None:
        return MergePlan(CONFLICTS, str(tip_id), str(head_id),
                         conflicts=_conflict_paths(index))
    if not allow_merge_commits:
        return MergePlan(NEEDS_REBASE, str(tip_id), str(head_id))
    tree = index.write_tree(repo)
    oid = repo.create_commit(None, sig, sig, message, tree, [tip_id, head_id])
    return MergePlan(MERGE, str(tip_id), str(head_id), str(oid))


def merge(settings: Settings, repo_path: Path, branch: str, head: str, *, merger: Identity,
          message: str, always_merge: bool = False, allow_merge_commits: bool = True,
          pull_request: str | None = None, base_url: str | None = None,
          retries: int = RETRIES,
          before_push: Callable[[MergePlan], None] | None = None) -> MergeOutcome:
    """Plan the merge and push it as ``merger.user`` with a lease on the tip
    it was computed on. A lost lease (someone pushed meanwhile) plans again on
    the new tip, up to ``retries`` times, then gives up with ``stale``: a
    commit pushed by someone else is never overwritten. ``before_push`` is
    called with each plan just before its push (a seam for tests)."""
    outcome: MergeOutcome | None = None
    for _attempt in range(retries + 1):
        repo = pygit2.Repository(str(repo_path))  # fresh: the refs may have moved
        plan = plan_merge(repo, branch, head, merger=merger, message=message,
                          always_merge=always_merge, allow_merge_commits=allow_merge_commits)
        if plan.action not in WRITES:
            return MergeOutcome(plan, pushed=False)
        if before_push is not None:
            before_push(plan)
        result: PushResult = push_ref(settings, repo_path, merger.user, plan.new_tip,
                                      f"refs/heads/{branch}", plan.target_tip,
                                      pull_request=pull_request, base_url=base_url)
        if result.ok:
            return MergeOutcome(plan, pushed=True, message=result.message)
        outcome = MergeOutcome(plan, pushed=False, message=result.message, stale=result.stale)
        if not result.stale:
            return outcome
    assert outcome is not None
    return MergeOutcome(outcome.plan, pushed=False, stale=True,
                        message=f"The branch {branch} kept changing during the merge: "
                                "nothing was merged, try again.")


# -- rebase ------------------------------------------------------------------------------

@dataclass(frozen=True)
class RebasePlan:
    onto: str | None  # the target tip the commits were replayed on
    old_head: str
    new_head: str | None  # None: conflicts, or nothing to do
    replayed: int = 0
    conflicts: tuple[str, ...] = ()
    conflict_commit: str | None = None  # the commit that did not apply

    @property
    def up_to_date(self) -> bool:
        return self.new_head is None and not self.conflicts


def plan_rebase(repo: pygit2.Repository, target_branch: str, head: str, *,
                committer: Identity) -> RebasePlan:
    """Replay the commits ``head`` has and ``target_branch`` lacks onto the
    branch's tip, like ``git rebase``: oldest first, merge commits dropped,
    commits whose change is already upstream dropped, authors and messages
    kept, ``committer`` as committer. Each commit's change is applied by a
    three-way merge of trees (its parent, the new base, the commit)."""
    tip = git_pulls.branch_head(repo, target_branch)
    head_commit = repo[head].peel(pygit2.Commit)
    if tip is None:
        return RebasePlan(None, str(head_commit.id), None)
    if tip.id == head_commit.id or repo.descendant_of(head_commit.id, tip.id) or \
            repo.descendant_of(tip.id, head_commit.id):
        return RebasePlan(str(tip.id), str(head_commit.id), None)
    span = git_pulls.commit_range(repo, target_branch, str(head_commit.id))
    if span.truncated:
        raise git_pulls.PullGitError("Too many commits to rebase")
    empty_tree = repo[repo.TreeBuilder().write()]
    sig = committer.signature()
    current = tip
    replayed = 0
    for commit in span.commits:
        if len(commit.parents) > 1:
            continue
        base_tree = commit.parents[0].tree if commit.parents else empty_tree
        index = repo.merge_trees(base_tree, current.tree, commit.tree)
        if index.conflicts is not None:
            return RebasePlan(str(tip.id), str(head_commit.id), None,
                              conflicts=_conflict_paths(index),
                              conflict_commit=str(commit.id))
        tree = index.write_tree(repo)
        if tree == current.tree_id:
            continue  # already upstream
        extra = [commit.message_encoding] if commit.message_encoding else []
        oid = repo.create_commit(None, commit.author, sig, commit.raw_message, tree,
                                 [current.id], *extra)
        current = repo[oid]
        replayed += 1
    return RebasePlan(str(tip.id), str(head_commit.id), str(current.id), replayed)


def push_rebase(settings: Settings, target_path: Path, source_path: Path, branch: str,
                plan: RebasePlan, *, user: str, internal: bool = False,
                pull_request: str | None = None, base_url: str | None = None) -> PushResult:
    """Force-update ``branch`` of the source repo to the rebased head, from
    the target repo (where the new commits are), with a lease on the head the
    rebase started from: new commits pushed meanwhile are never lost.
    ``pull_request`` (uid) tells the source repo's hook that the caller
    refreshes that pull request itself."""
    assert plan.new_head is not None
    return push_ref(settings, source_path, user, plan.new_head, f"refs/heads/{branch}",
                    plan.old_head, source=target_path, internal=internal,
                    pull_request=pull_request, base_url=base_url)
