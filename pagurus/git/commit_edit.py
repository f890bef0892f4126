"""Online edits: one file changed in one commit, and branch moves that go
through the push hooks.

The commit is built with pygit2 straight in the bare repo (new blob, the
trees along the path rewritten, the file mode kept). The branch is then moved
by a *local push* of that commit into the same repo (``git push <repo>
<sha>:refs/heads/<b>``) with the pusher's identity from ``git_env``: the
pre-receive hook applies exactly the rules of any other push (rights,
protected branches, Signed-off-by…) and the post-receive hook records the
events. ``--force-with-lease`` names the value the user started from, and
receive-pack updates the ref only if it still holds that value, so a push
that raced us is refused, never overwritten. Branch creation and deletion use
the same push. Pull-request merges and rebases (``git.pullmerge``) move
branches with the same :func:`push_ref`, naming the pull request for the hooks.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pygit2

from pagurus.config import Settings
from pagurus.git import tree as git_tree
from pagurus.git.pushenv import git_env

MAX_EDIT = 1024 * 1024  # larger files are not edited online
MAX_TITLE = 255
PUSH_TIMEOUT = 120
_EDITABLE_MODES = (pygit2.enums.FileMode.BLOB, pygit2.enums.FileMode.BLOB_EXECUTABLE)
_ZERO = "0" * 40
_STALE = re.compile(r"stale info|is at [0-9a-f]+ but expected|reference already exists")


class EditError(Exception):
    """An edit or ref change refused before anything was written."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass
class PushResult:
    ok: bool
    message: str  # the hook's ``remote:`` lines, or git's reason
    stale: bool = False  # the ref moved since the user looked (lease failed)


def check_path(path: str) -> list[str]:
    """The components of a file path safe to write in a tree: relative, no
    empty, ``.``/``..`` or ``.git`` parts, no NUL or control characters."""
    if not path or len(path) > git_tree.MAX_PATH or path.startswith("/"):
        raise EditError("Invalid file path", "path")
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        raise EditError("Invalid file path", "path")
    parts = path.split("/")
    for part in parts:
        if part in ("", ".", "..") or part.lower() == ".git":
            raise EditError("Invalid file path", "path")
    return parts


def editable_blob(repo: pygit2.Repository, commit: pygit2.Commit, path: str
                  ) -> tuple[str, int]:
    """(text, mode) of the file at ``path``; refused unless it is a regular
    UTF-8 text file of at most ``MAX_EDIT`` bytes."""
    check_path(path)
    try:
        obj, mode = git_tree.lookup(commit, path)
    except git_tree.PathNotFound as exc:
        raise EditError(f"No file {path}") from exc
    if not isinstance(obj, pygit2.Blob) or mode not in _EDITABLE_MODES:
        raise EditError("Only regular files can be edited online")
    if obj.size > MAX_EDIT:
        raise EditError("This file is too large to be edited online (over 1 MB)")
    data = obj.data
    if git_tree.looks_binary(data):
        raise EditError("Binary files cannot be edited online")
    try:
        return data.decode("utf-8"), mode
    except UnicodeDecodeError as exc:
        raise EditError("Only UTF-8 text files can be edited online") from exc


def normalize_content(submitted: str, original: str) -> bytes:
    """The bytes to store. Browsers send every textarea with CRLF line ends:
    a file that had none gets LF back; a CRLF (or mixed) file is kept as sent."""
    if "\r" not in original:
        submitted = submitted.replace("\r\n", "\n")
    return submitted.encode("utf-8")


def _clean_sig(text: str) -> str:
    return re.sub(r"[<>\x00-\x1f\x7f]", "", text or "").strip()


def commit_message(title: str, body: str) -> str:
    title = (title or "").strip()
    if not title:
        raise EditError("A commit title is required", "commit_title")
    if len(title) > MAX_TITLE or "\n" in title or "\r" in title:
        raise EditError(f"The commit title must be one line of at most {MAX_TITLE} "
                        "characters", "commit_title")
    body = (body or "").replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    return f"{title}\n\n{body}\n" if body.strip() else f"{title}\n"


