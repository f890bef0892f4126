"""Tickets: who may see and change an issue, and every change to one.

All surfaces (UI, API, email replies, commit magic words, boards) go through
these functions. Each change validates everything first and then applies,
so refused input changes nothing; each metadata change adds Pagure's
"Metadata Update" comment and records its event in the outbox.

Differences from Pagure, on purpose:
- a comment is deleted by its author or by someone with commit access, never
  by the issue's author (Pagure let the issue author delete anyone's comment);
- private issues are visible to the author, the assignee and ticket access
  or more, on every surface (Pagure's API left the assignee out).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import and_, delete, false, or_, select, update
from sqlalchemy.orm import Session

from pagurus.core import access, discussion
from pagurus.core import activity as core_activity
from pagurus.core import tags as core_tags
from pagurus.core.access import Level
from pagurus.core.errors import ForgeError, InvalidInput, NotAllowed, NotFound
from pagurus.core.projects import project_payload, settings_of
from pagurus.events import outbox
from pagurus.model import (
    Issue,
    IssueComment,
    IssueCustomKey,
    IssueCustomValue,
    IssueDependency,
    IssueTag,
    IssueWatcher,
    Project,
    TagColored,
    User,
    utcnow,
)

TITLE_MAX = discussion.TITLE_MAX
CONTENT_MAX = discussion.CONTENT_MAX
COMMENT_MAX = discussion.COMMENT_MAX
REACTION_MAX = discussion.REACTION_MAX
CUSTOM_VALUE_MAX = 2_000
CUSTOM_TYPES = ("text", "boolean", "date", "link", "list")
OPEN, CLOSED = "Open", "Closed"
METADATA_HEADER = discussion.METADATA_HEADER
BLOCKED_CLOSE = "You cannot close a ticket that has ticket depending that are still open."


class TrackerDisabled(ForgeError):
    code = "ETRACKERDISABLED"
    status = 404


class TrackerReadOnly(ForgeError):
    code = "ETRACKERREADONLY"
    status = 401


class IssueNotFound(NotFound):
    code = "ENOISSUE"


class IssueNotAllowed(NotAllowed):
    code = "EISSUENOTALLOWED"
    status = 403


# -- the tracker and who may do what -----------------------------------------

def tracker_enabled(project: Project) -> bool:
    return bool(settings_of(project)["issue_tracker"])


def tracker_read_only(project: Project) -> bool:
    return bool(settings_of(project)["issue_tracker_read_only"])


def require_tracker(project: Project, *, write: bool = False) -> None:
    """Disabled tracker: 404 for everything; read-only: refuse every change."""
    if not tracker_enabled(project):
        raise TrackerDisabled("Issue tracker disabled")
    if write and tracker_read_only(project):
        raise TrackerReadOnly("The issue tracker of this project is read-only")


def _level(session: Session, user: User | None, project: Project) -> Level:
    return access.level(session, user, project)


def can_view(session: Session, user: User | None, issue: Issue) -> bool:
    if not issue.private:
        return True
    if user is None:
        return False
    return (user.id in (issue.user_id, issue.assignee_id)
            or _level(session, user, issue.project) >= Level.TICKET)


def visible_clause(session: Session, viewer: User | None, project: Project) -> Any:
    """SQL condition: the project's issues ``viewer`` may see."""
    if viewer is not None and _level(session, viewer, project) >= Level.TICKET:
        return Issue.project_id == project.id
    own = false() if viewer is None else or_(Issue.user_id == viewer.id,
                                             Issue.assignee_id == viewer.id)
    return and_(Issue.project_id == project.id, or_(Issue.private == false(), own))


def _may_act(session: Session, user: User | None, project: Project) -> bool:
    """Logged in, not blocked on the site or the project."""
    return discussion.may_act(user, project)


def can_create(session: Session, user: User | None, project: Project) -> bool:
    return (_may_act(session, user, project) and tracker_enabled(project)
            and not tracker_read_only(project))


def can_comment(session: Session, user: User | None, issue: Issue) -> bool:
    return can_create(session, user, issue.project) and can_view(session, user, issue)


