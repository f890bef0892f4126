"""Issue templates: ``templates/<name>.md`` at HEAD of a project's tickets repo.

The tickets repo is the one place they live, whether pushed with git or
written from the tracker settings page. A write is a commit built in the bare
repo with pygit2 (no checkout) and the branch is moved with ``git update-ref
<ref> <new> <old>``, which refuses when the branch moved meanwhile: a
concurrent push or edit is never overwritten.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pygit2

from pagurus.git.commit_edit import signature

FOLDER = "templates"
MAX_SIZE = 64 * 1024
_ZERO = "0" * 40


class TemplateConflict(Exception):
    """The tickets repo changed while the template was being written."""


def _open(path: Path) -> pygit2.Repository | None:
    try:
        return pygit2.Repository(str(path))
    except (pygit2.GitError, OSError, ValueError):
        return None


def _head(repo: pygit2.Repository) -> pygit2.Commit | None:
    try:
        return repo.head.peel(pygit2.Commit)
    except (pygit2.GitError, KeyError, ValueError):
        return None  # an empty repo: HEAD names a branch that does not exist yet


def read_templates(path: Path) -> dict[str, str]:
    """{name: markdown} sorted by name; a missing or empty repo has none, and
    files over ``MAX_SIZE`` or not ending in ``.md`` are skipped."""
    repo = _open(path)
    commit = _head(repo) if repo is not None else None
    if repo is None or commit is None or FOLDER not in commit.tree:
        return {}
    folder = repo[commit.tree[FOLDER].id]
    if not isinstance(folder, pygit2.Tree):
        return {}
    out: dict[str, str] = {}
    for entry in folder:
        name = entry.name or ""
        if not name.endswith(".md") or len(name) <= 3 or entry.type_str != "blob":
            continue
        blob = repo[entry.id]
        if blob.size <= MAX_SIZE:
            out[name[:-3]] = blob.data.decode("utf-8", errors="replace")
    return dict(sorted(out.items()))


def write_template(path: Path, name: str, text: str | None, author: str, email: str
                   ) -> bool:
    """Set ``templates/<name>.md`` to ``text`` (``None`` removes it) in one
    commit on the branch HEAD names. ``name`` must already be checked (a plain
    file name). False when nothing changed."""
    repo = _open(path)
    if repo is None:
        raise FileNotFoundError(path)
    parent = _head(repo)
    head = repo.lookup_reference("HEAD")
    ref = head.target if head.type == pygit2.enums.ReferenceType.SYMBOLIC else "HEAD"
    root = parent.tree if parent is not None else None
    folder = repo[root[FOLDER].id] if root is not None and FOLDER in root else None
    if folder is not None and not isinstance(folder, pygit2.Tree):
        folder = None
    filename = f"{name}.md"
    sub = repo.TreeBuilder(folder) if folder is not None else repo.TreeBuilder()
    exists = folder is not None and filename in folder
    if text is None:
        if not exists:
            return False
        sub.remove(filename)
        message = f"Remove the issue template {name}"
    else:
        blob = repo.create_blob(text.encode("utf-8"))
        if exists and folder[filename].id == blob:
            return False
        sub.insert(filename, blob, pygit2.enums.FileMode.BLOB)
        message = f"{'Update' if exists else 'Add'} the issue template {name}"
    top = repo.TreeBuilder(root) if root is not None else repo.TreeBuilder()
    if len(sub):
        top.insert(FOLDER, sub.write(), pygit2.enums.FileMode.TREE)
    elif root is not None and FOLDER in root:
        top.remove(FOLDER)
    sig = signature(author, email)
    new = repo.create_commit(None, sig, sig, message + "\n", top.write(),
                             [parent.id] if parent is not None else [])
    old = str(parent.id) if parent is not None else _ZERO
    done = subprocess.run(["git", "update-ref", "-m", message, ref, str(new), old],
                          cwd=str(path), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise TemplateConflict(done.stderr.strip())
    return True
