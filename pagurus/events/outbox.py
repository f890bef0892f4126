"""Writing events into the outbox, in the caller's transaction.

The event row is added to the same session as the change it describes, so
both commit together or neither does; dispatchers relay rows later.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, literal, select
from sqlalchemy.orm import Session

from pagurus.model import Event, EventDelivery, utcnow

TOPICS = frozenset({
    "project.new", "project.edit", "project.forked", "project.deleted",
    "project.tag.removed", "project.tag.edited",
    "project.user.added", "project.user.access.updated", "project.user.removed",
    "project.group.added", "project.group.access.updated", "project.group.removed",
    "group.edit",
    "issue.new", "issue.edit", "issue.drop", "issue.comment.added", "issue.comment.edited",
    "issue.tag.added", "issue.tag.removed", "issue.assigned.added", "issue.assigned.reset",
    "issue.dependency.added", "issue.dependency.removed",
    "pull-request.new", "pull-request.closed", "pull-request.reopened",
    "pull-request.comment.added", "pull-request.comment.edited",
    "pull-request.initial_comment.edited", "pull-request.tag.added",
    "pull-request.tag.removed", "pull-request.assigned.added", "pull-request.assigned.reset",
    "pull-request.flag.added", "pull-request.flag.updated", "pull-request.updated",
    "pull-request.rebased", "pull-request.ci.trigger", "commit.flag.added",
    "commit.flag.updated",
    "git.receive", "git.branch.creation", "git.branch.deletion",
    "git.tag.creation", "git.tag.deletion", "Test.notification",
})


def record(
    session: Session,
    topic: str,
    payload: dict[str, Any],
    *,
    project_id: int | None = None,
    private: bool = False,
) -> Event:
    """Queue ``topic`` with ``payload`` in the current transaction."""
    if topic not in TOPICS:
        raise ValueError(f"unknown event topic {topic!r}")
    event = Event(topic=topic, payload=payload, project_id=project_id, private=private)
    session.add(event)
    return event


# Events are taken in id order, but ids are given at insert and rows show at
# commit: a slow transaction can make a lower id appear after higher ones were
# taken. Looking back this many ids behind the newest taken event covers that
# with a wide margin, and keeps each round's lookup small however long the
# outbox has grown (it used to compare every event with every delivery).
LOOK_BACK = 10_000


def pending(session: Session, consumer: str, limit: int = 100) -> list[Event]:
    """Events ``consumer`` has not yet taken, oldest first."""
    newest = session.scalar(select(func.max(EventDelivery.event_id))
                            .where(EventDelivery.consumer == consumer))
    floor = (newest or 0) - LOOK_BACK
    taken = select(EventDelivery.event_id).where(EventDelivery.consumer == consumer,
                                                 EventDelivery.event_id > floor)
    stmt = (select(Event).where(Event.id > floor, Event.id.not_in(taken))
            .order_by(Event.id).limit(limit))
    return list(session.scalars(stmt))


def start_from_now(session: Session, consumer: str) -> int:
    """For a consumer that never took an event (one added to a forge that has
    been running): count what is already in the outbox as taken, so that it
    starts with the events to come instead of replaying weeks of them.
    Returns how many were skipped (0 for a consumer that already started)."""
    if session.scalar(select(EventDelivery.id).where(EventDelivery.consumer == consumer)
                      .limit(1)) is not None:
        return 0
    newest = session.scalar(select(func.max(Event.id)))
    if newest is None:
        return 0
    window = Event.id > newest - LOOK_BACK
    # counted apart: psycopg reports no row count for INSERT … SELECT built by SQLAlchemy
    skipped = session.scalar(select(func.count()).select_from(Event).where(window)) or 0
    session.execute(insert(EventDelivery).from_select(
        ["event_id", "consumer", "delivered_at"],
        select(Event.id, literal(consumer), literal(utcnow())).where(window)))
    return int(skipped)


def prune(session: Session, before: datetime) -> int:
    """Forget events recorded before ``before`` (with their deliveries); the
    dispatcher keeps ``event_retention_days`` of them. Returns how many went."""
    old = select(Event.id).where(Event.created_at < before)
    session.execute(delete(EventDelivery).where(EventDelivery.event_id.in_(old)))
    gone = session.execute(delete(Event).where(Event.created_at < before))
    return int(getattr(gone, "rowcount", 0) or 0)


def mark_delivered(session: Session, consumer: str, event_ids: list[int]) -> None:
    for event_id in event_ids:
        session.add(EventDelivery(event_id=event_id, consumer=consumer))
