"""Emails about CI flags (spec §c.7, §m.1): sent only when the project
turned them on — ``notify_on_pull-request_flag`` for the flags of pull
requests, ``notify_on_commit_flag`` for any commit flag.

Pull-request flag mail goes to the pull request's subscribers
(``core.pulls.subscribers``, which already leaves out those who may not see
a private project); commit flag mail to the owner, the users and group
members with commit access or more, and the watchers of the project's
commits, minus those who unwatched the project and those who may not see
it. The poster of the flag (usually a CI's account) is never mailed.

A pull request's flag is also a commit flag (two events): whoever gets the
pull-request mail does not get the commit mail too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pagurus.core import access
from pagurus.core import flags as core_flags
from pagurus.core import pulls as core_pulls
from pagurus.core.discussion import users_by_id
from pagurus.core.notify import Mail, mail_host
from pagurus.core.projects import settings_of
from pagurus.model import (
    Event,
    GroupMember,
    Project,
    ProjectGroup,
    ProjectUser,
    PullRequest,
    User,
    Watcher,
)

PULL_TOPICS = frozenset({"pull-request.flag.added", "pull-request.flag.updated"})
COMMIT_TOPICS = frozenset({"commit.flag.added", "commit.flag.updated"})
TOPICS = PULL_TOPICS | COMMIT_TOPICS
PULL_SETTING = "notify_on_pull-request_flag"
COMMIT_SETTING = "notify_on_commit_flag"
_COMMITTERS = ("commit", "admin")


def pull_thread_root(pr: PullRequest, base_url: str) -> str:
    return f"<pull-request-{pr.uid}@{mail_host(base_url)}>"


def commit_recipients(session: Session, project: Project) -> list[User]:
    """Who hears about a commit's flags (see the module docstring)."""
    ids: set[int] = {project.user_id}
    ids.update(session.scalars(select(ProjectUser.user_id).where(
        ProjectUser.project_id == project.id, ProjectUser.access.in_(_COMMITTERS))))
    ids.update(session.scalars(select(GroupMember.user_id).join(
        ProjectGroup, ProjectGroup.group_id == GroupMember.group_id).where(
        ProjectGroup.project_id == project.id, ProjectGroup.access.in_(_COMMITTERS))))
    for user_id, issues, commits in session.execute(
            select(Watcher.user_id, Watcher.watch_issues, Watcher.watch_commits)
            .where(Watcher.project_id == project.id)):
        if commits:
            ids.add(user_id)
        elif not issues:
            ids.discard(user_id)
    return [u for u in users_by_id(session, ids)
            if u.active and not access.is_blocked(u) and access.can_see(session, u, project)]


def _pull_of(session: Session, project_id: int | None, number: Any) -> PullRequest | None:
    if project_id is None or not isinstance(number, int):
        return None
    return session.scalar(select(PullRequest).where(PullRequest.project_id == project_id,
                                                    PullRequest.number == number))


def _flag_text(flag: dict[str, Any], what: str) -> str:
    status = str(flag.get("status") or "")
    label = core_flags.STATUS_LABELS.get(status, status)
    percent = flag.get("percent")
    lines = [f"{flag.get('username') or 'A CI'} set the status of {what} to {label}"
             + (f" ({percent}%)" if percent is not None else "") + "."]
    if flag.get("comment"):
        lines += ["", str(flag["comment"])]
    link = core_flags.safe_link(flag.get("url"))
    if link:
        lines += ["", f"Details: {link}"]
    return "\n".join(lines)


def _send(recipients: list[User], agent: Any, subject: str, body: str,
          headers: dict[str, str]) -> list[Mail]:
    return [Mail(u.default_email, subject, body, headers) for u in recipients
            if u.name != agent and u.default_email and u.active]


def pull_flag_mails(session: Session, event: Event, base_url: str) -> list[Mail]:
    payload = event.payload or {}
    pr = _pull_of(session, event.project_id, (payload.get("pullrequest") or {}).get("id"))
    flag = payload.get("flag") or {}
    if pr is None or not settings_of(pr.project)[PULL_SETTING]:
        return []
    project = pr.project
    url = f"{base_url}/{project.url_path}/pull-request/{pr.number}"
    subject = (f"[{project.fullname}] PR #{pr.number} - {flag.get('username')}: "
               f"{flag.get('status')}")
    body = (_flag_text(flag, f"pull request #{pr.number} ({pr.title})")
            + f"\n\n-- \nPR #{pr.number} in {project.fullname}: {url}\n")
    root = pull_thread_root(pr, base_url)
    headers = {
        "Message-ID": f"<pull-request-{pr.uid}-flag-{event.id}@{mail_host(base_url)}>",
        "References": root,
        "In-Reply-To": root,
        "X-Pagurus-Project": project.fullname,
        "X-Pagurus-Pull-Request": str(pr.number),
        "X-Pagurus-Event": event.topic,
    }
    return _send(core_pulls.subscribers(session, pr), payload.get("agent"), subject, body,
                 headers)


def commit_flag_mails(session: Session, event: Event, base_url: str) -> list[Mail]:
    payload = event.payload or {}
    project = session.get(Project, event.project_id) if event.project_id else None
    flag = payload.get("flag") or {}
    commit_hash = str(flag.get("commit_hash") or "")
    if project is None or not commit_hash or not settings_of(project)[COMMIT_SETTING]:
        return []
    recipients = commit_recipients(session, project)
    pr = _pull_of(session, project.id, payload.get("pull_request"))
    if pr is not None and settings_of(project)[PULL_SETTING]:
        told = {u.id for u in core_pulls.subscribers(session, pr)}
        recipients = [u for u in recipients if u.id not in told]
    url = f"{base_url}/{project.url_path}/c/{commit_hash}"
    subject = f"[{project.fullname}] Commit #{commit_hash} - {flag.get('username')}: " \
              f"{flag.get('status')}"
    body = (_flag_text(flag, f"commit {commit_hash[:8]}")
            + f"\n\n-- \nCommit {commit_hash[:8]} in {project.fullname}: {url}\n")
    headers = {
        "Message-ID": f"<commit-{project.id}-flag-{event.id}@{mail_host(base_url)}>",
        "X-Pagurus-Project": project.fullname,
        "X-Pagurus-Commit": commit_hash,
        "X-Pagurus-Event": event.topic,
    }
    return _send(recipients, payload.get("agent"), subject, body, headers)


def flag_mails(session: Session, event: Event, base_url: str) -> list[Mail]:
    """Every email a flag event calls for (none unless the project asked)."""
    if event.topic in PULL_TOPICS:
        return pull_flag_mails(session, event, base_url)
    if event.topic in COMMIT_TOPICS:
        return commit_flag_mails(session, event, base_url)
    return []
