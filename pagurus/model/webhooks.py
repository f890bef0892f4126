"""The webhook delivery log: one row per (event, URL) POST, with its outcome."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pagurus.model.base import Base, utcnow


class WebhookDelivery(Base):
    """A notification for one URL: the exact body is kept so that retries and
    redeliveries send the same bytes (same ``msg_id``); signatures are made at
    send time with the project's current ``hook_token``."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # a project's newest deliveries (the log page)
        Index("ix_webhook_deliveries_project_recent", "project_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    # the outbox event (None for the settings page's test); events are pruned
    # on their own schedule, so no foreign key
    event_id: Mapped[int | None] = mapped_column()
    url: Mapped[str] = mapped_column(Text)
    topic: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)
    # pending -> delivered | failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_status_code: Mapped[int | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(300))
    # when the next attempt is due (pending only); a pending row well past it
    # lost its task and is queued again by the dispatcher's upkeep
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column()
