"""What happens after a push was accepted: a list of small steps.

``DB_STEPS`` add rows to one session committed together (events in the
outbox, activity entries, pull-request refresh): either the whole push is
recorded or none of it. ``AFTER_STEPS`` run once that is committed
(commit-graph, messages for the pusher). Later work (mirrors) is added as
new steps here; webhooks and emails are fed by the outbox events.

Everything runs in the hook process: it is cheap (tens of milliseconds, see
the hook tests); nothing is queued to Celery yet.

Main repos only, like Pagure's default hook: ref events, ``git.receive``,
activity, pull-request links. Every kind gets its commit-graph.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any
from urllib.parse import quote

import pygit2

from pagurus.core import activity, serialize
from pagurus.core.projects import project_payload, settings_of
from pagurus.core.pushrules import RefUpdate, is_fast_forward, new_commits
from pagurus.events import outbox
from pagurus.git.hookrun import HookContext, say, timed

CHANGED_FILES_MAX = 1000  # entries of changed_files in git.receive
RENAMES_MAX = 1000  # rename detection only for diffs this small (it is quadratic)
AUTHORS_MAX = 100  # authors listed in one event
GRAPH_INLINE_MAX = 1000  # new commits above which the commit-graph is written detached
FALLBACK_BASE_URL = "http://localhost:8080"  # `pagurus serve`'s default address
BASE_URL_ENV = "PAGURUS_BASE_URL"  # a transport may pass the URL the client used


@dataclass
class BranchChange:
    """A branch the push created or moved, with the commits it gained."""

    update: RefUpdate
    commits: list[pygit2.Commit]  # oldest first
    forced: bool
    base: pygit2.Commit | None  # what the branch grew from (old tip or fork point)


@dataclass
class Push:
    """One accepted push, as the steps see it."""

    ctx: HookContext
    notes: list[str] = field(default_factory=list)
    _owners: dict[str, int] | None = None
    # branch -> (number, URL) of the open pull requests it is the source of
    open_pulls: dict[str, list[tuple[int, str]]] = field(default_factory=dict)

    @property
    def project(self) -> Any:
        return self.ctx.project

    @property
    def main_repo(self) -> bool:
        return self.ctx.kind == "main"

    @property
    def default_branch(self) -> str:
        return self.project.default_branch

    @cached_property
    def default_tip(self) -> pygit2.Commit | None:
        return _commit(self.ctx.repo, f"refs/heads/{self.default_branch}")

    @cached_property
    def branches(self) -> list[BranchChange]:
        return [branch_change(self.ctx.repo, u, self.default_branch, self.default_tip)
                for u in self.ctx.updates if u.is_branch and not u.deleted]

    @property
    def agent(self) -> str:
        return self.ctx.identity.name

    @cached_property
    def base_url(self) -> str:
        """``app_url``, else what the transport says, else serve's default URL."""
        url = self.ctx.settings.app_url or self.ctx.env.get(BASE_URL_ENV) or FALLBACK_BASE_URL
        return url.rstrip("/")

    def owners(self, emails: list[str]) -> dict[str, int]:
        """lower-cased verified email -> user id (one query per push)."""
        if self._owners is None:
            everything = [c.author.email for b in self.branches for c in b.commits]
            everything += emails
            self._owners = activity.verified_owners(self.ctx.session, everything)
        missing = [e for e in emails if e.lower() not in self._owners]
        if missing:
            self._owners.update(activity.verified_owners(self.ctx.session, missing))
        return self._owners

    def authors(self, commits: list[pygit2.Commit]) -> list[dict[str, Any]]:
        """Distinct authors: the account's public JSON when a verified email
        maps to one, else ``{name, email}``."""
        from pagurus.model import User

        seen: dict[str, pygit2.Signature] = {}
        for c in commits:
            seen.setdefault(c.author.email.lower(), c.author)
            if len(seen) >= AUTHORS_MAX:
                break
        owners = self.owners(list(seen))
        out = []
        for email, sig in seen.items():
            user = self.ctx.session.get(User, owners[email]) if email in owners else None
            out.append(serialize.user_json(user, self.base_url) if user
                       else {"name": sig.name, "email": sig.email})
        return out

    def record(self, topic: str, payload: dict[str, Any]) -> None:
        payload = {"agent": self.agent, "repo": project_payload(self.project), **payload}
        outbox.record(self.ctx.session, topic, payload, project_id=self.project.id,
                      private=self.project.private)


def _commit(repo: pygit2.Repository, rev: str) -> pygit2.Commit | None:
    try:
        if rev.startswith("refs/"):
            return repo.references[rev].peel(pygit2.Commit)
        return repo[rev].peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
        return None


