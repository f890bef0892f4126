"""Helpers for the pull-request merge/rebase/refresh tests: projects whose
repos a real worker made (hooks installed), working clones that commit files
and push through the hooks with the real git client, and readers of the bare
repos through ``git`` itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import unique
from sqlalchemy import select
from test_hooks_common import (
    Work,
    git,
    hookd_for,
    make_project,
    owner_fixture,  # noqa: F401 - fixture, re-exported
    project_fixture,  # noqa: F401 - fixture, re-exported
)

from pagurus.core import projects as core_projects
from pagurus.core import pulls as core_pulls
from pagurus.model import Event, Project, PullRequest
from pagurus.paths import repo_path
from pagurus.tasks import projects as project_tasks

BASE = "http://pagurus.test"


@pytest.fixture(name="hook_server", autouse=True)
def hook_server_fixture(request: Any, settings: Any) -> None:
    """Pushes (the tests' and the tasks') run their hooks in the hook server:
    the same code as a hook process of its own, without its start-up cost.
    (The hook tests run every push both ways.)"""
    hookd_for(settings, request.config).ensure_running()


def new_project(session: Any, settings: Any, owner: Any, readme: bool = True,
                **options: Any) -> Project:
    project = make_project(session, settings, owner, readme=readme)
    if options:
        set_options(session, project, **options)
    return project


def set_options(session: Any, project: Project, **options: Any) -> None:
    project.settings = {**project.settings, **options}
    session.commit()


def fork(session: Any, settings: Any, user: Any, project: Project) -> Project:
    forked = core_projects.fork_project(session, user, project)
    session.commit()
    project_tasks.fork_project.delay(forked.id).get(timeout=60)
    session.expire_all()
    return session.get(Project, forked.id)


class Clone(Work):
    """A working clone that writes whole files and pushes as someone."""

    def __init__(self, settings: Any, project: Project, path: Path) -> None:
        super().__init__(settings, project, path)
        self.author = ("Ada Author", "ada@example.org")

    def start(self, branch: str, base: str = "origin/main") -> None:
        git("fetch", "-q", "origin", cwd=self.path)
        git("checkout", "-q", "-B", branch, base, cwd=self.path)

    def write(self, files: dict[str, str | None], message: str) -> str:
        for name, content in files.items():
            target = self.path / name
            if content is None:
                git("rm", "-q", "--", name, cwd=self.path)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
            git("add", "--", name, cwd=self.path)
        env = {"GIT_AUTHOR_NAME": self.author[0], "GIT_AUTHOR_EMAIL": self.author[1],
               "GIT_COMMITTER_NAME": self.author[0], "GIT_COMMITTER_EMAIL": self.author[1]}
        git("commit", "-q", "-m", message, cwd=self.path, env=env)
        return self.rev("HEAD")

    def push_branch(self, branch: str, user: str, force: bool = False,
                    check: bool = True) -> Any:
        spec = f"{'+' if force else ''}HEAD:refs/heads/{branch}"
        return self.push(spec, user=user, check=check)


@pytest.fixture(name="clone")
def clone_fixture(settings: Any, project: Project, tmp_path: Path) -> Clone:
    """A working clone of ``project`` (the hook tests' ``owner`` and
    ``project`` fixtures, imported from here with this one)."""
    return Clone(settings, project, tmp_path / "clone")


def bare(settings: Any, project: Project) -> Path:
    return repo_path(settings.data_dir, "main", project.fullname)


def rev(path: Path, ref: str) -> str | None:
    proc = git("rev-parse", "--verify", "-q", ref, cwd=path, check=False)
    return proc.stdout.strip() or None


def is_ancestor(path: Path, commit: str, of: str) -> bool:
    return git("merge-base", "--is-ancestor", commit, of, cwd=path,
               check=False).returncode == 0


def commit_info(path: Path, sha: str) -> dict[str, Any]:
    """Parents, tree, author, committer and message as ``git cat-file`` shows them."""
    raw = git("cat-file", "-p", sha, cwd=path).stdout
    header, _, message = raw.partition("\n\n")
    info: dict[str, Any] = {"parents": [], "message": message}
    for line in header.splitlines():
        key, _, value = line.partition(" ")
        if key == "parent":
            info["parents"].append(value)
        elif key in ("tree", "author", "committer"):
            info[key] = value.rsplit(" ", 2)[0] if key != "tree" else value
    return info


def open_pull(session: Any, settings: Any, actor: Any, target: Project, branch_from: str,
              title: str | None = None, source: Project | None = None,
              branch_to: str = "main", **kwargs: Any) -> PullRequest:
    pr = core_pulls.create_pull(session, settings.data_dir, actor, target, branch_to=branch_to,
                                branch_from=branch_from, title=title or unique("PR "),
                                base_url=BASE, source=source, **kwargs)
    session.commit()
    return pr


def reload(session: Any, pr: PullRequest) -> PullRequest:
    session.expire_all()
    return session.get(PullRequest, pr.id)


def topics(session: Any, project: Project, topic: str) -> list[Event]:
    session.expire_all()
    return list(session.scalars(select(Event).where(
        Event.project_id == project.id, Event.topic == topic).order_by(Event.id)))
