"""Source archives (``git archive``), cached on disk by commit id.

An archive is a pure function of (commit id, top folder name, format), so it
is kept at ``<data>/archives/<fullname>/<commit>/<name>.<ext>``. The first
request streams git's output to the client while writing it to a temporary
file in the same folder; the file is renamed into place only when git
succeeded and the whole output was written, so concurrent first requests
each write their own temporary file and the cache never holds a partial
archive. Later requests are served from the file.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from pagurus import diskcache
from pagurus.git.repos import GIT_ENV
from pagurus.paths import safe_join

FORMATS = {
    # extension: (git archive --format, content type)
    "tar.gz": ("tar.gz", "application/x-gzip"),
    "tar": ("tar", "application/x-tar"),
    "zip": ("zip", "application/zip"),
}
_NAME = re.compile(r"[A-Za-z0-9_+~][A-Za-z0-9_.+~-]{0,199}")
CHUNK = 64 * 1024


def split_filename(filename: str) -> tuple[str, str] | None:
    """``("name", "tar.gz")`` from ``name.tar.gz``; None if the extension is
    unknown or the name unsafe (slashes, leading ``-`` or ``.``, odd chars)."""
    for ext in FORMATS:
        if filename.endswith("." + ext):
            name = filename[: -len(ext) - 1]
            if _NAME.fullmatch(name) and ".." not in name:
                return name, ext
            return None
    return None


def cache_path(data_dir: Path, fullname: str, commit_id: str, name: str, ext: str) -> Path:
    """Where the archive of ``commit_id`` named ``name.ext`` is kept."""
    if not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", commit_id):
        raise ValueError("not a full commit id")
    if ext not in FORMATS or not _NAME.fullmatch(name):
        raise ValueError("bad archive name")
    return safe_join(Path(data_dir) / "archives", fullname, commit_id, f"{name}.{ext}")


def git_args(commit_id: str, name: str, ext: str) -> list[str]:
    """The ``git archive`` command line (what the cached file is identical to)."""
    return ["archive", f"--format={FORMATS[ext][0]}", f"--prefix={name}/", commit_id]


def _env(repo_dir: Path) -> dict[str, str]:
    return {**GIT_ENV, "GIT_DIR": str(repo_dir), "GIT_CONFIG_GLOBAL": os.devnull,
            "PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def stream_archive(repo_dir: Path, target: Path, commit_id: str, name: str,
                   ext: str, *, cache_root: Path | None = None,
                   max_bytes: int = 0) -> Iterator[bytes]:
    """Yield the archive while writing it to ``target`` atomically.

    If the reader stops early or git fails, the temporary file is removed
    and nothing is cached. Once kept, ``cache_root`` (the archives folder)
    is brought back under ``max_bytes`` when due (``pagurus.diskcache``)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    proc = subprocess.Popen(["git", *git_args(commit_id, name, ext)], env=_env(repo_dir),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    done = False
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                data = proc.stdout.read(CHUNK)
                if not data:
                    break
                out.write(data)
                yield data
            out.flush()
            os.fsync(out.fileno())
        if proc.wait() == 0:
            os.replace(tmp, target)
            done = True
            if cache_root is not None:
                diskcache.trim(cache_root, max_bytes)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.wait()
        if not done:
            tmp.unlink(missing_ok=True)


def read_file(path: Path) -> Iterator[bytes]:
    """Stream a cached archive in chunks."""
    with open(path, "rb") as fh:
        while True:
            data = fh.read(CHUNK)
            if not data:
                return
            yield data
