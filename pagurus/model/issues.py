"""Tickets: issues, their comments and metadata, coloured tags, custom fields,
boards and attachments.

Issue and pull-request numbers share one sequence per project
(``Project.last_number``); the numbering rule lives in ``core.issues``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pagurus.model.base import Base, utcnow
from pagurus.model.projects import Project
from pagurus.model.users import User

DEFAULT_TAG_COLOR = "DeepSkyBlue"


class TagColored(Base):
    """A project's coloured tag, shared by its issues and pull requests."""

    __tablename__ = "tags_colored"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    color: Mapped[str] = mapped_column(String(32), default=DEFAULT_TAG_COLOR)


class Issue(Base):
    __tablename__ = "issues"
    __table_args__ = (
        UniqueConstraint("project_id", "number"),
        # lists, counts and tabs filter on visibility too: private is in the index
        Index("ix_issues_project_status_private_created", "project_id", "status", "private",
              "date_created"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    number: Mapped[int]
    title: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="Open")
    close_status: Mapped[str | None] = mapped_column(String(255))
    private: Mapped[bool] = mapped_column(default=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    priority: Mapped[int | None]
    milestone: Mapped[str | None] = mapped_column(String(255))
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    date_created: Mapped[datetime] = mapped_column(default=utcnow)
    last_updated: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    project: Mapped[Project] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    tags: Mapped[list[TagColored]] = relationship(
        secondary="issue_tags", order_by="TagColored.name"
    )
    comments: Mapped[list[IssueComment]] = relationship(
        back_populates="issue", cascade="all, delete-orphan", order_by="IssueComment.id",
        passive_deletes=True,
    )
    custom_values: Mapped[list[IssueCustomValue]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )


class IssueTag(Base):
    __tablename__ = "issue_tags"

    issue_id: Mapped[int] = mapped_column(
        ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(
        ForeignKey("tags_colored.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class IssueDependency(Base):
    """``child`` depends on ``parent``; ``parent`` blocks ``child``."""

    __tablename__ = "issue_deps"

    parent_id: Mapped[int] = mapped_column(
        ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True
    )
    child_id: Mapped[int] = mapped_column(
        ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class IssueComment(Base):
    __tablename__ = "issue_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    comment: Mapped[str] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("issue_comments.id", ondelete="SET NULL")
    )
    # system "Metadata Update" comments
    notification: Mapped[bool] = mapped_column(default=False)
    date_created: Mapped[datetime] = mapped_column(default=utcnow)
    edited_on: Mapped[datetime | None]
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # {reaction: [user names]}
    reactions: Mapped[dict[str, Any]] = mapped_column(default=dict)

    issue: Mapped[Issue] = relationship(back_populates="comments")
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    editor: Mapped[User | None] = relationship(foreign_keys=[editor_id])


class IssueCustomKey(Base):
    """A custom field a project defines for its issues."""

    __tablename__ = "issue_custom_keys"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    # text | boolean | date | link | list
    key_type: Mapped[str] = mapped_column(String(16))
    # the options of a list field
    data: Mapped[list[Any] | None] = mapped_column()
    notify: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)


class IssueCustomValue(Base):
    __tablename__ = "issue_custom_values"

    issue_id: Mapped[int] = mapped_column(
        ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True
    )
    key_id: Mapped[int] = mapped_column(
        ForeignKey("issue_custom_keys.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    value: Mapped[str] = mapped_column(Text)

    key: Mapped[IssueCustomKey] = relationship()


class IssueWatcher(Base):
    """An explicit per-issue choice: watch (True) or opt out (False)."""

    __tablename__ = "issue_watchers"

    issue_id: Mapped[int] = mapped_column(
        ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    watch: Mapped[bool] = mapped_column(default=True)


class Attachment(Base):
    """A file uploaded to an issue (or a pull request), stored under
    ``<data>/attachments/<project id>/<name>``; ``name`` is
    ``<sha256>-<safe file name>`` so equal uploads share one file."""

    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    issue_id: Mapped[int | None] = mapped_column(
        ForeignKey("issues.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(400))
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int]
    content_type: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    date_created: Mapped[datetime] = mapped_column(default=utcnow)


class Board(Base):
    __tablename__ = "boards"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags_colored.id", ondelete="CASCADE"))

    project: Mapped[Project] = relationship()
    tag: Mapped[TagColored] = relationship()
    statuses: Mapped[list[BoardStatus]] = relationship(
        cascade="all, delete-orphan", order_by="BoardStatus.rank", passive_deletes=True
    )


class BoardStatus(Base):
    __tablename__ = "board_statuses"
    __table_args__ = (UniqueConstraint("board_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    rank: Mapped[int] = mapped_column(default=0)
    bg_color: Mapped[str] = mapped_column(String(32), default="")
    default: Mapped[bool] = mapped_column(default=False)
    close: Mapped[bool] = mapped_column(default=False)
    close_status: Mapped[str | None] = mapped_column(String(255))


class BoardIssue(Base):
    __tablename__ = "board_issues"

    board_id: Mapped[int] = mapped_column(
        ForeignKey("boards.id", ondelete="CASCADE"), primary_key=True
    )
    issue_id: Mapped[int] = mapped_column(
        ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    status_id: Mapped[int] = mapped_column(
        ForeignKey("board_statuses.id", ondelete="CASCADE"), index=True
    )
    rank: Mapped[int] = mapped_column(default=0)

    board: Mapped[Board] = relationship()
    status: Mapped[BoardStatus] = relationship()
