"""Issue pages: opening an issue (with the tickets repo's templates), the
issue page (comments, metadata sidebar, reactions, watching, attachments),
editing and deleting issues and comments, and the markdown preview.

Every rule lives in ``core.issues``: views parse the form, ask core, render.
A refused action changes nothing (core validates everything before it
applies, and the view rolls back on any error) and says why — a flashed
message on the page, re-rendered with a 4xx status and the user's text kept,
or ``notok: <reason>`` for ``?js=1`` callers. Every page works without
JavaScript; ``static/issues.js`` only makes it smoother.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    get_template_attribute,
    jsonify,
    redirect,
    render_template,
    request,
)
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from pagurus.core import access
from pagurus.core import attachments as core_attachments
from pagurus.core import issue_templates as core_templates
from pagurus.core import issues as core_issues
from pagurus.core import projects as core_projects
from pagurus.core import tags as core_tags
from pagurus.core.errors import ForgeError, InvalidInput, NotFound
from pagurus.model import Attachment, Issue, IssueComment, Project, User
from pagurus.web import csrf
from pagurus.web.context import base_url, current_user, db, settings
from pagurus.web.routes import PREFIXES, project_route
from pagurus.web.ui.discussion import (
    REACTIONS,
    Rights,
    comment_view,
    plain,
    project_from_path,
    purl,
    quick_replies,
    quick_reply,
    react_answer,
    renderer,
    save_comment_edit,
    status_of,
    tag_view,
    watch_answer,
)
from pagurus.web.ui.helpers import (
    flash_error,
    flash_success,
    form_errors_from,
    is_true,
    login_url,
)
from pagurus.web.ui.project import _project, header_context

bp = Blueprint("ui_issues", __name__)
bp.before_request(csrf.protect)

# form fields of {P}/issue/<id>/update that are not custom fields
UPDATE_FIELDS = frozenset({
    "csrf_token", "comment", "status", "close_status", "priority", "milestone", "private",
    "private_shown", "tag", "assignee", "depending", "blocking", "drop_comment",
    "edit_comment", "update_comment", "quick_reply", "preview", "filestream",
})


# -- lookups ------------------------------------------------------------------

def _tracker_project(repo: str, namespace: str | None, username: str | None) -> Project:
    """The project if the viewer may see it and its tracker is on; 404 otherwise."""
    project = _project(repo, namespace, username)
    if not core_issues.tracker_enabled(project):
        abort(404)
    return project


def _issue(project: Project, issueid: int) -> Issue:
    """Missing and hidden (private) issues are the same 404."""
    try:
        return core_issues.get_issue(db(), current_user(), project, issueid, by_uid=False)
    except core_issues.IssueNotFound:
        abort(404)


def _issue_url(issue: Issue, suffix: str = "") -> str:
    return purl(issue.project, f"/issue/{issue.number}{suffix}")


def _meta_rights(project: Project, user: User | None) -> bool:
    """May set assignee, milestone, priority and tags when opening an issue
    (core.issues.create_issue ignores them otherwise)."""
    if not core_issues.can_create(db(), user, project):
        return False
    return bool(core_projects.settings_of(project)["open_metadata_access_to_all"]
                or access.can_ticket(db(), user, project))


# -- markdown --------------------------------------------------------------------

@bp.route("/pv/markdown/preview", methods=["POST"])
def markdown_preview() -> Response:
    """Sanitized HTML of ``content`` (references resolved in ``project``,
    a project URL path, when given and visible)."""
    text = request.form.get("content", "")
    if len(text) > core_issues.CONTENT_MAX:
        return plain("Too long to preview", 400)
    project = None
    path = (request.form.get("project") or "").strip("/")
    if path:
        project = project_from_path(path)
    html = renderer(project, cache=False)(text)
    return Response(str(html), mimetype="text/html")


# -- templates from the tickets repo ---------------------------------------------------

def issue_templates(project: Project) -> dict[str, str]:
    return core_templates.templates(settings(), project)


def _pv_template(repo: str, namespace: str | None = None,
                 username: str | None = None) -> Any:
    """JSON for the template selector: ``{"code": "OK", "message": text}``."""
    project = _tracker_project(repo, namespace, username)
    name = request.form.get("template") or request.args.get("template") or ""
    text = issue_templates(project).get(name)
    if text is None:
        return jsonify({"code": "ERROR", "message": "No such template found"}), 404
    return jsonify({"code": "OK", "message": text})


for _prefix in PREFIXES:
    bp.add_url_rule("/pv" + _prefix + "/issue/template", endpoint="issue_template",
                    view_func=_pv_template, methods=["POST"])


# -- new issue -------------------------------------------------------------------------

def _priority_options(project: Project) -> list[tuple[str, str]]:
    items = [(str(k), str(v)) for k, v in (project.priorities or {}).items() if str(k) != ""]
    items.sort(key=lambda kv: (int(kv[0]) if kv[0].lstrip("-").isdigit() else 0, kv[0]))
    return items


def _default_priority(project: Project) -> str:
    default = project.default_priority
    if not default:
        return ""
    for key, title in _priority_options(project):
        if default in (key, title):
            return key
    return ""


def _milestone_names(project: Project, *, active_only: bool) -> list[str]:
    milestones = project.milestones or {}
    order = [m for m in (project.milestones_keys or []) if m in milestones]
    order += [m for m in milestones if m not in order]
    return [m for m in order
            if not active_only or (milestones.get(m) or {}).get("active", True)]


def _with_links(content: str, links: list[str]) -> str:
    """Each ``<!!image>`` placeholder takes the next file's link (Pagure's
    way); links left over go at the end."""
    if not links:
        return content
    used = min(content.count(core_attachments.PLACEHOLDER), len(links))
    content = core_attachments.fill_placeholders(content, links)
    rest = links[used:]
    if rest:
        content = (content.rstrip() + "\n\n" if content.strip() else "") + "\n".join(rest)
    return content


@project_route(bp, "/new_issue", methods=["GET", "POST"])
@project_route(bp, "/new_issue/", endpoint="new_issue_slash", methods=["GET", "POST"])
def new_issue(repo: str, namespace: str | None = None, username: str | None = None) -> Any:
    """The new-issue form; metadata fields only for those whose metadata core keeps."""
    project = _tracker_project(repo, namespace, username)
    user = current_user()
    if user is None:
        return redirect(login_url())
    session = db()
    read_only = core_issues.tracker_read_only(project)
    templates = issue_templates(project)
    contributing = templates.pop("contributing", None)
    meta_ok = _meta_rights(project, user)
    form: dict[str, Any] = {
        "title": request.args.get("title", ""),
        "issue_content": request.args.get("content"),
        "private": bool(core_projects.settings_of(project)["issues_default_to_private"]),
        "assignee": "", "milestone": "", "priority": _default_priority(project), "tag": "",
    }
    chosen = request.args.get("template", "")
    if chosen and chosen not in templates:
        flash_error(f"No template called {chosen}")
        chosen = ""
    if form["issue_content"] is None:
        name = chosen or ("default" if "default" in templates else "")
        form["issue_content"] = templates.get(name, "")
        chosen = name
    errors: dict[str, list[str]] = {}
    preview = None
    status = 200
    if request.method == "POST":
        for key in ("title", "issue_content", "assignee", "milestone", "priority", "tag"):
            form[key] = request.form.get(key, "")
        form["private"] = is_true(request.form.get("private"))
        if request.form.get("preview"):
            preview = renderer(project, cache=False)(form["issue_content"])
        elif not core_issues.can_create(session, user, project):
            flash_error("This project's issue tracker is read-only" if read_only
                        else "You may not open issues on this project")
            status = 403
        else:
            stored: list[str] = []
            try:
                uploads = _store_uploads(project, user, None, stored)
                issue = core_issues.create_issue(
                    session, user, project, title=form["title"],
                    content=_with_links(form["issue_content"], [lk for _r, lk in uploads]),
                    base_url=base_url(),
                    private=form["private"],
                    priority=form["priority"] if meta_ok else None,
                    milestone=form["milestone"] or None if meta_ok else None,
                    tags=form["tag"] if meta_ok else None,
                    assignee=form["assignee"] or None if meta_ok else None)
                for row, _link in uploads:
                    core_attachments.attach(session, row, issue)
                session.commit()
            except ForgeError as exc:
                session.rollback()
                _discard(project, stored)
                errors = form_errors_from(exc, {"tag": "tag"})
                flash_error(exc.message or "The issue could not be created")
                status = status_of(exc)
            else:
                flash_success("Issue created")
                return redirect(_issue_url(issue))
    return render_template(
        "issues/new_issue.html", form=form, errors=errors, preview=preview,
        read_only=read_only, can_create=core_issues.can_create(session, user, project),
        meta_ok=meta_ok, templates=list(templates), chosen=chosen,
        contributing=renderer(project)(contributing) if contributing else None,
        priorities=_priority_options(project),
        milestones=_milestone_names(project, active_only=True),
        project_tags=core_tags.project_tags(session, project),
        **header_context(project, "issues")), status


# -- the issue page --------------------------------------------------------------------

def _current_values(issue: Issue) -> dict[str, str]:
    """The update form's fields as they stand (what an unchanged form posts)."""
    session = db()
    values = {
        "status": issue.status,
        "close_status": issue.close_status or "",
        "priority": "" if issue.priority is None else str(issue.priority),
        "milestone": issue.milestone or "",
        "assignee": issue.assignee.name if issue.assignee else "",
        "tag": ", ".join(t.name for t in issue.tags),
        "depending": ", ".join(str(n) for n in core_issues.depends_numbers(session, issue)),
        "blocking": ", ".join(str(n) for n in core_issues.blocks_numbers(session, issue)),
    }
    for value in issue.custom_values:
        values["custom:" + value.key.name] = value.value
    return values