def can_edit_metadata(session: Session, user: User | None, issue: Issue) -> bool:
    """Tags, milestone, priority, custom fields, dependencies, assignee."""
    if not can_comment(session, user, issue):
        return False
    if settings_of(issue.project)["open_metadata_access_to_all"]:
        return True
    return _level(session, user, issue.project) >= Level.TICKET


def can_assign(session: Session, user: User | None, issue: Issue) -> bool:
    """Also the current assignee (to hand the issue over or drop it)."""
    return can_edit_metadata(session, user, issue) or bool(
        can_comment(session, user, issue) and user and user.id == issue.assignee_id)


def can_change_status(session: Session, user: User | None, issue: Issue) -> bool:
    """Ticket access (or open metadata), or the assignee — not the author, as
    in Pagure's API: a reporter asks, the project decides."""
    return can_edit_metadata(session, user, issue) or bool(
        can_comment(session, user, issue) and user and user.id == issue.assignee_id)


def can_edit(session: Session, user: User | None, issue: Issue) -> bool:
    """Title and description: the author, or ticket access."""
    return can_comment(session, user, issue) and bool(user) and (
        user.id == issue.user_id or _level(session, user, issue.project) >= Level.TICKET)


def can_delete(session: Session, user: User | None, issue: Issue) -> bool:
    return (_may_act(session, user, issue.project)
            and _level(session, user, issue.project) >= Level.COMMIT)


def can_edit_comment(session: Session, user: User | None, comment: IssueComment) -> bool:
    """The comment's author while the issue is open, or ticket access."""
    issue = comment.issue
    if not can_comment(session, user, issue) or user is None:
        return False
    if _level(session, user, issue.project) >= Level.TICKET:
        return True
    return comment.user_id == user.id and issue.status == OPEN and not comment.notification


def can_delete_comment(session: Session, user: User | None, comment: IssueComment) -> bool:
    """The comment's author, or commit access (moderation)."""
    issue = comment.issue
    if not can_comment(session, user, issue) or user is None:
        return False
    if _level(session, user, issue.project) >= Level.COMMIT:
        return True
    return comment.user_id == user.id and not comment.notification


def _require(allowed: bool, message: str = "You are not allowed to do this") -> None:
    if not allowed:
        raise IssueNotAllowed(message)


# -- lookup ---------------------------------------------------------------

def get_issue(session: Session, viewer: User | None, project: Project, ident: Any, *,
              by_uid: bool = True) -> Issue:
    """The issue numbered ``ident`` (or with that uid); an issue the viewer may
    not see does not exist for them."""
    issue: Issue | None = None
    text = str(ident).strip()
    if text.isdigit() and len(text) < 10:
        issue = session.scalar(select(Issue).where(Issue.project_id == project.id,
                                                   Issue.number == int(text)))
    elif by_uid and re.fullmatch(r"[0-9a-fA-F]{32}", text):
        issue = session.scalar(select(Issue).where(Issue.project_id == project.id,
                                                   Issue.uid == text.lower()))
    if issue is None or not can_view(session, viewer, issue):
        raise IssueNotFound("Issue not found")
    return issue


def get_comment(session: Session, issue: Issue, comment_id: Any) -> IssueComment:
    comment = None
    if str(comment_id).isdigit() and len(str(comment_id)) < 12:
        comment = session.get(IssueComment, int(comment_id))
    if comment is None or comment.issue_id != issue.id:
        raise NotFound("Comment not found", code="ENOCOMMENT")
    return comment


def next_number(session: Session, project: Project) -> int:
    """The project's next issue/pull-request number; the row update serializes
    concurrent creators on both SQLite and PostgreSQL."""
    session.execute(update(Project).where(Project.id == project.id)
                    .values(last_number=Project.last_number + 1)
                    .execution_options(synchronize_session=False))
    number = session.scalar(select(Project.last_number).where(Project.id == project.id))
    session.expire(project, ["last_number"])
    return int(number or 0)


# -- validation -----------------------------------------------------------

_text = discussion.check_text
check_title = discussion.check_title


def parse_bool(value: Any, field: str = "private") -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = str(value).strip().lower()
    if text in ("1", "true", "t", "y", "yes", "on"):
        return True
    if text in ("", "0", "false", "f", "n", "no", "off"):
        return False
    raise InvalidInput(f"Invalid {field}", errors={field: ["Not a valid choice"]})