def _replace(repo: pygit2.Repository, tree: pygit2.Tree | None, parts: list[str],
             blob: pygit2.Oid) -> pygit2.Oid:
    """``tree`` with ``parts`` pointing to ``blob`` (an existing file's mode kept)."""
    builder = repo.TreeBuilder(tree) if tree is not None else repo.TreeBuilder()
    name = parts[0]
    entry = tree[name] if tree is not None and name in tree else None
    if len(parts) == 1:
        mode = entry.filemode if entry is not None and entry.filemode in _EDITABLE_MODES \
            else pygit2.enums.FileMode.BLOB
        builder.insert(name, blob, mode)
    else:
        sub = repo[entry.id] if entry is not None else None
        if sub is not None and not isinstance(sub, pygit2.Tree):
            raise EditError("A parent of this path is a file", "path")
        builder.insert(name, _replace(repo, sub, parts[1:], blob), pygit2.enums.FileMode.TREE)
    return builder.write()


def signature(name: str, email: str) -> pygit2.Signature:
    """A commit identity from user-supplied name and email (``<``, ``>`` and
    control characters dropped: they would corrupt the commit header)."""
    return pygit2.Signature(_clean_sig(name) or "unknown", _clean_sig(email) or "unknown")


def build_commit(repo: pygit2.Repository, parent: pygit2.Commit, path: str, data: bytes,
                 name: str, email: str, message: str) -> pygit2.Oid:
    """A commit on top of ``parent`` where only ``path`` changes to ``data``
    (the commit object is written; no ref moves)."""
    parts = check_path(path)
    blob = repo.create_blob(data)
    tree = _replace(repo, parent.tree, parts, blob)
    sig = signature(name, email)
    return repo.create_commit(None, sig, sig, message, tree, [parent.id])


def _remote_text(stderr: str) -> str:
    lines = [ln[len("remote:"):].strip() for ln in stderr.splitlines()
             if ln.startswith("remote:")]
    return "\n".join(ln for ln in lines if ln)


def push_ref(settings: Settings, repo_path: Path, user: str, new: str | None, ref: str,
             expected_old: str | None, *, source: Path | None = None,
             internal: bool = False, pull_request: str | None = None,
             base_url: str | None = None) -> PushResult:
    """Set ``ref`` to commit ``new`` (None: delete it) by pushing into the repo
    as ``user``, so the hooks decide. ``expected_old`` None means the ref must
    not exist yet.

    ``source``: the repository holding ``new`` (default: the repo itself; a
    rebase pushes from the target repo into a fork). ``internal``: a push by
    the forge itself (the hooks skip the ACLs). ``pull_request``: the uid of
    the pull request being merged, for the hooks. ``base_url``: the forge's
    URL for links the hooks print when ``app_url`` is not configured."""
    path = str(Path(repo_path).resolve())
    origin = str(Path(source).resolve()) if source is not None else path
    lease = f"--force-with-lease={ref}:{expected_old or ''}"
    spec = f"{new}:{ref}" if new else f":{ref}"
    env = git_env(settings, user=user, internal=internal, pull_request=pull_request)
    if base_url:
        env["PAGURUS_BASE_URL"] = base_url
    try:
        proc = subprocess.run(  # noqa: S603 - fixed argv, no shell
            ["git", "-C", origin, "push", "--porcelain", "--no-verify", lease, path, spec],
            env=env, capture_output=True, timeout=PUSH_TIMEOUT,
            stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        return PushResult(False, "The update timed out")
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    remote = _remote_text(err)
    if proc.returncode == 0 and not re.search(r"^!", out, re.MULTILINE):
        return PushResult(True, remote)
    # the lease failed: seen by the client ("stale info"), or by receive-pack
    # when the ref moved after it advertised it ("… but expected …")
    stale = bool(_STALE.search(out) or _STALE.search(err))
    if stale:
        return PushResult(False, "The branch changed since you started: nothing was "
                                 "changed, reload and try again.", stale=True)
    reason = ""
    for line in out.splitlines():
        if line.startswith("!"):
            reason = line.split("\t")[-1].strip()
    return PushResult(False, remote or reason or "The update was refused")
