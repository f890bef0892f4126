"""History pages on a 100,000-commit repository: setup and measurement.

``setup()`` makes a throw-away Pagurus instance (SQLite, temporary data dir)
with one public project whose main repo is a copy of a synthetic history from
``bench/repogen.py`` (cached under ``bench/.cache``), plus:

* ``feature/a``: 5 commits on top of ``main~10``;
* ``old``: ``main~50000`` (far behind: the ahead/behind walk is capped);
* 20 annotated tags ``v1`` … ``v20`` every 5,000 commits;
* a commit-graph with changed-path filters (what post-receive writes).

``main()`` measures medians of 20 warm requests (after one warm-up) through
the Flask test client, in process: log page 1 and 500, one commit, a
comparison, the branch list, and a ``.tar.gz`` archive served from the cache
and built cold (a new prefix each time). ``bench/browse.py`` can import
``setup()`` and ``cases()``.

    python bench/commits_setup.py                # 100,000 commits
    python bench/commits_setup.py --commits 20000 --runs 10
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import repogen  # noqa: E402

GIT_ENV = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
           "LC_ALL": "C", "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, env=GIT_ENV, check=True,
                          capture_output=True, text=True).stdout.strip()


def decorate(repo: Path, commits: int) -> dict[str, str]:
    """Branches, tags and the commit-graph described in the module docstring."""
    head = git(repo, "rev-parse", "main")
    tip = git(repo, "rev-parse", "main~10")
    tree = git(repo, "rev-parse", "main~10^{tree}")
    for n in range(5):
        tip = git(repo, "commit-tree", tree, "-p", tip, "-m", f"feature commit {n}")
    git(repo, "update-ref", "refs/heads/feature/a", tip)
    old = git(repo, "rev-parse", f"main~{min(50000, commits // 2)}")
    git(repo, "update-ref", "refs/heads/old", old)
    step = max(1, commits // 20)
    for n in range(1, 21):
        depth = min(commits - 1, n * step - 1)
        git(repo, "tag", "-a", f"v{n}", "-m", f"Release {n}", f"main~{depth}")
    git(repo, "commit-graph", "write", "--reachable", "--changed-paths")
    return {"head": head, "feature": tip, "old": old,
            "compare_base": git(repo, "rev-parse", "main~30")}


def setup(commits: int = 100_000, size_mb: int = 40, cache: Path = repogen.DEFAULT_CACHE,
          ) -> tuple[Any, Any, str, dict[str, str], Path]:
    """(app, settings, project URL path, ids, temp dir) ready to serve."""
    from pagurus import config, db
    from pagurus.core import projects as core_projects
    from pagurus.core import users as core_users
    from pagurus.git import repos as git_repos
    from pagurus.paths import REPO_KINDS, repo_path
    from pagurus.web.app import create_app

    source = repogen.cached(cache, commits, size_mb)
    tmp = Path(tempfile.mkdtemp(prefix="pagurus-bench-commits-"))
    settings = config.load(env={}, data_dir=str(tmp / "data"),
                           database_url=f"sqlite:///{tmp / 'db.sqlite'}",
                           app_url="http://bench.test")
    settings = config.ensure_data_dir(settings)
    db.upgrade(settings.sqlalchemy_url)
    app = create_app(settings)
    sessions = app.extensions["pagurus"]["sessions"]
    with sessions() as s:
        owner = core_users.create_user(s, "bench", "bench@example.com", fullname="Bench",
                                       password="bench bench bench")
        project = core_projects.create_project(s, settings, owner, "big", "benchmark")
        for kind in REPO_KINDS:
            if kind != "main":
                git_repos.init_bare(repo_path(settings.data_dir, kind, project.fullname))
        target = repo_path(settings.data_dir, "main", project.fullname)
        shutil.copytree(source, target)
        project.repo_state = "ready"
        s.commit()
        url = "/" + project.url_path
    ids = decorate(target, commits)
    return app, settings, url, ids, tmp


def cases(url: str, ids: dict[str, str]) -> dict[str, Callable[[int], str]]:
    """Name → URL for the n-th run."""
    return {
        "log page 1": lambda n: f"{url}/commits",
        "log page 500": lambda n: f"{url}/commits?page=500",
        "commit view": lambda n: f"{url}/c/{ids['head']}",
        "compare (30 commits)": lambda n: f"{url}/c/{ids['compare_base']}..{ids['head']}",
        "branches": lambda n: f"{url}/branches",
        "archive tar.gz (cached)": lambda n: f"{url}/archive/main/snap.tar.gz",
        "archive tar.gz (cold)": lambda n: f"{url}/archive/main/cold{n}-{time.time_ns()}.tar.gz",
    }


def measure(app: Any, make_url: Callable[[int], str], runs: int) -> tuple[float, int]:
    """Median milliseconds of ``runs`` requests after one warm-up; bytes of the last."""
    client = app.test_client()
    first = client.get(make_url(-1))
    assert first.status_code == 200, (make_url(-1), first.status_code)
    _ = first.data
    times = []
    size = 0
    for n in range(runs):
        started = time.perf_counter()
        resp = client.get(make_url(n))
        data = resp.data
        times.append((time.perf_counter() - started) * 1000)
        assert resp.status_code == 200
        size = len(data)
    return statistics.median(times), size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commits", type=int, default=100_000)
    parser.add_argument("--size-mb", type=int, default=40)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    args = parser.parse_args(argv)
    app, _settings, url, ids, tmp = setup(args.commits, args.size_mb)
    try:
        print(f"{args.commits} commits; medians of {args.runs} warm requests (in-process)")
        for name, make_url in cases(url, ids).items():
            median, size = measure(app, make_url, args.runs)
            print(f"  {name:28s} {median:8.1f} ms  ({size / 1024:.0f} KiB)")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