def resolve_priority(project: Project, value: Any) -> int | None:
    """A priority key (weight) or its title, case-insensitive; '' resets."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    priorities = {str(k): str(v) for k, v in (project.priorities or {}).items() if str(k) != ""}
    text = str(value).strip()
    for key, title in priorities.items():
        if text == key or text.lower() == title.lower():
            try:
                return int(key)
            except ValueError:
                break
    raise InvalidInput("Invalid priority submitted", code="EINVALIDPRIORITY",
                       errors={"priority": ["Not a valid choice"]})


def priority_title(project: Project, weight: int | None) -> str | None:
    if weight is None:
        return None
    return str((project.priorities or {}).get(str(weight), weight))


def resolve_milestone(project: Project, value: Any, *, active_only: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    milestones = project.milestones or {}
    if not isinstance(value, str) or value.strip() not in milestones:
        raise InvalidInput("Invalid milestone", errors={"milestone": ["Not a valid choice"]})
    name = value.strip()
    if active_only and not (milestones[name] or {}).get("active", True):
        raise InvalidInput("Inactive milestone", errors={"milestone": ["Not a valid choice"]})
    return name


def resolve_user(session: Session, value: Any, field: str = "assignee") -> User | None:
    from pagurus.core.users import get_user

    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    user = get_user(session, value.strip()) if isinstance(value, str) else None
    if user is None:
        raise InvalidInput("No such user found", errors={field: ["No such user found"]})
    return user


def resolve_status(project: Project, status: Any, close_status: Any = None
                   ) -> tuple[str, str | None]:
    """(``Open``|``Closed``, close status): a close-status name given as
    ``status`` closes with it; a close status must be one of the project's."""
    statuses = list(project.close_status or [])
    text = status.strip() if isinstance(status, str) else ""
    cs = close_status.strip() if isinstance(close_status, str) and close_status.strip() else None
    if text.lower() == "open":
        return OPEN, None
    if text.lower() == "closed" or (not text and cs):
        pass
    elif text in statuses:
        cs = cs or text
    else:
        raise InvalidInput("Invalid status", errors={"status": ["Not a valid choice"]})
    if cs is not None and cs not in statuses:
        raise InvalidInput("Invalid close status",
                           errors={"close_status": ["Not a valid choice"]})
    return CLOSED, cs


def parse_numbers(value: Any, field: str) -> list[int]:
    """Issue numbers given as a list or a comma-separated string (``#`` allowed)."""
    if value is None:
        return []
    items: Iterable[Any] = value.split(",") if isinstance(value, str) else value
    out: list[int] = []
    for item in items:
        text = str(item).strip().lstrip("#")
        if not text:
            continue
        if not text.isdigit() or len(text) > 9:
            raise InvalidInput(f"Invalid {field}",
                               errors={field: [f"Not an issue number: {text[:20]}"]})
        if int(text) not in out:
            out.append(int(text))
    return out


_URL_HOSTS = ("http", "https")


