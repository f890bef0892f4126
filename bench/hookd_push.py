"""One-commit push round trip with the git hooks run by the hook server
(``pagurus hookd``), by the in-process fallback, and with no hooks at all;
plus the hook client's own start-up time.

A fresh data dir (SQLite, or ``--database-url``) gets one user and one
project whose bare repo has the forge's hooks; a working clone pushes one
new commit at a time with the real ``git push <bare path>`` and the
environment the transports give git (``git_env``). Only the push is timed.

    python bench/hookd_push.py            # 20 pushes per mode
    python bench/hookd_push.py --runs 50
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pagurus import config, db
from pagurus.core import projects as core_projects
from pagurus.core import users as core_users
from pagurus.git import hooks as git_hooks
from pagurus.git import repos as git_repos
from pagurus.git.pushenv import git_env
from pagurus.paths import repo_path
from pagurus.services.hookd import socket_path

GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C",
           "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PAGURUS_"))}
    env.update(GIT_ENV)
    return env


def git(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=env or base_env(), check=True,
                          capture_output=True, text=True).stdout


def setup(root: Path, database_url: str) -> tuple[config.Settings, str, Path]:
    settings = config.ensure_data_dir(config.load(env={}, data_dir=str(root / "data"),
                                                  database_url=database_url))
    db.upgrade(settings.sqlalchemy_url)
    sessions = db.make_sessionmaker(db.make_engine(settings.sqlalchemy_url))
    with db.session_scope(sessions) as session:
        user = core_users.create_user(session, "bench", "bench@example.com",
                                      password="bench password 123")
        project = core_projects.create_project(session, settings, user, "bench", "bench")
        session.flush()
        fullname, branch = project.fullname, project.default_branch
        path = repo_path(settings.data_dir, "main", fullname)
        repo = git_repos.init_bare(path, branch)
        git_hooks.install(path)
        git_repos.commit_readme(repo, branch, "# bench\n", "Bench", "bench@example.com")
        core_projects.mark_ready(project)
    return settings, "bench", path


def start_hookd(settings: config.Settings) -> subprocess.Popen[bytes]:
    env = base_env()
    env.update(config.to_env(settings))
    proc = subprocess.Popen([sys.executable, "-m", "pagurus.cli", "hookd"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    path = str(socket_path(settings.data_dir))
    deadline = time.monotonic() + 60
    while True:
        with socket.socket(socket.AF_UNIX) as sock:
            try:
                sock.connect(path)
                return proc
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("hookd did not start") from None
        time.sleep(0.05)


def timed_pushes(work: Path, target: Path, env: dict[str, str], runs: int) -> list[float]:
    out = []
    for n in range(runs):
        (work / f"f{n}-{time.monotonic_ns()}.txt").write_text(f"{n}\n")
        git("add", "-A", cwd=work)
        git("commit", "-q", "-m", f"commit {n}", cwd=work)
        started = time.perf_counter()
        subprocess.run(["git", "push", "-q", str(target), "HEAD:refs/heads/main"], cwd=work,
                       env=env, check=True, capture_output=True)
        out.append(time.perf_counter() - started)
    return out


def client_startup(runs: int) -> tuple[float, float]:
    """Median wall time of the hook client (imports and exit) and of a bare
    ``python -I -S``."""
    def median(argv: list[str]) -> float:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(argv, capture_output=True, check=False)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    client = median([sys.executable, "-I", "-S", git_hooks.client_path(), "startup-check"])
    bare = median([sys.executable, "-I", "-S", "-c", "pass"])
    return client, bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hookd-bench-") as tmp:
        root = Path(tmp)
        settings, user, bare = setup(root, args.database_url)
        plain = root / "plain.git"
        git("clone", "-q", "--bare", str(bare), str(plain))  # no hooks
        work = root / "work"
        git("clone", "-q", str(bare), str(work))
        push_env = {k: v for k, v in git_env(settings, user=user).items()
                    if not k.startswith("GIT_") or k in GIT_ENV}
        push_env = {**base_env(), **push_env}
        results: dict[str, list[float]] = {}
        hookd = start_hookd(settings)
        try:
            timed_pushes(work, bare, {**push_env, "PAGURUS_HOOKD": "require"}, 2)  # warm
            results["hooks via server"] = timed_pushes(
                work, bare, {**push_env, "PAGURUS_HOOKD": "require"}, args.runs)
        finally:
            hookd.terminate()
            hookd.wait(timeout=60)
        results["hooks via fallback (no server)"] = timed_pushes(work, bare, push_env,
                                                                 args.runs)
        git("fetch", "-q", str(bare), "+refs/heads/main:refs/heads/main", cwd=plain)
        results["no hooks"] = timed_pushes(work, plain, push_env, args.runs)
        client, bare_python = client_startup(50)
    print(f"one-commit push round trip, median of {args.runs} "
          f"({'PostgreSQL' if args.database_url else 'SQLite'}):")
    for name, times in results.items():
        print(f"  {name:32s} {statistics.median(times) * 1000:7.1f} ms "
              f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f})")
    print(f"hook client start-up (python -I -S hookclient.py, median of 50): "
          f"{client * 1000:.1f} ms; bare `python -I -S -c pass`: {bare_python * 1000:.1f} ms")


if __name__ == "__main__":
    main()