def branch_change(repo: pygit2.Repository, u: RefUpdate, default_branch: str,
                  default_tip: pygit2.Commit | None) -> BranchChange:
    """The commits a branch gained: since its old tip, or — for a new branch —
    since where it left the default branch (all of them for the default
    branch itself); for a forced push, since the fork point of old and new."""
    new = _commit(repo, u.new)
    forced, base = False, None
    if u.created:
        hide = []
        if default_tip is not None and u.short != default_branch:
            hide = [default_tip.id]
            if new is not None:
                merge_base = repo.merge_base(default_tip.id, new.id)
                base = repo[merge_base] if merge_base else None
    else:
        forced = not is_fast_forward(repo, u.old, u.new)
        hide = [pygit2.Oid(hex=u.old)]
        base = _commit(repo, u.old)
        if forced and new is not None:
            merge_base = repo.merge_base(pygit2.Oid(hex=u.old), new.id)
            base = repo[merge_base] if merge_base else None
    commits = list(new_commits(repo, u, hide, oldest_first=True))
    return BranchChange(u, commits, forced, base)


def changed_files(repo: pygit2.Repository, base: pygit2.Commit | None,
                  new: pygit2.Commit) -> dict[str, str]:
    """``{path: status letter}`` between ``base`` (or nothing) and ``new``,
    at most CHANGED_FILES_MAX entries."""
    if base is not None:
        diff = repo.diff(base, new)
    else:
        diff = new.tree.diff_to_tree(swap=True)
    if len(diff) <= RENAMES_MAX:
        diff.find_similar()
    out: dict[str, str] = {}
    for delta in diff.deltas:
        if len(out) >= CHANGED_FILES_MAX:
            break
        letter = delta.status_char()
        path = delta.old_file.path if letter == "D" else delta.new_file.path
        out[path] = letter
    return out


# -- DB steps (one transaction) --------------------------------------------------------

def record_ref_events(push: Push) -> None:
    """``git.branch.creation|deletion`` and ``git.tag.creation|deletion``."""
    if not push.main_repo:
        return
    for u in push.ctx.updates:
        if not (u.created or u.deleted) or not (u.is_branch or u.is_tag):
            continue
        rev = u.old if u.deleted else u.new
        commit = _commit(push.ctx.repo, rev)
        kind = "branch" if u.is_branch else "tag"
        action = "deletion" if u.deleted else "creation"
        push.record(f"git.{kind}.{action}", {
            "authors": push.authors([commit] if commit else []),
            kind: u.short, "rev": rev})


def record_receive_events(push: Push) -> None:
    """``git.receive`` for each branch that gained commits (Pagure sends none
    for a branch that only moved back or was created on existing commits)."""
    if not push.main_repo:
        return
    for b in push.branches:
        if not b.commits:
            continue
        new = b.commits[-1]
        files = changed_files(push.ctx.repo, b.base, _commit(push.ctx.repo, b.update.new) or new)
        payload = {
            "total_commits": len(b.commits),
            "start_commit": str(b.commits[0].id),
            "end_commit": str(b.commits[-1].id),
            "old_commit": b.update.old,
            "branch": b.update.short,
            "forced": b.forced,
            "authors": push.authors(b.commits),
            "changed_files": files,
            "pull_request_id": push.ctx.pull_request,
        }
        if len(files) >= CHANGED_FILES_MAX:
            payload["changed_files_truncated"] = True
        push.record("git.receive", payload)


def log_default_branch_commits(push: Push) -> None:
    """Activity entries for the commits the default branch gained (the
    heatmap's "committed"); private projects are not logged."""
    if not push.main_repo or push.project.private:
        return
    for b in push.branches:
        if b.update.short != push.default_branch:
            continue
        entries = [activity.CommitEntry(str(c.id), c.author.email, _commit_time(c))
                   for c in b.commits]
        activity.log_commits(push.ctx.session, push.project, entries)


def apply_magic_words(push: Push) -> None:
    """"Fixes #N" / "Relates to #N" in commits the default branch gained,
    when the project has the Pagure plugin active (core.magic_words)."""
    from pagurus.core import magic_words

    if not push.main_repo or not magic_words.plugin_active(push.project):
        return
    from pagurus.model import User

    session = push.ctx.session
    pusher = push.ctx.identity.user
    for b in push.branches:
        if b.update.short != push.default_branch:
            continue
        owners = push.owners([c.author.email for c in b.commits])
        for c in b.commits:
            if not magic_words.parse(c.message, push.base_url):
                continue
            uid = owners.get(c.author.email.lower())
            author = session.get(User, uid) if uid else None
            magic_words.apply(session, push.project, commit_id=str(c.id), message=c.message,
                              author=author, pusher=pusher, base_url=push.base_url)


