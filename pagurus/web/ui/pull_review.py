"""What the pull-request pages compute from git, kept apart from the views.

- ``pr_span``: the commits and the two ends of a PR's diff, all read from the
  *target* repository (the head lives at ``refs/pull/<n>/head`` there): an
  open PR is compared with its merge base on the target branch; a closed or
  merged one with the recorded range (``commit_start``'s parent to
  ``commit_stop``), so it reads the same forever.
- ``preview_span``: the same before a PR exists, for the creation page: the
  source repository is opened with the target's objects as an in-memory
  alternate, so a fork's branch can be compared with the parent's branch
  without a fetch and without writing anything.
- ``Threads``: inline comments grouped per side, file and line, each
  thread marked *outdated* when its commit is not the PR head and the
  commented line no longer reads the same there (or the file left the diff).
  A comment on the *old* side (a removed line, ``side="old"``) is anchored
  to the diff's base instead: line ``line`` of ``filename`` at ``commit_id``
  = the base it was written against; it is outdated once the base changed
  and that line reads differently at the new base (or the old file left
  the diff). Pagure has no old side: its ``row`` counts the rows of a
  file's patch; ours is a line number of one version of the file.
- ``place_threads``: threads put into a rendered diff right after the row
  of their line (rows carry ``id="pf<file>-n<line>"`` for new lines and
  ``data-old="pf<file>-o<line>"`` for removed ones), so the cached
  rendering of a diff serves every viewer and only the threads are added.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pygit2

from pagurus.git import pulls as git_pulls
from pagurus.model import PullRequest, PullRequestComment

LINE_READ_MAX = 4 * 1024 * 1024  # blobs above this are compared by id only
OPEN = "Open"
OLD = "old"  # PullRequestComment.side of a comment on a removed line


@dataclass
class Span:
    """Two ends of a diff and the commits between them (oldest first)."""

    base: pygit2.Commit | None  # None: the empty tree (unrelated or empty target)
    head: pygit2.Commit | None  # None: the commits are gone
    commits: list[pygit2.Commit] = field(default_factory=list)
    truncated: bool = False
    error: str = ""

    @property
    def key(self) -> str:
        """Names the diff for caches (object ids never change)."""
        return f"{self.base.id if self.base else '-'}..{self.head.id if self.head else '-'}"


def _commit(repo: pygit2.Repository, ident: str | None) -> pygit2.Commit | None:
    if not ident:
        return None
    try:
        obj = repo[ident]
    except (KeyError, ValueError, pygit2.GitError):
        return None
    try:
        return obj.peel(pygit2.Commit)
    except (pygit2.GitError, ValueError, AttributeError):
        return None


def _walk(repo: pygit2.Repository, head: pygit2.Commit, hide: list[pygit2.Oid]
          ) -> tuple[list[pygit2.Commit], bool]:
    walker = repo.walk(head.id, pygit2.enums.SortMode.TOPOLOGICAL)
    for oid in hide:
        walker.hide(oid)
    commits: list[pygit2.Commit] = []
    truncated = False
    for commit in walker:
        if len(commits) >= git_pulls.COMMITS_MAX:
            truncated = True
            break
        commits.append(commit)
    commits.reverse()
    return commits, truncated


def range_between(repo: pygit2.Repository, tip: pygit2.Oid | None, head: pygit2.Commit
                  ) -> Span:
    """Commits on ``head`` not on ``tip``, and their merge base."""
    base = None
    hide: list[pygit2.Oid] = []
    if tip is not None:
        hide.append(tip)
        merge_base = repo.merge_base(tip, head.id)
        base = _commit(repo, str(merge_base)) if merge_base else None
    commits, truncated = _walk(repo, head, hide)
    return Span(base=base, head=head, commits=commits, truncated=truncated)


def pr_head_id(repo: pygit2.Repository, pr: PullRequest) -> str | None:
    """The recorded head, or what ``refs/pull/<n>/head`` holds."""
    if pr.commit_stop and _commit(repo, pr.commit_stop) is not None:
        return pr.commit_stop
    try:
        return str(repo.lookup_reference(git_pulls.pull_ref(pr.number)).target)
    except (KeyError, pygit2.GitError):
        return None


def pr_span(repo: pygit2.Repository, pr: PullRequest) -> Span:
    head = _commit(repo, pr_head_id(repo, pr))
    if head is None:
        return Span(None, None, error="The commits of this pull request are gone.")
    if pr.status == OPEN:
        tip = git_pulls.branch_head(repo, pr.branch)
        return range_between(repo, tip.id if tip is not None else None, head)
    start = _commit(repo, pr.commit_start)
    if start is None:
        return Span(None, head, [head])
    base = start.parents[0] if start.parents else None
    commits, truncated = _walk(repo, head, [base.id] if base is not None else [])
    return Span(base=base, head=head, commits=commits, truncated=truncated)


def preview_repo(source_path: Path, target_path: Path) -> pygit2.Repository:
    """The source repo, able to read the target's objects too (in memory only)."""
    repo = pygit2.Repository(str(source_path))
    if Path(source_path).resolve() != Path(target_path).resolve():
        objects = Path(target_path) / "objects"
        if objects.is_dir():
            repo.odb.add_disk_alternate(str(objects))
    return repo