def _comment_view(comment: IssueComment, md: Callable[[str | None], Markup],
                  user: User | None, rights: Rights) -> dict[str, Any]:
    return comment_view(comment, md, user, rights, can_edit=core_issues.can_edit_comment,
                        can_delete=core_issues.can_delete_comment)


def _issue_page(project: Project, issue: Issue, *, form: MultiDict[str, str] | None = None,
                preview: Markup | None = None, errors: dict[str, list[str]] | None = None,
                status: int = 200) -> Any:
    session, user = db(), current_user()
    md = renderer(project)
    rights: Rights = {}
    comments = list(session.scalars(
        select(IssueComment).where(IssueComment.issue_id == issue.id)
        .options(selectinload(IssueComment.user), selectinload(IssueComment.editor))
        .order_by(IssueComment.id)))
    current = _current_values(issue)
    keys = core_issues.custom_keys(session, project)
    deps = core_issues.depends_numbers(session, issue)
    blocks = core_issues.blocks_numbers(session, issue)
    linked = {i.number: i for i in session.scalars(select(Issue).where(
        Issue.project_id == project.id, Issue.number.in_(deps + blocks)))} if deps or blocks \
        else {}
    links = {kind: [(n, linked[n]) for n in numbers
                    if n in linked and core_issues.can_view(session, user, linked[n])]
             for kind, numbers in (("depends", deps), ("blocks", blocks))}
    can_comment = core_issues.can_comment(session, user, issue)
    files = list(session.scalars(select(Attachment).where(
        Attachment.issue_id == issue.id).order_by(Attachment.date_created, Attachment.id)))
    replies = quick_replies(project)
    form = form or MultiDict()
    values = {k: form.get(k, v) for k, v in current.items() if not k.startswith("custom:")}
    custom_values = {key.name: form.get(key.name, current.get("custom:" + key.name, ""))
                     for key in keys}
    user_link = get_template_attribute("issues/issue_macros.html", "user_link")
    people: dict[tuple[int, bool], Markup] = {}
    for c in comments:
        if (c.user_id, c.notification) not in people:
            people[c.user_id, c.notification] = user_link(c.user, 16 if c.notification else 24)
    return render_template(
        "issues/issue_page.html", issue=issue, content_html=md(issue.content), people=people,
        comments=[_comment_view(c, md, user, rights) for c in comments],
        issue_tags=[tag_view(t) for t in issue.tags],
        project_tags=[tag_view(t) for t in core_tags.project_tags(session, project)],
        custom_keys=keys, custom_current={k: v for k, v in current.items()
                                          if k.startswith("custom:")},
        custom_values=custom_values, values=values, links=links,
        priority_title=core_issues.priority_title(project, issue.priority),
        priorities=_priority_options(project),
        milestones=_milestone_names(project, active_only=False),
        active_milestones=_milestone_names(project, active_only=True),
        close_statuses=list(project.close_status or []),
        can_comment=can_comment,
        can_meta=core_issues.can_edit_metadata(session, user, issue),
        can_assign=core_issues.can_assign(session, user, issue),
        can_status=core_issues.can_change_status(session, user, issue),
        can_edit=core_issues.can_edit(session, user, issue),
        can_delete=core_issues.can_delete(session, user, issue),
        read_only=core_issues.tracker_read_only(project),
        subscribers=core_issues.subscribers(session, issue),
        subscribed=core_issues.is_subscribed(session, user, issue),
        may_watch=user is not None and not access.is_blocked_on(user, project),
        attachments=files, quick_replies=replies, reactions=REACTIONS,
        comment_text=form.get("comment", ""), preview=preview, errors=errors or {},
        **header_context(project, "issues")), status


