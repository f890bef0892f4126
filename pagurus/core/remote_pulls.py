"""Pull requests from remote git repositories: every fetch goes through the
outgoing-address guard (``core.netguard``) first, and git is pinned to the
addresses the guard checked.

Slow remotes are fetched by the worker (``tasks.pulls.fetch_remote_preview``,
``fetch_remote_pull``, ``refresh_remote_pull``); these functions are what
those tasks run.

Opening one from the web is two steps, as in Pagure: the worker fetches the
branch into a *preview* (:func:`fetch_preview`), the author reviews its
commits and diff and confirms (:func:`confirm_preview`), and only then the
pull request exists. A preview is a scratch bare repository of its own under
``<data>/run/remote-pulls/<token>/`` (the target's objects are borrowed
through ``objects/info/alternates``, so only what the remote adds is
downloaded) with a ``preview.json`` saying whose it is, for which project,
from where. Nothing lands in the target repository before the confirmation
— no ref, no object a clone could see — and confirming copies the branch
into ``refs/pull/<n>/head`` with a local fetch. A preview is removed when
it is confirmed or discarded; the ones never confirmed are removed once
older than :data:`PREVIEW_TTL` by every new fetch (:func:`sweep_previews`),
so they never pile up.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pygit2
from sqlalchemy.orm import Session

from pagurus.config import Settings
from pagurus.core import access, discussion, netguard
from pagurus.core import pulls as core_pulls
from pagurus.core.errors import InvalidInput, NotFound
from pagurus.git import pulls as git_pulls
from pagurus.git import refs as git_refs
from pagurus.model import Project, PullRequest, User

PREVIEW_TTL = 24 * 3600  # seconds an unconfirmed preview is kept
PREVIEW_DIR = ("run", "remote-pulls")
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
_FOLDER = re.compile(r"^[0-9a-f]{32}(\.claimed)?$")  # a preview, or one being confirmed
CLAIMED = ".claimed"


def check_remote(settings: Settings, url: Any) -> netguard.Remote:
    """The guard, with the instance's ``allow_local_remotes`` setting."""
    return netguard.check_url(url, allow_local=settings.allow_local_remotes)


def open_remote_pull(session: Session, settings: Settings, actor: User, target: Project, *,
                     remote_git: Any, branch_from: Any, branch_to: Any, title: Any,
                     base_url: str, initial_comment: Any = "") -> PullRequest:
    """Open a PR on ``target`` from ``branch_from`` of the repository at
    ``remote_git`` (refused before any connection when the guard says no)."""
    core_pulls.require_pulls(target)
    remote = check_remote(settings, remote_git)
    return core_pulls.create_pull(
        session, settings.data_dir, actor, target, branch_to=branch_to,
        branch_from=branch_from, title=title, base_url=base_url,
        initial_comment=initial_comment, remote_git=remote.url,
        remote_config=remote.git_config())


def refresh_remote_pull(session: Session, settings: Settings, actor: User, pr: PullRequest,
                        *, base_url: str) -> str | None:
    """Fetch the remote branch again and record what changed (the "N new
    commits added" / "rebased onto" comment). The PR's author or a committer."""
    core_pulls.require_pulls(pr.project)
    if not pr.remote_git:
        raise InvalidInput("This pull request is not from a remote repository")
    if pr.status != core_pulls.OPEN:
        raise InvalidInput("This pull request is not open")
    if not (core_pulls.can_comment(session, actor, pr) and (
            actor.id == pr.user_id or core_pulls.is_committer(session, actor, pr.project))):
        raise core_pulls.PullNotAllowed("You may not refresh this pull request")
    remote = check_remote(settings, pr.remote_git)
    repo = core_pulls.repo_of(settings.data_dir, pr.project)
    try:
        git_pulls.fetch_remote_head(repo, pr.number, remote.url, pr.branch_from,
                                    remote.git_config())
    except git_pulls.PullGitError as exc:
        raise InvalidInput(str(exc)) from exc
    return core_pulls.refresh_from_push(session, settings.data_dir, pr, agent=actor,
                                        base_url=base_url)


