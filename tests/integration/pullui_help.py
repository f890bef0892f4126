"""Real repositories and pull requests for the UI tests of pull requests
(test_ui_pulls_*.py): commits written with pygit2 straight into the bare
repos, pull requests opened through core like the API would."""

from __future__ import annotations

from typing import Any

import pygit2
from commithelp import commit
from conftest import csrf_of, unique
from sqlalchemy.orm import Session

from pagurus.config import Settings
from pagurus.core import projects as core_projects
from pagurus.core import pulls
from pagurus.git.repos import fork_bare, init_bare
from pagurus.model import Project, PullRequest, User
from pagurus.paths import repo_path

BASE = "http://pagurus.test"


def make_project(session: Session, settings: Settings, owner: User, *, private: bool = False,
                 **opts: Any) -> tuple[Project, pygit2.Repository]:
    """A project with a main repo holding one commit on ``main``."""
    project = core_projects.create_project(session, settings, owner, unique("pr"), "d",
                                           private=private)
    project.repo_state = "ready"
    project.settings = {**project.settings, **opts}
    session.commit()
    repo = init_bare(repo_path(settings.data_dir, "main", project.fullname), "main")
    commit(repo, "main", {"README": "hello\n", "a.txt": "one\ntwo\nthree\nfour\nfive\n"},
           "Initial")
    return project, repo


def make_fork(session: Session, settings: Settings, user: User, project: Project
              ) -> tuple[Project, pygit2.Repository]:
    fork = core_projects.fork_project(session, user, project)
    fork.repo_state = "ready"
    session.commit()
    path = repo_path(settings.data_dir, "main", fork.fullname)
    fork_bare(repo_path(settings.data_dir, "main", project.fullname), path)
    return fork, pygit2.Repository(str(path))


def open_pull(session: Session, settings: Settings, actor: User, project: Project,
              branch_from: str, title: str = "A change", **kwargs: Any) -> PullRequest:
    kwargs.setdefault("branch_to", "main")
    pr = pulls.create_pull(session, settings.data_dir, actor, project, branch_from=branch_from,
                           title=title, base_url=BASE, **kwargs)
    session.commit()
    return pr


def grant(session: Session, project: Project, user: User, level: str) -> None:
    core_projects.set_user_access(session, project.user, project, user, level)
    session.commit()


def purl(project: Project) -> str:
    return "/" + project.url_path


def pr_path(pr: PullRequest, suffix: str = "") -> str:
    return f"/{pr.project.url_path}/pull-request/{pr.number}{suffix}"


def post(client: Any, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    data = dict(data or {})
    data.setdefault("csrf_token", csrf_of(client))
    return client.post(url, data=data, **kwargs)


def fresh(session: Session, obj: Any) -> Any:
    session.expire_all()
    return session.get(type(obj), obj.id)
