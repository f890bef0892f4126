"""Pull requests: who may see and act on one, and every change to one except
the git-heavy ones (merge, rebase: ``tasks.pulls``; refresh after a push:
``refresh_from_push`` here, called by the post-receive hook).

Same shape as ``core.issues``: validate everything, then apply; each change
records its event with Pagure's topic names and, for metadata, adds the
"Metadata Update" notification comment.

Differences from Pagure, on purpose:
- merging needs commit rights on the *target branch* (collaborator branch
  patterns are honoured), not just "committer somewhere";
- a comment is deleted by its author or a committer, edited by its author
  while the PR is open or by ticket access.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pygit2
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pagurus.core import access, discussion
from pagurus.core import activity as core_activity
from pagurus.core import issues as core_issues
from pagurus.core import tags as core_tags
from pagurus.core.access import Level
from pagurus.core.errors import ForgeError, InvalidInput, NotAllowed, NotFound
from pagurus.core.projects import project_payload, settings_of
from pagurus.core.pushrules import has_signed_off
from pagurus.events import outbox
from pagurus.git import pulls as git_pulls
from pagurus.git import refs as git_refs
from pagurus.model import (
    Issue,
    Project,
    PullRequest,
    PullRequestComment,
    PullRequestIssue,
    PullRequestWatcher,
    User,
    utcnow,
)
from pagurus.paths import repo_path

OPEN, MERGED, CLOSED = "Open", "Merged", "Closed"
STATUSES = (OPEN, MERGED, CLOSED)
BRANCH_MAX = 255
SIGNED_OFF_SETTING = "Enforce_signed-off_commits_in_pull-request"
MIN_SCORE_SETTING = "Minimum_score_to_merge_pull-request"
ONLY_ASSIGNEE_SETTING = "Only_assignee_can_merge_pull-request"
UP = re.compile(r"(?:^|\s)(?:\+1|:thumbsup:)(?=\s|$)")
DOWN = re.compile(r"(?:^|\s)(?:-1|:thumbsdown:)(?=\s|$)")


class PullsDisabled(ForgeError):
    code = "EPULLREQUESTSDISABLED"
    status = 404


class PullNotFound(NotFound):
    code = "ENOREQ"


class PullNotAllowed(NotAllowed):
    code = "EPRNOTALLOWED"
    status = 403


# -- switches and rights --------------------------------------------------------

def pulls_enabled(project: Project) -> bool:
    return bool(settings_of(project)["pull_requests"])


def require_pulls(project: Project) -> None:
    if not pulls_enabled(project):
        raise PullsDisabled("Pull-Request have been deactivated for this project")


def _level(session: Session, user: User | None, project: Project) -> Level:
    return access.level(session, user, project)


_may_act = discussion.may_act


def can_view(session: Session, user: User | None, pr: PullRequest) -> bool:
    return access.can_see(session, user, pr.project)


def can_comment(session: Session, user: User | None, pr: PullRequest) -> bool:
    return _may_act(user, pr.project) and can_view(session, user, pr)


def is_committer(session: Session, user: User | None, project: Project) -> bool:
    """Commit access (or more) on the project — collaborators do not count."""
    return _may_act(user, project) and _level(session, user, project) >= Level.COMMIT


def can_edit(session: Session, user: User | None, pr: PullRequest) -> bool:
    """Title, description, target branch: the author, the assignee, ticket access."""
    if not can_comment(session, user, pr) or user is None:
        return False
    return (user.id in (pr.user_id, pr.assignee_id)
            or _level(session, user, pr.project) >= Level.TICKET)


def can_tag(session: Session, user: User | None, pr: PullRequest) -> bool:
    if not can_comment(session, user, pr) or user is None:
        return False
    return user.id == pr.user_id or _level(session, user, pr.project) >= Level.TICKET


def can_assign(session: Session, user: User | None, pr: PullRequest) -> bool:
    if not can_comment(session, user, pr) or user is None:
        return False
    return user.id == pr.assignee_id or _level(session, user, pr.project) >= Level.TICKET


def can_close(session: Session, user: User | None, pr: PullRequest) -> bool:
    if not can_comment(session, user, pr) or user is None:
        return False
    return user.id == pr.user_id or is_committer(session, user, pr.project)


def can_merge(session: Session, user: User | None, pr: PullRequest) -> bool:
    """Rights only; the project's merge rules are checked by ``merge_refusal``."""
    return (can_comment(session, user, pr)
            and access.can_commit(session, user, pr.project, pr.branch))