def check_custom_value(key: IssueCustomKey, value: Any) -> str | None:
    """The stored form of ``value`` for the field; None (empty) resets it."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) and key.key_type == "boolean":
        return "true" if value else None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise _bad_field(key, "Invalid value")
    text = str(value).strip()
    if len(text) > CUSTOM_VALUE_MAX or "\x00" in text:
        raise _bad_field(key, "Value too long")
    if key.key_type == "boolean":
        return "true" if parse_bool(text, key.name) else None
    if key.key_type == "date":
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise _bad_field(key, "A date as YYYY-MM-DD") from None
    if key.key_type == "link":
        links = [part.strip() for part in text.split(",") if part.strip()]
        for link in links:
            parts = urlsplit(link)
            if parts.scheme not in _URL_HOSTS or not parts.netloc or any(c.isspace() for c in link):
                raise InvalidInput(f"Invalid link for {key.name}: {link[:100]}",
                                   code="EINVALIDISSUEFIELD_LINK",
                                   errors={key.name: ["Comma-separated http(s) URLs"]})
        return ", ".join(links)
    if key.key_type == "list":
        if text not in [str(o) for o in (key.data or [])]:
            raise _bad_field(key, "Not one of the options")
        return text
    return text


def _bad_field(key: IssueCustomKey, message: str) -> InvalidInput:
    return InvalidInput(f"Invalid value for {key.name}: {message}", code="EINVALIDISSUEFIELD",
                        errors={key.name: [message]})


def custom_keys(session: Session, project: Project) -> list[IssueCustomKey]:
    return list(session.scalars(select(IssueCustomKey).where(
        IssueCustomKey.project_id == project.id).order_by(IssueCustomKey.position,
                                                          IssueCustomKey.name)))


def find_custom_key(session: Session, project: Project, name: Any) -> IssueCustomKey:
    if isinstance(name, str):
        for key in custom_keys(session, project):
            if key.name == name:
                return key
    raise InvalidInput(f"Invalid custom field submitted: {str(name)[:100]}",
                       code="EINVALIDISSUEFIELD", errors={"field": ["Unknown field"]})


# -- events -----------------------------------------------------------------

def _event(session: Session, topic: str, issue: Issue, actor: User | None, base_url: str,
           **extra: Any) -> None:
    from pagurus.core.issue_json import issue_json

    payload = {"agent": actor.name if actor else None,
               "issue": issue_json(session, issue, base_url, comments=False),
               "project": project_payload(issue.project), **extra}
    outbox.record(session, topic, payload, project_id=issue.project_id,
                  private=issue.private or issue.project.private)


def _touch(issue: Issue) -> None:
    issue.last_updated = utcnow()


# -- creating, editing, deleting ---------------------------------------------

def create_issue(session: Session, actor: User, project: Project, *, title: Any, content: Any,
                 base_url: str, private: Any = None, priority: Any = None,
                 milestone: Any = None, tags: Any = None, assignee: Any = None,
                 custom: dict[str, Any] | None = None) -> Issue:
    """Metadata (priority, milestone, tags, assignee, custom fields) is kept
    only from those who may edit metadata; others' is ignored, as in Pagure."""
    require_tracker(project, write=True)
    _require(can_create(session, actor, project), "You may not open issues here")
    title = check_title(title)
    content = _text("issue_content", content, CONTENT_MAX)
    is_private = (parse_bool(private) if private is not None
                  else bool(settings_of(project)["issues_default_to_private"]))
    meta_ok = (settings_of(project)["open_metadata_access_to_all"]
               or _level(session, actor, project) >= Level.TICKET)
    weight = resolve_priority(project, priority) if meta_ok else None
    if weight is None and meta_ok and priority in (None, ""):
        default = project.default_priority
        weight = resolve_priority(project, default) if default else None
    stone = resolve_milestone(project, milestone, active_only=True) if meta_ok else None
    tag_names = core_tags.split_names(tags) if meta_ok else []
    owner = resolve_user(session, assignee) if meta_ok else None
    values: list[tuple[IssueCustomKey, str]] = []
    for name, raw in (custom or {}).items() if meta_ok else ():
        key = find_custom_key(session, project, name)
        stored = check_custom_value(key, raw)
        if stored is not None:
            values.append((key, stored))
    issue = Issue(uid=uuid.uuid4().hex, project_id=project.id,
                  number=next_number(session, project), title=title, content=content,
                  status=OPEN, private=is_private, user_id=actor.id,
                  assignee_id=owner.id if owner else None, priority=weight, milestone=stone)
    session.add(issue)
    session.flush()
    issue.tags = core_tags.resolve(session, project, tag_names, create=True)
    for key, stored in values:
        session.add(IssueCustomValue(issue_id=issue.id, key_id=key.id, value=stored))
    session.flush()
    if tag_names:
        from pagurus.core import boards

        boards.on_tags_changed(session, actor, issue, added=issue.tags, removed=[])
    _event(session, "issue.new", issue, actor, base_url)
    core_activity.log_ticket(session, project, actor, "created", issue.number,
                             issue_uid=issue.uid, private=issue.private)
    return issue


