"""Which ref updates of a push are refused, and why (the pre-receive rules).

Pure functions over the DB session and pygit2 objects: the hook runner
(``pagurus.git.hookrun``) parses git's input, opens the repository and prints
what these functions return. Access itself is asked of ``core.gitaccess`` /
``core.access``, never re-implemented here.

Rules, in order:

* a read-only project refuses every push, the forge's own (``internal``)
  ones included: read-only means the repositories must not change, and the
  forge's code paths (merges, online edits) are expected to check the flag
  before they push; refusing here is the last safety net;
* nobody deletes the project's default branch (internal pushes included:
  it would leave HEAD dangling and break every page of the project);
* internal pushes skip everything else (ACLs, blocked users, plugins): the
  forge enforces its own rules before pushing (e.g. signed-off commits when
  merging a pull request) and its merge commits must not be refused by a
  rule meant for people;
* an anonymous pusher, a blocked account (instance-wide ``blocked_until``)
  or a user in the project's ``block_users`` is refused for every ref;
* each ref needs ``gitaccess.can_update_ref`` (committers, collaborators on
  their branch patterns, deploy keys with push access) — or must be the merge
  of an open pull request into its target branch, pushed by someone who may
  commit there (:func:`is_pull_request_merge`: how ``pull_request_access_only``
  projects still take merges);
* main repo plugins: ``Block non fast-forward pushes`` (deletion and non
  fast-forward updates of the listed branches, ``*`` for all),
  ``Prevent creating new branches by git push`` (any new ref but tags),
  ``Block Un-Signed commits`` (every commit new to the repository needs a
  ``Signed-off-by`` line).

git's pre-receive hook is all-or-nothing: one refusal and no ref changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pygit2
from sqlalchemy.orm import Session

from pagurus.core import access
from pagurus.core.gitaccess import Identity, can_update_ref
from pagurus.model import Project

PLUGIN_FORCE_PUSH = "Block non fast-forward pushes"
PLUGIN_NO_NEW_BRANCHES = "Prevent creating new branches by git push"
PLUGIN_SIGNED_OFF = "Block Un-Signed commits"


def is_zero(sha: str) -> bool:
    """git's "no object" id (40 zeros, 64 in SHA-256 repos)."""
    return bool(sha) and set(sha) == {"0"}


@dataclass(frozen=True)
class RefUpdate:
    """One line of a pre/post-receive hook's input: ``<old> <new> <ref>``."""

    old: str
    new: str
    ref: str

    @property
    def created(self) -> bool:
        return is_zero(self.old)

    @property
    def deleted(self) -> bool:
        return is_zero(self.new)

    @property
    def is_branch(self) -> bool:
        return self.ref.startswith("refs/heads/")

    @property
    def is_tag(self) -> bool:
        return self.ref.startswith("refs/tags/")

    @property
    def short(self) -> str:
        """``feature`` for ``refs/heads/feature``, ``v1`` for ``refs/tags/v1``."""
        for prefix in ("refs/heads/", "refs/tags/"):
            if self.ref.startswith(prefix):
                return self.ref[len(prefix):]
        return self.ref


@dataclass(frozen=True)
class Refusal:
    """A refused ref and the reason the pusher is shown."""

    ref: str
    reason: str

    def __str__(self) -> str:
        return f"{self.ref}: {self.reason}"


def parse_updates(text: str) -> list[RefUpdate]:
    """The hook's standard input; malformed lines raise ValueError (git never
    sends them, so they mean something is badly wrong: refuse the push)."""
    updates = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 3 or not all(_is_hex(p) for p in parts[:2]):
            raise ValueError(f"unexpected hook input line: {line[:200]!r}")
        updates.append(RefUpdate(parts[0], parts[1], parts[2]))
    return updates


def _is_hex(value: str) -> bool:
    return len(value) in (40, 64) and all(c in "0123456789abcdef" for c in value)


def plugin(project: Project, name: str) -> dict[str, Any] | None:
    """The settings of an active plugin of the project, else None."""
    conf = (project.plugins or {}).get(name)
    if isinstance(conf, dict) and conf.get("active"):
        return conf
    return None


def protected_branches(conf: dict[str, Any]) -> list[str]:
    """``branches`` of the force-push plugin: a comma list, ``*`` for all."""
    raw = conf.get("branches") or ""
    if isinstance(raw, list):
        raw = ",".join(str(b) for b in raw)
    return [b.strip() for b in str(raw).split(",") if b.strip()]


def _protects(branches: list[str], branch: str) -> bool:
    return "*" in branches or branch in branches


def has_signed_off(message: str) -> bool:
    """A line starting with ``Signed-off-by`` (any case), as Pagure checks."""
    return any(line.strip().lower().startswith("signed-off-by")
               for line in message.splitlines())


def is_fast_forward(repo: pygit2.Repository, old: str, new: str) -> bool:
    """``new`` contains ``old`` (an unknown or non-commit object counts as not)."""
    if old == new:
        return True
    try:
        return repo.descendant_of(new, old)
    except (KeyError, ValueError, pygit2.GitError):
        return False