@project_route(bp, "/issue/<int:issueid>")
@project_route(bp, "/issue/<int:issueid>/", endpoint="view_issue_slash")
def view_issue(repo: str, issueid: int, namespace: str | None = None,
               username: str | None = None) -> Any:
    project = _tracker_project(repo, namespace, username)
    return _issue_page(project, _issue(project, issueid))


# -- update: comment, metadata, comment removal and edit ------------------------------

def _same_numbers(a: str, b: str) -> bool:
    try:
        return set(core_issues.parse_numbers(a, "x")) == set(core_issues.parse_numbers(b, "x"))
    except InvalidInput:
        return False


def _same_tags(a: str, b: str) -> bool:
    try:
        return ({n.lower() for n in core_tags.split_names(a)}
                == {n.lower() for n in core_tags.split_names(b)})
    except InvalidInput:
        return False


def _changes(project: Project, issue: Issue, form: MultiDict[str, str]) -> dict[str, Any]:
    """Keyword arguments for ``core.issues.update_metadata`` from Pagure's
    update fields, leaving out what the form posts unchanged (so a plain
    comment from the full page form needs no metadata rights)."""
    current = _current_values(issue)
    out: dict[str, Any] = {}
    status = form.get("status", "").strip()
    close_status = form.get("close_status", "").strip()
    if status or close_status:
        if status.lower() == "open":
            wanted: tuple[str, str | None] = ("Open", None)
        elif status.lower() in ("", "closed"):
            kept = issue.close_status if issue.status == "Closed" else None
            wanted = ("Closed", close_status or kept)
        else:  # a close status given as the status (core checks it)
            wanted = ("Closed", close_status or status)
        if wanted != (issue.status, issue.close_status):
            if status:
                out["status"] = status
            if close_status and status.lower() != "open":
                out["close_status"] = close_status
    for field, kwarg in (("priority", "priority"), ("milestone", "milestone"),
                         ("assignee", "assignee")):
        if field not in form:
            continue
        value = form.get(field, "").strip()
        same = value == current[field]
        if field == "priority" and not same and issue.priority is not None:
            title = core_issues.priority_title(project, issue.priority) or ""
            same = value.lower() == title.lower()
        if not same:
            out[kwarg] = value
    if "tag" in form and not _same_tags(form.get("tag", ""), current["tag"]):
        out["tags"] = form.get("tag", "")
    for field, kwarg in (("depending", "depends"), ("blocking", "blocks")):
        if field in form and not _same_numbers(form.get(field, ""), current[field]):
            out[kwarg] = form.get(field, "")
    if "private" in form or "private_shown" in form:
        private = core_issues.parse_bool(form.get("private", ""))
        if private != issue.private:
            out["private"] = private
    custom: dict[str, Any] = {}
    for key in core_issues.custom_keys(db(), project):
        if key.name in UPDATE_FIELDS or key.name not in form:
            continue
        value = form.get(key.name, "").strip()
        if value != current.get("custom:" + key.name, ""):
            custom[key.name] = value
    if custom:
        out["custom"] = custom
    return out


