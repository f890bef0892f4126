"""Repository work for projects: create, fork, delete."""

from __future__ import annotations

import logging
import shutil
from typing import Any

from pagurus.core import attachments as core_attachments
from pagurus.core import projects as core_projects
from pagurus.core import releases as core_releases
from pagurus.core.users import get_user
from pagurus.db import session_scope
from pagurus.git import hooks as git_hooks
from pagurus.git import repos as git_repos
from pagurus.model import Project
from pagurus.paths import REPO_KINDS, repo_path, safe_join
from pagurus.tasks.app import celery_app, runtime

log = logging.getLogger(__name__)


@celery_app.task(name="pagurus.create_project_repos")
def create_project_repos(project_id: int, create_readme: bool = False) -> dict[str, Any]:
    """Make the four bare repos; on failure remove what was made and the row."""
    rt = runtime()
    with session_scope(rt.sessions) as session:
        project = session.get(Project, project_id)
        if project is None:
            raise LookupError(f"project {project_id} is gone")
        fullname, branch = project.fullname, project.default_branch
        owner = project.user
        made = []
        try:
            for kind in REPO_KINDS:
                path = repo_path(rt.settings.data_dir, kind, fullname)
                repo = git_repos.init_bare(path, branch)
                made.append(path)
                git_hooks.install(path)
                if kind == "main" and create_readme:
                    git_repos.commit_readme(
                        repo, branch, f"# {project.name}\n\n{project.description}\n",
                        owner.fullname or owner.name, owner.default_email)
        except Exception:
            log.exception("creating repositories of %s failed", fullname)
            for path in made:
                git_repos.remove(path)
            core_projects.delete_row(session, project)
            session.commit()
            raise
        core_projects.mark_ready(project)
        return {"endpoint": "project", "url_path": project.url_path,
                "message": f'Project "{fullname}" created'}


@celery_app.task(name="pagurus.fork_project")
def fork_project(project_id: int) -> dict[str, Any]:
    """Clone the parent's repos (hard links) into the fork's paths."""
    rt = runtime()
    with session_scope(rt.sessions) as session:
        fork = session.get(Project, project_id)
        if fork is None or fork.parent is None:
            raise LookupError(f"fork {project_id} is gone")
        made = []
        try:
            for kind in REPO_KINDS:
                src = repo_path(rt.settings.data_dir, kind, fork.parent.fullname)
                dst = repo_path(rt.settings.data_dir, kind, fork.fullname)
                if src.exists():
                    git_repos.fork_bare(src, dst)
                else:
                    git_repos.init_bare(dst, fork.default_branch)
                made.append(dst)
                git_hooks.install(dst)  # a clone does not copy hooks
        except Exception:
            log.exception("forking into %s failed", fork.fullname)
            for path in made:
                git_repos.remove(path)
            core_projects.delete_row(session, fork)
            session.commit()
            raise
        core_projects.mark_ready(fork)
        parent_name = fork.parent.fullname
        return {"endpoint": "project", "url_path": fork.url_path,
                "message": f'Repo "{parent_name}" cloned to "{fork.user.name}/{parent_name}"'}


@celery_app.task(name="pagurus.delete_project")
def delete_project(project_id: int, agent: str | None = None) -> dict[str, Any]:
    """Remove the repos of a project marked ``deleting``, then its row (whose
    ``project.deleted`` event names ``agent``, the user who asked)."""
    rt = runtime()
    with session_scope(rt.sessions) as session:
        project = session.get(Project, project_id)
        if project is None:
            return {"message": "already deleted"}
        if project.repo_state != "deleting":
            raise RuntimeError(f"project {project_id} is not marked for deletion")
        fullname = project.fullname
        for kind in REPO_KINDS:
            git_repos.remove(repo_path(rt.settings.data_dir, kind, fullname))
        # files kept beside the repos go too: a new project of the same name (or,
        # on SQLite, of the same reused id) must not inherit them
        for files in (core_releases.folder(rt.settings.data_dir, project),
                      core_attachments.folder(rt.settings.data_dir, project),
                      safe_join(rt.settings.data_dir / "archives", fullname)):
            shutil.rmtree(files, ignore_errors=True)
        actor = get_user(session, agent) if agent else None
        core_projects.delete_row(session, project, actor)
        return {"endpoint": "index", "message": f'Project "{fullname}" deleted'}
