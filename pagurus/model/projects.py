"""Projects, who may do what on them, stars and watchers."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pagurus.model.base import Base, utcnow
from pagurus.model.users import Group, User

if TYPE_CHECKING:
    from pagurus.model.issues import IssueCustomKey


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    # lower-cased fullname: enforces case-insensitive uniqueness, indexes lookups
    key: Mapped[str] = mapped_column(String(400), unique=True)
    namespace: Mapped[str | None] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), index=True
    )
    is_fork: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(Text, default="")
    avatar_email: Mapped[str] = mapped_column(String(255), default="")
    private: Mapped[bool] = mapped_column(default=False)
    read_only: Mapped[bool] = mapped_column(default=False)
    # pending -> ready | failed; deleting while the worker removes the repos
    repo_state: Mapped[str] = mapped_column(String(16), default="pending")
    default_branch: Mapped[str] = mapped_column(String(255), default="main")
    mirrored_from: Mapped[str | None] = mapped_column(Text)
    hook_token: Mapped[str] = mapped_column(String(64))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    block_users: Mapped[list[Any]] = mapped_column(default=list)
    priorities: Mapped[dict[str, Any]] = mapped_column(default=dict)
    default_priority: Mapped[str | None] = mapped_column(String(255))
    milestones: Mapped[dict[str, Any]] = mapped_column(default=dict)
    milestones_keys: Mapped[list[Any]] = mapped_column(default=list)
    close_status: Mapped[list[Any]] = mapped_column(default=list)
    quick_replies: Mapped[list[Any]] = mapped_column(default=list)
    # git hook plugins: {"<plugin display name>": {"active": true, <field>: value}}
    plugins: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # the last issue/pull-request number given out (one sequence for both)
    last_number: Mapped[int] = mapped_column(default=0, server_default="0")
    # saved issue-list queries: {"<report name>": {<query argument>: value or [values]}}
    reports: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    date_created: Mapped[datetime] = mapped_column(default=utcnow)
    date_modified: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()
    parent: Mapped[Project | None] = relationship(remote_side="Project.id")
    user_access: Mapped[list[ProjectUser]] = relationship(
        back_populates="project", cascade="all, delete-orphan"
    )
    group_access: Mapped[list[ProjectGroup]] = relationship(
        back_populates="project", cascade="all, delete-orphan"
    )
    tags: Mapped[list[ProjectTag]] = relationship(
        cascade="all, delete-orphan", order_by="ProjectTag.name"
    )
    # issue custom fields, in their display order (read here, written by core)
    custom_keys: Mapped[list[IssueCustomKey]] = relationship(
        viewonly=True, order_by="(IssueCustomKey.position, IssueCustomKey.name)"
    )

    @property
    def fullname(self) -> str:
        base = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"forks/{self.user.name}/{base}" if self.is_fork else base

    @property
    def url_path(self) -> str:
        base = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"fork/{self.user.name}/{base}" if self.is_fork else base


class ProjectUser(Base):
    __tablename__ = "project_users"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    access: Mapped[str] = mapped_column(String(16))
    branches: Mapped[str | None] = mapped_column(Text)

    project: Mapped[Project] = relationship(back_populates="user_access")
    user: Mapped[User] = relationship()


class ProjectGroup(Base):
    __tablename__ = "project_groups"
    __table_args__ = (UniqueConstraint("project_id", "group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    access: Mapped[str] = mapped_column(String(16))
    branches: Mapped[str | None] = mapped_column(Text)

    project: Mapped[Project] = relationship(back_populates="group_access")
    group: Mapped[Group] = relationship()


class ProjectTag(Base):
    """Free-form project tags (shown in project JSON ``tags``, filter of /projects)."""

    __tablename__ = "project_tags"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))


class Star(Base):
    __tablename__ = "stars"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Watcher(Base):
    """An explicit watch choice; without a row the implicit default applies."""

    __tablename__ = "watchers"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    watch_issues: Mapped[bool] = mapped_column(default=False)
    watch_commits: Mapped[bool] = mapped_column(default=False)
