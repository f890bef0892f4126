"""One way to write a commit straight into a (bare) repository with pygit2,
shared by the pull-request tests of tests/api and tests/integration (this
folder is on sys.path for both, as ``conftest`` is)."""

from __future__ import annotations

import pygit2

from pagurus.git import pulls as git_pulls

SIG = pygit2.Signature("Dev", "dev@example.com")


def commit(repo: pygit2.Repository, branch: str, files: dict[str, str | None], message: str,
           parent_branch: str | None = None) -> str:
    """A commit on ``branch`` (started from ``parent_branch`` when given)
    writing ``files``; a ``None`` content removes the file."""
    parent = git_pulls.branch_head(repo, parent_branch or branch)
    index = pygit2.Index()
    if parent is not None:
        index.read_tree(parent.tree)
    for path, content in files.items():
        if content is None:
            index.remove(path)
        else:
            index.add(pygit2.IndexEntry(path, repo.create_blob(content.encode()),
                                        pygit2.enums.FileMode.BLOB))
    tree = index.write_tree(repo)
    oid = repo.create_commit(f"refs/heads/{branch}", SIG, SIG, message, tree,
                             [parent.id] if parent is not None else [])
    return str(oid)
