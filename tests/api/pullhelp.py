"""Helpers shared by the pull-request and flag API tests: projects with real
bare repositories, commits written with pygit2, forks, pull requests opened
through core (plain functions: the root conftest owns fixtures)."""

from __future__ import annotations

from typing import Any

import pygit2
from commithelp import commit
from conftest import unique
from sqlalchemy import select
from sqlalchemy.orm import Session

from pagurus.config import Settings
from pagurus.core import projects as core_projects
from pagurus.core import pulls as core_pulls
from pagurus.git.repos import fork_bare, init_bare
from pagurus.model import Event, Project, PullRequest, User
from pagurus.paths import repo_path

API = "/api/0"
BASE = "http://pagurus.test"


def repo_of(settings: Settings, project: Project) -> pygit2.Repository:
    return pygit2.Repository(str(repo_path(settings.data_dir, "main", project.fullname)))


def git_project(session: Session, settings: Settings, owner: User, *, private: bool = False,
                namespace: str | None = None, **options: Any
                ) -> tuple[Project, pygit2.Repository]:
    """A ready project with a bare repo holding ``main`` (README, a.txt)."""
    project = core_projects.create_project(session, settings, owner, unique("pr"), "d",
                                           private=private, namespace=namespace)
    core_projects.mark_ready(project)
    project.settings = {**(project.settings or {}), **options}
    session.commit()
    repo = init_bare(repo_path(settings.data_dir, "main", project.fullname), "main")
    commit(repo, "main", {"README": "hello\n", "a.txt": "one\ntwo\nthree\n"}, "Initial")
    return project, repo


def hooked_project(session: Session, settings: Settings, owner: User, **options: Any
                   ) -> tuple[Project, pygit2.Repository]:
    """Like :func:`git_project`, but the repos are made by the worker (hooks
    installed), for merges and rebases that push through the hooks. Needs
    the ``worker`` fixture."""
    from pagurus.tasks import projects as project_tasks

    project = core_projects.create_project(session, settings, owner, unique("pm"), "d")
    project.settings = {**(project.settings or {}), **options}
    session.commit()
    project_tasks.create_project_repos.delay(project.id, False).get(timeout=60)
    session.expire_all()
    project = session.get(Project, project.id)
    repo = repo_of(settings, project)
    commit(repo, project.default_branch, {"README": "hello\n", "a.txt": "one\ntwo\nthree\n"},
           "Initial")
    return project, repo


def make_fork(session: Session, settings: Settings, user: User, project: Project
              ) -> tuple[Project, pygit2.Repository]:
    fork = core_projects.fork_project(session, user, project)
    core_projects.mark_ready(fork)
    session.commit()
    path = repo_path(settings.data_dir, "main", fork.fullname)
    fork_bare(repo_path(settings.data_dir, "main", project.fullname), path)
    return fork, pygit2.Repository(str(path))


def set_options(session: Session, project: Project, **options: Any) -> None:
    project = session.get(Project, project.id)
    project.settings = {**(project.settings or {}), **options}
    session.commit()


def open_pr(session: Session, settings: Settings, actor: User, project: Project,
            repo: pygit2.Repository, *, branch: str | None = None,
            files: dict[str, str | None] | None = None, title: str = "A change",
            source: Project | None = None, source_repo: pygit2.Repository | None = None,
            description: str = "", allow_rebase: bool = False) -> PullRequest:
    """Commit ``files`` on a new ``branch`` (of ``source_repo`` if given) and
    open a pull request from it into ``main``."""
    branch = branch or unique("topic-")
    commit(source_repo or repo, branch, files or {f"{branch}.txt": "new\n"}, title, "main")
    pr = core_pulls.create_pull(session, settings.data_dir, actor, project, branch_to="main",
                                branch_from=branch, title=title, base_url=BASE,
                                source=source, initial_comment=description,
                                allow_rebase=allow_rebase)
    session.commit()
    return pr


def pr_url(project: Project, pr: PullRequest | int, suffix: str = "") -> str:
    number = pr.number if isinstance(pr, PullRequest) else pr
    return f"{API}/{project.url_path}/pull-request/{number}{suffix}"


def reload(session: Session, pr: PullRequest) -> PullRequest:
    session.expire_all()
    return session.get(PullRequest, pr.id)


def events(session: Session, project: Project, prefix: str = "") -> list[tuple[str, Any]]:
    """(topic, payload) of the project's outbox events, oldest first."""
    session.expire_all()
    rows = session.execute(select(Event.topic, Event.payload).where(
        Event.project_id == project.id).order_by(Event.id)).all()
    return [(t, p) for t, p in rows if t.startswith(prefix)]