def _store_uploads(project: Project, user: User, issue: Issue | None,
                   stored: list[str]) -> list[tuple[Attachment, str]]:
    """Store the files sent in the form's ``filestream`` field (the
    no-JavaScript path; with JavaScript they go to the upload endpoint
    first): (row, markdown link) each. ``stored`` collects the names
    written, for cleaning up after a refusal."""
    files = [f for f in request.files.getlist("filestream") if f and f.filename]
    if not files:
        return []
    allowed = (core_issues.can_comment(db(), user, issue) if issue is not None
               else core_issues.can_create(db(), user, project))
    if not allowed:
        raise core_issues.IssueNotAllowed("You may not add files here")
    conf = settings()
    out = []
    for upload in files:
        row = core_attachments.store(db(), user, project, filename=upload.filename,
                                     stream=upload.stream, data_dir=conf.data_dir,
                                     max_size=conf.max_attachment_bytes, issue=issue)
        stored.append(row.name)
        out.append((row, core_attachments.markdown_link(
            row.name, core_attachments.file_url(project, row.name))))
    return out


def _discard(project: Project, stored: list[str]) -> None:
    """After a rollback: the files a refused request wrote go too."""
    if stored:
        core_attachments.discard_orphans(db(), settings().data_dir, project, stored)


def _refused(project: Project, issue: Issue, exc: ForgeError, js: bool,
             form: MultiDict[str, str], stored: list[str] | None = None) -> Any:
    db().rollback()
    _discard(project, stored or [])
    if js:
        return plain(f"notok: {exc.message}", status_of(exc))
    if isinstance(exc, core_issues.IssueNotFound):
        abort(404)
    flash_error(exc.message or "The change was refused")
    issue = _issue(project, issue.number)
    return _issue_page(project, issue, form=form, errors=form_errors_from(exc),
                       status=status_of(exc))