# -- preview, then confirm ----------------------------------------------------------------

class PreviewGone(NotFound):
    """The preview expired, was used or discarded, or is someone else's."""

    code = "ENOPREVIEW"


@dataclass(frozen=True)
class Preview:
    """A fetched remote branch waiting for its author's confirmation."""

    token: str
    project_id: int
    user_id: int
    url: str  # as the guard accepted it
    branch_from: str
    branch_to: str
    head: str
    title: str
    initial_comment: str
    created: float  # epoch seconds

    def repo_path(self, settings: Settings) -> Path:
        return preview_root(settings) / self.token / "repo.git"


def preview_root(settings: Settings) -> Path:
    return Path(settings.data_dir).joinpath(*PREVIEW_DIR)


def sweep_previews(settings: Settings, *, max_age: float = PREVIEW_TTL,
                   now: float | None = None) -> int:
    """Remove the previews older than ``max_age`` seconds (by their folder's
    time); returns how many went."""
    root = preview_root(settings)
    if not root.is_dir():
        return 0
    now = time.time() if now is None else now
    gone = 0
    for entry in root.iterdir():
        try:
            age = now - entry.stat().st_mtime
        except OSError:
            continue
        if _FOLDER.match(entry.name) and entry.is_dir() and age > max_age:
            shutil.rmtree(entry, ignore_errors=True)
            gone += 1
    return gone


def drop_preview(settings: Settings, token: str) -> None:
    """Remove preview ``token`` (discarded, or confirmed and committed)."""
    if _TOKEN.match(token or ""):
        root = preview_root(settings)
        shutil.rmtree(root / token, ignore_errors=True)
        shutil.rmtree(root / (token + CLAIMED), ignore_errors=True)


def _may_open(session: Session, actor: User, target: Project) -> None:
    core_pulls.require_pulls(target)
    if not discussion.may_act(actor, target) or not access.can_see(session, actor, target):
        raise core_pulls.PullNotAllowed("You may not open pull requests here")


def fetch_preview(session: Session, settings: Settings, actor: User, target: Project, *,
                  remote_git: Any, branch_from: Any, branch_to: Any, title: Any = "",
                  initial_comment: Any = "") -> Preview:
    """Fetch ``branch_from`` of ``remote_git`` (behind the guard) into a new
    preview of a pull request into ``branch_to`` of ``target``. The title may
    still be empty (the preview page offers a one-commit PR's message).
    Refuses what opening would refuse before any connection: rights, the
    address, the branch names, an unknown target branch; and a branch with
    nothing to merge, after the fetch."""
    _may_open(session, actor, target)
    remote = check_remote(settings, remote_git)
    branch_from = core_pulls._check_branch(branch_from, "branch_from")
    branch_to = core_pulls._check_branch(branch_to, "branch_to")
    title = discussion.check_title(title) if str(title or "").strip() else ""
    description = discussion.check_text("initial_comment", initial_comment or "",
                                        discussion.CONTENT_MAX, required=False)
    target_repo = core_pulls.repo_of(settings.data_dir, target)
    tip = git_pulls.branch_head(target_repo, branch_to)
    if tip is None and not git_refs.is_empty(target_repo):  # an empty target takes anything
        raise InvalidInput(f"Branch {branch_to} could not be found in the target repo",
                           errors={"branch_to": ["No such branch"]})
    sweep_previews(settings)
    token = uuid.uuid4().hex
    folder = preview_root(settings) / token
    try:
        folder.mkdir(parents=True, mode=0o700)
        repo = pygit2.init_repository(str(folder / "repo.git"), bare=True)
        alternates = Path(repo.path) / "objects" / "info" / "alternates"
        alternates.parent.mkdir(parents=True, exist_ok=True)
        alternates.write_text(str(Path(target_repo.path).resolve() / "objects") + "\n")
        try:
            head = git_pulls.fetch_remote_head(repo, 0, remote.url, branch_from,
                                               remote.git_config())
            repo.references.create(f"refs/heads/{branch_from}", pygit2.Oid(hex=head),
                                   force=True)
            ahead = tip is None or _has_new_commits(repo, tip.id, head)
        except (git_pulls.PullGitError, pygit2.GitError, ValueError) as exc:
            raise InvalidInput(str(exc), errors={"branch_from": [str(exc)]}) from exc
        if not ahead:
            raise InvalidInput("No commits to merge: the branches are the same",
                               errors={"branch_from": ["Nothing to merge"]})
        preview = Preview(token=token, project_id=target.id, user_id=actor.id, url=remote.url,
                          branch_from=branch_from, branch_to=branch_to, head=head,
                          title=title, initial_comment=description, created=time.time())
        (folder / "preview.json").write_text(json.dumps(asdict(preview)))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return preview


