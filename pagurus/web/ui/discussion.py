"""View helpers shared by the issue and the pull-request pages: both show a
discussion (markdown comments with reactions, quick replies, comment edit
forms, watching) and answer ``?js=1`` callers with ``ok`` / ``notok: <reason>``.
The rules stay in ``core.issues`` / ``core.pulls``; callers pass the core
functions to use.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

import pygit2
from flask import redirect, request
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from pagurus import paths
from pagurus.cache import object_cache
from pagurus.core import issues as core_issues
from pagurus.core import projects as core_projects
from pagurus.core import tags as core_tags
from pagurus.core.errors import ForgeError, NotFound
from pagurus.core.users import get_user
from pagurus.markdown import RenderContext, cache_key, render
from pagurus.model import Issue, Project, User
from pagurus.web.context import base_url, current_user, db, settings
from pagurus.web.ui.helpers import flash_error, flash_success, form_errors_from

REACTIONS = ("Thumbs up", "Thumbs down", "Confused", "Heart")
# glyphs every common font has (emoji fonts are not everywhere)
REACTION_ICONS = {"Thumbs up": "+1", "Thumbs down": "\N{MINUS SIGN}1",
                  "Confused": "?!", "Heart": "\N{HEAVY BLACK HEART}"}
QUICK_REPLY_LABEL = 50

Rights = dict[tuple[bool, bool], tuple[bool, bool]]


class Comment(Protocol):
    id: int
    user_id: int
    comment: str
    notification: bool
    reactions: dict[str, list[str]] | None


# -- small answers -----------------------------------------------------------------

def purl(project: Project, suffix: str = "") -> str:
    return f"/{project.url_path}{suffix}"


def plain(text: str, status: int = 200) -> Response:
    """The ``ok`` / ``notok: <reason>`` answers of ``?js=1`` callers."""
    return Response(text, status=status, mimetype="text/plain")


def status_of(exc: ForgeError) -> int:
    """4xx for the re-rendered page (core's 401 "read-only" is a 403 here: no
    login would help)."""
    status = int(getattr(exc, "status", 400) or 400)
    if status == 401:
        return 403
    return status if 400 <= status < 500 else 400


# -- markdown --------------------------------------------------------------------

def project_from_path(path: str) -> Project | None:
    """``[fork(s)/user/][ns/]name`` as written in ``ns/proj#12``."""
    parts = path.split("/")
    user = None
    if parts[0] in ("fork", "forks") and len(parts) >= 3:
        user, parts = parts[1], parts[2:]
    if len(parts) > 2:
        return None
    name, namespace = parts[-1], (parts[0] if len(parts) == 2 else None)
    try:
        return core_projects.find_visible(db(), current_user(), name, namespace, user)
    except NotFound:
        return None


class PageRenderer:
    """Markdown for one page: ``renderer(text)`` gives sanitized Markup.

    Resolvers answer only what the viewer may see: a reference to a private
    issue or an unknown user stays plain text. Their answers are kept for
    the whole page, so 500 comments that all mention #1 cost one lookup.

    Renderings are cached by text and options together with the reference
    answers they used; a cached one is reused only when this viewer gets the
    same answers now (another viewer, a renamed or hidden issue, a new user:
    rendered again), which is what makes sharing it between viewers safe.
    """

    def __init__(self, project: Project | None, *, cache: bool = True) -> None:
        self.project = project
        self.cache = cache
        self.session, self.viewer = db(), current_user()
        self.seen: dict[tuple[str, Any, Any], Any] = {}
        self.recording: list[list[Any]] | None = None
        self._repo: list[pygit2.Repository | None] = []
        host = urlsplit(base_url()).hostname or ""
        self.ctx = RenderContext(
            resolve_issue=lambda path, number: self.ask("issue", path, number),
            user_url=lambda name: self.ask("user", name, None),
            resolve_commit=lambda sha: self.ask("commit", sha, None),
            image_hosts=frozenset({host.lower(), request.host.split(":")[0].lower()}),
            cache_salt=f"issue-page:{project.id if project else ''}")

    def ask(self, kind: str, a: Any, b: Any) -> Any:
        key = (kind, a, b)
        if key not in self.seen:
            answer = (self._issue(a, b) if kind == "issue" else self._user(a)
                      if kind == "user" else self._commit(a))
            self.seen[key] = json.loads(json.dumps(answer))  # lists, as cached
        if self.recording is not None:
            self.recording.append([kind, a, b, self.seen[key]])
        return tuple(self.seen[key]) if isinstance(self.seen[key], list) else self.seen[key]

    def _issue(self, path: str | None, number: int) -> tuple[str, str] | None:
        target = self.project if path is None else project_from_path(path)
        if target is None or not core_issues.tracker_enabled(target):
            return None
        issue = self.session.scalar(select(Issue).where(Issue.project_id == target.id,
                                                        Issue.number == number))
        if issue is None or not core_issues.can_view(self.session, self.viewer, issue):
            return None
        return f"/{target.url_path}/issue/{number}", issue.title

    def _user(self, name: str) -> str | None:
        return f"/user/{name}" if get_user(self.session, name) is not None else None

    def _commit(self, sha: str) -> str | None:
        if self.project is None:
            return None
        if not self._repo:
            try:
                self._repo.append(pygit2.Repository(str(paths.repo_path(
                    settings().data_dir, "main", self.project.fullname))))
            except (pygit2.GitError, OSError, ValueError):
                self._repo.append(None)
        repo = self._repo[0]
        try:
            obj = repo.revparse_single(sha) if repo is not None else None
        except (KeyError, ValueError, pygit2.GitError):
            return None
        return purl(self.project, f"/c/{obj.id}") if isinstance(obj, pygit2.Commit) else None

    def __call__(self, text: str | None) -> Markup:
        text = text or ""
        if not self.cache:  # previews: anyone's throwaway text stays out of the cache
            return render(text, ctx=self.ctx)
        store = object_cache(settings().redis_url)
        key = cache_key(text, self.ctx)
        cached = store.get("issue-markdown", key)
        if isinstance(cached, str):
            data = json.loads(cached)
            if all(self.ask(kind, a, b) == (tuple(ans) if isinstance(ans, list) else ans)
                   for kind, a, b, ans in data["refs"]):
                return Markup(data["html"])  # noqa: S704 - made by render() below
        self.recording = []
        try:
            html = render(text, ctx=self.ctx)
            refs = self.recording
        finally:
            self.recording = None
        store.put("issue-markdown", key, json.dumps({"html": str(html), "refs": refs}))
        return html