@project_route(bp, "/issue/<int:issueid>/update", methods=["POST"])
def update_issue(repo: str, issueid: int, namespace: str | None = None,
                 username: str | None = None) -> Any:
    """Pagure's update form: ``comment``, metadata fields, one field per
    custom field, ``drop_comment=<id>``, ``edit_comment=<id>``."""
    js = is_true(request.args.get("js"))
    project = _tracker_project(repo, namespace, username)
    issue = _issue(project, issueid)
    user = current_user()
    if user is None:
        if js:
            return plain("notok: You must be logged in", 401)
        return redirect(login_url(_issue_url(issue)))
    session = db()
    form = request.form
    anchor = ""
    stored: list[str] = []
    try:
        if form.get("drop_comment"):
            comment = core_issues.get_comment(session, issue, form["drop_comment"])
            core_issues.delete_comment(session, user, comment)
            message = "Comment removed"
        elif form.get("edit_comment"):
            comment = core_issues.get_comment(session, issue, form["edit_comment"])
            text = form.get("update_comment", form.get("comment"))
            core_issues.edit_comment(session, user, comment, text, base_url=base_url())
            message, anchor = "Comment updated", f"#comment-{comment.id}"
        else:
            if form.get("preview") and not js:
                core_issues.require_tracker(project, write=True)
                text = quick_reply(project, form)
                return _issue_page(project, issue, form=form,
                                   preview=renderer(project, cache=False)(text))
            core_issues.require_tracker(project, write=True)
            text = quick_reply(project, form)
            links = [link for _row, link in _store_uploads(project, user, issue, stored)]
            if links:
                text = (text.rstrip() + "\n\n" if text.strip() else "") + "\n".join(links)
            changes = _changes(project, issue, form)
            if not changes and not text.strip():
                raise InvalidInput("Nothing to change: write a comment or change a field",
                                   errors={"comment": ["Write a comment or change a field"]})
            messages = core_issues.update_metadata(
                session, user, issue, base_url=base_url(), comment=text or None, **changes)
            session.flush()
            last = session.scalar(select(func.max(IssueComment.id)).where(
                IssueComment.issue_id == issue.id))
            if last is not None and (messages or text.strip()):
                anchor = f"#comment-{last}"
            message = "; ".join(messages) if messages else "Comment added"
            if messages and text.strip():
                message += "; comment added"
        session.commit()
    except ForgeError as exc:
        return _refused(project, issue, exc, js, form, stored)
    if js:
        return plain("ok")
    flash_success(message)
    return redirect(_issue_url(issue) + anchor)


