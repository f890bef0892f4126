"""Blame with ``git blame --porcelain``, parsed while it streams.

libgit2's blame is ~20x slower than git's on long histories, so the git CLI
does the work. The result is a pure function of (commit id, path): callers
cache it as JSON under those two values.

A blame of a much-changed file deep in a long history takes seconds, so
pages do not run it themselves: :func:`jobs` gives a :class:`BlameJobs`
that runs each blame once in a background thread (a second request for the
same blame waits for the same job). Slow results are also written to disk,
and a file lock per result makes another process of the same instance (the
next request may reach another web worker) wait for the running job rather
than start a second ``git blame``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pagurus import diskcache
from pagurus.git.repos import GIT_ENV

log = logging.getLogger(__name__)

PERSIST_SECONDS = 0.25  # blames slower than this are kept on disk
MAX_PENDING = 16  # blames queued or running per process before refusing more
WORKERS = 2  # blames run at once per process (each is one git process)


class BlameError(RuntimeError):
    """git could not blame this path at this commit."""


class BlameBusy(RuntimeError):
    """Too many blames are queued in this process: try again later."""


@dataclass(slots=True)
class BlameCommit:
    id: str
    author: str = ""
    author_mail: str = ""
    author_time: int = 0
    summary: str = ""


@dataclass(slots=True)
class Hunk:
    """Consecutive final lines owned by one commit."""

    commit: str
    start: int  # first final line number (1-based)
    orig_start: int
    lines: list[str] = field(default_factory=list)  # raw line content, decoded


@dataclass(slots=True)
class Blame:
    hunks: list[Hunk]
    commits: dict[str, BlameCommit]

    def line_owners(self) -> list[str]:
        """The commit id of every final line, in order."""
        return [h.commit for h in self.hunks for _ in h.lines]

    def to_json(self) -> str:
        return json.dumps({"hunks": [asdict(h) for h in self.hunks],
                           "commits": {k: asdict(v) for k, v in self.commits.items()}})

    @classmethod
    def from_json(cls, raw: str) -> Blame:
        data = json.loads(raw)
        return cls(hunks=[Hunk(**h) for h in data["hunks"]],
                   commits={k: BlameCommit(**v) for k, v in data["commits"].items()})


def _text(raw: bytes, encoding: str) -> str:
    return raw.decode(encoding, errors="replace")


def parse_porcelain(lines: object, encoding: str = "utf-8") -> Blame:
    """Parse ``git blame --porcelain`` output given as an iterable of byte
    lines (each ending with ``\\n``)."""
    hunks: list[Hunk] = []
    commits: dict[str, BlameCommit] = {}
    current: BlameCommit | None = None
    final = orig = 0
    for raw in lines:  # type: ignore[attr-defined]
        if raw.startswith(b"\t"):
            content = _text(raw[1:].rstrip(b"\n"), encoding)
            if content.endswith("\r"):
                content = content[:-1]
            assert current is not None
            last = hunks[-1] if hunks else None
            if last is not None and last.commit == current.id and \
                    last.start + len(last.lines) == final:
                last.lines.append(content)
            else:
                hunks.append(Hunk(commit=current.id, start=final, orig_start=orig,
                                  lines=[content]))
            continue
        line = raw.rstrip(b"\n")
        head, _, rest = line.partition(b" ")
        if len(head) in (40, 64) and all(c in b"0123456789abcdef" for c in head):
            parts = rest.split(b" ")
            sha = head.decode()
            orig, final = int(parts[0]), int(parts[1])
            current = commits.get(sha)
            if current is None:
                current = commits[sha] = BlameCommit(id=sha)
            continue
        if current is None:
            continue
        key, value = head.decode("ascii", "replace"), rest
        if key == "author":
            current.author = _text(value, "utf-8")
        elif key == "author-mail":
            current.author_mail = _text(value, "utf-8").strip("<>")
        elif key == "author-time":
            current.author_time = int(value or 0)
        elif key == "summary":
            current.summary = _text(value, "utf-8")
    return Blame(hunks=hunks, commits=commits)


def blame(git_dir: Path | str, commit_id: str, path: str, encoding: str = "utf-8",
          timeout: float = 300) -> Blame:
    """Blame ``path`` at ``commit_id`` (a resolved full id, never a ref name
    a user typed: nothing reaches git as an option). git is killed after
    ``timeout`` seconds."""
    if not commit_id or commit_id.startswith("-") or not all(
            c in "0123456789abcdef" for c in commit_id):
        raise BlameError("blame needs a commit id")
    env = {**os.environ, **GIT_ENV}
    proc = subprocess.Popen(
        ["git", "--git-dir", str(git_dir), "blame", "--porcelain", commit_id, "--", path],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    timer = threading.Timer(timeout, proc.kill)
    timer.daemon = True
    timer.start()
    try:
        assert proc.stdout is not None
        result = parse_porcelain(proc.stdout, encoding)
        stderr = proc.stderr.read() if proc.stderr is not None else b""
        rc = proc.wait(timeout=timeout)
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    if rc != 0:
        if rc == -9:
            raise BlameError(f"git blame took over {timeout:.0f} s")
        raise BlameError(stderr.decode("utf-8", "replace").strip() or f"git blame exit {rc}")
    return result


# -- background jobs ------------------------------------------------------------------

class BlameJobs:
    """Blames computed in background threads, at most one job per
    (commit id, path, encoding) at a time in this process; results of slow
    blames kept as files under ``cache_dir`` (None: memory only)."""

    def __init__(self, cache_dir: Path | None, workers: int = WORKERS,
                 max_pending: int = MAX_PENDING, max_bytes: int = 0) -> None:
        self.cache_dir = cache_dir
        self.max_bytes = max_bytes  # the bound of cache_dir (pagurus.diskcache)
        self.max_pending = max_pending
        self._executor = ThreadPoolExecutor(max_workers=workers,
                                            thread_name_prefix="pagurus-blame")
        self._running: dict[str, Future[str]] = {}
        self._lock = threading.Lock()

    def submit(self, git_dir: Path | str, commit_id: str, path: str, encoding: str = "utf-8",
               on_result: Callable[[str], None] | None = None) -> Future[str]:
        """The job computing this blame as JSON (:meth:`Blame.to_json`), started
        now or already running; ``on_result`` gets the JSON before the job ends
        (to put it in a cache before the next request looks there).
        Raises :class:`BlameBusy` when ``max_pending`` jobs are waiting."""
        key = f"{commit_id}\x00{path}\x00{encoding}"
        with self._lock:
            running = self._running.get(key)
            if running is not None:
                return running
            if len(self._running) >= self.max_pending:
                raise BlameBusy("too many blames are being computed; try again shortly")
            future = self._executor.submit(self._job, key, str(git_dir), commit_id, path,
                                           encoding, on_result)
            self._running[key] = future
            return future

    def pending(self) -> int:
        """Jobs queued or running."""
        with self._lock:
            return len(self._running)

    def _job(self, key: str, git_dir: str, commit_id: str, path: str, encoding: str,
             on_result: Callable[[str], None] | None) -> str:
        try:
            value = self._compute(key, git_dir, commit_id, path, encoding)
            if on_result is not None:
                on_result(value)
            return value
        finally:
            with self._lock:
                self._running.pop(key, None)

    def paths(self, commit_id: str, path: str,
              encoding: str = "utf-8") -> tuple[Path, Path] | None:
        """Where this blame's result is kept and the lock file held while it
        is computed (None without a cache folder)."""
        return self._files(f"{commit_id}\x00{path}\x00{encoding}")

    def _files(self, key: str) -> tuple[Path, Path] | None:
        if self.cache_dir is None:
            return None
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        # 256 lock files shared by all results: two blames in one stripe
        # merely run one after the other
        return (self.cache_dir / digest[:2] / f"{digest}.json",
                self.cache_dir / "locks" / f"{digest[:2]}.lock")

    def read(self, commit_id: str, path: str, encoding: str = "utf-8") -> str | None:
        """A result kept on disk by this or another process, if any."""
        files = self.paths(commit_id, path, encoding)
        if files is None:
            return None
        try:
            found = files[0].read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        diskcache.touch(files[0])
        return found

    def _compute(self, key: str, git_dir: str, commit_id: str, path: str,
                 encoding: str) -> str:
        files = self._files(key)
        if files is None:
            return blame(git_dir, commit_id, path, encoding).to_json()
        result, lock = files
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)
            handle = open(lock, "a")  # noqa: SIM115 - closed below
        except OSError:
            log.warning("blame cache folder unusable: %s", lock.parent, exc_info=True)
            return blame(git_dir, commit_id, path, encoding).to_json()
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # another process may be computing it
            try:
                try:
                    return result.read_text("utf-8")
                except (OSError, UnicodeDecodeError):
                    pass
                started = time.monotonic()
                value = blame(git_dir, commit_id, path, encoding).to_json()
                if time.monotonic() - started >= PERSIST_SECONDS:
                    _write(result, value)
                    assert self.cache_dir is not None
                    diskcache.trim(self.cache_dir, self.max_bytes)
                return value
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _write(target: Path, value: str) -> None:
    """Atomically (readers never see half a file); a failure only costs
    the next process a recomputation."""
    tmp = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(value, "utf-8")
        os.replace(tmp, target)
    except OSError:
        log.warning("could not keep a blame in %s", target.parent, exc_info=True)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


_jobs: dict[str, BlameJobs] = {}
_jobs_lock = threading.Lock()


def jobs(cache_dir: Path | None, max_bytes: int = 0) -> BlameJobs:
    """The process-wide :class:`BlameJobs` for this cache folder."""
    name = str(cache_dir) if cache_dir is not None else ""
    with _jobs_lock:
        found = _jobs.get(name)
        if found is None:
            found = _jobs[name] = BlameJobs(cache_dir, max_bytes=max_bytes)
        return found
