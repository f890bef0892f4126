"""Branches, tags and branch aliases of a bare repository.

Reading: branches with their last commit and how far ahead/behind the
default branch they are; tags sorted by the tagged commit's date with the
annotation's subject and body (signature blocks removed).

Writing (admin actions through the API): create a branch or tag, move HEAD,
add or drop an alias (a symbolic ref under ``refs/heads/``). Names are checked
with ``core.projects.check_branch_name`` and always used as full ref names
(``refs/heads/<name>``), so no user input is ever read as an option or as
revision syntax.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pygit2

from pagurus.core.errors import InvalidInput
from pagurus.core.projects import check_branch_name

AHEAD_BEHIND_CAP = 10_000  # walks beyond this are reported as "more than"

_SIGNATURE = re.compile(
    r"\n?-----BEGIN (?:PGP|SSH) SIGNATURE-----\n.*?-----END (?:PGP|SSH) SIGNATURE-----\n?",
    re.DOTALL)


class RefError(Exception):
    """A ref change git refused (exists, missing source, not a commit…)."""

    def __init__(self, message: str, code: str = "ENOCODE") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def strip_signature(message: str) -> str:
    """A tag or commit message without its PGP/SSH signature block."""
    return _SIGNATURE.sub("\n", message).rstrip() + ("\n" if message.strip() else "")


def split_message(message: str) -> tuple[str, str]:
    """(subject, body) of a message."""
    text = message.strip("\n")
    subject, _, body = text.partition("\n")
    return subject.strip(), body.strip("\n")


# -- reading ------------------------------------------------------------------

def _is_symbolic(ref: pygit2.Reference) -> bool:
    return ref.type == pygit2.enums.ReferenceType.SYMBOLIC


def branch_names(repo: pygit2.Repository, with_aliases: bool = True) -> list[str]:
    """Names of the branches (aliases included unless ``with_aliases`` is false)."""
    out = []
    for name in repo.references:
        if not name.startswith("refs/heads/"):
            continue
        if not with_aliases and _is_symbolic(repo.references[name]):
            continue
        out.append(name[len("refs/heads/"):])
    return sorted(out)


def branch_heads(repo: pygit2.Repository) -> dict[str, list[str]]:
    """commit id → names of the branches whose head it is (for log badges)."""
    out: dict[str, list[str]] = {}
    for name in branch_names(repo, with_aliases=False):
        try:
            oid = str(repo.references[f"refs/heads/{name}"].target)
        except (KeyError, pygit2.GitError):
            continue
        out.setdefault(oid, []).append(name)
    return out


def branch_target(repo: pygit2.Repository, name: str) -> str | None:
    """The commit id a branch points to (through an alias too), or None."""
    try:
        ref = repo.references.get(f"refs/heads/{name}")
    except (ValueError, pygit2.GitError):
        return None
    if ref is None:
        return None
    try:
        return str(ref.resolve().target)
    except (KeyError, pygit2.GitError):
        return None


def default_branch(repo: pygit2.Repository, preferred: str | None) -> str | None:
    """``preferred`` if it exists, else what HEAD names if it exists, else None."""
    if preferred and branch_target(repo, preferred):
        return preferred
    try:
        head = repo.references["HEAD"].target
    except (KeyError, pygit2.GitError):
        return None
    if isinstance(head, str) and head.startswith("refs/heads/") and \
            branch_target(repo, head[len("refs/heads/"):]):
        return head[len("refs/heads/"):]
    return None


def _count_only(repo: pygit2.Repository, tip: str, hide: str, cap: int) -> int:
    walker = repo.walk(tip, pygit2.enums.SortMode.NONE)
    walker.hide(hide)
    n = 0
    for _ in walker:
        n += 1
        if n >= cap:
            break
    return n


def ahead_behind(repo: pygit2.Repository, branch: str, base: str,
                 cap: int = AHEAD_BEHIND_CAP) -> tuple[int, int]:
    """(commits on ``branch`` not on ``base``, commits on ``base`` not on
    ``branch``), each counted up to ``cap`` (``cap`` means "at least")."""
    if branch == base:
        return 0, 0
    return _count_only(repo, branch, base, cap), _count_only(repo, base, branch, cap)


@dataclass
class BranchInfo:
    name: str
    commit: str
    subject: str
    author: str
    author_email: str
    time: int
    is_default: bool
    ahead: int | None
    behind: int | None


def list_branches(repo: pygit2.Repository, default: str | None,
                  counter: Callable[[str, str], tuple[int, int]] | None = None,
                  ) -> list[BranchInfo]:
    """Every branch (aliases excluded) with its last commit and ahead/behind
    counts against ``default``; the default branch first, then newest first.
    ``counter(branch_id, base_id)`` replaces :func:`ahead_behind` (e.g. cached)."""
    base = branch_target(repo, default) if default else None
    out = []
    for name in branch_names(repo, with_aliases=False):
        oid = branch_target(repo, name)
        if oid is None:
            continue
        try:
            commit = repo[oid].peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError):
            continue
        ahead = behind = None
        if base is not None:
            ahead, behind = (counter or (lambda a, b: ahead_behind(repo, a, b)))(oid, base)
        subject, _ = split_message(_decode(commit.raw_message))
        out.append(BranchInfo(
            name=name, commit=oid, subject=subject, author=_decode(commit.author.raw_name),
            author_email=_decode(commit.author.raw_email), time=commit.commit_time,
            is_default=name == default, ahead=ahead, behind=behind))
    out.sort(key=lambda b: (not b.is_default, -b.time, b.name))
    return out


@dataclass
class TagInfo:
    name: str
    target: str  # peeled object id (a commit, or a tree/blob for odd tags)
    commit: str | None  # the tagged commit, None for tags on trees or blobs
    time: int  # the tagged commit's date, else the tagger's date, else 0
    annotated: bool
    subject: str
    body: str
    tagger: str


def list_tags(repo: pygit2.Repository) -> list[TagInfo]:
    """Every tag, newest tagged commit first (ties: by name)."""
    out = []
    for refname in repo.references:
        if not refname.startswith("refs/tags/"):
            continue
        name = refname[len("refs/tags/"):]
        try:
            obj = repo[repo.references[refname].resolve().target]
        except (KeyError, ValueError, pygit2.GitError):
            continue
        annotated = isinstance(obj, pygit2.Tag)
        subject = body = tagger = ""
        time = 0
        if annotated:
            subject, body = split_message(strip_signature(_decode(obj.raw_message or b"")))
            if obj.tagger is not None:
                tagger = _decode(obj.tagger.raw_name)
                time = obj.tagger.time
            try:
                target = obj.peel(pygit2.Object)
            except (pygit2.GitError, ValueError):
                target = obj
            while isinstance(target, pygit2.Tag):
                target = repo[target.target]
        else:
            target = obj
        commit = str(target.id) if isinstance(target, pygit2.Commit) else None
        if isinstance(target, pygit2.Commit):
            time = target.commit_time
        out.append(TagInfo(name=name, target=str(target.id), commit=commit, time=time,
                           annotated=annotated, subject=subject, body=body, tagger=tagger))
    out.sort(key=lambda t: (-t.time, t.name))
    return out


def aliases(repo: pygit2.Repository) -> dict[str, str]:
    """``{"refs/heads/<alias>": "refs/heads/<target>"}`` for every symbolic branch."""
    out = {}
    for name in repo.references:
        if name.startswith("refs/heads/"):
            ref = repo.references[name]
            if _is_symbolic(ref):
                out[name] = str(ref.target)
    return dict(sorted(out.items()))


# -- writing ------------------------------------------------------------------

def checked_name(name: str, field: str = "branch") -> str:
    """A branch or tag name safe to use under ``refs/heads/`` or ``refs/tags/``."""
    try:
        check_branch_name(name)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, errors={field: ["Not a valid git ref name."]}) \
            from exc
    if not pygit2.reference_is_valid_name(f"refs/heads/{name}"):
        raise InvalidInput(f"Invalid ref name {name!r}",
                           errors={field: ["Not a valid git ref name."]})
    return name


def _ref_exists(repo: pygit2.Repository, full: str) -> bool:
    try:
        return repo.references.get(full) is not None
    except (ValueError, pygit2.GitError):
        return False


def set_head(repo: pygit2.Repository, branch: str) -> None:
    """Make ``branch`` (an existing branch) the default: HEAD points to it."""
    checked_name(branch, "branch_name")
    if branch_target(repo, branch) is None:
        raise RefError(f"Branch {branch} not found", code="EBRANCHNOTFOUND")
    repo.references.create("HEAD", f"refs/heads/{branch}", force=True)


def commit_of(repo: pygit2.Repository, commit_id: str) -> pygit2.Commit:
    """The commit of a hex id (full or abbreviated, at least 4 digits)."""
    if not re.fullmatch(r"[0-9a-fA-F]{4,64}", commit_id or ""):
        raise RefError(f"No commit {commit_id!r}", code="ENOCOMMIT")
    try:
        obj = repo[commit_id] if len(commit_id) >= 40 else repo.revparse_single(commit_id)
        commit = obj.peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError) as exc:
        raise RefError(f"No commit {commit_id!r}", code="ENOCOMMIT") from exc
    return commit


def create_branch(repo: pygit2.Repository, name: str, commit: pygit2.Commit) -> None:
    """A new branch at ``commit``; an existing name or a clash with a ref
    folder (``a`` vs ``a/b``) is refused."""
    checked_name(name)
    full = f"refs/heads/{name}"
    if _ref_exists(repo, full):
        raise RefError(f"Branch {name} already exists")
    try:
        repo.references.create(full, commit.id, force=False)
    except (ValueError, OSError, pygit2.GitError, pygit2.AlreadyExistsError) as exc:
        raise RefError(f"Branch {name} could not be created: {exc}") from exc


def _sig_part(text: str) -> str:
    """A signature name/email without what would break the object header."""
    return re.sub(r"[<>\x00-\x1f]", "", text or "").strip()


def create_tag(repo: pygit2.Repository, name: str, commit: pygit2.Commit, message: str,
               tagger_name: str, tagger_email: str, force: bool = False) -> bool:
    """An annotated tag on ``commit``. Returns False (and changes nothing)
    when the tag exists and ``force`` is false."""
    checked_name(name, "tagname")
    full = f"refs/tags/{name}"
    if _ref_exists(repo, full):
        if not force:
            return False
    sig = pygit2.Signature(_sig_part(tagger_name) or "Pagurus",
                           _sig_part(tagger_email) or "pagurus@localhost")
    text = message if message.endswith("\n") or not message else message + "\n"
    try:
        if _ref_exists(repo, full):
            repo.references.delete(full)
        repo.create_tag(name, commit.id, pygit2.enums.ObjectType.COMMIT, sig, text)
    except (ValueError, OSError, pygit2.GitError) as exc:
        raise RefError(f"Tag {name} could not be created: {exc}", code="EGITERROR") from exc
    return True


def create_alias(repo: pygit2.Repository, alias: str, target: str) -> None:
    """``refs/heads/<alias>`` becomes a symbolic ref to ``refs/heads/<target>``."""
    checked_name(alias, "alias_from")
    checked_name(target, "alias_to")
    full_target = f"refs/heads/{target}"
    try:
        ref = repo.references.get(full_target)
    except (ValueError, pygit2.GitError):
        ref = None
    if ref is None or _is_symbolic(ref):
        raise RefError(f"Branch {target} not found", code="EBRANCHNOTFOUND")
    full = f"refs/heads/{alias}"
    if _ref_exists(repo, full):
        raise RefError(f"Branch or alias {alias} already exists")
    try:
        repo.references.create(full, full_target, force=False)
    except (ValueError, OSError, pygit2.GitError, pygit2.AlreadyExistsError) as exc:
        raise RefError(f"Alias {alias} could not be created: {exc}") from exc


def drop_alias(repo: pygit2.Repository, alias: str, target: str) -> None:
    """Remove the alias ``alias`` → ``target`` (a real branch is never removed)."""
    checked_name(alias, "alias_from")
    checked_name(target, "alias_to")
    full = f"refs/heads/{alias}"
    try:
        ref = repo.references.get(full)
    except (ValueError, pygit2.GitError):
        ref = None
    if ref is None or not _is_symbolic(ref) or str(ref.target) != f"refs/heads/{target}":
        raise RefError(f"Alias {alias} -> {target} not found", code="EBRANCHNOTFOUND")
    ref.delete()