@project_route(bp, "/issue/<int:issueid>/comment/<int:commentid>/edit",
               methods=["GET", "POST"])
def edit_comment(repo: str, issueid: int, commentid: int, namespace: str | None = None,
                 username: str | None = None) -> Any:
    js = is_true(request.args.get("js"))
    project = _tracker_project(repo, namespace, username)
    issue = _issue(project, issueid)
    session, user = db(), current_user()
    try:
        comment = core_issues.get_comment(session, issue, commentid)
    except NotFound:
        abort(404)
    if user is None:
        if js:
            return plain("notok: You must be logged in", 401)
        return redirect(login_url())
    text = comment.comment
    preview = None
    status = 200
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        text = request.form.get("update_comment", "")
        answer, preview, errors, status = save_comment_edit(
            project, text, js,
            lambda t: core_issues.edit_comment(session, user, comment, t, base_url=base_url()),
            _issue_url(issue) + f"#comment-{comment.id}")
        if answer is not None:
            return answer
        if status != 200:
            comment = core_issues.get_comment(session, issue, commentid)
    elif not core_issues.can_edit_comment(session, user, comment):
        flash_error("You may not edit this comment")
        status = 403
    return render_template(
        "issues/issue_comment_edit.html", issue=issue, comment=comment, text=text,
        preview=preview, errors=errors,
        allowed=core_issues.can_edit_comment(session, user, comment),
        **header_context(project, "issues")), status


@project_route(bp, "/issue/<int:issueid>/comment/<int:commentid>/react", methods=["POST"])
def react(repo: str, issueid: int, commentid: int, namespace: str | None = None,
          username: str | None = None) -> Any:
    """Add the user's ``reaction``; take one back with ``unreact=<name>`` (or
    ``reaction`` and ``remove=1``). Pagure had no way back; giving the same
    reaction twice is still a 409."""
    js = is_true(request.args.get("js"))
    project = _tracker_project(repo, namespace, username)
    issue = _issue(project, issueid)
    session, user = db(), current_user()
    try:
        comment = core_issues.get_comment(session, issue, commentid)
    except NotFound:
        abort(404)
    if user is None:
        return plain("notok: You must be logged in", 401) if js else redirect(login_url(
            _issue_url(issue)))
    remove = "unreact" in request.form or is_true(request.form.get("remove"))
    reaction = request.form.get("unreact", "") if "unreact" in request.form \
        else request.form.get("reaction", "")

    def change() -> None:
        if remove:
            core_issues.require_tracker(project, write=True)
            if not core_issues.can_comment(session, user, issue):
                raise core_issues.IssueNotAllowed("You may not react here")
            core_issues.unreact(session, user, comment, reaction)
        else:
            core_issues.react(session, user, comment, reaction)

    return react_answer(js, change, _issue_url(issue) + f"#comment-{comment.id}")


