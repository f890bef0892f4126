"""Repository browsing benchmark: a synthetic repo and warm page medians.

``python bench/browse_setup.py [--commits 20000] [--files 3000]`` builds, in a
temporary data dir, a project whose repo is written by ``git fast-import``
(~20,000 commits, ~3,000 files, a 2,000-line ``hot.py`` touched by ~1 commit
in 25), writes the commit-graph with changed-path filters, then measures the
median of 20 warm requests (Flask test client, in process) of the overview,
tree root, a folder, a blob, raw, blame of hot.py and history, next to
``git blame`` / ``git log`` run directly. Helpers (``write_stream``,
``build_repo``, ``make_forge``) are reusable by ``bench/browse.py``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, BinaryIO

HOT = "src/hot.py"
HOT_LINES = 2000


def _data(out: BinaryIO, payload: bytes) -> None:
    out.write(b"data %d\n" % len(payload))
    out.write(payload)
    out.write(b"\n")


def write_stream(out: BinaryIO, commits: int = 20_000, files: int = 3_000,
                 hot_every: int = 25, seed: int = 7) -> None:
    """A fast-import stream: one big first commit, then one change per commit."""
    rng = random.Random(seed)
    authors = [(f"Dev {i}", f"dev{i}@example.com") for i in range(40)]
    paths = [f"pkg{i // 100:02d}/mod{i % 100:03d}.py" for i in range(files - 2)]
    contents = {p: [f"# {p} line {n}\n" for n in range(20)] for p in paths}
    hot = [f"value_{n} = {n}  # initial\n" for n in range(HOT_LINES)]
    when = 1_500_000_000
    for i in range(commits):
        name, email = authors[i % len(authors)]
        when += 600
        out.write(b"commit refs/heads/main\n")
        out.write(b"mark :%d\n" % (i + 1))
        ident = f"{name} <{email}> {when} +0000\n".encode()
        out.write(b"author " + ident)
        out.write(b"committer " + ident)
        _data(out, f"Change {i}\n\nBody of change {i}.\n".encode())
        if i == 0:
            for p in paths:
                out.write(f"M 100644 inline {p}\n".encode())
                _data(out, "".join(contents[p]).encode())
            out.write(f"M 100644 inline {HOT}\n".encode())
            _data(out, "".join(hot).encode())
            out.write(b"M 100644 inline README.md\n")
            _data(out, b"# Bench\n\nA synthetic repository. See [hot](src/hot.py).\n")
            continue
        if i % hot_every == 0:
            for _ in range(3):
                n = rng.randrange(HOT_LINES)
                hot[n] = f"value_{n} = {i}  # changed by {i}\n"
            out.write(f"M 100644 inline {HOT}\n".encode())
            _data(out, "".join(hot).encode())
        else:
            p = paths[rng.randrange(len(paths))]
            lines = contents[p]
            lines[rng.randrange(len(lines))] = f"# {p} changed in {i}\n"
            out.write(f"M 100644 inline {p}\n".encode())
            _data(out, "".join(lines).encode())
    out.write(b"done\n")


def build_repo(git_dir: Path, commits: int = 20_000, files: int = 3_000) -> float:
    """Fill the bare repo at ``git_dir``; returns the seconds it took."""
    start = time.perf_counter()
    proc = subprocess.Popen(["git", "--git-dir", str(git_dir), "fast-import", "--quiet",
                             "--done"], stdin=subprocess.PIPE)
    assert proc.stdin is not None
    write_stream(proc.stdin, commits, files)
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError("git fast-import failed")
    subprocess.run(["git", "--git-dir", str(git_dir), "symbolic-ref", "HEAD",
                    "refs/heads/main"], check=True)
    subprocess.run(["git", "--git-dir", str(git_dir), "repack", "-adq"], check=True)
    subprocess.run(["git", "--git-dir", str(git_dir), "commit-graph", "write", "--reachable",
                    "--changed-paths"], check=True, capture_output=True)
    return time.perf_counter() - start


def make_forge(data_dir: Path) -> tuple[Any, Any, Path]:
    """An app on SQLite in ``data_dir`` with one public project; returns
    (app, project url path, bare repo path)."""
    from pagurus import config, db
    from pagurus.core import projects as core_projects
    from pagurus.core import users as core_users
    from pagurus.git import repos
    from pagurus.paths import repo_path
    from pagurus.web.app import create_app

    settings = config.ensure_data_dir(config.load(
        env={}, data_dir=str(data_dir), database_url=f"sqlite:///{data_dir}/bench.sqlite",
        app_url="http://bench.test"))
    db.upgrade(settings.sqlalchemy_url)
    app = create_app(settings)
    session = app.extensions["pagurus"]["sessions"]()
    owner = core_users.create_user(session, "bench", "bench@example.com", password="x" * 12)
    project = core_projects.create_project(session, settings, owner, "bench", "Bench")
    core_projects.mark_ready(project)
    session.commit()
    path = repo_path(settings.data_dir, "main", project.fullname)
    repos.init_bare(path, "main")
    url = "/" + project.url_path
    session.close()
    return app, url, path


def median_ms(fn: Any, n: int = 20) -> float:
    fn()  # warm
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commits", type=int, default=20_000)
    parser.add_argument("--files", type=int, default=3_000)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pagurus-bench-") as tmp:
        app, url, git_dir = make_forge(Path(tmp) / "data")
        secs = build_repo(git_dir, args.commits, args.files)
        print(f"repo: {args.commits} commits, {args.files} files, built in {secs:.1f} s")
        client = app.test_client()
        pages = {
            "overview": url,
            "tree root": f"{url}/tree/main",
            "tree folder (100 files)": f"{url}/tree/main/f/pkg05",
            "blob (hot.py, 2,000 lines)": f"{url}/blob/main/f/{HOT}",
            "blob (small)": f"{url}/blob/main/f/pkg05/mod005.py",
            "raw (hot.py)": f"{url}/raw/main/f/{HOT}",
            "blame (hot.py)": f"{url}/blame/{HOT}?identifier=main",
            "history (hot.py) page 1": f"{url}/history/{HOT}?identifier=main",
            "history (hot.py) page 5": f"{url}/history/{HOT}?identifier=main&page=5",
            "history (small file) page 1": f"{url}/history/pkg05/mod005.py?identifier=main",
        }
        for label, page in pages.items():
            start = time.perf_counter()
            resp = client.get(page)
            cold = (time.perf_counter() - start) * 1000
            assert resp.status_code == 200, (page, resp.status_code)
            warm = median_ms(lambda p=page: client.get(p), args.requests)
            print(f"{label:32s} cold {cold:8.1f} ms   warm median {warm:7.1f} ms")
        for label, cmd in {
            "git blame --porcelain hot.py": ["blame", "--porcelain", "main", "--", HOT],
            "git log -- hot.py (all)": ["log", "--format=%H", "main", "--", HOT],
            "git log -- small file (all)": ["log", "--format=%H", "main", "--",
                                            "pkg05/mod005.py"],
        }.items():
            ms = median_ms(lambda c=cmd: subprocess.run(
                ["git", "--git-dir", str(git_dir), *c], capture_output=True, check=True), 5)
            print(f"{label:32s} median {ms:7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