def can_rebase(session: Session, user: User | None, pr: PullRequest) -> bool:
    if not can_comment(session, user, pr) or pr.remote_git:
        return False
    if pr.allow_rebase and is_committer(session, user, pr.project):
        return True
    source = pr.project_from
    return source is not None and access.can_commit(session, user, source, pr.branch_from)


def can_edit_comment(session: Session, user: User | None, comment: PullRequestComment) -> bool:
    pr = comment.pull_request
    if not can_comment(session, user, pr) or user is None or comment.notification:
        return False
    if _level(session, user, pr.project) >= Level.TICKET:
        return True
    return comment.user_id == user.id and pr.status == OPEN


def can_delete_comment(session: Session, user: User | None,
                       comment: PullRequestComment) -> bool:
    pr = comment.pull_request
    if not can_comment(session, user, pr) or user is None:
        return False
    if is_committer(session, user, pr.project):
        return True
    return comment.user_id == user.id and not comment.notification


def _require(allowed: bool, message: str = "You are not allowed to do this") -> None:
    if not allowed:
        raise PullNotAllowed(message)


# -- lookup --------------------------------------------------------------------

def get_pull(session: Session, viewer: User | None, project: Project, ident: Any) -> PullRequest:
    """By number (or uid); a PR the viewer may not see does not exist."""
    pr = None
    text = str(ident).strip()
    if text.isdigit() and len(text) < 10:
        pr = session.scalar(select(PullRequest).where(PullRequest.project_id == project.id,
                                                      PullRequest.number == int(text)))
    elif re.fullmatch(r"[0-9a-fA-F]{32}", text):
        pr = session.scalar(select(PullRequest).where(PullRequest.project_id == project.id,
                                                      PullRequest.uid == text.lower()))
    if pr is None or not can_view(session, viewer, pr):
        raise PullNotFound("Pull-Request not found")
    return pr


def get_comment(session: Session, pr: PullRequest, comment_id: Any) -> PullRequestComment:
    comment = None
    if str(comment_id).isdigit() and len(str(comment_id)) < 12:
        comment = session.get(PullRequestComment, int(comment_id))
    if comment is None or comment.pull_request_id != pr.id:
        raise NotFound("Comment not found", code="ENOCOMMENT")
    return comment


def open_pull_for_branch(session: Session, source: Project, branch: str) -> list[PullRequest]:
    """Open PRs whose source is ``branch`` of ``source`` (the push hook lists them)."""
    return list(session.scalars(select(PullRequest).where(
        PullRequest.project_from_id == source.id, PullRequest.branch_from == branch,
        PullRequest.status == OPEN).order_by(PullRequest.id)))


def same_family(a: Project, b: Project) -> bool:
    """Projects of one family: the same root through fork parents."""
    def root(p: Project) -> Project:
        seen = set()
        while p.parent is not None and p.id not in seen:
            seen.add(p.id)
            p = p.parent
        return p
    return root(a).id == root(b).id


# -- git -------------------------------------------------------------------------------

def repo_of(data_dir: Path, project: Project) -> pygit2.Repository:
    return pygit2.Repository(str(repo_path(data_dir, "main", project.fullname)))


def _check_branch(name: Any, field: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"Invalid {field}", errors={field: ["This field is required."]})
    name = name.strip()
    if (len(name) > BRANCH_MAX or name.startswith("-") or ".." in name
            or any(ord(c) < 32 or c in " ~^:?*[\\" for c in name)):
        raise InvalidInput(f"Invalid {field}", errors={field: ["Not a valid branch name"]})
    return name


