"""Projects with a configured issue tracker, for the integration tests of issues."""

from __future__ import annotations

from typing import Any

from conftest import unique
from sqlalchemy.orm import Session

from pagurus.config import Settings
from pagurus.core import issues as core_issues
from pagurus.core import projects as core_projects
from pagurus.model import Issue, Project, User

BASE = "http://pagurus.test"


def tracker_project(session: Session, settings: Settings, owner: User, *,
                    private: bool = False, **settings_values: Any) -> Project:
    """A project row (no repositories needed) with priorities, milestones and
    close statuses."""
    project = core_projects.create_project(session, settings, owner, unique("p"), "Issues",
                                           private=private)
    core_projects.mark_ready(project)
    project.priorities = {"1": "High", "2": "Normal", "3": "Low"}
    project.milestones = {"v1": {"date": None, "active": True}}
    project.close_status = ["Fixed", "Invalid"]
    project.settings = {**(project.settings or {}), **settings_values}
    session.commit()
    return project


def set_settings(session: Session, project: Project, **values: Any) -> None:
    project = session.get(Project, project.id)
    project.settings = {**(project.settings or {}), **values}
    session.commit()


def new_issue(session: Session, actor: User, project: Project, title: str = "An issue",
              **kwargs: Any) -> Issue:
    issue = core_issues.create_issue(session, actor, project, title=title,
                                     content=kwargs.pop("content", "Some text"),
                                     base_url=BASE, **kwargs)
    session.commit()
    return issue
