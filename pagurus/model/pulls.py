"""Pull requests, their comments (general and inline), links to issues,
watchers, and commit flags (CI statuses, also shown on pull requests).

A pull request's number comes from the same per-project sequence as issues
(``Project.last_number``, rule in ``core.issues.next_number``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pagurus.model.base import Base, utcnow
from pagurus.model.issues import TagColored
from pagurus.model.projects import Project
from pagurus.model.users import User


class PullRequest(Base):
    __tablename__ = "pull_requests"
    __table_args__ = (
        UniqueConstraint("project_id", "number"),
        Index("ix_pull_requests_project_status_created", "project_id", "status", "date_created"),
        Index("ix_pull_requests_from", "project_from_id", "branch_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    # the target project
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    number: Mapped[int]
    title: Mapped[str] = mapped_column(Text)
    initial_comment: Mapped[str] = mapped_column(Text, default="")
    branch: Mapped[str] = mapped_column(String(255))  # target branch
    branch_from: Mapped[str] = mapped_column(String(255))
    # source project; None for a remote PR, or once the source fork is deleted
    # (the commits stay readable through refs/pull/<number>/head of the target)
    project_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL")
    )
    remote_git: Mapped[str | None] = mapped_column(Text)
    commit_start: Mapped[str | None] = mapped_column(String(64))  # oldest commit of the PR
    commit_stop: Mapped[str | None] = mapped_column(String(64))  # its head
    status: Mapped[str] = mapped_column(String(16), default="Open")  # Open | Merged | Closed
    # FFORWARD | MERGE | CONFLICTS | NO_CHANGE, None: to compute
    merge_status: Mapped[str | None] = mapped_column(String(16))
    # the target head and source head merge_status was computed for
    merge_status_key: Mapped[str | None] = mapped_column(String(130))
    conflict_files: Mapped[list[Any]] = mapped_column(default=list)
    allow_rebase: Mapped[bool] = mapped_column(default=False)
    private: Mapped[bool] = mapped_column(default=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None]
    date_created: Mapped[datetime] = mapped_column(default=utcnow)
    updated_on: Mapped[datetime] = mapped_column(default=utcnow)  # the code changed
    last_updated: Mapped[datetime] = mapped_column(default=utcnow, index=True)  # anything

    project: Mapped[Project] = relationship(foreign_keys=[project_id])
    project_from: Mapped[Project | None] = relationship(foreign_keys=[project_from_id])
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    tags: Mapped[list[TagColored]] = relationship(
        secondary="pull_request_tags", order_by="TagColored.name"
    )
    comments: Mapped[list[PullRequestComment]] = relationship(
        back_populates="pull_request", cascade="all, delete-orphan",
        order_by="PullRequestComment.id", passive_deletes=True,
    )


class PullRequestTag(Base):
    __tablename__ = "pull_request_tags"

    pull_request_id: Mapped[int] = mapped_column(
        ForeignKey("pull_requests.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(
        ForeignKey("tags_colored.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class PullRequestComment(Base):
    """A general comment, or an inline one anchored to a line of a file at a commit."""

    __tablename__ = "pull_request_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    pull_request_id: Mapped[int] = mapped_column(
        ForeignKey("pull_requests.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    comment: Mapped[str] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("pull_request_comments.id", ondelete="SET NULL")
    )
    commit_id: Mapped[str | None] = mapped_column(String(64))
    tree_id: Mapped[str | None] = mapped_column(String(64))
    filename: Mapped[str | None] = mapped_column(Text)
    line: Mapped[int | None]
    # which side of the diff ``line`` is on: None for the new version (Pagure's
    # only kind), "old" for a line of the file before the change (at ``commit_id``)
    side: Mapped[str | None] = mapped_column(String(3))
    notification: Mapped[bool] = mapped_column(default=False)
    date_created: Mapped[datetime] = mapped_column(default=utcnow)
    edited_on: Mapped[datetime | None]
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reactions: Mapped[dict[str, Any]] = mapped_column(default=dict)

    pull_request: Mapped[PullRequest] = relationship(back_populates="comments")
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    editor: Mapped[User | None] = relationship(foreign_keys=[editor_id])


class PullRequestWatcher(Base):
    __tablename__ = "pull_request_watchers"

    pull_request_id: Mapped[int] = mapped_column(
        ForeignKey("pull_requests.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    watch: Mapped[bool] = mapped_column(default=True)


class PullRequestIssue(Base):
    """A pull request related to an issue of its target project ("Fixes #3"
    in its description or commits); ``origin`` says where it was found."""

    __tablename__ = "pull_request_issues"

    pull_request_id: Mapped[int] = mapped_column(
        ForeignKey("pull_requests.id", ondelete="CASCADE"), primary_key=True
    )
    issue_id: Mapped[int] = mapped_column(
        ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    origin: Mapped[str] = mapped_column(String(32), default="description")


class CommitFlag(Base):
    """A CI status on a commit; posting again with the same ``uid`` updates it.
    Flags of a pull request are the flags of its head commit."""

    __tablename__ = "commit_flags"
    __table_args__ = (
        UniqueConstraint("project_id", "commit_hash", "uid"),
        Index("ix_commit_flags_commit", "project_id", "commit_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    commit_hash: Mapped[str] = mapped_column(String(64))
    uid: Mapped[str] = mapped_column(String(32))
    username: Mapped[str] = mapped_column(String(255))  # the CI's display name
    percent: Mapped[int | None]
    comment: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id", ondelete="SET NULL"))
    date_created: Mapped[datetime] = mapped_column(default=utcnow)
    date_updated: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()