def edit_issue(session: Session, actor: User, issue: Issue, *, base_url: str, title: Any,
               content: Any, private: Any = None) -> bool:
    require_tracker(issue.project, write=True)
    _require(can_edit(session, actor, issue), "You may not edit this issue")
    title = check_title(title)
    content = _text("issue_content", content, CONTENT_MAX)
    is_private = issue.private if private is None else parse_bool(private)
    fields = []
    if title != issue.title:
        fields.append("title")
    if content != issue.content:
        fields.append("content")
    if is_private != issue.private:
        fields.append("private")
    if not fields:
        return False
    issue.title, issue.content, issue.private = title, content, is_private
    _touch(issue)
    _event(session, "issue.edit", issue, actor, base_url, fields=fields)
    return True


def drop_issue(session: Session, actor: User, issue: Issue, *, base_url: str) -> None:
    require_tracker(issue.project, write=True)
    _require(can_delete(session, actor, issue), "Only committers may delete an issue")
    _event(session, "issue.drop", issue, actor, base_url)
    session.delete(issue)
    session.flush()


# -- comments --------------------------------------------------------------

def add_comment(session: Session, actor: User, issue: Issue, text: Any, *, base_url: str,
                parent: Any = None, notification: bool = False,
                check: bool = True) -> IssueComment:
    """``check=False`` is for system comments written on behalf of ``actor``
    after the caller has checked the change they describe."""
    if check:
        require_tracker(issue.project, write=True)
        _require(can_comment(session, actor, issue), "You may not comment on this issue")
    body = _text("comment", text, COMMENT_MAX)
    parent_id = None
    if parent not in (None, ""):
        parent_id = get_comment(session, issue, parent).id
    comment = IssueComment(issue_id=issue.id, user_id=actor.id, comment=body,
                           parent_id=parent_id, notification=notification)
    session.add(comment)
    _touch(issue)
    session.flush()
    if not notification:
        from pagurus.core.issue_json import comment_json

        _event(session, "issue.comment.added", issue, actor, base_url,
               comment=comment_json(comment, base_url))
        core_activity.log_ticket(session, issue.project, actor, "commented", issue.number,
                                 issue_uid=issue.uid, private=issue.private)
    return comment


def edit_comment(session: Session, actor: User, comment: IssueComment, text: Any, *,
                 base_url: str) -> None:
    require_tracker(comment.issue.project, write=True)
    _require(can_edit_comment(session, actor, comment), "You may not edit this comment")
    body = _text("comment", text, COMMENT_MAX)
    if body == comment.comment:
        return
    comment.comment = body
    comment.edited_on = utcnow()
    comment.editor_id = actor.id
    session.flush()
    from pagurus.core.issue_json import comment_json

    _event(session, "issue.comment.edited", comment.issue, actor, base_url,
           comment=comment_json(comment, base_url))


def delete_comment(session: Session, actor: User, comment: IssueComment) -> None:
    require_tracker(comment.issue.project, write=True)
    _require(can_delete_comment(session, actor, comment), "You may not delete this comment")
    _touch(comment.issue)
    session.delete(comment)
    session.flush()


def react(session: Session, actor: User, comment: IssueComment, reaction: Any) -> None:
    """Add ``actor``'s reaction; giving the same one twice is a conflict (409)."""
    require_tracker(comment.issue.project, write=True)
    _require(can_comment(session, actor, comment.issue), "You may not react here")
    discussion.add_reaction(comment, actor, reaction)


def unreact(session: Session, actor: User, comment: IssueComment, reaction: Any) -> bool:
    require_tracker(comment.issue.project, write=True)
    return discussion.remove_reaction(comment, actor, reaction)


# -- metadata ----------------------------------------------------------------

_UNSET: Any = discussion.UNSET