def sync(session: Session, data_dir: Path, pr: PullRequest) -> git_pulls.Range:
    """Fetch the PR's head into the target repo and recompute its commit
    range (fork gone or remote: what ``refs/pull/<n>/head`` already holds)."""
    target_repo = repo_of(data_dir, pr.project)
    if pr.project_from is not None and not pr.remote_git:
        source = repo_path(data_dir, "main", pr.project_from.fullname)
        head = git_pulls.sync_head(target_repo, pr.number, source, pr.branch_from)
    else:
        try:
            head = str(target_repo.lookup_reference(git_pulls.pull_ref(pr.number)).target)
        except KeyError as exc:
            raise git_pulls.PullGitError("The pull request's commits are gone") from exc
    return git_pulls.commit_range(target_repo, pr.branch, head)


# -- events --------------------------------------------------------------------

def _event(session: Session, topic: str, pr: PullRequest, actor: User | None, base_url: str,
           **extra: Any) -> None:
    from pagurus.core.pull_json import pull_json

    payload = {"agent": actor.name if actor else None,
               "pullrequest": pull_json(session, pr, base_url, comments=False),
               "project": project_payload(pr.project), **extra}
    outbox.record(session, topic, payload, project_id=pr.project_id,
                  private=pr.project.private)


def _touch(pr: PullRequest) -> None:
    pr.last_updated = utcnow()


def system_comment(session: Session, actor: User, pr: PullRequest, text: str) -> None:
    pr.comments.append(PullRequestComment(pull_request_id=pr.id, user_id=actor.id,
                                          comment=text, notification=True))
    _touch(pr)
    session.flush()


# -- opening ---------------------------------------------------------------------

def check_signed_off(project: Project, commits: list[pygit2.Commit]) -> None:
    if not settings_of(project)[SIGNED_OFF_SETTING]:
        return
    unsigned = [str(c.id)[:8] for c in commits if not has_signed_off(c.message)]
    if unsigned:
        raise InvalidInput("This repo enforces that all commits are signed off by their "
                           "author. Not signed off: " + ", ".join(unsigned[:10]),
                           code="ENOSIGNEDOFF")


