"""A big pull request: open it, its merge status, its page, one file's diff,
and the merge.

A synthetic repo of ``--commits`` commits (``bench/browse_setup.write_stream``,
``--files`` files) gets a ``feature`` branch forked ``--main-ahead`` commits
before the tip of ``main`` (so main has moved on and the merge is a real
three-way merge, with no conflicts): ``--pr-commits`` commits that rewrite
half of ``--pr-files`` existing files and add the other half, for
``--pr-lines`` changed lines in all (``git diff --shortstat`` is printed).
Both are written by ``git fast-import`` once and cached under
``bench/.cache/``.

Each run gets that repo afresh (``git clone --mirror``, objects hard-linked)
as the main repo of a project of a fresh data dir (SQLite), with the forge's
hooks installed and served by ``pagurus hookd`` (as ``pagurus serve`` does),
and times, in process:

* opening the PR (``core.pulls.create_pull``: fetch the head into
  ``refs/pull/<n>/head``, commit range, related issues, event);
* its merge status (``core.pulls.merge_status``: an in-memory merge);
* the PR page (first request, then warm) and one file's diff (first, warm)
  through the Flask test client — when the PR pages exist
  (``pagurus.web.ui.pulls``);
* the merge (the ``pagurus.merge_pull`` task function, called directly: a
  merge commit written in memory, pushed through the hooks, the PR closed).

Medians over ``--runs`` runs. Goals (issue 6): merge under 5 s, PR page
first paint under 1 s warm, a file's diff under 200 ms.

    python bench/pulls.py                 # 50,000 commits, 2,000 files / 100,000 lines
    python bench/pulls.py --commits 5000 --runs 3
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
from pathlib import Path
from typing import Any, BinaryIO

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import browse_setup  # noqa: E402
import hookd_push  # noqa: E402

CACHE = HERE / ".cache"
GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C"}
BASE_URL = "http://bench.test"
SIG = "Bench Contributor <contrib@example.com>"


def git(*args: str, cwd: Path | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PAGURUS_"))}
    env.update(GIT_ENV)
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True,
                          capture_output=True, text=True).stdout


def _data(out: BinaryIO, payload: bytes) -> None:
    out.write(b"data %d\n" % len(payload))
    out.write(payload)
    out.write(b"\n")


def write_feature(out: BinaryIO, base: str, modified: list[str], added: list[str],
                  lines_per_file: int, commits: int) -> None:
    """The ``feature`` branch from ``base``: every file of ``modified``
    rewritten and every file of ``added`` created, spread over ``commits``."""
    files = [(p, "M") for p in modified] + [(p, "A") for p in added]
    per_commit = max(1, -(-len(files) // commits))
    when = 1_600_000_000
    for n in range(commits):
        chunk = files[n * per_commit:(n + 1) * per_commit]
        if not chunk:
            break
        when += 60
        out.write(b"commit refs/heads/feature\n")
        out.write(f"author {SIG} {when} +0000\n".encode())
        out.write(f"committer {SIG} {when} +0000\n".encode())
        _data(out, f"Feature part {n + 1}\n\nRewrites {len(chunk)} files.\n".encode())
        if n == 0:
            out.write(f"from {base}\n".encode())
        for path, kind in chunk:
            body = "".join(f"# {path}: feature line {i} ({kind})\n"
                           for i in range(lines_per_file))
            out.write(f"M 100644 inline {path}\n".encode())
            _data(out, body.encode())
    out.write(b"done\n")


def build(target: Path, commits: int, files: int, pr_files: int, pr_lines: int,
          pr_commits: int, main_ahead: int) -> None:
    """The base history, then the feature branch (see the module doc)."""
    tmp = target.with_name(target.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    git("init", "-q", "--bare", "--initial-branch=main", str(tmp))
    print(f"  {commits} commits by fast-import…", file=sys.stderr)
    browse_setup.build_repo(tmp, commits, files)
    base = git("rev-parse", f"main~{main_ahead}", cwd=tmp).strip()
    moved = set(git("log", "--name-only", "--format=", f"{base}..main", cwd=tmp).split())
    present = git("ls-tree", "-r", "--name-only", base, cwd=tmp).split()
    free = [p for p in present if p not in moved and p != browse_setup.HOT
            and p != "README.md"]
    half = pr_files // 2
    if len(free) < half:
        raise SystemExit(f"only {len(free)} files free to modify; raise --files")
    modified = free[:half]
    added = [f"feature/part{i // 100:02d}/new{i:05d}.py" for i in range(pr_files - half)]
    # every file gets ``per_file`` new lines; a rewritten one also loses its old ones
    old_lines = sum(len(git("cat-file", "-p", f"{base}:{p}", cwd=tmp).splitlines())
                    for p in modified[:20]) // min(20, len(modified))
    per_file = max(1, (pr_lines - len(modified) * old_lines) // pr_files)
    print(f"  feature branch: {pr_files} files, ~{pr_lines} changed lines…", file=sys.stderr)
    proc = subprocess.Popen(["git", "--git-dir", str(tmp), "fast-import", "--quiet", "--done"],
                            stdin=subprocess.PIPE)
    assert proc.stdin is not None
    write_feature(proc.stdin, base, modified, added, per_file, pr_commits)
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError("git fast-import failed")
    git("repack", "-adq", cwd=tmp)
    git("commit-graph", "write", "--reachable", "--changed-paths", cwd=tmp)
    tmp.rename(target)
    (target / ".complete").write_text("ok\n")


def cached_repo(cache: Path, **sizes: int) -> Path:
    name = "pulls-" + "-".join(f"{k[:3]}{v}" for k, v in sorted(sizes.items())) + ".git"
    target = cache / name
    if (target / ".complete").exists():
        return target
    if target.exists():
        shutil.rmtree(target)
    cache.mkdir(parents=True, exist_ok=True)
    print(f"generating {name} (once; cached in {cache})…", file=sys.stderr)
    started = time.perf_counter()
    build(target, **sizes)
    print(f"  done in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return target


class Forge:
    """A data dir with the repo as a project's main repo, hooks served by hookd."""

    def __init__(self, root: Path, source: Path) -> None:
        from pagurus.git import hooks as git_hooks
        from pagurus.model import Project, User
        from pagurus.tasks.app import runtime

        self.app, self.url, self.path = browse_setup.make_forge(root / "data")
        self.settings = runtime().settings  # create_app pointed the tasks at it
        shutil.rmtree(self.path)
        git("clone", "-q", "--mirror", str(source), str(self.path))
        git_hooks.install(self.path)
        self.sessions = self.app.extensions["pagurus"]["sessions"]
        with self.sessions() as session:
            self.owner_id = session.query(User).filter_by(name="bench").one().id
            self.project_id = session.query(Project).filter_by(name="bench").one().id
        self.hookd = hookd_push.start_hookd(self.settings)

    def close(self) -> None:
        self.hookd.terminate()
        self.hookd.wait(timeout=60)


