"""The activity log behind user heatmaps and activity feeds."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from pagurus.model.base import Base, utcnow


class ActivityLog(Base):
    """One thing a user did: created a project or issue, commented, merged,
    committed… Commits by an unknown email keep ``user_email`` until an account
    confirms that address."""

    __tablename__ = "activity_log"
    __table_args__ = (
        Index("ix_activity_log_user_date", "user_id", "date"),
        Index("ix_activity_log_email", "user_email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    user_email: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    log_type: Mapped[str] = mapped_column(String(32))  # created, commented, committed…
    ref_id: Mapped[str] = mapped_column(String(64))  # issue/PR number, commit hash…
    issue_uid: Mapped[str | None] = mapped_column(String(32))
    pull_request_uid: Mapped[str | None] = mapped_column(String(32))
    date: Mapped[date] = mapped_column(Date)  # the day it happened (UTC)
    date_created: Mapped[datetime] = mapped_column(default=utcnow)  # the instant
