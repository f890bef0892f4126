"""Helpers for the hook tests (push with the real git client to the bare repo
by path, with the environment HTTP and SSH give ``git receive-pack``), and
the tests of hook installation itself.

Every hook test runs twice (the autouse ``hook_mode`` fixture): its pushes'
hooks run in the hook server (``pagurus hookd``, started once for the
session's data dir; ``PAGURUS_HOOKD=require`` makes a push fail rather than
quietly fall back) and in processes of their own (``PAGURUS_HOOKD=off``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import unique

from pagurus.config import to_env
from pagurus.core import projects as core_projects
from pagurus.git import hooks as git_hooks
from pagurus.git.pushenv import git_env
from pagurus.model import Project
from pagurus.paths import REPO_KINDS, repo_path
from pagurus.services.hookd import socket_path
from pagurus.tasks import projects as tasks

GIT_BASE = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C",
            "GIT_AUTHOR_DATE": "", "GIT_COMMITTER_DATE": ""}
HOOK_MODE_ENV: dict[str, str] = {}  # added to every git command (see hook_mode)
HOOKD_START_TIMEOUT = 60


class Hookd:
    """``pagurus hookd`` for the session's data dir, as a real subprocess
    (one per data dir: :func:`hookd_for`)."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.socket = socket_path(settings.data_dir)
        self.proc: subprocess.Popen[bytes] | None = None
        self.extra: dict[str, str] = {}
        self.log = settings.data_dir / "logs" / "hookd-tests.log"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def env(self, extra: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PAGURUS_"))}
        env.update(to_env(self.settings))
        env.update(extra)
        return env

    def start(self, extra: dict[str, str] | None = None) -> None:
        assert not self.running
        self.extra = dict(extra or {})
        self.log.parent.mkdir(exist_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pagurus.cli", "hookd", "-v"], env=self.env(self.extra),
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + HOOKD_START_TIMEOUT
        while not self.accepts():
            if self.proc.poll() is not None:
                raise AssertionError(f"hookd exited ({self.proc.returncode}):\n"
                                     + self.log.read_text())
            if time.monotonic() > deadline:
                raise AssertionError("hookd did not start:\n" + self.log.read_text())
            time.sleep(0.05)

    def accepts(self) -> bool:
        with socket.socket(socket.AF_UNIX) as sock:
            try:
                sock.connect(str(self.socket))
            except OSError:
                return False
        return True

    def ensure_running(self, extra: dict[str, str] | None = None) -> None:
        """Running, with exactly this extra environment."""
        if self.running and self.extra == (extra or {}):
            return
        self.stop()
        self.start(extra)

    def stop(self) -> int | None:
        """SIGTERM and wait (the clean way); the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()
        code = self.proc.returncode
        self.proc = None
        return code

    def kill(self) -> None:
        """SIGKILL the server and whatever it started (its process group)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=60)
        self.proc = None


_HOOKDS: dict[Path, Hookd] = {}


def hookd_for(settings: Any, config: Any) -> Hookd:
    """The session's hook server manager (stopped when the run ends)."""
    if settings.data_dir not in _HOOKDS:
        server = _HOOKDS[settings.data_dir] = Hookd(settings)
        config.add_cleanup(server.stop)
    return _HOOKDS[settings.data_dir]


@pytest.fixture(name="hook_mode", autouse=True, params=["hookd", "fallback"])
def hook_mode_fixture(request: Any, settings: Any) -> Iterator[str]:
    """Run the test's pushes through the hook server, then without it."""
    if request.param == "hookd":
        hookd_for(settings, request.config).ensure_running()
        HOOK_MODE_ENV["PAGURUS_HOOKD"] = "require"
    else:
        HOOK_MODE_ENV["PAGURUS_HOOKD"] = "off"
    try:
        yield request.param
    finally:
        HOOK_MODE_ENV.clear()


def git(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items()
            if not k.startswith(("GIT_", "PAGURUS_"))}
    full.update({k: v for k, v in GIT_BASE.items() if v})
    full.update(HOOK_MODE_ENV)
    full.update(env or {})
    proc = subprocess.run(["git", *args], cwd=cwd, env=full, capture_output=True, text=True,
                          check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def make_project(session: Any, settings: Any, owner: Any, *, private: bool = False,
                 readme: bool = True) -> Project:
    """A project whose repos a real worker made (hooks installed by the task)."""
    project = core_projects.create_project(session, settings, owner, unique("hk"),
                                           "hook test", private=private)
    session.commit()
    tasks.create_project_repos.delay(project.id, readme).get(timeout=60)
    session.expire_all()
    return session.get(Project, project.id)


class Work:
    """A working clone of a project's main repo, pushing as someone."""

    def __init__(self, settings: Any, project: Project, path: Path) -> None:
        self.settings = settings
        self.bare = repo_path(settings.data_dir, "main", project.fullname)
        self.path = path
        git("clone", "-q", str(self.bare), str(path))
        self.author = ("Somebody", "somebody@example.org")

    def commit(self, message: str = "change", *, filename: str | None = None,
               email: str | None = None, when: str | None = None) -> str:
        name = filename or unique("f") + ".txt"
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(unique("content "))
        git("add", "--", name, cwd=self.path)
        env = {"GIT_AUTHOR_NAME": self.author[0],
               "GIT_AUTHOR_EMAIL": email or self.author[1],
               "GIT_COMMITTER_NAME": self.author[0],
               "GIT_COMMITTER_EMAIL": email or self.author[1]}
        if when:
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when
        git("commit", "-q", "-m", message, cwd=self.path, env=env)
        return self.rev("HEAD")

    def rev(self, name: str) -> str:
        return git("rev-parse", name, cwd=self.path).stdout.strip()

    def push(self, *refspecs: str, user: str | None = None, internal: bool = False,
             deploy_key: int | None = None, extra: dict[str, str] | None = None,
             check: bool | None = None) -> subprocess.CompletedProcess[str]:
        env = git_env(self.settings, user=user, internal=internal, deploy_key=deploy_key)
        env.update(extra or {})
        env = {k: v for k, v in env.items() if not k.startswith("GIT_") or k in GIT_BASE}
        return git("push", "--porcelain", str(self.bare), *refspecs, cwd=self.path,
                   env=env, check=bool(check))

    def remote_rev(self, ref: str) -> str | None:
        proc = git("rev-parse", "--verify", "-q", ref, cwd=self.bare, check=False)
        return proc.stdout.strip() or None


def refused(proc: subprocess.CompletedProcess[str]) -> bool:
    """git says the pre-receive hook refused (``--porcelain`` puts it on stdout)."""
    return proc.returncode != 0 and "pre-receive hook declined" in proc.stdout + proc.stderr


@pytest.fixture(name="owner")
def owner_fixture(make_user: Any) -> Any:
    return make_user()


@pytest.fixture(name="project")
def project_fixture(session: Any, settings: Any, owner: Any, worker: Any) -> Project:
    return make_project(session, settings, owner)


@pytest.fixture(name="work")
def work_fixture(settings: Any, project: Project, tmp_path: Path) -> Work:
    return Work(settings, project, tmp_path / "work")


def test_creating_a_project_installs_both_hooks_in_its_four_repos(settings, project):
    for kind in REPO_KINDS:
        path = repo_path(settings.data_dir, kind, project.fullname)
        for hook in git_hooks.HOOKS:
            assert git_hooks.is_current(path, hook), (kind, hook)
        assert git("config", "core.hooksPath", cwd=path).stdout.strip() == "hooks"


def test_forking_installs_the_hooks_in_the_fork(session, settings, project, make_user):
    forker = make_user()
    fork = core_projects.fork_project(session, forker, project)
    session.commit()
    tasks.fork_project.delay(fork.id).get(timeout=60)
    for kind in REPO_KINDS:
        path = repo_path(settings.data_dir, kind, fork.fullname)
        assert all(git_hooks.is_current(path, h) for h in git_hooks.HOOKS), kind


def test_the_installed_hook_names_this_interpreter_and_no_click(settings, project):
    import sys

    text = (repo_path(settings.data_dir, "main", project.fullname) / "hooks"
            / "pre-receive").read_text()
    assert text.startswith("#!/bin/sh\n")
    assert sys.executable in text and "pagurus.git.hookrun" in text
    assert "click" not in text and "pagurus.cli" not in text


def test_the_hook_runner_imports_neither_click_flask_nor_celery():
    code = ("import sys, pagurus.git.hookrun, pagurus.git.postreceive, "
            "pagurus.core.pushrules; "
            "print(sorted(m for m in ('click', 'flask', 'celery') if m in sys.modules))")
    out = subprocess.run([__import__("sys").executable, "-c", code], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "[]"
