"""Synthetic git repositories of realistic size for the benchmarks.

``git fast-import`` builds a bare repo of ``--commits`` commits on ``main``
over a tree of ``--files`` files in nested folders; each commit rewrites one
or two files. About ``--size-mb`` MB of poorly compressible content (random
bytes rendered as text lines) is spread over the commits, so the pack is
roughly that big, as a long-lived project with binary assets would be.

Repos are cached under ``--cache`` (default ``bench/.cache/``) by their
parameters and reused; a repo is only used once its ``.complete`` marker exists.

    python bench/repogen.py --commits 50000 --size-mb 200
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CACHE = HERE / ".cache"
GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C"}
EPOCH = 1_500_000_000


def repo_name(commits: int, size_mb: int, files: int, seed: int) -> str:
    return f"synthetic-c{commits}-s{size_mb}-f{files}-r{seed}.git"


def _paths(files: int, rng: random.Random) -> list[str]:
    dirs = [f"src/mod{i:03d}" for i in range(max(1, files // 50))]
    dirs += [f"{d}/sub{j}" for d in dirs[: len(dirs) // 2] for j in range(2)]
    exts = (".py", ".c", ".md", ".txt", ".json", ".dat")
    return [f"{rng.choice(dirs)}/file{i:05d}{rng.choice(exts)}" for i in range(files)]


def _content(rng: random.Random, size: int, commit: int, path: str) -> bytes:
    """Text a compressor cannot shrink much: base64 lines of random bytes
    (zlib keeps ~88% of it, and it is never a good delta base)."""
    raw = rng.randbytes(max(16, size * 3 // 4))
    text = base64.encodebytes(raw)
    return f"# {path} at commit {commit}\n".encode() + text


def generate(target: Path, commits: int, size_mb: int, files: int = 2000,
             seed: int = 1) -> Path:
    """Write the repo at ``target`` (bare). Returns ``target``."""
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "init", "-q", "--bare", "--initial-branch=main", str(tmp)],
                   check=True, env=env)
    rng = random.Random(seed)
    paths = _paths(files, rng)
    # zlib keeps ~88% of base64 text (measured): aim the raw text at size/0.88
    per_commit = max(64, int(size_mb * 1024 * 1024 / 0.88 / commits))
    proc = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done", "--depth=10"],
        cwd=tmp, stdin=subprocess.PIPE, env={**env, "GIT_DIR": str(tmp)})
    assert proc.stdin is not None
    out = proc.stdin
    started = time.monotonic()
    for n in range(commits):
        when = EPOCH + n * 600
        touched = [paths[rng.randrange(len(paths))] for _ in range(1 + (n % 3 == 0))]
        if n == 0:
            touched = paths  # the first commit creates every file
        msg = f"Change {n}: update {touched[0]}\n\nSynthetic history for benchmarks.\n"
        author = f"Dev {n % 37} <dev{n % 37}@example.com> {when} +0000"
        out.write(f"commit refs/heads/main\nauthor {author}\ncommitter {author}\n"
                  f"data {len(msg.encode())}\n{msg}".encode())
        for path in touched:
            size = 64 if n == 0 else per_commit // len(touched)
            data = _content(rng, size, n, path)
            out.write(f"M 100644 inline {path}\ndata {len(data)}\n".encode())
            out.write(data)
            out.write(b"\n")
        out.write(b"\n")
        if n and n % 10000 == 0:
            print(f"  {n} commits ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    out.write(b"done\n")
    out.close()
    if proc.wait() != 0:
        raise RuntimeError("git fast-import failed")
    subprocess.run(["git", "symbolic-ref", "HEAD", "refs/heads/main"], cwd=tmp, check=True,
                   env=env)
    subprocess.run(["git", "commit-graph", "write", "--reachable"], cwd=tmp, check=True,
                   env=env)
    tmp.rename(target)
    (target / ".complete").write_text("ok\n")
    return target


def cached(cache: Path, commits: int, size_mb: int, files: int = 2000, seed: int = 1) -> Path:
    """The cached repo for these parameters, generated on first use."""
    target = Path(cache) / repo_name(commits, size_mb, files, seed)
    if not (target / ".complete").exists():
        print(f"generating {target.name} (once; cached in {cache})", file=sys.stderr)
        started = time.monotonic()
        generate(target, commits, size_mb, files, seed)
        print(f"generated in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return target


def pack_bytes(repo: Path) -> int:
    return sum(p.stat().st_size for p in (repo / "objects" / "pack").glob("*.pack"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commits", type=int, default=50_000)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args(argv)
    repo = cached(args.cache, args.commits, args.size_mb, args.files, args.seed)
    count = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=repo, check=True,
                           capture_output=True, text=True, env={**os.environ, **GIT_ENV})
    print(f"{repo}: {count.stdout.strip()} commits, pack {pack_bytes(repo) / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
