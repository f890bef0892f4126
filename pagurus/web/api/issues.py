"""Issue endpoints (spec §2.3), except the two list endpoints.

Every rule — who may see, open, comment, change metadata or close an issue —
is ``core.issues``'; these views only read the request, call core, commit,
and shape Pagure's JSON. A refused call changes nothing: the session is
rolled back whenever core refuses.

Differences from Pagure, on purpose (also in each endpoint's description):
a private issue does not exist (404 ENOISSUE) for anyone but its author,
its assignee and users with ticket access or more — Pagure answers 403
EISSUENOTALLOWED and leaves the assignee out.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from sqlalchemy.orm import Session

from pagurus.core import access
from pagurus.core import attachments as core_attachments
from pagurus.core import issues as core_issues
from pagurus.core.errors import ForgeError, InvalidInput
from pagurus.core.issue_json import comment_json, issue_json
from pagurus.model import Issue, Project, User
from pagurus.web import context
from pagurus.web.api import bp
from pagurus.web.api.auth import Caller, require_user
from pagurus.web.api.errors import ApiError
from pagurus.web.api.params import body, query_flag
from pagurus.web.api.registry import Param, api_route
from pagurus.web.api.schemas import (
    BOOL,
    COMPONENTS,
    EPOCH,
    INT,
    NAMES,
    NSTR,
    STR,
    array,
    obj,
    ref,
)
from pagurus.web.api.users import avatar_url

NUSER = {"oneOf": [ref("User"), {"type": "null"}]}
COMPONENTS.setdefault("IssueComment", obj({
    "id": INT, "comment": STR, "parent": {"type": ["integer", "null"]},
    "date_created": EPOCH, "user": ref("User"), "edited_on": {**NSTR, "description":
                                                              "Epoch seconds or null"},
    "editor": NUSER, "notification": BOOL,
    "reactions": {"type": "object", "additionalProperties": NAMES},
}))
COMPONENTS.setdefault("Issue", obj({
    "id": {**INT, "description": "The issue number in its project"},
    "title": STR, "content": STR, "status": {"type": "string", "enum": ["Open", "Closed"]},
    "close_status": NSTR, "date_created": EPOCH, "last_updated": EPOCH,
    "closed_at": NSTR, "user": ref("User"), "private": BOOL, "tags": NAMES,
    "depends": {**NAMES, "description": "Numbers (as strings) of the issues this one "
                                        "depends on"},
    "blocks": {**NAMES, "description": "Numbers (as strings) of the issues this one blocks"},
    "assignee": NUSER, "priority": {"type": ["integer", "null"]}, "milestone": NSTR,
    "custom_fields": array(obj({"name": STR, "key_type": STR, "value": STR,
                                "key_data": {}})),
    "closed_by": NUSER, "related_prs": array(obj({"id": INT, "title": STR})),
    "full_url": STR, "comments": array(ref("IssueComment")),
    "boards": {"type": "array", "description": "Only when the issue is on a board"},
    "project": {**ref("Project"), "description": "Only in cross-project lists"},
}, required=("id", "title", "content", "status", "close_status", "date_created",
             "last_updated", "closed_at", "user", "private", "tags", "depends", "blocks",
             "assignee", "priority", "milestone", "custom_fields", "closed_by",
             "related_prs", "full_url", "comments")))

PRIVATE_DOC = ("A private issue exists only for its author, its assignee and users with "
               "ticket access or more; anyone else gets 404 ENOISSUE (Pagure answers 403 "
               "EISSUENOTALLOWED and does not count the assignee).")
ISSUE_ID_DOC = "The issue number, or its 32-character uid."
MESSAGES = {"oneOf": [NAMES, STR], "description": "The list of changes, or \"No changes\""}
TRACKER_ERRORS: tuple[str | tuple[str, int], ...] = ("ETRACKERDISABLED", "ENOISSUE")
WRITE_ERRORS: tuple[str | tuple[str, int], ...] = (
    "ETRACKERDISABLED", "ETRACKERREADONLY", "ENOISSUE", "EISSUENOTALLOWED", "EINVALIDREQ")


def _session() -> Session:
    return context.db()


def _base() -> str:
    return context.base_url()


def _viewer(caller: Caller, project: Project) -> User | None:
    """A token bound to another project reads only what anonymous visitors see."""
    if caller.token is not None and not access.token_fits_project(caller.token, project):
        return None
    return caller.user


def _issue(caller: Caller, project: Project, issueid: Any, *, write: bool,
           by_uid: bool = False) -> Issue:
    """Tracker checks first (disabled: 404, read-only: 401 on changes), then
    the issue as the caller may see it."""
    core_issues.require_tracker(project, write=write)
    return core_issues.get_issue(_session(), _viewer(caller, project), project, issueid,
                                 by_uid=by_uid)


def _refused(exc: ForgeError) -> ForgeError:
    """Undo whatever core flushed before refusing, then report the refusal."""
    _session().rollback()
    return exc


def _messages(changes: list[str], nothing: str = "No changes") -> list[str] | str:
    return changes if changes else nothing


def _update(actor: User, issue: Issue, **changes: Any) -> list[str]:
    try:
        return core_issues.update_metadata(_session(), actor, issue, base_url=_base(),
                                           **changes)
    except ForgeError as exc:
        raise _refused(exc) from None


# -- creating and reading -------------------------------------------------------

@api_route(
    bp, project="/new_issue", methods=("POST",), auth_mode="token", acls=("issue_create",),
    tag="issues", summary="Open an issue",
    body=(
        Param("title", "Title (one line).", required=True),
        Param("issue_content", "Description (markdown).", required=True),
        Param("private", "Private issue (default: the project's setting).", "boolean"),
        Param("priority", "A priority of the project (its weight or its title)."),
        Param("milestone", "An active milestone of the project."),
        Param("tag", "Comma-separated tags; unknown tags are created."),
        Param("assignee", "User name of the assignee."),
        Param("filestream", "A file to attach (multipart/form-data); repeat for several. "
                            "Each <!!image> placeholder in issue_content is replaced, in "
                            "order, by a markdown image link to the stored file."),
    ),
    response=obj({"issue": ref("Issue"), "message": STR}),
    errors=("ETRACKERDISABLED", "ETRACKERREADONLY", "EISSUENOTALLOWED", "EINVALIDREQ",
            "EINVALIDPRIORITY"),
)
def api_new_issue(caller: Caller, project: Project) -> Any:
    """Priority, milestone, tags and assignee are kept only from users who may
    edit issue metadata (ticket access, or the project opens metadata to all);
    anyone else's are ignored, as in Pagure. Files larger than the instance's
    attachment limit are refused with 413 EINVALIDREQ."""
    actor = require_user(caller)
    session = _session()
    core_issues.require_tracker(project, write=True)
    data = body()
    title = data.text("title") or ""
    content = data.text("issue_content") or ""
    missing = {key: ["This field is required."]
               for key, value in (("title", title), ("issue_content", content))
               if not value.strip()}
    if missing:
        raise ApiError("EINVALIDREQ", errors=missing)
    tags = [t for t in data.list("tag") if t.strip()]
    uploads = [f for f in request.files.getlist("filestream") if f and f.filename]
    if not core_issues.can_create(session, actor, project):
        raise core_issues.IssueNotAllowed("You may not open issues here")
    settings = context.settings()
    stored = []
    try:
        for upload in uploads:
            stored.append(core_attachments.store(
                session, actor, project, filename=upload.filename, stream=upload.stream,
                data_dir=settings.data_dir, max_size=settings.max_attachment_bytes))
        links = [core_attachments.markdown_link(
            row.name, core_attachments.file_url(project, row.name)) for row in stored]
        issue = core_issues.create_issue(
            session, actor, project, title=title,
            content=core_attachments.fill_placeholders(content, links), base_url=_base(),
            private=data.flag("private") if "private" in data else None,
            priority=data.text("priority"), milestone=data.text("milestone"),
            tags=",".join(tags) if tags else None, assignee=data.text("assignee"))
        for row in stored:
            core_attachments.attach(session, row, issue)
    except ForgeError as exc:
        names = [row.name for row in stored]
        session.rollback()
        core_attachments.discard_orphans(session, settings.data_dir, project, names)
        raise exc from None
    session.commit()
    return jsonify({"issue": issue_json(session, issue, _base(), comments=True),
                    "message": "Issue created"})


@api_route(
    bp, project="/issue/<issueid>", auth_mode="optional", tag="issues", summary="One issue",
    query=(Param("comments", "Include the comments (default true).", "boolean",
                 default=True),),
    description="``issueid``: " + ISSUE_ID_DOC + " " + PRIVATE_DOC,
    response=ref("Issue"), errors=TRACKER_ERRORS,
)
def api_view_issue(caller: Caller, project: Project, issueid: str) -> Any:
    issue = _issue(caller, project, issueid, write=False, by_uid=True)
    return jsonify(issue_json(_session(), issue, _base(),
                              comments=query_flag("comments", True)))


@api_route(
    bp, project="/issue/<issueid>", methods=("POST",), auth_mode="token",
    acls=("issue_update",), project_token_only=True, tag="issues",
    summary="Edit the title and description of an issue",
    description=("``issueid``: " + ISSUE_ID_DOC + " The author of the issue or users with "
                 "ticket access may edit it (else 403 EISSUENOTALLOWED). " + PRIVATE_DOC),
    body=(Param("title", "New title.", required=True),
          Param("issue_content", "New description (markdown).", required=True)),
    response=obj({"issue": ref("Issue"), "message": STR}), errors=WRITE_ERRORS,
)
def api_edit_issue(caller: Caller, project: Project, issueid: str) -> Any:
    actor = require_user(caller)
    data = body()
    title, content = data.text("title") or "", data.text("issue_content") or ""
    missing = {key: ["This field is required."]
               for key, value in (("title", title), ("issue_content", content))
               if not value.strip()}
    issue = _issue(caller, project, issueid, write=True, by_uid=True)
    if missing:
        raise ApiError("EINVALIDREQ", errors=missing)
    try:
        core_issues.edit_issue(_session(), actor, issue, base_url=_base(), title=title,
                               content=content)
    except ForgeError as exc:
        raise _refused(exc) from None
    _session().commit()
    return jsonify({"issue": issue_json(_session(), issue, _base(), comments=True),
                    "message": "Issue edited"})


@api_route(
    bp, project="/issue/<issueid>/comment/<int:commentid>", auth_mode="optional",
    tag="issues", summary="One comment of an issue",
    description=("``issueid``: " + ISSUE_ID_DOC + " As in Pagure, a token sent with this "
                 "call must be bound to this project (else 401 EINVALIDTOK). " + PRIVATE_DOC),
    response={"allOf": [ref("IssueComment"), obj({"avatar_url": STR, "comment_date": {
        **STR, "description": "%Y-%m-%d %H:%M:%S (UTC)"}})]},
    errors=TRACKER_ERRORS + ("ENOCOMMENT",),
)
def api_view_issue_comment(caller: Caller, project: Project, issueid: str,
                           commentid: int) -> Any:
    if caller.token is not None and caller.token.project_id != project.id:
        raise ApiError("EINVALIDTOK", errors="This call needs a token bound to this project")
    issue = _issue(caller, project, issueid, write=False, by_uid=True)
    comment = core_issues.get_comment(_session(), issue, commentid)
    data = comment_json(comment, _base())
    data["avatar_url"] = avatar_url(comment.user.name, 16)
    data["comment_date"] = comment.date_created.strftime("%Y-%m-%d %H:%M:%S")
    return jsonify(data)


# -- changes --------------------------------------------------------------------------

@api_route(
    bp, project="/issue/<int:issueid>/status", methods=("POST",), auth_mode="token",
    acls=("issue_change_status", "issue_update"), tag="issues",
    summary="Open or close an issue",
    description=("Users with ticket access, the assignee, the author of the issue (unlike "
                 "Pagure), or anyone when the project opens metadata to all may change the "
                 "status (else 403 EISSUENOTALLOWED). A close status given as ``status`` "
                 "closes the issue with it. Closing an issue that depends on open issues "
                 "is refused with 400 ENOCODE. Adds a \"Metadata Update\" comment. "
                 + PRIVATE_DOC),
    body=(Param("status", "Open, Closed, or one of the project's close statuses.",
                required=True),
          Param("close_status", "One of the project's close statuses.")),
    response=obj({"message": MESSAGES}), errors=WRITE_ERRORS + ("ENOCODE",),
)
def api_change_status_issue(caller: Caller, project: Project, issueid: int) -> Any:
    actor = require_user(caller)
    data = body()
    issue = _issue(caller, project, issueid, write=True)
    status = data.text("status", required=True)
    close_status = data.text("close_status") or None
    changes = _update(actor, issue, status=status, close_status=close_status)
    _session().commit()
    return jsonify({"message": _messages(changes)})


@api_route(
    bp, project="/issue/<int:issueid>/milestone", methods=("POST",), auth_mode="token",
    acls=("issue_update_milestone", "issue_update"), project_token_only=True, tag="issues",
    summary="Set or unset the milestone of an issue",
    description=("Users who may edit the issue's metadata only (else 403 EISSUENOTALLOWED). "
                 "An unknown milestone is 400 EINVALIDREQ. " + PRIVATE_DOC),
    body=(Param("milestone", "A milestone of the project; empty or absent unsets it."),),
    response=obj({"message": MESSAGES}), errors=WRITE_ERRORS,
)
def api_change_milestone_issue(caller: Caller, project: Project, issueid: int) -> Any:
    actor = require_user(caller)
    data = body()
    issue = _issue(caller, project, issueid, write=True)
    changes = _update(actor, issue, milestone=data.text("milestone") or None)
    _session().commit()
    return jsonify({"message": _messages(changes)})


@api_route(
    bp, project="/issue/<int:issueid>/comment", methods=("POST",), auth_mode="token",
    acls=("issue_comment", "issue_update"), tag="issues", summary="Comment on an issue",
    description="Anyone who may see the issue may comment. " + PRIVATE_DOC,
    body=(Param("comment", "The comment (markdown).", required=True),),
    response=obj({"message": STR, "avatar_url": STR,
                  "user": {**STR, "description": "User name of the commenter"}}),
    errors=WRITE_ERRORS,
)
def api_comment_issue(caller: Caller, project: Project, issueid: int) -> Any:
    actor = require_user(caller)
    data = body()
    issue = _issue(caller, project, issueid, write=True)
    text = data.text("comment", required=True)
    try:
        core_issues.add_comment(_session(), actor, issue, text, base_url=_base())
    except ForgeError as exc:
        raise _refused(exc) from None
    _session().commit()
    return jsonify({"message": "Comment added", "avatar_url": avatar_url(actor.name, 30),
                    "user": actor.name})


@api_route(
    bp, project="/issue/<int:issueid>/assign", methods=("POST",), auth_mode="token",
    acls=("issue_assign", "issue_update"), project_token_only=True, tag="issues",
    summary="Assign an issue, or reset its assignee",
    description=("Users who may edit the issue's metadata, or its current assignee (else "
                 "403 EISSUENOTALLOWED). An unknown user is 400 ENOCODE. " + PRIVATE_DOC),
    body=(Param("assignee", "User name; empty or absent resets the assignee."),),
    response=obj({"message": {**STR, "description": "\"Issue assigned to X (was: Y)\", "
                                                    "\"Assignee reset\" or \"Nothing to "
                                                    "change\""}}),
    errors=WRITE_ERRORS + ("ENOCODE",),
)
def api_assign_issue(caller: Caller, project: Project, issueid: int) -> Any:
    actor = require_user(caller)
    data = body()
    issue = _issue(caller, project, issueid, write=True)
    try:
        changes = core_issues.update_metadata(_session(), actor, issue, base_url=_base(),
                                              assignee=data.text("assignee") or None)
    except InvalidInput as exc:
        _session().rollback()
        raise ApiError("ENOCODE", message=exc.message, errors=exc.errors) from None
    except ForgeError as exc:
        raise _refused(exc) from None
    _session().commit()
    return jsonify({"message": "; ".join(changes) if changes else "Nothing to change"})


@api_route(
    bp, project="/issue/<int:issueid>/subscribe", methods=("POST",), auth_mode="token",
    acls=("issue_subscribe",), project_token_only=True, tag="issues",
    summary="Watch or stop watching an issue",
    description="Subscribes the caller. " + PRIVATE_DOC,
    body=(Param("status", "true: watch; false (or absent): stop watching.", "boolean"),),
    response=obj({"message": STR, "avatar_url": STR, "user": STR}),
    errors=WRITE_ERRORS,
)
def api_subscribe_issue(caller: Caller, project: Project, issueid: int) -> Any:
    actor = require_user(caller)
    data = body()
    issue = _issue(caller, project, issueid, write=True)
    watch = data.flag("status")
    try:
        core_issues.set_subscription(_session(), actor, issue, watch)
    except ForgeError as exc:
        raise _refused(exc) from None
    _session().commit()
    message = ("You are now watching this issue" if watch
               else "You are no longer watching this issue")
    return jsonify({"message": message, "avatar_url": avatar_url(actor.name, 30),
                    "user": actor.name})


CUSTOM_DOC = ("Users who may edit the issue's metadata only (else 403 EISSUENOTALLOWED). "
              "An unknown field or a value the field does not take is 400 "
              "EINVALIDISSUEFIELD; a link field takes comma-separated http(s) URLs (else "
              "400 EINVALIDISSUEFIELD_LINK). Adds a \"Metadata Update\" comment. ")
CUSTOM_ERRORS = WRITE_ERRORS + ("EINVALIDISSUEFIELD", "EINVALIDISSUEFIELD_LINK")


def _custom_value(key: str, value: Any) -> Any:
    if value is not None and not isinstance(value, (str, int, float, bool)):
        raise ApiError("EINVALIDREQ", errors={key: ["Must be a string, number or boolean."]})
    return value


@api_route(
    bp, project="/issue/<int:issueid>/custom/<field>", methods=("POST",), auth_mode="token",
    acls=("issue_update_custom_fields", "issue_update"), project_token_only=True,
    tag="issues", summary="Set one custom field of an issue",
    description=CUSTOM_DOC + PRIVATE_DOC,
    body=(Param("value", "The new value; empty resets the field."),),
    response=obj({"message": {**STR, "description": "\"Custom field X adjusted to V (was: "
                                                    "W)\", \"Custom field X reset (from "
                                                    "W)\" or \"No changes\""}}),
    errors=CUSTOM_ERRORS,
)
def api_update_custom_field(caller: Caller, project: Project, issueid: int,
                            field: str) -> Any:
    actor = require_user(caller)
    data = body()
    issue = _issue(caller, project, issueid, write=True)
    changes = _update(actor, issue, custom={field: _custom_value("value", data.raw("value"))})
    _session().commit()
    return jsonify({"message": "; ".join(changes) if changes else "No changes"})


@api_route(
    bp, project="/issue/<int:issueid>/custom", methods=("POST",), auth_mode="token",
    acls=("issue_update_custom_fields", "issue_update"), project_token_only=True,
    tag="issues", summary="Set several custom fields of an issue",
    description=(CUSTOM_DOC + "The body is an object {field name: value}; an empty body is "
                 "400 EINVALIDREQ. Either every field is set or, on any refusal, none. "
                 + PRIVATE_DOC),
    response=obj({"messages": array({"type": "object", "additionalProperties": STR,
                                     "description": "{field name: message}"})}),
    errors=CUSTOM_ERRORS,
)
def api_update_custom_fields(caller: Caller, project: Project, issueid: int) -> Any:
    actor = require_user(caller)
    fields = body().flat()
    issue = _issue(caller, project, issueid, write=True)
    if not fields:
        raise ApiError("EINVALIDREQ", errors="No custom field submitted")
    session = _session()
    for name, value in fields.items():  # every name and type checked before any change
        core_issues.find_custom_key(session, project, name)
        _custom_value(name, value)
    messages = []
    for name, value in fields.items():
        changes = _update(actor, issue, custom={name: value})
        messages.append({name: "; ".join(changes) if changes else "No changes"})
    session.commit()
    return jsonify({"messages": messages})