def preview_span(repo: pygit2.Repository, target: pygit2.Repository, branch_to: str,
                 branch_from: str) -> Span:
    """What a PR from ``branch_from`` of ``repo`` into ``branch_to`` of
    ``target`` would bring (``repo`` from :func:`preview_repo`)."""
    head = git_pulls.branch_head(repo, branch_from)
    if head is None:
        return Span(None, None, error=f"Branch {branch_from} could not be found in the "
                                      "source repo")
    tip = git_pulls.branch_head(target, branch_to)
    return range_between(repo, tip.id if tip is not None else None, head)


# -- inline comments -------------------------------------------------------------

class Lines:
    """Lines of files at commits, read once per page."""

    def __init__(self, repo: pygit2.Repository) -> None:
        self.repo = repo
        self._blobs: dict[tuple[str, str], pygit2.Oid | None] = {}
        self._lines: dict[str, list[str] | None] = {}

    def blob_id(self, commit_id: str, path: str) -> pygit2.Oid | None:
        key = (commit_id, path)
        if key not in self._blobs:
            oid = None
            commit = _commit(self.repo, commit_id)
            if commit is not None:
                try:
                    entry = commit.tree[path]
                    oid = entry.id if entry.type_str == "blob" else None
                except (KeyError, ValueError):
                    oid = None
            self._blobs[key] = oid
        return self._blobs[key]

    def line(self, commit_id: str, path: str, number: int) -> str | None:
        oid = self.blob_id(commit_id, path)
        if oid is None:
            return None
        key = str(oid)
        if key not in self._lines:
            lines = None
            try:
                size = self.repo.odb.read_header(oid)[1]
                if size <= LINE_READ_MAX:
                    data = self.repo[oid].data
                    if b"\x00" not in data[:8000]:
                        lines = data.decode("utf-8", "replace").splitlines()
            except (KeyError, ValueError, pygit2.GitError):
                lines = None
            self._lines[key] = lines
        lines = self._lines[key]
        if lines is None or not 1 <= number <= len(lines):
            return None
        return lines[number - 1]


def is_outdated(lines: Lines, comment: PullRequestComment, head_id: str | None,
                diff_paths: set[str], base_id: str | None = None,
                old_paths: set[str] | None = None) -> bool:
    """Outdated: the comment is on another commit than the head and its line
    reads differently at the head, or its file is not in the diff any more.
    An old-side comment is compared the same way with the diff's base
    (``base_id``) and the diff's old paths."""
    if not comment.commit_id or not comment.filename or comment.line is None:
        return False
    ref_id, paths = head_id, diff_paths
    if comment.side == OLD:
        ref_id, paths = base_id, (old_paths if old_paths is not None else diff_paths)
    if ref_id is None:
        return True
    if comment.commit_id == ref_id or ref_id.startswith(comment.commit_id):
        return False
    if comment.filename not in paths:
        return True
    old_blob = lines.blob_id(comment.commit_id, comment.filename)
    new_blob = lines.blob_id(ref_id, comment.filename)
    if old_blob is None or new_blob is None:
        return True
    if old_blob == new_blob:
        return False
    old = lines.line(comment.commit_id, comment.filename, comment.line)
    return old is None or old != lines.line(ref_id, comment.filename, comment.line)


