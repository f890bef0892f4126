"""Helpers for the git smart HTTP tests: a live server, projects with real
repos, and the real ``git`` client (plain functions; each test module owns
its fixtures)."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from pagurus.config import Settings
from pagurus.core import projects as core_projects
from pagurus.model import ApiToken, Project, User, utcnow
from pagurus.paths import repo_path

GIT_CLIENT_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_ASKPASS": "",
    "SSH_ASKPASS": "",
    "GIT_AUTHOR_NAME": "Tester",
    "GIT_AUTHOR_EMAIL": "tester@example.com",
    "GIT_COMMITTER_NAME": "Tester",
    "GIT_COMMITTER_EMAIL": "tester@example.com",
    "LC_ALL": "C",
}


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    """The app on a free local port (werkzeug, a thread per request, which
    de-chunks request bodies like gunicorn); yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def git(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
        check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real git client, never prompting, with no user or system config."""
    full = {**os.environ, **GIT_CLIENT_ENV, **(env or {})}
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_PROTOCOL"):
        full.pop(name, None)
    proc = subprocess.run(["git", *args], cwd=cwd, env=full, capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def url(base: str, path: str, user: str | None = None, secret: str | None = None) -> str:
    """``http://user:secret@host:port/path`` (credentials URL-quoted)."""
    if user is None:
        return f"{base}/{path}"
    scheme, rest = base.split("://", 1)
    return f"{scheme}://{quote(user, safe='')}:{quote(secret or '', safe='')}@{rest}/{path}"


def make_repo_project(session: Session, settings: Settings, owner: User, name: str, *,
                      private: bool = False, namespace: str | None = None,
                      readme: bool = True) -> Project:
    """A project with its four bare repos made by the real worker task."""
    from pagurus.tasks import projects as project_tasks

    project = core_projects.create_project(session, settings, owner, name, "for git",
                                           private=private, namespace=namespace)
    session.commit()
    project_tasks.create_project_repos.delay(project.id, readme).get(timeout=60)
    session.expire_all()
    return session.get(Project, project.id)  # type: ignore[return-value]


def fork_of(session: Session, actor: User, source: Project) -> Project:
    from pagurus.tasks import projects as project_tasks

    fork = core_projects.fork_project(session, actor, source)
    session.commit()
    project_tasks.fork_project.delay(fork.id).get(timeout=60)
    session.expire_all()
    return session.get(Project, fork.id)  # type: ignore[return-value]


def grant(session: Session, project: Project, user: User, level: str | None) -> None:
    """Give (or with None take) ``user`` access, as the project owner does."""
    project = session.get(Project, project.id)  # type: ignore[assignment]
    core_projects.set_user_access(session, project.user, project, user, level)
    session.commit()


def expire_token(session: Session, raw: str) -> None:
    from pagurus.core.tokens import find_token

    token = find_token(session, raw)
    assert isinstance(token, ApiToken)
    token.expiration = utcnow() - timedelta(minutes=1)
    session.commit()


def refs_on_disk(settings: Settings, project: Project, kind: str = "main") -> dict[str, str]:
    """Every ref of the bare repo, read from disk (not through the server)."""
    path = repo_path(settings.data_dir, kind, project.fullname)
    out = git("for-each-ref", "--format=%(refname) %(objectname)", cwd=path).stdout
    return dict(line.split(" ", 1) for line in out.splitlines())  # type: ignore[misc]


def new_commit(workdir: Path, filename: str = "change.txt", content: str = "hello\n",
               message: str = "A change") -> str:
    """Commit one file in a working clone; returns the commit id."""
    (workdir / filename).write_text(content)
    git("add", "--", filename, cwd=workdir)
    git("commit", "-q", "-m", message, cwd=workdir)
    return git("rev-parse", "HEAD", cwd=workdir).stdout.strip()


def commit_on_server(settings: Settings, project: Project, content: str,
                     branch: str = "main") -> str:
    """A commit made straight in the bare repo (as the forge's own edits do)."""
    import pygit2

    repo = pygit2.Repository(str(repo_path(settings.data_dir, "main", project.fullname)))
    ref = f"refs/heads/{branch}"
    parents = [repo.references[ref].target] if ref in repo.references else []
    builder = repo.TreeBuilder()
    builder.insert("README.md", repo.create_blob(content.encode()), pygit2.enums.FileMode.BLOB)
    sig = pygit2.Signature("Server", "server@example.com")
    return str(repo.create_commit(ref, sig, sig, "Server edit\n", builder.write(), parents))