def create_pull(session: Session, data_dir: Path, actor: User, target: Project, *,
                branch_to: Any, branch_from: Any, title: Any, base_url: str,
                source: Project | None = None, initial_comment: Any = "",
                allow_rebase: bool = False, remote_git: str | None = None,
                remote_config: Sequence[str] = (), remote_fetched: Path | None = None
                ) -> PullRequest:
    """Open a PR from ``branch_from`` of ``source`` (default: ``target``; a
    project of the same family), or of the repository at ``remote_git``
    (fetched here; the caller has checked the URL against the outgoing
    address guard, ``core.netguard``, whose git options come as
    ``remote_config``) — or taken from the local repository ``remote_fetched``
    where it was fetched already (``core.remote_pulls``: a preview the
    author confirmed). Needs commit rights on the source project."""
    require_pulls(target)
    source = None if remote_git else (source or target)
    if not _may_act(actor, target) or not access.can_see(session, actor, target):
        raise PullNotAllowed("You may not open pull requests here")
    if source is not None:
        if not access.can_see(session, actor, source) or not same_family(source, target):
            raise InvalidInput("The source is not a fork of this project",
                               errors={"repo_from": ["Not of the same family"]})
        if not access.can_commit(session, actor, source):
            raise NotAllowed("You do not have sufficient permissions on the source project",
                             code="ENOTHIGHENOUGH")
    branch_to = _check_branch(branch_to, "branch_to")
    branch_from = _check_branch(branch_from, "branch_from")
    title = discussion.check_title(title)
    description = discussion.check_text("initial_comment", initial_comment or "",
                                    discussion.CONTENT_MAX, required=False)
    if source is not None and source.id == target.id and branch_from == branch_to:
        raise InvalidInput("The source and target branches are the same",
                           errors={"branch_from": ["Same as the target branch"]})
    target_repo = repo_of(data_dir, target)
    if git_pulls.branch_head(target_repo, branch_to) is None and not git_refs.is_empty(
            target_repo):
        raise InvalidInput(f"Branch {branch_to} could not be found in the target repo",
                           errors={"branch_to": ["No such branch"]})
    number = core_issues.next_number(session, target)
    try:
        if remote_git and remote_fetched is not None:
            head = git_pulls.sync_head(target_repo, number, remote_fetched, branch_from)
        elif remote_git:
            head = git_pulls.fetch_remote_head(target_repo, number, remote_git, branch_from,
                                               remote_config)
        else:
            assert source is not None
            head = git_pulls.sync_head(target_repo, number,
                                       repo_path(data_dir, "main", source.fullname), branch_from)
        span = git_pulls.commit_range(target_repo, branch_to, head)
    except git_pulls.PullGitError as exc:
        git_pulls.drop_head(target_repo, number)
        raise InvalidInput(str(exc), errors={"branch_from": [str(exc)]}) from exc
    try:
        if not span.commits:
            raise InvalidInput("No commits to merge: the branches are the same",
                               errors={"branch_from": ["Nothing to merge"]})
        check_signed_off(target, span.commits)
    except ForgeError:
        git_pulls.drop_head(target_repo, number)
        raise
    pr = PullRequest(uid=uuid.uuid4().hex, project_id=target.id, number=number, title=title,
                     initial_comment=description, branch=branch_to, branch_from=branch_from,
                     project_from_id=source.id if source else None, remote_git=remote_git,
                     commit_start=span.start, commit_stop=span.stop, status=OPEN,
                     allow_rebase=bool(allow_rebase), user_id=actor.id)
    session.add(pr)
    session.flush()
    session.refresh(pr)
    link_issues(session, pr, span.commits)
    _event(session, "pull-request.new", pr, actor, base_url)
    core_activity.log_ticket(session, target, actor, "created", number,
                             pull_request_uid=pr.uid)
    return pr


# -- related issues ------------------------------------------------------------------

def link_issues(session: Session, pr: PullRequest, commits: list[pygit2.Commit] | None = None,
                base_url: str = "") -> None:
    """Relate the PR to the target project's issues its description and
    commits mention ("Fixes #3", "relates to #4"); recomputed on each call."""
    from pagurus.core.magic_words import parse

    found: dict[int, str] = {}
    sources = [("description", pr.initial_comment or "")]
    sources += [("commit", c.message) for c in (commits or [])]
    for origin, text in sources:
        for ref in parse(text, base_url or "http://invalid.invalid"):
            if ref.path is None:
                found.setdefault(ref.number, origin)
    session.execute(delete(PullRequestIssue).where(PullRequestIssue.pull_request_id == pr.id))
    if found:
        for issue_id, number in session.execute(select(Issue.id, Issue.number).where(
                Issue.project_id == pr.project_id, Issue.number.in_(list(found)))):
            session.add(PullRequestIssue(pull_request_id=pr.id, issue_id=issue_id,
                                         origin=found[number]))
    session.flush()


def related_issues(session: Session, viewer: User | None, pr: PullRequest) -> list[Issue]:
    rows = session.scalars(select(Issue).join(
        PullRequestIssue, PullRequestIssue.issue_id == Issue.id).where(
        PullRequestIssue.pull_request_id == pr.id).order_by(Issue.number))
    return [i for i in rows if core_issues.can_view(session, viewer, i)]


# -- editing ---------------------------------------------------------------------------

