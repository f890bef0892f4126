"""Diffs of commits and between commits, shaped for pages.

pygit2 computes the diff (rename detection included); this module turns it
into plain data: files with status, +/- counts and hunks of typed lines.
Big diffs stay cheap to show: a file whose blobs are over ``FILE_INLINE_BYTES``
or whose patch is over ``FILE_INLINE_LINES`` lines is listed with its counts
but not inlined (the page links to a per-file view), and once
``TOTAL_INLINE_LINES`` lines or ``TOTAL_INLINE_FILES`` files are inlined the
rest are only listed. Raw ``.diff`` and ``.patch`` output is streamed from
git without holding it in memory.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pygit2

from pagurus.git.repos import GIT_ENV

FILE_INLINE_BYTES = 512 * 1024
FILE_INLINE_LINES = 3000
TOTAL_INLINE_LINES = 15000
TOTAL_INLINE_FILES = 400
STATS_MAX_BYTES = 16 * 1024 * 1024  # above this, +/- are not counted at all
SINGLE_FILE_MAX_BYTES = 32 * 1024 * 1024  # the per-file page's own limit
EMPTY_TREE_SHA1 = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
CONTEXT_LINES = 3

STATUS_NAMES = {"A": "added", "D": "deleted", "M": "modified", "R": "renamed",
                "C": "copied", "T": "type changed"}
_ORIGINS = {" ": "ctx", "+": "add", "-": "del"}


@dataclass
class Line:
    kind: str  # ctx | add | del | meta
    old: int | None
    new: int | None
    text: str
    html: str | None = None  # highlighted, escaped HTML of ``text`` (web.ui.diff_highlight)


@dataclass
class Hunk:
    header: str
    lines: list[Line]


@dataclass
class FileDiff:
    index: int
    old_path: str
    new_path: str
    status: str  # a key of STATUS_NAMES
    similarity: int = 0
    binary: bool = False
    additions: int | None = 0
    deletions: int | None = 0
    old_mode: int = 0
    new_mode: int = 0
    hunks: list[Hunk] = field(default_factory=list)
    inlined: bool = True
    reason: str = ""  # why not inlined: "large" (this file) or "cap" (the diff's total)

    @property
    def path(self) -> str:
        return self.old_path if self.status == "D" else self.new_path

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.status, "modified")

    @property
    def lines_count(self) -> int:
        return sum(len(h.lines) for h in self.hunks)


@dataclass
class DiffResult:
    files: list[FileDiff]

    @property
    def additions(self) -> int:
        return sum(f.additions or 0 for f in self.files)

    @property
    def deletions(self) -> int:
        return sum(f.deletions or 0 for f in self.files)

    @property
    def truncated(self) -> bool:
        return any(not f.inlined for f in self.files)


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _blob_size(repo: pygit2.Repository, oid: pygit2.Oid) -> int:
    if oid is None or oid.raw == b"\x00" * len(oid.raw):
        return 0
    try:
        return int(repo.odb.read_header(oid)[1])
    except (KeyError, ValueError, pygit2.GitError):
        return 0


def tree_diff(repo: pygit2.Repository, old: pygit2.Tree | None, new: pygit2.Tree,
              context_lines: int = CONTEXT_LINES) -> pygit2.Diff:
    """The diff from ``old`` (None: the empty tree) to ``new``, renames found."""
    if old is None:
        diff = new.diff_to_tree(context_lines=context_lines, swap=True)
    else:
        diff = repo.diff(old, new, context_lines=context_lines)
    diff.find_similar()
    return diff


def base_tree(commit: pygit2.Commit) -> pygit2.Tree | None:
    """What a commit is shown against: its first parent (None for a root commit)."""
    return commit.parents[0].tree if commit.parents else None


def _hunks(patch: pygit2.Patch) -> list[Hunk]:
    out = []
    for hunk in patch.hunks:
        lines = []
        for line in hunk.lines:
            kind = _ORIGINS.get(line.origin, "meta")
            text = _decode(line.raw_content).rstrip("\n")
            if kind == "meta":
                text = text.strip() or "\\ No newline at end of file"
            lines.append(Line(kind, line.old_lineno if line.old_lineno >= 0 else None,
                              line.new_lineno if line.new_lineno >= 0 else None, text))
        out.append(Hunk(str(hunk.header).rstrip("\n"), lines))
    return out


def _file_of(repo: pygit2.Repository, diff: pygit2.Diff, delta: pygit2.DiffDelta, i: int,
             inline: bool, file_limit: int, line_limit: int) -> FileDiff:
    status = delta.status_char()
    f = FileDiff(index=i, old_path=_decode(delta.old_file.raw_path),
                 new_path=_decode(delta.new_file.raw_path), status=status,
                 similarity=delta.similarity if status in ("R", "C") else 0,
                 old_mode=int(delta.old_file.mode), new_mode=int(delta.new_file.mode))
    size = max(_blob_size(repo, delta.old_file.id), _blob_size(repo, delta.new_file.id))
    if size > STATS_MAX_BYTES and size > file_limit:
        f.additions = f.deletions = None
        f.inlined, f.reason = False, "large"
        return f
    patch = diff[i]
    f.binary = bool(patch.delta.is_binary)
    _ctx, adds, dels = patch.line_stats
    f.additions, f.deletions = adds, dels
    if f.binary:
        return f
    if size > file_limit or adds + dels > line_limit:
        f.inlined, f.reason = False, "large"
        return f
    if not inline:
        f.inlined, f.reason = False, "cap"
        return f
    f.hunks = _hunks(patch)
    return f


def diff_files(repo: pygit2.Repository, diff: pygit2.Diff) -> DiffResult:
    """Every file of ``diff``, inlined until the total caps are reached."""
    files: list[FileDiff] = []
    total_lines = 0
    inlined = 0
    for i, delta in enumerate(diff.deltas):
        can_inline = total_lines < TOTAL_INLINE_LINES and inlined < TOTAL_INLINE_FILES
        f = _file_of(repo, diff, delta, i, can_inline, FILE_INLINE_BYTES, FILE_INLINE_LINES)
        if f.inlined and not f.binary:
            total_lines += f.lines_count
            inlined += 1
        files.append(f)
    return DiffResult(files)


def commit_diff(repo: pygit2.Repository, commit: pygit2.Commit) -> DiffResult:
    """The change a commit made against its first parent (or the empty tree)."""
    return diff_files(repo, tree_diff(repo, base_tree(commit), commit.tree))


def compare_diff(repo: pygit2.Repository, old: pygit2.Commit,
                 new: pygit2.Commit) -> DiffResult:
    """The change from ``old``'s tree to ``new``'s tree."""
    return diff_files(repo, tree_diff(repo, old.tree, new.tree))


def one_file(repo: pygit2.Repository, old: pygit2.Tree | None, new: pygit2.Tree,
             path: str) -> FileDiff | None:
    """One file of a diff, inlined up to the per-file page's own limit
    (matched on its new path, or old path for deletions and renames)."""
    diff = tree_diff(repo, old, new)
    for i, delta in enumerate(diff.deltas):
        if path in (_decode(delta.new_file.raw_path), _decode(delta.old_file.raw_path)):
            return _file_of(repo, diff, delta, i, True, SINGLE_FILE_MAX_BYTES, 10**9)
    return None


def file_patch_text(repo: pygit2.Repository, old: pygit2.Tree | None, new: pygit2.Tree,
                    ) -> dict[str, str]:
    """Per-file patch texts, numbered from 1 (for the ``.diff?js=1`` form)."""
    diff = tree_diff(repo, old, new)
    out = {}
    for i, delta in enumerate(diff.deltas):
        size = max(_blob_size(repo, delta.old_file.id), _blob_size(repo, delta.new_file.id))
        if size > FILE_INLINE_BYTES:
            out[str(i + 1)] = ""
            continue
        out[str(i + 1)] = _decode(diff[i].data)
    return out


def split_rows(hunk: Hunk) -> list[tuple[Line | None, Line | None]]:
    """Side-by-side rows: context on both sides, each run of deletions paired
    with the run of additions that follows it."""
    rows: list[tuple[Line | None, Line | None]] = []
    dels: list[Line] = []
    adds: list[Line] = []

    def flush() -> None:
        for j in range(max(len(dels), len(adds))):
            rows.append((dels[j] if j < len(dels) else None,
                         adds[j] if j < len(adds) else None))
        dels.clear()
        adds.clear()

    for line in hunk.lines:
        if line.kind == "del":
            if adds:
                flush()
            dels.append(line)
        elif line.kind == "add":
            adds.append(line)
        else:
            flush()
            rows.append((line, line))
    flush()
    return rows


# -- raw output from git, streamed -----------------------------------------------

def _check_oid(oid: str) -> str:
    if not (len(oid) in (40, 64) and all(c in "0123456789abcdef" for c in oid)):
        raise ValueError(f"not a full object id: {oid!r}")
    return oid


def stream_git(repo_dir: Path, args: Sequence[str], chunk: int = 64 * 1024) -> Iterator[bytes]:
    """Yield git's stdout in chunks; the child is killed if the reader stops."""
    env = {**GIT_ENV, "GIT_DIR": str(repo_dir), "GIT_CONFIG_GLOBAL": os.devnull,
           "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    proc = subprocess.Popen(["git", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    try:
        while True:
            data = proc.stdout.read(chunk)
            if not data:
                break
            yield data
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.wait()


def raw_diff_args(commit: pygit2.Commit, against: pygit2.Commit | None = None,
                  path: str | None = None) -> list[str]:
    """``git diff`` arguments for the raw diff of a commit (vs its first
    parent or the empty tree) or between two commits."""
    new = _check_oid(str(commit.id))
    if against is not None:
        old = _check_oid(str(against.id))
    else:
        old = str(commit.parents[0].id) if commit.parents else EMPTY_TREE_SHA1
    args = ["diff", "--no-color", "--no-ext-diff", "--find-renames", old, new, "--"]
    if path is not None:
        args.append(":(literal)" + path)
    return args


def patch_args(commit: pygit2.Commit) -> list[str]:
    """``git format-patch`` of one commit; merges (which format-patch skips)
    as an email-formatted log entry with the diff against the first parent."""
    oid = _check_oid(str(commit.id))
    if len(commit.parents) > 1:
        return ["log", "-1", "--no-color", "--pretty=email", "--patch-with-stat",
                "--diff-merges=first-parent", oid, "--"]
    args = ["format-patch", "--stdout", "--no-color", "-1"]
    if not commit.parents:
        args.append("--root")
    return [*args, oid, "--"]