def _has_new_commits(repo: pygit2.Repository, tip: pygit2.Oid, head: str) -> bool:
    """``head`` has a commit the target branch (at ``tip``) lacks."""
    walker = repo.walk(pygit2.Oid(hex=head), pygit2.enums.SortMode.NONE)
    walker.hide(tip)
    return next(iter(walker), None) is not None


def load_preview(settings: Settings, actor: User | None, target: Project, token: Any
                 ) -> Preview:
    """``actor``'s preview ``token`` for ``target``, if still there and not
    older than :data:`PREVIEW_TTL`; anyone else's does not exist."""
    text = str(token or "")
    if actor is None or not _TOKEN.match(text):
        raise PreviewGone("This preview does not exist (any more)")
    try:
        data = json.loads((preview_root(settings) / text / "preview.json").read_text())
        preview = Preview(**data)
    except (OSError, ValueError, TypeError):
        raise PreviewGone("This preview does not exist (any more)") from None
    if (preview.user_id, preview.project_id) != (actor.id, target.id) or preview.token != text:
        raise PreviewGone("This preview does not exist (any more)")
    if time.time() - preview.created > PREVIEW_TTL:
        drop_preview(settings, text)
        raise PreviewGone("This preview has expired: fetch the branch again")
    return preview


def preview_repo(settings: Settings, preview: Preview) -> pygit2.Repository:
    """The preview's repository (it reads the target's objects too)."""
    try:
        return pygit2.Repository(str(preview.repo_path(settings)))
    except (pygit2.GitError, OSError) as exc:
        raise PreviewGone("This preview does not exist (any more)") from exc


def confirm_preview(session: Session, settings: Settings, actor: User, target: Project,
                    token: Any, *, title: Any, initial_comment: Any, base_url: str
                    ) -> PullRequest:
    """Open the pull request ``actor`` previewed, with the title and
    description of the confirmation form; every rule of
    ``core.pulls.create_pull`` applies again now. The preview is claimed
    first (a second confirmation of it finds nothing) and given back when
    refused; once the caller has committed it calls :func:`drop_preview`
    (a claimed preview left behind goes with the sweep)."""
    preview = load_preview(settings, actor, target, token)
    _may_open(session, actor, target)
    root = preview_root(settings)
    claimed = root / (preview.token + CLAIMED)
    try:
        (root / preview.token).rename(claimed)
    except OSError:
        raise PreviewGone("This preview does not exist (any more)") from None
    try:
        return core_pulls.create_pull(
            session, settings.data_dir, actor, target, branch_to=preview.branch_to,
            branch_from=preview.branch_from, title=title, base_url=base_url,
            initial_comment=initial_comment, remote_git=preview.url,
            remote_fetched=claimed / "repo.git")
    except BaseException:
        claimed.rename(root / preview.token)
        raise
