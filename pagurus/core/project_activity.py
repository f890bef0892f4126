"""A project's activity feed: what people did on it, newest first, from the
activity log (the data of user heatmaps). Entries about private issues show
only to those who may see the issue; commits by addresses no account
confirmed carry no user and are left out (the feed names people)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pagurus.core import issues as core_issues
from pagurus.model import ActivityLog, Issue, Project, User

PAGE = 50


@dataclass(frozen=True)
class FeedPage:
    entries: list[tuple[ActivityLog, User]]
    older: int | None  # the ``before`` of the next page, None at the end


def feed(session: Session, viewer: User | None, project: Project, *,
         before: int | None = None, limit: int = PAGE) -> FeedPage:
    """One page of the feed, entries with id below ``before`` (keyset paging:
    a page stays the same while new entries arrive)."""
    stmt = (select(ActivityLog, User).join(User, User.id == ActivityLog.user_id)
            .where(ActivityLog.project_id == project.id)
            .order_by(ActivityLog.id.desc()).limit(limit + 1))
    if before is not None:
        stmt = stmt.where(ActivityLog.id < before)
    rows = [(entry, user) for entry, user in session.execute(stmt)]
    more = len(rows) > limit
    rows = rows[:limit]
    hidden = hidden_issue_uids(session, viewer, [entry for entry, _user in rows])
    shown = [(entry, user) for entry, user in rows if entry.issue_uid not in hidden]
    return FeedPage(shown, rows[-1][0].id if more and rows else None)


def hidden_issue_uids(session: Session, viewer: User | None,
                      entries: list[ActivityLog]) -> set[str]:
    """The private issues among those the entries are about that ``viewer``
    may not see (their entries are left out of every feed)."""
    uids = {entry.issue_uid for entry in entries if entry.issue_uid}
    if not uids:
        return set()
    return {issue.uid for issue in session.scalars(
        select(Issue).where(Issue.uid.in_(uids), Issue.private.is_(True)))
        if not core_issues.can_view(session, viewer, issue)}
