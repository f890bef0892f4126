"""Helpers shared by the issue API tests (plain functions: the root conftest owns fixtures)."""

from __future__ import annotations

from typing import Any

from apihelp import make_project
from conftest import unique
from sqlalchemy.orm import Session

from pagurus.config import Settings
from pagurus.core import issues as core_issues
from pagurus.model import Issue, IssueCustomKey, Project, User

BASE = "http://pagurus.test"


def tracker_project(session: Session, settings: Settings, owner: User, *,
                    private: bool = False, **settings_values: Any) -> Project:
    """A project with priorities, milestones, close statuses and custom fields."""
    project = make_project(session, settings, owner, unique("p"), private=private)
    project.priorities = {"1": "High", "2": "Normal", "3": "Low"}
    project.milestones = {"v1": {"date": None, "active": True},
                          "v2": {"date": "2030-01-01", "active": True}}
    project.close_status = ["Fixed", "Invalid"]
    project.settings = {**(project.settings or {}), **settings_values}
    session.add_all([
        IssueCustomKey(project_id=project.id, name="severity", key_type="list",
                       data=["minor", "major"], position=1),
        IssueCustomKey(project_id=project.id, name="upstream", key_type="link", position=2),
        IssueCustomKey(project_id=project.id, name="due", key_type="date", position=3),
        IssueCustomKey(project_id=project.id, name="notes", key_type="text", position=4),
    ])
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


def reload(session: Session, issue: Issue) -> Issue:
    session.expire_all()
    return session.get(Issue, issue.id)


def issue_url(project: Project, issue: Issue | int | str, suffix: str = "") -> str:
    ident = issue.number if isinstance(issue, Issue) else issue
    return f"/api/0/{project.url_path}/issue/{ident}{suffix}"