def edit_pull(session: Session, actor: User, pr: PullRequest, *, base_url: str, title: Any,
              initial_comment: Any = None, branch_to: Any = None,
              allow_rebase: Any = None, data_dir: Path | None = None) -> bool:
    require_pulls(pr.project)
    _require(can_edit(session, actor, pr), "You may not edit this pull request")
    if pr.status != OPEN:
        raise InvalidInput("Only open pull requests can be edited")
    new_title = discussion.check_title(title)
    description = pr.initial_comment if initial_comment is None else discussion.check_text(
        "initial_comment", initial_comment, discussion.CONTENT_MAX, required=False)
    new_branch = pr.branch
    if branch_to not in (None, "") and branch_to != pr.branch:
        new_branch = _check_branch(branch_to, "branch_to")
        if data_dir is None or git_pulls.branch_head(repo_of(data_dir, pr.project),
                                                     new_branch) is None:
            raise InvalidInput(f"Branch {new_branch} could not be found in the target repo",
                               errors={"branch_to": ["No such branch"]})
    rebase = pr.allow_rebase
    if allow_rebase is not None and actor.id == pr.user_id:
        rebase = core_issues.parse_bool(allow_rebase, "allow_rebase")
    changed = (new_title, description, new_branch, rebase) != (
        pr.title, pr.initial_comment, pr.branch, pr.allow_rebase)
    if not changed:
        return False
    description_changed = description != pr.initial_comment
    pr.title, pr.initial_comment, pr.allow_rebase = new_title, description, rebase
    if new_branch != pr.branch:
        pr.branch = new_branch
        pr.merge_status = pr.merge_status_key = None
        if data_dir is not None:
            span = sync(session, data_dir, pr)
            pr.commit_start, pr.commit_stop = span.start, span.stop
    _touch(pr)
    link_issues(session, pr, base_url=base_url)
    if description_changed:
        _event(session, "pull-request.initial_comment.edited", pr, actor, base_url)
    return True


def add_comment(session: Session, actor: User, pr: PullRequest, text: Any, *, base_url: str,
                commit: Any = None, filename: Any = None, row: Any = None, tree_id: Any = None,
                parent: Any = None, trigger_ci: Iterable[str] = (),
                side: Any = None) -> PullRequestComment:
    """General comment, or inline when ``commit``, ``filename`` and ``row`` are given
    (line ``row`` of ``filename`` as it reads at ``commit``; ``side="old"``: a
    line of the old version, shown on the old side of the diff).
    ``trigger_ci``: the instance's CI trigger sentences (core.ci_trigger)."""
    require_pulls(pr.project)
    _require(can_comment(session, actor, pr), "You may not comment on this pull request")
    body = discussion.check_text("comment", text, discussion.COMMENT_MAX)
    inline = [v not in (None, "") for v in (commit, filename, row)]
    if any(inline) and not all(inline):
        raise InvalidInput("An inline comment needs commit, filename and row",
                           errors={"row": ["commit, filename and row go together"]})
    side = None if side in (None, "", "new") else side
    if side is not None and (side != "old" or not all(inline)):
        raise InvalidInput("Invalid side", errors={"side": ["old or new, on inline comments"]})
    line = None
    if all(inline):
        if not re.fullmatch(r"[0-9a-fA-F]{7,64}", str(commit)):
            raise InvalidInput("Invalid commit", errors={"commit": ["Not a commit id"]})
        if not str(row).isdigit() or len(str(row)) > 9:
            raise InvalidInput("Invalid row", errors={"row": ["Not a line number"]})
        if not isinstance(filename, str) or len(filename) > 4096 or "\x00" in filename:
            raise InvalidInput("Invalid filename", errors={"filename": ["Not a file name"]})
        line = int(row)
        if tree_id not in (None, "") and not re.fullmatch(r"[0-9a-fA-F]{7,64}", str(tree_id)):
            raise InvalidInput("Invalid tree_id", errors={"tree_id": ["Not a tree id"]})
    parent_id = get_comment(session, pr, parent).id if parent not in (None, "") else None
    comment = PullRequestComment(
        pull_request_id=pr.id, user_id=actor.id, comment=body, parent_id=parent_id,
        commit_id=str(commit).lower() if line is not None else None,
        tree_id=str(tree_id).lower() if line is not None and tree_id else None,
        filename=filename if line is not None else None, line=line, side=side)
    pr.comments.append(comment)
    _touch(pr)
    session.flush()
    from pagurus.core.pull_json import comment_json

    _event(session, "pull-request.comment.added", pr, actor, base_url,
           comment=comment_json(comment, base_url))
    core_activity.log_ticket(session, pr.project, actor, "commented", pr.number,
                             pull_request_uid=pr.uid)
    if trigger_ci:
        from pagurus.core import ci_trigger

        ci_trigger.note_comment(session, actor, pr, comment, trigger_ci, base_url=base_url)
    return comment


