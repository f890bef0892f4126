"""Who is told what by email when something happens on an issue.

The dispatcher hands each outbox event here and sends what comes back; the
rules (which events mail, to whom, with what words) live only here.

Mail goes to the issue's subscribers (core.issues.subscribers: it already
leaves out those who may not see a private issue) except the person who
acted. Metadata updates mail only for status changes, assignment and custom
fields marked ``notify``: tag and milestone churn would otherwise flood
inboxes. Every message of one issue carries the same thread root in
``References`` so mail clients thread them, and names the issue in
``X-Pagurus-*`` headers so filters and the reply-by-email milter find it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from pagurus.core import issues as core_issues
from pagurus.model import Event, Issue, IssueComment, IssueCustomKey, User

MAILED_TOPICS = frozenset({"issue.new", "issue.comment.added", "issue.edit",
                           "issue.assigned.added"})


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str
    headers: dict[str, str] = field(default_factory=dict)


def _issue_of(session: Session, event: Event) -> Issue | None:
    data = (event.payload or {}).get("issue") or {}
    number = data.get("id")
    if event.project_id is None or not isinstance(number, int):
        return None
    return session.scalar(select(Issue).where(Issue.project_id == event.project_id,
                                              Issue.number == number))


def mail_host(base_url: str) -> str:
    return base_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "pagurus"


def thread_root(issue: Issue, base_url: str) -> str:
    return f"<issue-{issue.uid}@{mail_host(base_url)}>"


def _what(session: Session, event: Event, issue: Issue) -> tuple[str, list[int]] | None:
    """The text of the mail and the user ids it is specially meant for, or
    None when the event mails nobody."""
    payload = event.payload or {}
    agent = payload.get("agent") or "someone"
    if event.topic == "issue.new":
        return f"{agent} opened a new issue:\n\n{issue.content}", []
    if event.topic == "issue.comment.added":
        comment_id = (payload.get("comment") or {}).get("id")
        comment = session.get(IssueComment, comment_id) if isinstance(comment_id, int) else None
        if comment is None:
            return None
        return f"{agent} commented:\n\n{comment.comment}", []
    if event.topic == "issue.assigned.added":
        target = [issue.assignee_id] if issue.assignee_id else []
        name = issue.assignee.name if issue.assignee else "nobody"
        return f"{agent} assigned the issue to {name}.", target
    if event.topic == "issue.edit":
        fields = payload.get("fields") or []
        if "status" in fields:
            state = issue.status + (f" as {issue.close_status}" if issue.close_status else "")
            verb = "reopened" if issue.status == core_issues.OPEN else "closed"
            return f"{agent} {verb} the issue ({state}).", []
        notified = set(session.scalars(select(IssueCustomKey.name).where(
            IssueCustomKey.project_id == issue.project_id, IssueCustomKey.notify.is_(True),
            IssueCustomKey.name.in_([f for f in fields if isinstance(f, str)]))))
        if notified:
            values = {v.key.name: v.value for v in issue.custom_values}
            lines = [f"- {name}: {values.get(name, '(reset)')}" for name in sorted(notified)]
            return f"{agent} changed:\n" + "\n".join(lines), []
    return None


def issue_mails(session: Session, event: Event, base_url: str) -> list[Mail]:
    if event.topic not in MAILED_TOPICS:
        return []
    issue = _issue_of(session, event)
    if issue is None:
        return []
    what = _what(session, event, issue)
    if what is None:
        return []
    text, extra_ids = what
    agent = (event.payload or {}).get("agent")
    recipients = core_issues.subscribers(session, issue)
    known = {u.id for u in recipients}
    for user in session.scalars(select(User).where(User.id.in_(extra_ids))):
        if user.id not in known and core_issues.can_view(session, user, issue):
            recipients.append(user)
    project = issue.project
    url = f"{base_url}/{project.url_path}/issue/{issue.number}"
    subject = f"[{project.fullname}] Issue #{issue.number}: {issue.title}"
    body = f"{text}\n\n-- \nIssue #{issue.number} in {project.fullname}: {url}\n"
    root = thread_root(issue, base_url)
    headers = {
        "Message-ID": f"<issue-{issue.uid}-{event.id}@{mail_host(base_url)}>",
        "References": root,
        "In-Reply-To": root,
        "X-Pagurus-Project": project.fullname,
        "X-Pagurus-Issue": str(issue.number),
        "X-Pagurus-Event": event.topic,
    }
    if event.topic == "issue.new":
        headers["Message-ID"] = root
        del headers["References"], headers["In-Reply-To"]
    return [Mail(u.default_email, subject, body, headers) for u in recipients
            if u.name != agent and u.default_email and u.active]


def mails_for(session: Session, event: Event, base_url: str) -> list[Mail]:
    """Every email ``event`` calls for (issues and CI flags now; pull requests later)."""
    if event.topic.startswith("issue."):
        return issue_mails(session, event, base_url)
    from pagurus.core import notify_flags

    if event.topic in notify_flags.TOPICS:
        return notify_flags.flag_mails(session, event, base_url)
    return []

