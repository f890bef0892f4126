"""How many issues were open, opened and closed, week by week (the history
chart of a project's tracker)."""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from pagurus.model import Issue, Project, utcnow

WEEKS_MAX = 520


def weekly(session: Session, project: Project, weeks: int = 53,
           now: datetime | None = None) -> list[tuple[datetime, int, int, int]]:
    """(week end, open at that instant, opened during the week, closed during
    the week) for ``weeks`` weeks back from now (UTC), oldest
    first. Counts all issues, private ones included: only numbers leave here."""
    weeks = max(1, min(weeks, WEEKS_MAX))
    last = (now or utcnow()).astimezone(UTC)
    ends = [last - timedelta(weeks=i) for i in range(weeks)][::-1]
    rows = session.execute(select(Issue.date_created, Issue.closed_at).where(
        Issue.project_id == project.id)).all()
    created = sorted(r[0] for r in rows)
    closed = sorted(r[1] for r in rows if r[1] is not None)
    out = []
    for end in ends:
        start = end - timedelta(weeks=1)
        made = bisect_right(created, end)
        shut = bisect_right(closed, end)
        out.append((end, made - shut, made - bisect_right(created, start),
                    shut - bisect_right(closed, start)))
    return out