def edit_comment(session: Session, actor: User, comment: PullRequestComment, text: Any, *,
                 base_url: str) -> None:
    require_pulls(comment.pull_request.project)
    _require(can_edit_comment(session, actor, comment), "You may not edit this comment")
    body = discussion.check_text("comment", text, discussion.COMMENT_MAX)
    if body == comment.comment:
        return
    comment.comment, comment.edited_on, comment.editor_id = body, utcnow(), actor.id
    session.flush()
    from pagurus.core.pull_json import comment_json

    _event(session, "pull-request.comment.edited", comment.pull_request, actor, base_url,
           comment=comment_json(comment, base_url))


def delete_comment(session: Session, actor: User, comment: PullRequestComment) -> None:
    require_pulls(comment.pull_request.project)
    _require(can_delete_comment(session, actor, comment), "You may not delete this comment")
    pr = comment.pull_request
    _touch(pr)
    pr.comments.remove(comment)  # delete-orphan: the row goes too
    session.flush()


def react(session: Session, actor: User, comment: PullRequestComment, reaction: Any) -> None:
    require_pulls(comment.pull_request.project)
    _require(can_comment(session, actor, comment.pull_request), "You may not react here")
    discussion.add_reaction(comment, actor, reaction)


def unreact(session: Session, actor: User, comment: PullRequestComment, reaction: Any) -> bool:
    """Take ``actor``'s reaction back (whoever may comment); False when they
    had not given it."""
    require_pulls(comment.pull_request.project)
    _require(can_comment(session, actor, comment.pull_request), "You may not react here")
    return discussion.remove_reaction(comment, actor, reaction)


def update_metadata(session: Session, actor: User, pr: PullRequest, *, base_url: str,
                    tags: Any = discussion.UNSET, assignee: Any = discussion.UNSET
                    ) -> list[str]:
    """Tags (full replacement) and assignee; one notification comment."""
    require_pulls(pr.project)
    plan: list[tuple[str, Any]] = []
    if tags is not discussion.UNSET:
        _require(can_tag(session, actor, pr), "You may not tag this pull request")
        plan.append(("tags", core_tags.split_names(tags)))
    if assignee is not discussion.UNSET:
        _require(can_assign(session, actor, pr), "You may not assign this pull request")
        plan.append(("assignee", core_issues.resolve_user(session, assignee)))
    messages: list[str] = []
    for field, value in plan:
        if field == "tags":
            added, removed = discussion.change_tags(session, pr.project, pr, value)
            messages += discussion.announce_tags(
                lambda topic, **extra: _event(session, topic, pr, actor, base_url, **extra),
                "pull-request", "Pull-request", added, removed)
        else:
            user: User | None = value
            if (user.id if user else None) == pr.assignee_id:
                continue
            old = pr.assignee
            pr.assignee_id = user.id if user else None
            session.flush()
            session.refresh(pr, ["assignee"])
            if user is None:
                _event(session, "pull-request.assigned.reset", pr, actor, base_url)
                messages.append("Pull-request assignee reset")
            else:
                _event(session, "pull-request.assigned.added", pr, actor, base_url)
                was = f" (was: {old.name})" if old else ""
                messages.append(f"Pull-request assigned to {user.name}{was}")
    if messages:
        system_comment(session, actor, pr, discussion.metadata_comment(actor, messages))
    return messages


# -- closing -------------------------------------------------------------------------

def close(session: Session, actor: User, pr: PullRequest, *, base_url: str) -> bool:
    require_pulls(pr.project)
    _require(can_close(session, actor, pr), "You are not allowed to close this pull request")
    if pr.status != OPEN:
        return False
    pr.status, pr.closed_at, pr.closed_by_id = CLOSED, utcnow(), actor.id
    system_comment(session, actor, pr, f"Pull-Request has been closed by {actor.name}")
    _event(session, "pull-request.closed", pr, actor, base_url, merged=False)
    core_activity.log_ticket(session, pr.project, actor, "closed", pr.number,
                             pull_request_uid=pr.uid)
    return True