def renderer(project: Project | None, *, cache: bool = True
             ) -> Callable[[str | None], Markup]:
    """Markdown for one page (see :class:`PageRenderer`)."""
    return PageRenderer(project, cache=cache)


# -- comments, tags, quick replies --------------------------------------------------

def tag_view(tag: Any) -> dict[str, Any]:
    """A coloured tag for templates (a colour that is not ``#rrggbb`` is dropped)."""
    color = tag.color if isinstance(tag.color, str) and core_tags.COLOR_RE.match(tag.color) \
        else None
    return {"name": tag.name, "description": tag.description, "color": color}


def comment_view(comment: Comment, md: Callable[[str | None], Markup], user: User | None,
                 rights: Rights, *, can_edit: Callable[[Any, User | None, Any], bool],
                 can_delete: Callable[[Any, User | None, Any], bool]) -> dict[str, Any]:
    """A comment as the page shows it. ``rights`` keeps core's answers
    (``can_edit`` / ``can_delete``) for the page: on one discussion, for one
    viewer, they differ only by whether the viewer wrote the comment and
    whether it is a system comment (500 comments, two rule checks)."""
    session = db()
    kind = (user is not None and comment.user_id == user.id, comment.notification)
    if kind not in rights:
        rights[kind] = (can_edit(session, user, comment), can_delete(session, user, comment))
    may_edit, may_delete = rights[kind]
    given = {k: list(v) for k, v in (comment.reactions or {}).items() if v}
    # the offered ones first, in a fixed order, then any other given through the API
    reactions = {name: given.get(name, []) for name in REACTIONS}
    reactions.update((k, v) for k, v in given.items() if k not in reactions)
    return {
        "c": comment,
        "html": md(comment.comment),
        "can_edit": may_edit,
        "can_delete": may_delete,
        "reactions": [(name, users, bool(user and user.name in users),
                       REACTION_ICONS.get(name, "")) for name, users in reactions.items()],
    }


def quick_replies(project: Project) -> list[tuple[int, str, str]]:
    """(index, text, label) of the project's quick replies for the comment form."""
    return [(i, str(text), str(text)[:QUICK_REPLY_LABEL])
            for i, text in enumerate(project.quick_replies or []) if str(text).strip()]


def quick_reply(project: Project, form: MultiDict[str, str]) -> str:
    """The comment, or the chosen quick reply when the box was left empty."""
    text = form.get("comment", "")
    choice = form.get("quick_reply", "")
    if text.strip() or not choice.isdigit():
        return text
    replies = list(project.quick_replies or [])
    index = int(choice)
    return str(replies[index]) if index < len(replies) else text


# -- flows shared by the issue and pull-request views ----------------------------------

def save_comment_edit(project: Project, text: str, js: bool, edit: Callable[[str], None],
                      done_url: str) -> tuple[Any, Markup | None, dict[str, list[str]], int]:
    """A posted comment edit form: a preview, or ``edit(text)`` committed.
    Returns (answer, preview, errors, status): an answer to return as is
    (``?js=1`` or the redirect when saved), else the form is shown again
    with the preview or the errors (the caller reloads the comment)."""
    if request.form.get("preview") and not js:
        return None, renderer(project, cache=False)(text), {}, 200
    session = db()
    try:
        edit(text)
        session.commit()
    except ForgeError as exc:
        session.rollback()
        if js:
            return plain(f"notok: {exc.message}", status_of(exc)), None, {}, 200
        flash_error(exc.message or "The comment could not be changed")
        return None, None, form_errors_from(exc, {"comment": "update_comment"}), status_of(exc)
    if js:
        return plain("ok"), None, {}, 200
    flash_success("Comment updated")
    return redirect(done_url), None, {}, 200


def react_answer(js: bool, change: Callable[[], Any], back_url: str) -> Any:
    """Give or take back a reaction through ``change()``; giving one twice
    is a 409, said as "You already gave this reaction"."""
    session = db()
    try:
        change()
        session.commit()
    except ForgeError as exc:
        session.rollback()
        message = ("You already gave this reaction" if exc.status == 409
                   else exc.message or "Refused")
        if js:
            return plain(f"notok: {message}", status_of(exc))
        flash_error(message)
        return redirect(back_url)
    if js:
        return plain("ok")
    return redirect(back_url)


def watch_answer(watch: bool, subscribe: Callable[[bool], None], back_url: str,
                 noun: str) -> Any:
    """``subscribe(watch)`` committed, and the flashed outcome about ``noun``."""
    session = db()
    try:
        subscribe(watch)
        session.commit()
    except ForgeError as exc:
        session.rollback()
        flash_error(exc.message or "Refused")
        return redirect(back_url)
    flash_success(f"You are now watching this {noun}" if watch
                  else f"You are no longer watching this {noun}")
    return redirect(back_url)