def update_metadata(session: Session, actor: User, issue: Issue, *, base_url: str,
                    status: Any = _UNSET, close_status: Any = _UNSET, priority: Any = _UNSET,
                    milestone: Any = _UNSET, private: Any = _UNSET, tags: Any = _UNSET,
                    add_tags: Any = _UNSET, remove_tags: Any = _UNSET,
                    assignee: Any = _UNSET, depends: Any = _UNSET, blocks: Any = _UNSET,
                    custom: dict[str, Any] | None = None, comment: Any = None,
                    notify: bool = True) -> list[str]:
    """Apply the given changes (only the arguments passed), each checked
    against the actor's rights; returns the change messages (empty: nothing
    changed). ``tags``/``depends``/``blocks`` replace the whole list."""
    project = issue.project
    require_tracker(project, write=True)
    _require(can_view(session, actor, issue), "You may not change this issue")
    plan: list[tuple[str, Any]] = []  # validated, applied afterwards

    if status is not _UNSET or close_status is not _UNSET:
        _require(can_change_status(session, actor, issue), "You may not change the status")
        if status is _UNSET or status in (None, ""):
            new_status, new_cs = (resolve_status(project, None, close_status)
                                  if close_status not in (_UNSET, None, "")
                                  else (issue.status, issue.close_status))
        else:
            new_status, new_cs = resolve_status(
                project, status, None if close_status is _UNSET else close_status)
        if new_status == CLOSED and issue.status == OPEN:
            open_parents = session.scalar(
                select(Issue.id).join(IssueDependency, IssueDependency.parent_id == Issue.id)
                .where(IssueDependency.child_id == issue.id, Issue.status == OPEN).limit(1))
            if open_parents is not None:
                raise InvalidInput(BLOCKED_CLOSE, code="ENOCODE")
        plan.append(("status", (new_status, new_cs)))

    meta_fields = (priority, milestone, tags, add_tags, remove_tags, depends, blocks)
    if any(v is not _UNSET for v in meta_fields) or custom or private is not _UNSET:
        _require(can_edit_metadata(session, actor, issue), "You may not edit this issue's metadata")
    if assignee is not _UNSET:
        _require(can_assign(session, actor, issue), "You may not assign this issue")
        plan.append(("assignee", resolve_user(session, assignee)))
    if priority is not _UNSET:
        plan.append(("priority", resolve_priority(project, priority)))
    if milestone is not _UNSET:
        plan.append(("milestone", resolve_milestone(project, milestone)))
    if private is not _UNSET:
        plan.append(("private", parse_bool(private)))
    if tags is not _UNSET or add_tags is not _UNSET or remove_tags is not _UNSET:
        current = [t.name for t in issue.tags]
        wanted = core_tags.split_names(tags) if tags is not _UNSET else list(current)
        if add_tags is not _UNSET:
            wanted += [n for n in core_tags.split_names(add_tags)
                       if n.lower() not in (w.lower() for w in wanted)]
        if remove_tags is not _UNSET:
            gone = {n.lower() for n in core_tags.split_names(remove_tags)}
            wanted = [w for w in wanted if w.lower() not in gone]
        plan.append(("tags", wanted))
    for kind, value in (("depends", depends), ("blocks", blocks)):
        if value is not _UNSET:
            numbers = parse_numbers(value, kind)
            if issue.number in numbers:
                raise InvalidInput("An issue cannot depend on itself",
                                   errors={kind: ["An issue cannot depend on itself"]})
            others = {i.number: i for i in session.scalars(select(Issue).where(
                Issue.project_id == project.id, Issue.number.in_(numbers)))} if numbers else {}
            missing = [n for n in numbers if n not in others
                       or not can_view(session, actor, others[n])]
            if missing:
                raise InvalidInput(f"Issue #{missing[0]} not found",
                                   errors={kind: [f"No issue #{n}" for n in missing]})
            plan.append((kind, [others[n] for n in numbers]))
    for name, raw in (custom or {}).items():
        key = find_custom_key(session, project, name)
        plan.append(("custom", (key, check_custom_value(key, raw))))
    note = None
    if comment not in (None, ""):
        note = _text("comment", comment, COMMENT_MAX)

    messages: list[str] = []
    for field, value in plan:
        messages += _apply(session, actor, issue, field, value, base_url)
    if messages:
        _touch(issue)
        if notify:
            add_comment(session, actor, issue, discussion.metadata_comment(actor, messages),
                        base_url=base_url, notification=True, check=False)
    if note is not None:
        add_comment(session, actor, issue, note, base_url=base_url)
    return messages


