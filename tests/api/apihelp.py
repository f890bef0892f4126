"""Helpers shared by the API tests (plain functions: the root conftest owns fixtures)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pagurus.config import Settings
from pagurus.core import groups as core_groups
from pagurus.core import projects as core_projects
from pagurus.model import Group, Project, User
from pagurus.paths import REPO_KINDS, repo_path

API = "/api/0"


def make_project(session: Session, settings: Settings, owner: User, name: str, *,
                 private: bool = False, namespace: str | None = None,
                 description: str = "A project") -> Project:
    """A project row marked ready without repos on disk (for calls that need no git)."""
    project = core_projects.create_project(session, settings, owner, name, description,
                                           private=private, namespace=namespace)
    core_projects.mark_ready(project)
    session.commit()
    return project


def make_group(session: Session, name: str, creator: User, *,
               group_type: str = "user") -> Group:
    group = core_groups.create_group(session, name, creator, group_type=group_type)
    session.commit()
    return group


def grant(session: Session, project: Project, user: User, level: str) -> None:
    project = session.get(Project, project.id)
    project.user_access.append(core_projects.ProjectUser(user_id=user.id, access=level))
    session.commit()


def project_row(session: Session, key: str) -> Project | None:
    session.expire_all()
    return session.scalar(select(Project).where(Project.key == key.lower()))


def repo_dirs(settings: Settings, fullname: str) -> list[Path]:
    return [repo_path(settings.data_dir, kind, fullname) for kind in REPO_KINDS]


def poll_task(client: Any, task_id: str, timeout: float = 30) -> dict[str, Any]:
    """Ask the status endpoint until the task is ready (or fail after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        data = client.get(f"{API}/task/{task_id}/status").get_json()
        if data["ready"]:
            return data
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} still {data['status']} after {timeout} s")
        time.sleep(0.05)


def error_of(resp: Any) -> tuple[int, str]:
    data = resp.get_json()
    assert data is not None, resp.data[:300]
    assert set(data) <= {"error", "error_code", "errors"}, data
    return resp.status_code, data["error_code"]
