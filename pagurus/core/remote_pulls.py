"""Pull requests from remote git repositories: every fetch goes through the
outgoing-address guard (``core.netguard``) first, and git is pinned to the
addresses the guard checked.

Slow remotes are fetched by the worker (``tasks.pulls.fetch_remote_pull``,
``refresh_remote_pull``); these functions are what those tasks run.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from pagurus.config import Settings
from pagurus.core import netguard
from pagurus.core import pulls as core_pulls
from pagurus.core.errors import InvalidInput
from pagurus.git import pulls as git_pulls
from pagurus.model import Project, PullRequest, User


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