def _apply(session: Session, actor: User, issue: Issue, field: str, value: Any,
           base_url: str) -> list[str]:
    project = issue.project
    if field == "status":
        new_status, new_cs = value
        out = []
        if new_status != issue.status:
            out.append(f"Issue status updated to: {new_status} (was: {issue.status})")
            issue.status = new_status
            if new_status == CLOSED:
                issue.closed_at, issue.closed_by_id = utcnow(), actor.id
                core_activity.log_ticket(session, project, actor, "closed", issue.number,
                                         issue_uid=issue.uid, private=issue.private)
            else:
                issue.closed_at = issue.closed_by_id = None
                core_activity.log_ticket(session, project, actor, "open", issue.number,
                                         issue_uid=issue.uid, private=issue.private)
        if new_cs != issue.close_status:
            if new_cs:
                was = f" (was: {issue.close_status})" if issue.close_status else ""
                out.append(f"Issue close_status updated to: {new_cs}{was}")
            issue.close_status = new_cs
        if out:
            _event(session, "issue.edit", issue, actor, base_url, fields=["status", "close_status"])
        return out
    if field == "assignee":
        user: User | None = value
        old = issue.assignee
        if (user.id if user else None) == issue.assignee_id:
            return []
        issue.assignee_id = user.id if user else None
        session.flush()
        session.refresh(issue, ["assignee"])
        if user is None:
            _event(session, "issue.assigned.reset", issue, actor, base_url)
            return ["Assignee reset"]
        _event(session, "issue.assigned.added", issue, actor, base_url)
        was = f" (was: {old.name})" if old else ""
        return [f"Issue assigned to {user.name}{was}"]
    if field == "priority":
        if value == issue.priority:
            return []
        old_title = priority_title(project, issue.priority)
        issue.priority = value
        _event(session, "issue.edit", issue, actor, base_url, fields=["priority"])
        if value is None:
            return [f"Issue priority reset (was: {old_title})"]
        was = f" (was: {old_title})" if old_title is not None else ""
        return [f"Issue priority set to: {priority_title(project, value)}{was}"]
    if field == "milestone":
        if value == issue.milestone:
            return []
        old = issue.milestone
        issue.milestone = value
        _event(session, "issue.edit", issue, actor, base_url, fields=["milestone"])
        if value is None:
            return [f"Issue milestone reset (was: {old})"]
        was = f" (was: {old})" if old else ""
        return [f"Issue set to the milestone: {value}{was}"]
    if field == "private":
        if value == issue.private:
            return []
        issue.private = value
        _event(session, "issue.edit", issue, actor, base_url, fields=["private"])
        return [f"Issue private status set to: {value}"]
    if field == "tags":
        return _apply_tags(session, actor, issue, value, base_url)
    if field in ("depends", "blocks"):
        return _apply_links(session, actor, issue, field, value, base_url)
    if field == "custom":
        key, stored = value
        row = session.get(IssueCustomValue, (issue.id, key.id))
        old = row.value if row else None
        if stored == old:
            return []
        if stored is None:
            session.delete(row)
            message = f"Custom field {key.name} reset (from {old})"
        elif row is None:
            session.add(IssueCustomValue(issue_id=issue.id, key_id=key.id, value=stored))
            message = f"Custom field {key.name} adjusted to {stored}"
        else:
            row.value = stored
            message = f"Custom field {key.name} adjusted to {stored} (was: {old})"
        session.flush()
        session.expire(issue, ["custom_values"])
        _event(session, "issue.edit", issue, actor, base_url, fields=[key.name])
        return [message]
    raise AssertionError(field)


def _apply_tags(session: Session, actor: User, issue: Issue, wanted: list[str],
                base_url: str) -> list[str]:
    added, removed = discussion.change_tags(session, issue.project, issue, wanted)
    if not removed and not added:
        return []
    from pagurus.core import boards

    boards.on_tags_changed(session, actor, issue, added=added, removed=removed)
    return discussion.announce_tags(
        lambda topic, **extra: _event(session, topic, issue, actor, base_url, **extra),
        "issue", "Issue", added, removed)