def timed(func: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = func()
    return time.perf_counter() - started, value


def one_run(forge: Forge, run: int, first_file: str) -> dict[str, float]:
    from pagurus.core import pulls as core_pulls
    from pagurus.model import Project, PullRequest, User
    from pagurus.tasks.pulls import merge_pull

    out: dict[str, float] = {}
    with forge.sessions() as session:
        owner = session.get(User, forge.owner_id)
        project = session.get(Project, forge.project_id)

        def open_pr() -> PullRequest:
            pr = core_pulls.create_pull(session, forge.settings.data_dir, owner, project,
                                        branch_to="main", branch_from="feature",
                                        title=f"A big change {run}", base_url=BASE_URL)
            session.commit()
            return pr

        out["open the PR (create_pull)"], pr = timed(open_pr)
        out["merge status (cold)"], status = timed(
            lambda: core_pulls.merge_status(session, forge.settings.data_dir, pr))
        assert status[0] == "MERGE", status
        session.commit()
        out["merge status (cached)"], _ = timed(
            lambda: core_pulls.merge_status(session, forge.settings.data_dir, pr))
        number, pr_id = pr.number, pr.id
    client = forge.app.test_client()
    page = f"{forge.url}/pull-request/{number}"
    first, resp = timed(lambda: client.get(page))
    if resp.status_code == 200:
        out["PR page (first request)"] = first
        out["PR page (warm)"] = statistics.median(
            timed(lambda: client.get(page))[0] for _ in range(5))
        one = f"{page}/file/{first_file}"
        first, resp = timed(lambda: client.get(one))
        if resp.status_code == 200:
            out["one file's diff (first)"] = first
            out["one file's diff (warm)"] = statistics.median(
                timed(lambda: client.get(one))[0] for _ in range(5))
        elif run == 0:
            print(f"    {one}: HTTP {resp.status_code} (skipped)", file=sys.stderr)
    elif run == 0:
        print(f"    {page}: HTTP {resp.status_code} (PR page skipped)", file=sys.stderr)
    out["merge (merge_pull task)"], result = timed(
        lambda: merge_pull(pr_id, forge.owner_id, BASE_URL))
    assert result["merged"] and result["code"] == "MERGE", result
    return out


def reset(forge: Forge, tip: str) -> None:
    """Main back where it was (no hooks: this is the bench, not a push)."""
    git("update-ref", "refs/heads/main", tip, cwd=forge.path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commits", type=int, default=50_000)
    parser.add_argument("--files", type=int, default=3_000)
    parser.add_argument("--pr-files", type=int, default=2_000)
    parser.add_argument("--pr-lines", type=int, default=100_000)
    parser.add_argument("--pr-commits", type=int, default=20)
    parser.add_argument("--main-ahead", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=CACHE)
    args = parser.parse_args(argv)
    source = cached_repo(args.cache, commits=args.commits, files=args.files,
                         pr_files=args.pr_files, pr_lines=args.pr_lines,
                         pr_commits=args.pr_commits, main_ahead=args.main_ahead)
    tip = git("rev-parse", "main", cwd=source).strip()
    stat = git("diff", "--shortstat", "main~" + str(args.main_ahead) + "...feature",
               cwd=source).strip()
    first_file = git("diff", "--name-only", "main...feature", cwd=source).split()[0]
    print(f"repo: {args.commits} commits; PR: {stat}", file=sys.stderr)
    rows: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="pagurus-bench-pulls-") as tmp:
        forge = Forge(Path(tmp), source)
        try:
            for run in range(args.runs):
                print(f"  run {run + 1}/{args.runs}…", file=sys.stderr)
                reset(forge, tip)
                for name, value in one_run(forge, run, first_file).items():
                    rows.setdefault(name, []).append(value)
        finally:
            forge.close()
    load = os.getloadavg()
    print(f"\nPR of {stat} on a {args.commits}-commit repo; median of {args.runs} runs "
          f"(load average {load[0]:.1f}, {os.cpu_count()} CPUs):\n")
    print(f"| {'step':32s} | median | min | max |")
    print(f"|{'-' * 34}|-------:|----:|----:|")
    for name, values in rows.items():
        print(f"| {name:32s} | {statistics.median(values) * 1000:6.0f} ms "
              f"| {min(values) * 1000:.0f} | {max(values) * 1000:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