def reopen(session: Session, actor: User, pr: PullRequest, *, base_url: str) -> bool:
    require_pulls(pr.project)
    _require(can_close(session, actor, pr), "You are not allowed to reopen this pull request")
    if pr.status == MERGED:
        raise InvalidInput("A merged pull request cannot be reopened")
    if pr.status == OPEN:
        return False
    pr.status, pr.closed_at, pr.closed_by_id = OPEN, None, None
    pr.merge_status = pr.merge_status_key = None
    system_comment(session, actor, pr, f"Pull-Request has been reopened by {actor.name}")
    _event(session, "pull-request.reopened", pr, actor, base_url)
    core_activity.log_ticket(session, pr.project, actor, "open", pr.number,
                             pull_request_uid=pr.uid)
    return True


def mark_merged(session: Session, actor: User, pr: PullRequest, *, base_url: str,
                merge_commit: str | None = None) -> None:
    """Called by the merge task once the target branch holds the PR."""
    pr.status, pr.closed_at, pr.closed_by_id = MERGED, utcnow(), actor.id
    pr.merge_status = pr.merge_status_key = None
    system_comment(session, actor, pr, f"Pull-Request has been merged by {actor.name}")
    _event(session, "pull-request.closed", pr, actor, base_url, merged=True,
           merge_commit=merge_commit)
    core_activity.log_ticket(session, pr.project, actor, "merged", pr.number,
                             pull_request_uid=pr.uid)


# -- votes and merge rules -------------------------------------------------------

def score(pr: PullRequest) -> int:
    """Each user's latest vote in general comments: "+1"/":thumbsup:" or
    "-1"/":thumbsdown:" (-1 wins in a comment holding both)."""
    from sqlalchemy.orm import object_session

    session = object_session(pr)
    rows = session.execute(select(PullRequestComment.user_id, PullRequestComment.comment).where(
        PullRequestComment.pull_request_id == pr.id,
        PullRequestComment.notification.is_(False), PullRequestComment.line.is_(None))
        .order_by(PullRequestComment.id)).all() if session is not None else []
    votes: dict[int, int] = {}
    for user_id, text in rows:
        if DOWN.search(text):
            votes[user_id] = -1
        elif UP.search(text):
            votes[user_id] = 1
    return sum(votes.values())


def minimum_score(project: Project) -> int | None:
    try:
        value = int(settings_of(project)[MIN_SCORE_SETTING])
    except (TypeError, ValueError):
        return None
    return value if value > 0 else None


def threshold_reached(pr: PullRequest) -> bool | None:
    needed = minimum_score(pr.project)
    return None if needed is None else score(pr) >= needed


def merge_refusal(session: Session, actor: User | None, pr: PullRequest) -> ForgeError | None:
    """Why ``actor`` may not merge now (None: they may)."""
    if not pulls_enabled(pr.project):
        return PullsDisabled("Pull-Request have been deactivated for this project")
    if pr.status != OPEN:
        return InvalidInput("This pull request is not open")
    if not can_merge(session, actor, pr):
        return PullNotAllowed("You are not allowed to merge this pull request",
                              code="ENOPRCLOSE")
    if settings_of(pr.project)[ONLY_ASSIGNEE_SETTING]:
        if pr.assignee_id is None:
            return PullNotAllowed("This request must be assigned to be merged",
                                  code="ENOTASSIGNED")
        if actor is None or actor.id != pr.assignee_id:
            return PullNotAllowed("Only the assignee can merge this request",
                                  code="ENOTASSIGNEE")
    if threshold_reached(pr) is False:
        return PullNotAllowed("This request does not have the minimum review score "
                              "necessary to be merged", code="EPRSCORE")
    return None