def _apply_links(session: Session, actor: User, issue: Issue, kind: str, wanted: list[Issue],
                 base_url: str) -> list[str]:
    """``depends``: ``issue`` is the child of each wanted issue; ``blocks``: the parent."""
    mine, theirs = ((IssueDependency.child_id, IssueDependency.parent_id) if kind == "depends"
                    else (IssueDependency.parent_id, IssueDependency.child_id))
    current_ids = set(session.scalars(select(theirs).where(mine == issue.id)))
    wanted_ids = {i.id for i in wanted}
    add = [i for i in wanted if i.id not in current_ids]
    drop_ids = current_ids - wanted_ids
    dropped = list(session.scalars(select(Issue).where(Issue.id.in_(drop_ids)))) if drop_ids else []
    for other in add:
        parent, child = (other, issue) if kind == "depends" else (issue, other)
        session.add(IssueDependency(parent_id=parent.id, child_id=child.id))
    if drop_ids:
        session.execute(delete(IssueDependency).where(mine == issue.id, theirs.in_(drop_ids)))
    session.flush()
    label = "depending on" if kind == "depends" else "blocking"
    out = []
    for other in add:
        _event(session, "issue.dependency.added", issue, actor, base_url,
               added_dependency=other.number)
        _touch(other)
    for other in dropped:
        _event(session, "issue.dependency.removed", issue, actor, base_url,
               removed_dependency=[other.number])
        _touch(other)
    if add:
        out.append(f"Issue marked as {label}: " + ", ".join(f"#{i.number}" for i in add))
    if dropped:
        out.append(f"Issue **un**marked as {label}: "
                   + ", ".join(f"#{i.number}" for i in sorted(dropped, key=lambda i: i.number)))
    return out


def depends_numbers(session: Session, issue: Issue) -> list[int]:
    """Numbers of the issues this one depends on (its parents)."""
    return sorted(session.scalars(select(Issue.number).join(
        IssueDependency, IssueDependency.parent_id == Issue.id).where(
        IssueDependency.child_id == issue.id)))


def blocks_numbers(session: Session, issue: Issue) -> list[int]:
    return sorted(session.scalars(select(Issue.number).join(
        IssueDependency, IssueDependency.child_id == Issue.id).where(
        IssueDependency.parent_id == issue.id)))


# -- subscriptions --------------------------------------------------------------

def set_subscription(session: Session, user: User, issue: Issue, watch: bool) -> None:
    """Refused on a read-only tracker too, like every change there."""
    require_tracker(issue.project, write=True)
    _require(_may_act(session, user, issue.project) and can_view(session, user, issue),
             "You may not watch this issue")
    row = session.get(IssueWatcher, (issue.id, user.id))
    if row is None:
        session.add(IssueWatcher(issue_id=issue.id, user_id=user.id, watch=watch))
    else:
        row.watch = watch
    session.flush()


def subscribers(session: Session, issue: Issue) -> list[User]:
    """Who hears about the issue (see ``discussion.subscriber_ids``: project
    watchers of issues) — minus those who may not see it."""
    ids = discussion.subscriber_ids(
        session, issue.project, author_id=issue.user_id, assignee_id=issue.assignee_id,
        commenter_ids=session.scalars(select(IssueComment.user_id).where(
            IssueComment.issue_id == issue.id, IssueComment.notification.is_(False))),
        watch_kind="issues",
        choices=dict(session.execute(select(IssueWatcher.user_id, IssueWatcher.watch).where(
            IssueWatcher.issue_id == issue.id)).all()))
    return [u for u in discussion.users_by_id(session, ids) if can_view(session, u, issue)]


def is_subscribed(session: Session, user: User | None, issue: Issue) -> bool:
    if user is None:
        return False
    return any(u.id == user.id for u in subscribers(session, issue))


# -- issue tags by id (used by lists) -----------------------------------------

def tags_of(session: Session, issue_ids: list[int]) -> dict[int, list[TagColored]]:
    out: dict[int, list[TagColored]] = {i: [] for i in issue_ids}
    if not issue_ids:
        return out
    rows = session.execute(select(IssueTag.issue_id, TagColored).join(
        TagColored, TagColored.id == IssueTag.tag_id).where(IssueTag.issue_id.in_(issue_ids))
        .order_by(TagColored.name))
    for issue_id, tag in rows:
        out[issue_id].append(tag)
    return out