@project_route(bp, "/issue/<int:issueid>/watch", methods=["POST"])
def watch_issue(repo: str, issueid: int, namespace: str | None = None,
                username: str | None = None) -> Any:
    """``watch=1`` subscribes, ``watch=0`` opts out (overrides project watching)."""
    project = _tracker_project(repo, namespace, username)
    issue = _issue(project, issueid)
    user = current_user()
    if user is None:
        return redirect(login_url(_issue_url(issue)))
    return watch_answer(is_true(request.form.get("watch", "1")),
                        lambda watch: core_issues.set_subscription(db(), user, issue, watch),
                        _issue_url(issue), "issue")


# -- edit and delete the issue ---------------------------------------------------------

@project_route(bp, "/issue/<int:issueid>/edit", methods=["GET", "POST"])
@project_route(bp, "/issue/<int:issueid>/edit/", endpoint="edit_issue_slash",
               methods=["GET", "POST"])
def edit_issue(repo: str, issueid: int, namespace: str | None = None,
               username: str | None = None) -> Any:
    """Title, description and private flag: the author or ticket access."""
    project = _tracker_project(repo, namespace, username)
    issue = _issue(project, issueid)
    session, user = db(), current_user()
    if user is None:
        return redirect(login_url())
    form = {"title": issue.title, "issue_content": issue.content, "private": issue.private}
    errors: dict[str, list[str]] = {}
    preview = None
    status = 200
    allowed = core_issues.can_edit(session, user, issue)
    if request.method == "POST":
        form = {"title": request.form.get("title", ""),
                "issue_content": request.form.get("issue_content", ""),
                "private": is_true(request.form.get("private"))}
        if request.form.get("preview"):
            preview = renderer(project, cache=False)(form["issue_content"])
        else:
            try:
                changed = core_issues.edit_issue(
                    session, user, issue, base_url=base_url(), title=form["title"],
                    content=form["issue_content"], private=form["private"])
                session.commit()
            except ForgeError as exc:
                session.rollback()
                errors = form_errors_from(exc)
                flash_error(exc.message or "The issue could not be changed")
                status = status_of(exc)
                issue = _issue(project, issueid)
            else:
                flash_success("Issue edited" if changed else "Nothing changed")
                return redirect(_issue_url(issue))
    elif not allowed:
        flash_error("Only the author or those with ticket access may edit this issue")
        status = 403
    return render_template("issues/issue_edit.html", issue=issue, form=form, errors=errors,
                           preview=preview, allowed=allowed,
                           **header_context(project, "issues")), status


@project_route(bp, "/issue/<int:issueid>/drop", methods=["GET", "POST"])
def drop_issue(repo: str, issueid: int, namespace: str | None = None,
               username: str | None = None) -> Any:
    """GET asks for confirmation; POST deletes (committers)."""
    project = _tracker_project(repo, namespace, username)
    issue = _issue(project, issueid)
    session, user = db(), current_user()
    if user is None:
        return redirect(login_url(_issue_url(issue)))
    if request.method == "POST":
        try:
            core_issues.drop_issue(session, user, issue, base_url=base_url())
            session.commit()
        except ForgeError as exc:
            session.rollback()
            abort(status_of(exc), description=exc.message or "Refused")
        flash_success(f"Issue #{issueid} deleted")
        return redirect(purl(project, "/issues"))
    if not core_issues.can_delete(session, user, issue):
        abort(403, description="Only committers may delete an issue")
    return render_template("issues/issue_drop.html", issue=issue,
                           **header_context(project, "issues"))


@bp.app_template_filter("issue_when")
def issue_when(dt: datetime | None) -> str:
    """Date for "edited at" lines (the exact time is in the title)."""
    return dt.strftime("%Y-%m-%d %H:%M") if dt else ""
