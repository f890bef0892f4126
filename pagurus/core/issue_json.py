"""Issue and issue-comment JSON (API v0 §3.3, §3.4), built for many issues at
once: a page of 100 issues costs a fixed handful of queries, not 100s."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from pagurus.core.serialize import epoch, project_json, user_json
from pagurus.core.tags import tag_json
from pagurus.db import in_ids
from pagurus.model import (
    BoardIssue,
    Issue,
    IssueComment,
    IssueCustomKey,
    IssueCustomValue,
    IssueDependency,
    IssueTag,
    PullRequest,
    PullRequestIssue,
    TagColored,
    User,
)

# built once: an alias computes its column collection on first use (~5 ms)
_PARENT = Issue.__table__.alias("parent")
_CHILD = Issue.__table__.alias("child")


def _user(user: User | None, base_url: str) -> dict[str, Any] | None:
    return user_json(user, base_url) if user is not None else None


def comment_json(comment: IssueComment, base_url: str) -> dict[str, Any]:
    return {
        "id": comment.id,
        "comment": comment.comment,
        "parent": comment.parent_id,
        "date_created": epoch(comment.date_created),
        "user": _user(comment.user, base_url),
        "edited_on": epoch(comment.edited_on),
        "editor": _user(comment.editor, base_url),
        "notification": comment.notification,
        "reactions": {k: list(v) for k, v in (comment.reactions or {}).items()},
    }


def issue_url(issue: Issue, base_url: str) -> str:
    return f"{base_url}/{issue.project.url_path}/issue/{issue.number}"


def issues_json(session: Session, issues: list[Issue], base_url: str, *,
                comments: bool = False, with_project: bool = False) -> list[dict[str, Any]]:
    ids = [i.id for i in issues]
    if not ids:
        return []
    tags: dict[int, list[str]] = defaultdict(list)
    for issue_id, name in session.execute(
            select(IssueTag.issue_id, TagColored.name).join(
                TagColored, TagColored.id == IssueTag.tag_id).where(
                in_ids(session, IssueTag.issue_id, ids))):
        tags[issue_id].append(name)
    depends: dict[int, list[int]] = defaultdict(list)
    blocks: dict[int, list[int]] = defaultdict(list)
    parent, child = _PARENT, _CHILD
    for child_id, parent_number, parent_id, child_number in session.execute(
            select(IssueDependency.child_id, parent.c.number, IssueDependency.parent_id,
                   child.c.number)
            .join(parent, parent.c.id == IssueDependency.parent_id)
            .join(child, child.c.id == IssueDependency.child_id)
            .where(in_ids(session, IssueDependency.child_id, ids)
                   | in_ids(session, IssueDependency.parent_id, ids))
    ):
        depends[child_id].append(parent_number)
        blocks[parent_id].append(child_number)
    custom: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for value, key in session.execute(
            select(IssueCustomValue, IssueCustomKey).join(
                IssueCustomKey, IssueCustomKey.id == IssueCustomValue.key_id).where(
                in_ids(session, IssueCustomValue.issue_id, ids)).order_by(IssueCustomKey.position,
                                                             IssueCustomKey.name)):
        custom[value.issue_id].append({"name": key.name, "key_type": key.key_type,
                                       "value": value.value, "key_data": key.data})
    on_boards: dict[int, list[dict[str, Any]]] = defaultdict(list)
    from pagurus.core.boards import board_issue_json

    for row in session.scalars(select(BoardIssue).where(in_ids(session, BoardIssue.issue_id, ids))
                               .options(selectinload(BoardIssue.board),
                                        selectinload(BoardIssue.status))):
        on_boards[row.issue_id].append(board_issue_json(row, base_url))
    related: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for issue_id, number, title in session.execute(
            select(PullRequestIssue.issue_id, PullRequest.number, PullRequest.title)
            .join(PullRequest, PullRequest.id == PullRequestIssue.pull_request_id)
            .where(in_ids(session, PullRequestIssue.issue_id, ids)).order_by(PullRequest.number)):
        related[issue_id].append({"id": number, "title": title})
    by_issue: dict[int, list[IssueComment]] = defaultdict(list)
    if comments:
        for c in session.scalars(select(IssueComment)
                                 .where(in_ids(session, IssueComment.issue_id, ids))
                                 .options(selectinload(IssueComment.user),
                                          selectinload(IssueComment.editor))
                                 .order_by(IssueComment.id)):
            by_issue[c.issue_id].append(c)

    out = []
    for issue in issues:
        data: dict[str, Any] = {
            "id": issue.number,
            "title": issue.title,
            "content": issue.content,
            "status": issue.status,
            "close_status": issue.close_status,
            "date_created": epoch(issue.date_created),
            "last_updated": epoch(issue.last_updated),
            "closed_at": epoch(issue.closed_at),
            "user": _user(issue.user, base_url),
            "private": issue.private,
            "tags": sorted(tags[issue.id]),
            "depends": [str(n) for n in sorted(depends[issue.id])],
            "blocks": [str(n) for n in sorted(blocks[issue.id])],
            "assignee": _user(issue.assignee, base_url),
            "priority": issue.priority,
            "milestone": issue.milestone,
            "custom_fields": custom[issue.id],
            "closed_by": _user(issue.closed_by, base_url),
            "related_prs": related[issue.id],
            "full_url": issue_url(issue, base_url),
            "comments": [comment_json(c, base_url) for c in by_issue[issue.id]],
        }
        if on_boards[issue.id]:
            data["boards"] = on_boards[issue.id]
        if with_project:
            data["project"] = project_json(issue.project, base_url)
        out.append(data)
    return out


def issue_json(session: Session, issue: Issue, base_url: str, *, comments: bool = True,
               with_project: bool = False) -> dict[str, Any]:
    return issues_json(session, [issue], base_url, comments=comments,
                       with_project=with_project)[0]


def tags_json(tags: list[TagColored]) -> list[dict[str, Any]]:
    return [tag_json(t) for t in tags]