@dataclass
class Thread:
    filename: str
    line: int
    outdated: bool
    commit_id: str
    code: str | None  # the commented line, as it read at the comment's commit
    comments: list[Any] = field(default_factory=list)  # views of PullRequestComment
    placed: bool = False  # shown in the diff too
    side: str | None = None  # None: the new version of the file; "old": a removed line
    reply_commit: str | None = None  # the commit a reply is anchored to (head or base)
    diff_anchor: str | None = None  # id of the file in the diff, once placed

    @property
    def is_old(self) -> bool:
        return self.side == OLD

    @property
    def first_id(self) -> int:
        return int(self.comments[0]["c"].id)

    @property
    def anchor(self) -> str:
        return f"thread-{self.first_id}"


def group_threads(lines: Lines, views: list[dict[str, Any]], head_id: str | None,
                  diff_paths: set[str], *, base_id: str | None = None,
                  old_paths: set[str] | None = None) -> dict[int, Thread]:
    """Inline comment views grouped per (side, file, line, outdated); keyed
    by the id of each comment (a thread is listed where its first comment
    is). ``base_id`` and ``old_paths``: the diff's base and the paths of its
    old side, for comments on removed lines."""
    threads: dict[tuple[str, str, int, bool], Thread] = {}
    by_comment: dict[int, Thread] = {}
    for view in views:
        c = view["c"]
        if c.line is None or not c.filename:
            continue
        side = OLD if c.side == OLD else None
        outdated = is_outdated(lines, c, head_id, diff_paths, base_id, old_paths)
        key = (side or "", c.filename, int(c.line), outdated)
        thread = threads.get(key)
        if thread is None:
            code = lines.line(c.commit_id or "", c.filename, int(c.line)) if c.commit_id \
                else None
            thread = threads[key] = Thread(c.filename, int(c.line), outdated,
                                           c.commit_id or "", code, side=side,
                                           reply_commit=base_id if side else head_id)
        thread.comments.append(view)
        by_comment[c.id] = thread
    return by_comment


def row_id(file_index: int, line: int, side: str | None = None) -> str:
    """The id of a diff row showing ``line`` of the new version of a file
    (``side="old"``: the ``data-old`` of a row showing a removed line)."""
    return f"pf{file_index + 1}-{'o' if side == OLD else 'n'}{line}"


def old_comment_base(pr_url: str, span: Span) -> str | None:
    """URL prefix of the inline comment form for removed lines (the diff's
    base is their commit; None when the diff has no old side)."""
    return f"{pr_url}/comment/{span.base.id}/" if span.base is not None else None


def file_indexes(files: list[list[Any]]) -> tuple[dict[str, int], dict[str, int]]:
    """(new path -> index, old path -> index) of a rendered diff's files
    (``[index, path, status]`` rows, ``old_path`` fourth when known)."""
    new: dict[str, int] = {}
    old: dict[str, int] = {}
    for row in files:
        index, path, status = row[0], row[1], row[2]
        if status != "D":
            new[path] = index
        if status != "A":
            old[row[3] if len(row) > 3 and row[3] else path] = index
    return new, old


def place_threads(html: str, file_index: dict[str, int], threads: list[Thread],
                  render_row: Any, old_index: dict[str, int] | None = None) -> str:
    """``html`` with each current thread's row (``render_row(thread)``)
    inserted after the row of its line; threads placed are marked.
    ``old_index``: where the old paths are, for threads on removed lines."""
    inserts: list[tuple[int, str]] = []
    for thread in threads:
        where = (old_index if old_index is not None else file_index) if thread.is_old \
            else file_index
        if thread.outdated or thread.filename not in where:
            continue
        rid = row_id(where[thread.filename], thread.line, thread.side)
        marker = f'data-old="{rid}"' if thread.is_old else f'id="{rid}"'
        pos = html.find(marker)
        if pos < 0:
            continue
        end = html.find("</tr>", pos)
        if end < 0:
            continue
        inserts.append((end + len("</tr>"), str(render_row(thread))))
        thread.placed = True
        thread.diff_anchor = f"pf{where[thread.filename] + 1}"
    if not inserts:
        return html
    inserts.sort(key=lambda item: item[0])
    out, last = [], 0
    for pos, text in inserts:
        out.append(html[last:pos])
        out.append(text)
        last = pos
    out.append(html[last:])
    return "".join(out)