def merge_status(session: Session, data_dir: Path, pr: PullRequest) -> tuple[str, list[str]]:
    """FFORWARD | MERGE | CONFLICTS | NO_CHANGE (+ conflicting files), cached
    on the PR for the pair (target tip, PR head) it was computed for."""
    target_repo = repo_of(data_dir, pr.project)
    tip = git_pulls.branch_head(target_repo, pr.branch)
    key = f"{tip.id if tip else '-'}:{pr.commit_stop or '-'}"
    if pr.merge_status and pr.merge_status_key == key:
        return pr.merge_status, list(pr.conflict_files or [])
    try:
        head = str(target_repo.lookup_reference(git_pulls.pull_ref(pr.number)).target)
    except KeyError:
        return "unknown", []
    check = git_pulls.merge_check(target_repo, pr.branch, head)
    pr.merge_status, pr.merge_status_key = check.status, key
    pr.conflict_files = list(check.conflicts)
    return check.status, list(check.conflicts)


# -- subscriptions ------------------------------------------------------------------

def set_subscription(session: Session, user: User, pr: PullRequest, watch: bool) -> None:
    require_pulls(pr.project)
    _require(can_comment(session, user, pr), "You may not watch this pull request")
    row = session.get(PullRequestWatcher, (pr.id, user.id))
    if row is None:
        session.add(PullRequestWatcher(pull_request_id=pr.id, user_id=user.id, watch=watch))
    else:
        row.watch = watch
    session.flush()


def subscribers(session: Session, pr: PullRequest) -> list[User]:
    """Who hears about the pull request (see ``discussion.subscriber_ids``:
    project watchers of commits) — minus those who may not see it."""
    ids = discussion.subscriber_ids(
        session, pr.project, author_id=pr.user_id, assignee_id=pr.assignee_id,
        commenter_ids=session.scalars(select(PullRequestComment.user_id).where(
            PullRequestComment.pull_request_id == pr.id,
            PullRequestComment.notification.is_(False))),
        watch_kind="commits",
        choices=dict(session.execute(select(PullRequestWatcher.user_id, PullRequestWatcher.watch)
                                     .where(PullRequestWatcher.pull_request_id == pr.id)).all()))
    return [u for u in discussion.users_by_id(session, ids) if can_view(session, u, pr)]


# -- after a push to the source branch ------------------------------------------------

def refresh_from_push(session: Session, data_dir: Path, pr: PullRequest, *, agent: User,
                      base_url: str) -> str | None:
    """Recompute the commit range after the source branch moved; adds the
    "N new commits added" or "rebased onto" comment. Returns what happened."""
    old_stop = pr.commit_stop
    span = sync(session, data_dir, pr)
    if span.stop == old_stop:
        return None
    repo = repo_of(data_dir, pr.project)
    rebased = bool(old_stop) and not (span.head == old_stop or _contains(repo, span.head,
                                                                         old_stop))
    pr.commit_start, pr.commit_stop = span.start, span.stop
    pr.updated_on = utcnow()
    pr.merge_status = pr.merge_status_key = None
    if rebased:
        text = f"rebased onto {span.base or span.head}"
        topic = "pull-request.rebased"
    else:
        new = [c for c in span.commits if old_stop is None or not _contains(repo, old_stop,
                                                                            str(c.id))]
        lines = "\n".join(f"* ``{c.message.splitlines()[0] if c.message else ''}``"
                          for c in new[:50])
        plural = "s" if len(new) != 1 else ""
        text = f"**{len(new)} new commit{plural} added**\n\n{lines}"
        topic = "pull-request.updated"
    system_comment(session, agent, pr, text)
    link_issues(session, pr, span.commits, base_url)
    _event(session, topic, pr, agent, base_url)
    return topic


def _contains(repo: pygit2.Repository, tip: str, commit: str) -> bool:
    """``commit`` is ``tip`` or one of its ancestors."""
    try:
        return tip == commit or repo.descendant_of(repo[tip].id, repo[commit].id)
    except (KeyError, ValueError, pygit2.GitError):
        return False
