"""The outbox: events written in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pagurus.model.base import Base, utcnow


class Event(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(128), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # events about private objects are kept for internal consumers only
    private: Mapped[bool] = mapped_column(default=False)
    project_id: Mapped[int | None] = mapped_column(index=True)
    # old events are pruned by age (outbox.prune)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class EventDelivery(Base):
    """One row per (event, consumer) once that consumer has taken the event."""

    __tablename__ = "event_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "consumer"),
        # a consumer's newest taken event, and its taken events from there back
        Index("ix_event_deliveries_consumer_event", "consumer", "event_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    consumer: Mapped[str] = mapped_column(String(64))
    delivered_at: Mapped[datetime] = mapped_column(default=utcnow)
