"""Pull-request work for the workers: merge, rebase, remote fetches (a
preview of a remote branch before its pull request is opened, the
refresh of a remote pull request).

Each task re-reads the pull request and re-checks the rules (the request may
have changed since it was queued), does the git work in memory
(``git.pullmerge``), moves the branch by a local push through the hooks, and
only then records the result in the database. Expected refusals (rules,
conflicts, nothing to merge) come back as ``{"merged"/"rebased": False,
"message": …, "code": …}`` with nothing changed; anything else raises.

No database transaction is open while git pushes: the hooks write to the
database themselves (on SQLite a held write lock would make them wait for us
while we wait for them).

Concurrency: merges and rebases into one target branch are serialized by
:func:`branch_lock` — a PostgreSQL advisory lock when the database is
PostgreSQL (good for workers on several machines), else an ``flock`` on a file
under ``<data>/run/locks/`` (the embedded default: one machine, and flock works
between threads and processes). The lock only spares a second merge a wasted
plan; correctness comes from the push's lease (``git.pullmerge.merge``): a
branch that moved meanwhile — another merge, anyone's push — is never
overwritten; the merge is computed again on the new tip once, else refused.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.orm import Session

from pagurus.core import access, discussion
from pagurus.core import pulls as core_pulls
from pagurus.core.errors import ForgeError
from pagurus.core.projects import settings_of
from pagurus.core.pushrules import PLUGIN_SIGNED_OFF, plugin
from pagurus.git import pullmerge
from pagurus.git import pulls as git_pulls
from pagurus.git.commit_edit import push_ref
from pagurus.model import Project, PullRequest, User
from pagurus.paths import repo_path
from pagurus.tasks.app import Runtime, celery_app, runtime

log = logging.getLogger(__name__)

LOCK_TIMEOUT = 600.0  # seconds a merge waits for another one into the same branch
LOCK_POLL = 0.05
ALWAYS_MERGE = "always_merge"
NO_MERGE_COMMITS = "disable_non_fast-forward_merges"


class LockTimeout(Exception):
    """Another merge into the branch held the lock for too long."""


@contextmanager
def branch_lock(rt: Runtime, project_id: int, branch: str,
                timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the merge lock of ``branch`` of project ``project_id``."""
    deadline = time.monotonic() + timeout
    if rt.engine.dialect.name == "postgresql":
        key = zlib.crc32(branch.encode("utf-8", "surrogateescape")) - 2**31
        conn = rt.engine.connect()
        try:
            while not conn.execute(text("SELECT pg_try_advisory_lock(:a, :b)"),
                                   {"a": int(project_id), "b": key}).scalar():
                conn.rollback()
                if time.monotonic() > deadline:
                    raise LockTimeout(branch)
                time.sleep(LOCK_POLL)
            conn.commit()
            try:
                yield
            finally:
                try:
                    conn.execute(text("SELECT pg_advisory_unlock(:a, :b)"),
                                 {"a": int(project_id), "b": key})
                    conn.commit()
                except Exception:  # noqa: BLE001 - never return a locked connection
                    conn.invalidate()
                    raise
        finally:
            conn.close()
        return
    folder = rt.settings.data_dir / "run" / "locks"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    digest = hashlib.sha256(branch.encode("utf-8", "surrogateescape")).hexdigest()[:24]
    fd = os.open(folder / f"pull-{int(project_id)}-{digest}.lock", os.O_RDWR | os.O_CREAT,
                 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LockTimeout(branch) from None
                time.sleep(LOCK_POLL)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _identity(user: User) -> pullmerge.Identity:
    return pullmerge.Identity(user=user.name, name=user.fullname or user.name,
                              email=user.default_email)


def _load(session: Session, pr_id: int, user_id: int) -> tuple[PullRequest, User]:
    pr = session.get(PullRequest, pr_id)
    user = session.get(User, user_id)
    if pr is None:
        raise LookupError(f"pull request {pr_id} is gone")
    if user is None:
        raise LookupError(f"user {user_id} is gone")
    return pr, user


def _target_of(rt: Runtime, pr_id: int) -> tuple[int, str]:
    with rt.sessions() as session:
        pr = session.get(PullRequest, pr_id)
        if pr is None:
            raise LookupError(f"pull request {pr_id} is gone")
        return pr.project_id, pr.branch


@contextmanager
def _locked_target(rt: Runtime, pr_id: int) -> Iterator[None]:
    """The merge lock of the PR's target branch (taken again if the target
    branch was edited while we waited)."""
    for _ in range(3):
        project_id, branch = _target_of(rt, pr_id)
        with branch_lock(rt, project_id, branch):
            if _target_of(rt, pr_id) == (project_id, branch):
                yield
                return
    raise RuntimeError(f"the target branch of pull request {pr_id} keeps changing")


def reset_merge_status(session: Session, project_id: int, branch: str,
                       except_id: int | None = None) -> None:
    """Forget the cached merge status of the open PRs into ``branch``."""
    stmt = update(PullRequest).where(
        PullRequest.project_id == project_id, PullRequest.branch == branch,
        PullRequest.status == core_pulls.OPEN).values(merge_status=None, merge_status_key=None)
    if except_id is not None:
        stmt = stmt.where(PullRequest.id != except_id)
    session.execute(stmt.execution_options(synchronize_session=False))


# -- merge -----------------------------------------------------------------------------

def _listing(files: list[str], shown: int = 50) -> str:
    text = ", ".join(files[:shown])
    return text + (f" and {len(files) - shown} more" if len(files) > shown else "")


def _not_merged(message: str, code: str, pr_status: str = core_pulls.OPEN,
                conflicts: list[str] | None = None) -> dict[str, Any]:
    return {"merged": False, "message": message, "code": code, "status": pr_status,
            "conflicts": conflicts or [], "merge_commit": None}


def _deletable_source(session: Session, user: User, pr: PullRequest) -> str | None:
    """Why the source branch may not be deleted after the merge (None: it may)."""
    source = pr.project_from
    if source is None or pr.remote_git:
        return "The source branch is not in a repository of this forge"
    if pr.branch_from == source.default_branch:
        return f"The default branch {pr.branch_from} of {source.fullname} cannot be deleted"
    if source.id == pr.project_id and pr.branch_from == pr.branch:
        return "The target branch cannot be deleted"
    if not access.can_commit(session, user, source, pr.branch_from):
        return "You do not have permissions to delete the source branch"
    return None


@celery_app.task(name="pagurus.merge_pull")
def merge_pull(pr_id: int, user_id: int, base_url: str, comment: str | None = None,
               delete_branch: bool = False) -> dict[str, Any]:
    """Merge pull request ``pr_id`` (database id) as user ``user_id``.

    Returns ``merged``, ``message``, ``conflicts`` (paths), ``merge_commit``
    (what the target branch points at after the merge: the merge commit, or
    the PR head for a fast-forward), ``code`` (why not merged: the API error
    code or the merge status) and ``status`` (the PR's status afterwards)."""
    rt = runtime()
    with _locked_target(rt, pr_id):
        return _merge(rt, pr_id, user_id, base_url, comment, delete_branch)


def _merge(rt: Runtime, pr_id: int, user_id: int, base_url: str, comment: str | None,
           delete_branch: bool) -> dict[str, Any]:
    data_dir = rt.settings.data_dir
    session = rt.sessions()
    try:
        pr, user = _load(session, pr_id, user_id)
        refusal = core_pulls.merge_refusal(session, user, pr)
        if refusal is not None:
            return _not_merged(refusal.message, refusal.code, pr.status)
        note = None
        if comment is not None and str(comment).strip():
            try:
                note = discussion.check_text("comment", comment, discussion.COMMENT_MAX)
            except ForgeError as exc:
                return _not_merged(exc.message, exc.code)
        if delete_branch:
            reason = _deletable_source(session, user, pr)
            if reason:
                return _not_merged(reason, "ENOTHIGHENOUGH")
        try:
            span = core_pulls.sync(session, data_dir, pr)
        except git_pulls.PullGitError as exc:
            return _not_merged(str(exc), "EPRGIT")
        project = pr.project
        options = settings_of(project)
        sign_off = bool(options[core_pulls.SIGNED_OFF_SETTING])
        if sign_off:
            try:
                core_pulls.check_signed_off(project, span.commits)
            except ForgeError as exc:
                return _not_merged(exc.message, exc.code)
        merger = _identity(user)
        signed = sign_off or plugin(project, PLUGIN_SIGNED_OFF) is not None
        message = pullmerge.merge_message(pr.number, pr.title, merger if signed else None)
        target_path = repo_path(data_dir, "main", project.fullname)
        branch, uid, number, fullname = pr.branch, pr.uid, pr.number, project.fullname
        source_id, branch_from = pr.project_from_id, pr.branch_from
        always = bool(options[ALWAYS_MERGE])
        merge_commits = not options[NO_MERGE_COMMITS]
        session.rollback()  # no transaction open while the hooks write

        outcome = pullmerge.merge(
            rt.settings, target_path, branch, span.head, merger=merger, message=message,
            always_merge=always, allow_merge_commits=merge_commits, pull_request=uid,
            base_url=base_url)
        plan = outcome.plan
        if plan.action == pullmerge.CONFLICTS:
            files = list(plan.conflicts)
            return _not_merged("Merge conflicts! Conflicting files: " + _listing(files),
                               "EPRCONFLICTS", conflicts=files)
        if plan.action == pullmerge.NEEDS_REBASE:
            return _not_merged("This pull request needs a merge commit, and this project "
                               "only accepts fast-forward merges: rebase it first",
                               pullmerge.NEEDS_REBASE)
        if plan.action != pullmerge.NO_CHANGE and not outcome.pushed:
            code = "ESTALE" if outcome.stale else "EPUSHREFUSED"
            return _not_merged(f"The merge was refused: {outcome.message}"
                               if not outcome.stale else outcome.message, code)

        pr, user = _load(session, pr_id, user_id)
        if pr.status != core_pulls.OPEN:  # merged by someone else meanwhile
            return _not_merged("This pull request is not open", "EINVALIDREQ", pr.status)
        if note:
            core_pulls.add_comment(session, user, pr, note, base_url=base_url)
        if span.commits:
            pr.commit_start, pr.commit_stop = span.start, span.stop
        merged_tip = plan.new_tip if outcome.pushed else None
        core_pulls.mark_merged(session, user, pr, base_url=base_url, merge_commit=merged_tip)
        reset_merge_status(session, pr.project_id, branch, except_id=pr.id)
        session.commit()
        if plan.action == pullmerge.NO_CHANGE:
            return _not_merged("Nothing to do, changes were already merged", "NO_CHANGE",
                               core_pulls.MERGED)
        result = {"merged": True, "message": "Changes merged!", "code": plan.action,
                  "status": core_pulls.MERGED, "conflicts": [], "merge_commit": merged_tip}
        if delete_branch:
            result["message"] += " " + _delete_source(rt, session, source_id, branch_from,
                                                      span.head, merger, base_url)
        log.info("merged pull request %s#%s (%s)", fullname, number, plan.action)
        return result
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _delete_source(rt: Runtime, session: Session, source_id: int | None, branch: str,
                   head: str, merger: pullmerge.Identity, base_url: str) -> str:
    """Delete the merged source branch through the hooks, only if it still
    points at the merged head (new commits on it are never thrown away)."""
    source = session.get(Project, source_id) if source_id else None
    session.rollback()
    if source is None:
        return "The source branch was not deleted: its repository is gone."
    path = repo_path(rt.settings.data_dir, "main", source.fullname)
    result = push_ref(rt.settings, path, merger.user, None, f"refs/heads/{branch}", head,
                      base_url=base_url)
    if result.ok:
        return f"Branch {branch} deleted."
    if result.stale:
        return f"The branch {branch} was not deleted: it has changed since the merge."
    return f"The branch {branch} was not deleted: {result.message}"


# -- rebase -----------------------------------------------------------------------------

def _not_rebased(message: str, code: str, conflicts: list[str] | None = None
                 ) -> dict[str, Any]:
    return {"rebased": False, "message": message, "code": code,
            "conflicts": conflicts or []}


@celery_app.task(name="pagurus.rebase_pull")
def rebase_pull(pr_id: int, user_id: int, base_url: str) -> dict[str, Any]:
    """Rebase the PR's commits onto its target branch and force-update the
    source branch (through the source repo's hooks). Returns ``rebased``,
    ``message`` (and ``code``, ``conflicts`` when refused)."""
    rt = runtime()
    with _locked_target(rt, pr_id):
        return _rebase(rt, pr_id, user_id, base_url)


def _rebase(rt: Runtime, pr_id: int, user_id: int, base_url: str) -> dict[str, Any]:
    data_dir = rt.settings.data_dir
    session = rt.sessions()
    try:
        pr, user = _load(session, pr_id, user_id)
        if not core_pulls.pulls_enabled(pr.project):
            return _not_rebased("Pull-Request have been deactivated for this project",
                                core_pulls.PullsDisabled.code)
        if pr.status != core_pulls.OPEN:
            return _not_rebased("This pull request is not open", "ENOPRCLOSE")
        if not core_pulls.can_rebase(session, user, pr):
            return _not_rebased("You are not allowed to rebase this pull request",
                                "EREBASENOTALLOWED")
        source = pr.project_from
        if source is None:
            return _not_rebased("The source of this pull request is gone", "EPRGIT")
        try:
            span = core_pulls.sync(session, data_dir, pr)
        except git_pulls.PullGitError as exc:
            return _not_rebased(str(exc), "EPRGIT")
        internal = not access.can_commit(session, user, source, pr.branch_from)
        target_path = repo_path(data_dir, "main", pr.project.fullname)
        source_path = repo_path(data_dir, "main", source.fullname)
        branch, branch_from, uid = pr.branch, pr.branch_from, pr.uid
        committer = _identity(user)
        session.rollback()

        repo = core_pulls.repo_of(data_dir, pr.project)
        try:
            plan = pullmerge.plan_rebase(repo, branch, span.head, committer=committer)
        except git_pulls.PullGitError as exc:
            return _not_rebased(str(exc), "EPRGIT")
        if plan.conflicts:
            files = list(plan.conflicts)
            where = (plan.conflict_commit or "")[:8]
            return _not_rebased(f"Rebase conflicts in commit {where}: " + _listing(files),
                                "CONFLICTS", files)
        if plan.up_to_date or plan.new_head is None:
            return _not_rebased(f"Nothing to rebase: the pull request is already based on "
                                f"the tip of {branch}", "NO_CHANGE")
        result = pullmerge.push_rebase(rt.settings, target_path, source_path, branch_from,
                                       plan, user=committer.user, internal=internal,
                                       pull_request=uid, base_url=base_url)
        if not result.ok:
            return _not_rebased(result.message if result.stale
                                else f"The rebase was refused: {result.message}",
                                "ESTALE" if result.stale else "EPUSHREFUSED")
        pr, user = _load(session, pr_id, user_id)
        core_pulls.refresh_from_push(session, data_dir, pr, agent=user, base_url=base_url)
        session.commit()
        return {"rebased": True, "message": f"Pull-request rebased onto {branch}",
                "code": "REBASED", "conflicts": [], "head": plan.new_head}
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# -- remote pull requests ----------------------------------------------------------------

@celery_app.task(name="pagurus.fetch_remote_pull")
def fetch_remote_pull(project_id: int, user_id: int, base_url: str, remote_git: str,
                      branch_from: str, branch_to: str, title: str,
                      initial_comment: str = "") -> dict[str, Any]:
    """Open a pull request from a branch of a remote repository (fetched here,
    behind the outgoing-address guard). Returns ``created`` and ``message``,
    with ``id`` (the PR number) when created."""
    from pagurus.core import remote_pulls

    rt = runtime()
    session = rt.sessions()
    try:
        project = session.get(Project, project_id)
        user = session.get(User, user_id)
        if project is None or user is None:
            raise LookupError("project or user gone")
        try:
            pr = remote_pulls.open_remote_pull(
                session, rt.settings, user, project, remote_git=remote_git,
                branch_from=branch_from, branch_to=branch_to, title=title,
                initial_comment=initial_comment, base_url=base_url)
        except ForgeError as exc:
            session.rollback()
            return {"created": False, "message": exc.message, "code": exc.code,
                    "errors": getattr(exc, "errors", None) or {}}
        session.commit()
        return {"created": True, "id": pr.number, "uid": pr.uid,
                "message": "Request created"}
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@celery_app.task(name="pagurus.fetch_remote_preview")
def fetch_remote_preview(project_id: int, user_id: int, remote_git: str, branch_from: str,
                         branch_to: str, title: str = "", initial_comment: str = ""
                         ) -> dict[str, Any]:
    """Fetch a remote branch for its author to review before opening the
    pull request (``core.remote_pulls.fetch_preview``). Returns ``fetched``
    and ``message``, with ``preview`` (the token of the preview) and
    ``user_id`` (whose it is) when fetched."""
    from pagurus.core import remote_pulls

    rt = runtime()
    session = rt.sessions()
    try:
        project = session.get(Project, project_id)
        user = session.get(User, user_id)
        if project is None or user is None:
            raise LookupError("project or user gone")
        try:
            preview = remote_pulls.fetch_preview(
                session, rt.settings, user, project, remote_git=remote_git,
                branch_from=branch_from, branch_to=branch_to, title=title,
                initial_comment=initial_comment)
        except ForgeError as exc:
            return {"fetched": False, "message": exc.message, "code": exc.code,
                    "errors": getattr(exc, "errors", None) or {}}
        return {"fetched": True, "preview": preview.token, "user_id": user.id,
                "message": "Branch fetched: review it, then confirm"}
    finally:
        session.rollback()
        session.close()


@celery_app.task(name="pagurus.refresh_remote_pull")
def refresh_remote_pull(pr_id: int, user_id: int, base_url: str) -> dict[str, Any]:
    """Fetch a remote PR's branch again ("Refresh" on its page)."""
    from pagurus.core import remote_pulls

    rt = runtime()
    session = rt.sessions()
    try:
        pr, user = _load(session, pr_id, user_id)
        try:
            topic = remote_pulls.refresh_remote_pull(session, rt.settings, user, pr,
                                                     base_url=base_url)
        except ForgeError as exc:
            session.rollback()
            return {"refreshed": False, "message": exc.message, "code": exc.code}
        session.commit()
        return {"refreshed": True, "message": "Pull-request updated" if topic
                else "Nothing new on the remote branch", "topic": topic}
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
