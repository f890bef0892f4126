"""Blame with ``git blame --porcelain``, parsed while it streams.

libgit2's blame is ~20x slower than git's on long histories, so the git CLI
does the work. The result is a pure function of (commit id, path): callers
cache it as JSON under those two values.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pagurus.git.repos import GIT_ENV


class BlameError(RuntimeError):
    """git could not blame this path at this commit."""


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
          timeout: float = 120) -> Blame:
    """Blame ``path`` at ``commit_id`` (a resolved full id, never a ref name
    a user typed: nothing reaches git as an option)."""
    if not commit_id or commit_id.startswith("-") or not all(
            c in "0123456789abcdef" for c in commit_id):
        raise BlameError("blame needs a commit id")
    env = {**os.environ, **GIT_ENV}
    proc = subprocess.Popen(
        ["git", "--git-dir", str(git_dir), "blame", "--porcelain", commit_id, "--", path],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        assert proc.stdout is not None
        result = parse_porcelain(proc.stdout, encoding)
        stderr = proc.stderr.read() if proc.stderr is not None else b""
        rc = proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    if rc != 0:
        raise BlameError(stderr.decode("utf-8", "replace").strip() or f"git blame exit {rc}")
    return result
