"""Pull-request and pull-request-comment JSON (API v0 §3.5, §3.6)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from pagurus.core.serialize import epoch, project_json, user_json
from pagurus.model import PullRequest, PullRequestComment, User


def _user(user: User | None, base_url: str) -> dict[str, Any] | None:
    return user_json(user, base_url) if user is not None else None


def comment_json(comment: PullRequestComment, base_url: str) -> dict[str, Any]:
    return {
        "id": comment.id,
        "commit": comment.commit_id,
        "tree": comment.tree_id,
        "filename": comment.filename,
        "line": comment.line,
        # not in Pagure: the side of the diff of an inline comment ("new" or "old")
        "side": (comment.side or "new") if comment.line is not None else None,
        "comment": comment.comment,
        "parent": comment.parent_id,
        "date_created": epoch(comment.date_created),
        "user": _user(comment.user, base_url),
        "edited_on": epoch(comment.edited_on),
        "editor": _user(comment.editor, base_url),
        "notification": comment.notification,
        "reactions": {k: list(v) for k, v in (comment.reactions or {}).items()},
    }


def pull_url(pr: PullRequest, base_url: str) -> str:
    return f"{base_url}/{pr.project.url_path}/pull-request/{pr.number}"


def pull_json(session: Session, pr: PullRequest, base_url: str, *, comments: bool = True,
              public: bool = True) -> dict[str, Any]:
    from pagurus.core.pulls import threshold_reached

    return {
        "id": pr.number,
        "uid": pr.uid,
        "title": pr.title,
        "branch": pr.branch,
        "project": project_json(pr.project, base_url, public=public),
        "branch_from": pr.branch_from,
        "repo_from": project_json(pr.project_from, base_url, public=public)
        if pr.project_from is not None else None,
        "remote_git": pr.remote_git,
        "date_created": epoch(pr.date_created),
        "updated_on": epoch(pr.updated_on),
        "last_updated": epoch(pr.last_updated),
        "closed_at": epoch(pr.closed_at),
        "user": _user(pr.user, base_url),
        "assignee": _user(pr.assignee, base_url),
        "status": pr.status,
        "commit_start": pr.commit_start,
        "commit_stop": pr.commit_stop,
        "closed_by": _user(pr.closed_by, base_url),
        "initial_comment": pr.initial_comment,
        "cached_merge_status": pr.merge_status or "unknown",
        "threshold_reached": threshold_reached(pr),
        "tags": sorted(t.name for t in pr.tags),
        "full_url": pull_url(pr, base_url),
        "comments": [comment_json(c, base_url) for c in pr.comments] if comments else [],
    }