def refresh_pull_requests(push: Push) -> None:
    """For each branch the push created or moved: the open pull requests it is
    the source of (this project or a fork of the target) get the new commits —
    ``refs/pull/<n>/head`` of the target follows, "N new commits added" or
    "rebased onto" is recorded (``core.pulls.refresh_from_push``); the open
    pull requests into it forget their cached merge status. A PR named by the
    push itself (``PAGURUS_PULL_REQUEST``: a merge or rebase task) is left to
    that task, which records who did it."""
    if not push.main_repo:
        return
    moved = sorted({b.update.short for b in push.branches})
    if not moved:
        return
    from sqlalchemy import select, update

    from pagurus.model import PullRequest

    session = push.ctx.session
    session.execute(update(PullRequest).where(
        PullRequest.project_id == push.project.id, PullRequest.branch.in_(moved),
        PullRequest.status == "Open").values(merge_status=None, merge_status_key=None)
        .execution_options(synchronize_session=False))
    rows = list(session.scalars(select(PullRequest).where(
        PullRequest.project_from_id == push.project.id, PullRequest.branch_from.in_(moved),
        PullRequest.status == "Open", PullRequest.remote_git.is_(None))
        .order_by(PullRequest.id)))
    if not rows:
        return
    from pagurus.core import pulls as core_pulls
    from pagurus.core.pull_json import pull_url
    from pagurus.git.pulls import PullGitError

    pusher = push.ctx.identity.user
    for pr in rows:
        if core_pulls.pulls_enabled(pr.project):
            push.open_pulls.setdefault(pr.branch_from, []).append(
                (pr.number, pull_url(pr, push.base_url)))
        if pr.uid == push.ctx.pull_request:
            continue
        try:
            core_pulls.refresh_from_push(session, push.ctx.settings.data_dir, pr,
                                         agent=pusher or pr.user, base_url=push.base_url)
        except PullGitError as exc:
            if push.ctx.debug:
                say(f"pull request #{pr.number}: {exc}")


def _commit_time(commit: pygit2.Commit) -> datetime:
    return datetime.fromtimestamp(commit.commit_time, UTC)


# -- after the commit ---------------------------------------------------------------------

def write_commit_graph(push: Push) -> None:
    """Keep ``git log -- path`` fast (Bloom filters) on pushes that add commits.

    ``--split`` only writes the new commits: ~5 ms after a small push, run
    inline. A big push (a whole history: ~1 s for 20,000 commits) runs it
    detached, so the pusher does not wait; a concurrent write just loses the
    lock race and the next push catches up."""
    added = sum(len(b.commits) for b in push.branches)
    if not added and not any(u.is_tag and u.created for u in push.ctx.updates):
        return
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GIT_") or k in ("GIT_CONFIG_NOSYSTEM",)}
    args = ["git", "commit-graph", "write", "--reachable", "--changed-paths", "--split",
            "--no-progress"]
    if added > GRAPH_INLINE_MAX:
        subprocess.Popen(args, cwd=push.ctx.repo_path, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
        return
    proc = subprocess.run(args, cwd=push.ctx.repo_path, env=env, capture_output=True,
                          check=False)
    if proc.returncode != 0 and push.ctx.debug:
        say(f"commit-graph: {proc.stderr.decode(errors='replace').strip()}")


def print_pull_request_links(push: Push) -> None:
    """For each pushed branch with open pull requests, their URLs; else, for a
    new branch with commits of its own, a "create a pull request" link when
    the target project (the parent for forks) takes pull requests."""
    if not push.main_repo:
        return
    target = push.project.parent or push.project
    takes_pulls = settings_of(target)["pull_requests"]
    for b in push.branches:
        branch = b.update.short
        existing = push.open_pulls.get(branch)
        if existing:
            for number, url in existing:
                push.notes.append(f"View pull request #{number} for '{branch}': {url}")
            continue
        if not takes_pulls or not b.update.created or branch == push.default_branch \
                or not b.commits:
            continue
        url = (f"{push.base_url}/{push.project.url_path}/diff/"
               f"{quote(push.default_branch, safe='/')}..{quote(branch, safe='/')}")
        push.notes.append(f"Create a pull request for '{branch}': {url}")


DB_STEPS: list[Callable[[Push], None]] = [
    record_ref_events, record_receive_events, log_default_branch_commits, apply_magic_words,
    refresh_pull_requests]
AFTER_STEPS: list[Callable[[Push], None]] = [write_commit_graph, print_pull_request_links]


def run(ctx: HookContext) -> Push:
    """Run the steps: the DB ones commit together or not at all (a failure is
    re-raised after the other steps ran, so the pusher still gets the links)."""
    push = Push(ctx)
    failure: Exception | None = None
    try:
        for step in DB_STEPS:
            started = time.perf_counter()
            step(push)
            timed(ctx, step.__name__, started)
        started = time.perf_counter()
        ctx.session.commit()
        timed(ctx, "commit", started)
    except Exception as exc:  # noqa: BLE001 - reported below, after the other steps
        ctx.session.rollback()
        failure = exc
    for step in AFTER_STEPS:
        started = time.perf_counter()
        step(push)
        timed(ctx, step.__name__, started)
    if push.notes:
        say("")
        for note in push.notes:
            say(note)
        say("")
    if failure is not None:
        raise failure
    return push
