"""The activity log: what users did, per day, for heatmaps and activity lists.

Writers: project creation (``log_project_created``), pushes to a default
branch (``log_commits``, called by the post-receive hook); issues and pull
requests add theirs later. Private projects are never logged, like Pagure.

Commits are attributed by author email, but only to a *verified* email: an
unverified address can be added by anyone, and must not let them claim
someone else's commits. Commits by an address no account has verified keep
``user_email`` and are re-attributed when an account confirms that address
(``reattribute``, called from ``core.users``).

Readers: ``stats`` (entries per day over a year) and ``day`` (the entries of
one day), both limited to projects the viewer may see.

Invariant every writer keeps: ``date`` is the UTC day of ``date_created``
(for commits, the commit's own time), so UTC statistics are counted by the DB.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from pagurus.core.errors import InvalidInput
from pagurus.model import ActivityLog, Project, User, UserEmail, utcnow

# ids per IN (...) query: far below SQLite's and PostgreSQL's parameter limits
_CHUNK = 500


@dataclass(frozen=True)
class CommitEntry:
    """What the log needs of one pushed commit."""

    id: str  # hex
    author_email: str
    when: datetime  # aware; the commit's (committer) time


@dataclass(frozen=True)
class DayItem:
    """One line of a day's activity: a log entry, or (``grouped``) the commits
    of one project collapsed, where ``entry`` is None and ``count`` > 1 is possible."""

    project: Project
    log_type: str
    entry: ActivityLog | None = None
    count: int = 1


# -- writing ------------------------------------------------------------------

def log_project_created(session: Session, project: Project, actor: User) -> None:
    """``created`` entry for a new public project (Pagure logs it too)."""
    if project.private:
        return
    now = utcnow()
    session.add(ActivityLog(user_id=actor.id, project_id=project.id, log_type="created",
                            ref_id=str(project.id), date=now.date(), date_created=now))


def log_ticket(session: Session, project: Project, actor: User, log_type: str, number: int,
               *, issue_uid: str | None = None, pull_request_uid: str | None = None,
               private: bool = False) -> None:
    """An issue or pull-request action (``created``, ``commented``, ``closed``,
    ``open``, ``merged``); private projects and private issues are not logged."""
    if project.private or private:
        return
    now = utcnow()
    session.add(ActivityLog(user_id=actor.id, project_id=project.id, log_type=log_type,
                            ref_id=str(number), issue_uid=issue_uid,
                            pull_request_uid=pull_request_uid, date=now.date(),
                            date_created=now))


def verified_owners(session: Session, emails: Iterable[str]) -> dict[str, int]:
    """lower-cased email -> user id, for the addresses an account has verified."""
    wanted = sorted({e.lower() for e in emails if e})
    owners: dict[str, int] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        stmt = select(UserEmail.email, UserEmail.user_id).where(
            func.lower(UserEmail.email).in_(chunk), UserEmail.verified.is_(True))
        for email, user_id in session.execute(stmt):
            owners[email.lower()] = user_id
    return owners


def log_commits(session: Session, project: Project, commits: Iterable[CommitEntry]) -> int:
    """Log ``committed`` entries for commits not logged yet for this project
    (a commit reaching the default branch twice, e.g. after a reset and a
    re-push, counts once). Returns how many rows were added."""
    if project.private:
        return 0
    todo: dict[str, CommitEntry] = {}
    for c in commits:
        todo.setdefault(c.id, c)
    if not todo:
        return 0
    ids = list(todo)
    logged = select(ActivityLog.ref_id).where(ActivityLog.project_id == project.id,
                                              ActivityLog.log_type == "committed")
    if len(ids) > 4 * _CHUNK:  # a big push: one scan beats many IN lists
        for known in session.scalars(logged):
            todo.pop(known, None)
    else:
        for start in range(0, len(ids), _CHUNK):
            for known in session.scalars(
                    logged.where(ActivityLog.ref_id.in_(ids[start:start + _CHUNK]))):
                todo.pop(known, None)
    if not todo:
        return 0
    owners = verified_owners(session, (c.author_email for c in todo.values()))
    rows = []
    for c in todo.values():
        when = c.when.astimezone(UTC)
        user_id = owners.get(c.author_email.lower())
        rows.append({"user_id": user_id,
                     "user_email": None if user_id else c.author_email[:255],
                     "project_id": project.id, "log_type": "committed", "ref_id": c.id,
                     "date": when.date(), "date_created": when})
    # one executemany on the table (the ORM bulk path splits rows by their None
    # columns: 20,000 commits took 2.5 s that way, 0.2 s like this)
    session.execute(insert(ActivityLog.__table__), rows)
    return len(rows)


def reattribute(session: Session, user: User, email: str) -> int:
    """Give ``user`` the entries logged under ``email`` (now verified by them)."""
    if not email:
        return 0
    stmt = (update(ActivityLog)
            .where(ActivityLog.user_id.is_(None),
                   func.lower(ActivityLog.user_email) == email.lower())
            .values(user_id=user.id, user_email=None)
            .execution_options(synchronize_session=False))
    return session.execute(stmt).rowcount or 0


# -- reading ------------------------------------------------------------------

_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def timezone_named(name: str | None) -> tzinfo:
    """An Olson zone (``Europe/Paris``); empty means UTC. ENOCODE otherwise,
    as Pagure answers."""
    if not name or name.upper() == "UTC":
        return UTC
    try:
        if len(name) > 64:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidInput(f"Invalid timezone: {name[:64]!r}", code="ENOCODE") from None


def parse_day(text: str) -> date:
    """``YYYY-MM-DD`` or ENOCODE (Pagure's code for a bad activity date)."""
    try:
        if not _DAY.match(text or ""):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"Invalid date: {(text or '')[:32]!r}, expected YYYY-MM-DD",
                           code="ENOCODE") from None