def existing_tips(repo: pygit2.Repository) -> list[pygit2.Oid]:
    """Commits the refs point at now (before the push, in pre-receive)."""
    tips = []
    for name in repo.references:
        try:
            tips.append(repo.references[name].peel(pygit2.Commit).id)
        except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
            continue  # symbolic to nothing, or a ref to a tree/blob
    return tips


def new_commits(repo: pygit2.Repository, update: RefUpdate, hide: Iterable[pygit2.Oid],
                oldest_first: bool = False) -> Iterator[pygit2.Commit]:
    """Commits reachable from the update's new tip but from none of ``hide``
    (in no particular order unless ``oldest_first``, which costs a full sort)."""
    if update.deleted:
        return
    try:
        tip = repo[update.new].peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError):
        return  # a tag on a tree or blob: no commits
    sort = pygit2.enums.SortMode
    walker = repo.walk(tip.id, sort.TOPOLOGICAL | sort.REVERSE if oldest_first else sort.NONE)
    for oid in hide:
        walker.hide(oid)
    yield from walker


def check_push(session: Session, identity: Identity, project: Project, kind: str,
               repo: pygit2.Repository, updates: list[RefUpdate],
               pull_request: str | None = None) -> list[Refusal]:
    """Every refusal for this push (empty: accept). See the module docstring.
    ``pull_request``: the uid the pushing process names (a merge)."""
    if project.read_only:
        return [Refusal(u.ref, "the project is read-only, no push is accepted")
                for u in updates]
    refusals = [Refusal(u.ref, "deleting the default branch is forbidden")
                for u in updates
                if u.deleted and u.ref == f"refs/heads/{project.default_branch}"]
    if identity.internal:
        return refusals
    reason = pusher_refusal(identity, project)
    if reason:
        return [Refusal(u.ref, reason) for u in updates]
    for u in updates:
        if not can_update_ref(session, identity, project, kind, u.ref) and not (
                is_pull_request_merge(session, identity, project, kind, repo, u,
                                      pull_request)):
            what = "tags" if u.is_tag else "this branch" if u.is_branch else "this ref"
            refusals.append(Refusal(u.ref, f"you are not allowed to push to {what}"))
    if kind == "main":
        refusals.extend(plugin_refusals(project, repo, updates))
    return refusals


def is_pull_request_merge(session: Session, identity: Identity, project: Project, kind: str,
                          repo: pygit2.Repository, update: RefUpdate,
                          pull_request: str | None) -> bool:
    """Is ``update`` the merge of the open pull request ``pull_request`` (uid)
    of this project into its target branch, by a user who may commit there?
    The new tip must contain the PR's head (``refs/pull/<n>/head``), so the
    uid cannot carry anything else into the branch."""
    if (not pull_request or kind != "main" or identity.user is None
            or not update.is_branch or update.deleted):
        return False
    from sqlalchemy import select

    from pagurus.model import PullRequest

    pr = session.scalar(select(PullRequest).where(PullRequest.uid == pull_request))
    if (pr is None or pr.project_id != project.id or pr.status != "Open"
            or update.short != pr.branch):
        return False
    if not access.can_commit(session, identity.user, project, pr.branch):
        return False
    try:
        head = repo.references[f"refs/pull/{int(pr.number)}/head"].peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError):
        return False
    return is_fast_forward(repo, str(head.id), update.new)


def pusher_refusal(identity: Identity, project: Project) -> str | None:
    """Why this pusher may push nothing at all, or None."""
    if identity.user is None and identity.deploy_key is None:
        return "anonymous pushes are not allowed"
    if access.is_blocked(identity.user):
        return "your account is blocked"
    if access.is_blocked_on(identity.user, project):
        return "you have been blocked from this project"
    return None


def plugin_refusals(project: Project, repo: pygit2.Repository,
                    updates: list[RefUpdate]) -> list[Refusal]:
    """The three blocking plugins of the main repo."""
    out: list[Refusal] = []
    force = plugin(project, PLUGIN_FORCE_PUSH)
    if force:
        branches = protected_branches(force)
        for u in updates:
            if not u.is_branch or not _protects(branches, u.short):
                continue
            if u.deleted:
                out.append(Refusal(u.ref, "deletion is forbidden on this branch"))
            elif not u.created and not is_fast_forward(repo, u.old, u.new):
                out.append(Refusal(u.ref, "non fast-forward push is forbidden on this branch"))
    if plugin(project, PLUGIN_NO_NEW_BRANCHES):
        out.extend(Refusal(u.ref, "creating new branches by git push is forbidden")
                   for u in updates if u.created and not u.deleted and not u.is_tag)
    if plugin(project, PLUGIN_SIGNED_OFF):
        out.extend(unsigned_refusals(repo, updates))
    return out


def unsigned_refusals(repo: pygit2.Repository, updates: list[RefUpdate]) -> list[Refusal]:
    """One refusal per commit new to the repo without a Signed-off-by line."""
    hide = existing_tips(repo)
    seen: set[pygit2.Oid] = set()
    out = []
    for u in updates:
        for commit in new_commits(repo, u, hide):
            if commit.id in seen:
                continue
            seen.add(commit.id)
            if not has_signed_off(commit.message):
                out.append(Refusal(u.ref, f"commit {commit.id} is not signed off "
                                          "(no 'Signed-off-by:' line)"))
    return out