def _visible(session: Session, viewer: User | None) -> Any:
    from pagurus.core.projects import visible_clause  # core.projects logs through us

    return visible_clause(session, viewer)


def local_day(instant: datetime, tz: tzinfo) -> date:
    return instant.astimezone(tz).date()


def day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The UTC instants where ``day`` starts and ends in ``tz`` (DST-aware)."""
    start = datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    return start, end


def default_since(tz: tzinfo, today: date | None = None) -> date:
    """A year back from today, as the heatmap shows it."""
    today = today or local_day(utcnow(), tz)
    return today - timedelta(days=365)


def stats(session: Session, user: User, viewer: User | None, tz: tzinfo = UTC,
          since: date | None = None) -> dict[date, int]:
    """Entries per day (in ``tz``) from ``since`` (default: a year ago) until
    now, on projects ``viewer`` may see. Days without activity are absent."""
    since = since or default_since(tz)
    if tz is UTC:  # ``date`` is the UTC day of ``date_created``: let the DB count
        grouped = (select(ActivityLog.date, func.count())
                   .join(Project, Project.id == ActivityLog.project_id)
                   .where(ActivityLog.user_id == user.id, ActivityLog.date >= since,
                          _visible(session, viewer))
                   .group_by(ActivityLog.date).order_by(ActivityLog.date))
        return {day_: n for day_, n in session.execute(grouped)}
    start, _ = day_bounds(since, tz)
    stmt = (select(ActivityLog.date_created)
            .join(Project, Project.id == ActivityLog.project_id)
            .where(ActivityLog.user_id == user.id, ActivityLog.date_created >= start,
                   _visible(session, viewer)))
    counts: Counter[date] = Counter(local_day(when, tz) for when in session.scalars(stmt))
    return dict(sorted(counts.items()))


def day(session: Session, user: User, viewer: User | None, on: date, tz: tzinfo = UTC,
        grouped: bool = False) -> list[DayItem]:
    """The user's entries of day ``on`` (in ``tz``), oldest first, on projects
    ``viewer`` may see. ``grouped`` collapses each project's commits into one
    item placed where its first commit was."""
    start, end = day_bounds(on, tz)
    stmt = (select(ActivityLog, Project)
            .join(Project, Project.id == ActivityLog.project_id)
            .where(ActivityLog.user_id == user.id, ActivityLog.date_created >= start,
                   ActivityLog.date_created < end, _visible(session, viewer))
            .order_by(ActivityLog.date_created, ActivityLog.id))
    from pagurus.core.project_activity import hidden_issue_uids  # it imports core.issues

    rows = list(session.execute(stmt))
    hidden = hidden_issue_uids(session, viewer, [entry for entry, _project in rows])
    items: list[DayItem] = []
    commit_groups: dict[int, int] = {}  # project id -> index in items
    for entry, project in rows:
        if entry.issue_uid in hidden:
            continue
        if grouped and entry.log_type == "committed":
            at = commit_groups.get(project.id)
            if at is None:
                commit_groups[project.id] = len(items)
                items.append(DayItem(project, "committed", None, 1))
            else:
                items[at] = DayItem(project, "committed", None, items[at].count + 1)
            continue
        items.append(DayItem(project, entry.log_type, entry))
    return items
