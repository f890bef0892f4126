"""Pull-request pages: opening one (``{P}/diff/<to>..<from>``, remote
``{P}/diff/remote``), the PR page (description, timeline with inline
threads, commits with their flags, the diff, merge status and merge form),
its ``.patch``/``.diff``, and every action on it (comment, inline comment,
edit, tags/assignee, close/reopen, merge and rebase through the worker,
watching).

Every rule lives in ``core.pulls`` (and ``core.flags``): views parse the
form, ask core, render. A refused action changes nothing (the view rolls
back) and says why — a flashed message and a 4xx page, or JSON / ``notok:``
for ``?js=1`` callers. Every page works without JavaScript;
``static/pulls.js`` only makes it smoother (tabs, inline comment boxes,
loading big files' diffs in place).

All git reads of a PR are in the *target* repository, where its head is
kept at ``refs/pull/<n>/head``; diffs are rendered once per pair of commits
and cached, inline threads are added to the cached rendering per request
(``pull_review.place_threads``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pygit2
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
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from pagurus import paths
from pagurus.cache import object_cache
from pagurus.core import access, ci_trigger
from pagurus.core import flags as core_flags
from pagurus.core import pulls as core_pulls
from pagurus.core.errors import ForgeError, InvalidInput, NotFound
from pagurus.core.projects import settings_of
from pagurus.core.pushrules import has_signed_off
from pagurus.git import branches as git_branches
from pagurus.git import diff as git_diff
from pagurus.git import pulls as git_pulls
from pagurus.git.refs import is_empty
from pagurus.model import Project, PullRequest, PullRequestComment, User
from pagurus.web import csrf
from pagurus.web.context import base_url, current_user, db, settings
from pagurus.web.routes import project_route
from pagurus.web.ui import discussion
from pagurus.web.ui import pull_review as review
from pagurus.web.ui.helpers import (
    flash_error,
    flash_success,
    form_errors_from,
    is_true,
    login_url,
)
from pagurus.web.ui.project import _project, header_context

bp = Blueprint("ui_pulls", __name__)
bp.before_request(csrf.protect)

DIFF_CACHE_VERSION = "4"
COMMITS_SHOWN = 500  # rows of the commit list; the rest through the compare page
# up to this many diff lines, each line number links to the inline comment form;
# above, the numbers stay plain (page weight) and each file links its own page
LINE_LINKS_MAX = 3000
CONTRIBUTING_MAX = 64 * 1024
_TASK_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_HEX = re.compile(r"^[0-9a-fA-F]{7,64}$")
NEEDSREBASE = "NEEDSREBASE"
MERGE_TEXT = {
    git_pulls.FFORWARD: "The changes can be merged with a fast-forward.",
    git_pulls.MERGE: "The changes can be merged cleanly with a merge commit.",
    git_pulls.CONFLICTS: "The changes conflict with the target branch.",
    git_pulls.NO_CHANGE: "Nothing to merge: the target branch already holds these changes.",
    NEEDSREBASE: "The branch must be rebased first: this project only merges fast-forwards.",
    "unknown": "The merge status could not be computed.",
}
MERGEABLE = (git_pulls.FFORWARD, git_pulls.MERGE, git_pulls.NO_CHANGE)
# characters that make code read differently than it runs (Pagure's PR_WARN_CHARACTERS)
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


# -- lookups -----------------------------------------------------------------

def _pulls_project(repo: str, namespace: str | None, username: str | None) -> Project:
    """The project if the viewer may see it and its pull requests are on; 404 otherwise."""
    project = _project(repo, namespace, username)
    if not core_pulls.pulls_enabled(project):
        abort(404)
    return project


def _pull(project: Project, prid: Any) -> PullRequest:
    try:
        return core_pulls.get_pull(db(), current_user(), project, prid)
    except core_pulls.PullNotFound:
        abort(404)


def pr_url(pr: PullRequest, suffix: str = "") -> str:
    return f"/{pr.project.url_path}/pull-request/{pr.number}{suffix}"


def _open_repo(project: Project) -> pygit2.Repository | None:
    if project.repo_state not in ("ready", None):
        return None
    try:
        return pygit2.Repository(str(paths.repo_path(settings().data_dir, "main",
                                                     project.fullname)))
    except (pygit2.GitError, OSError, KeyError, ValueError, paths.UnsafePath):
        return None


def _js_error(message: str, status: int) -> Any:
    return jsonify({"code": "ERROR", "message": message}), status


def _cache() -> Any:
    return object_cache(settings().redis_url)


def _setting(name: str, default: Any) -> Any:
    """An instance setting that may not exist in every version of Settings."""
    conf = settings()
    value = getattr(conf, name, None)
    if value is None:
        value = (conf.extra or {}).get(name, default)
    return value


# -- diffs -----------------------------------------------------------------------

def _file_tree(files: list[git_diff.FileDiff]) -> list[dict[str, Any]]:
    """The changed files as nested folders (folders first, then files, by name)."""
    root: dict[str, Any] = {"children": {}}
    for f in files:
        parts = f.path.split("/")
        node = root
        for part in parts[:-1]:
            node = node["children"].setdefault(part + "/", {"name": part, "file": None,
                                                            "children": {}})
        node["children"][parts[-1]] = {"name": parts[-1], "file": f, "children": {}}

    def listing(node: dict[str, Any]) -> list[dict[str, Any]]:
        items = sorted(node["children"].items(),
                       key=lambda kv: (kv[1]["file"] is not None, kv[0]))
        return [{"name": n["name"], "file": n["file"], "children": listing(n)}
                for _k, n in items]
    return listing(root)


def _view_args() -> tuple[bool, bool]:
    split = request.args.get("splitview", "").lower() in ("1", "true", "yes", "on")
    tree = request.args.get("files", "") == "tree"
    return split, tree


def _view_links(path: str, split: bool, tree: bool, anchor: str = "") -> list[list[Any]]:
    def url(s: bool, t: bool) -> str:
        args = [a for a in (("splitview=1" if s else ""), ("files=tree" if t else "")) if a]
        return path + ("?" + "&".join(args) if args else "") + anchor
    return [["Unified", url(False, tree), not split], ["Split", url(True, tree), split],
            ["File list", url(split, False), not tree], ["File tree", url(split, True), tree]]


def render_diff(repo: pygit2.Repository, span: review.Span, *, split: bool, tree: bool,
                comment_base: str | None, file_base: str | None,
                view_links: list[list[Any]], old_comment_base: str | None = None
                ) -> tuple[str, list[list[Any]], list[str]]:
    """(html, [[index, path, status, old_path], ...], files adding bidirectional
    control characters) of the diff of ``span``, cached by its commits and
    every option that shows in the output."""
    key = json.dumps([DIFF_CACHE_VERSION, span.key, split, tree, comment_base, file_base,
                      view_links, old_comment_base])

    def compute() -> str:
        assert span.head is not None
        if span.base is None:
            result = git_diff.diff_files(repo, git_diff.tree_diff(repo, None, span.head.tree))
        else:
            result = git_diff.compare_diff(repo, span.base, span.head)
        line_links = sum(f.lines_count for f in result.files) <= LINE_LINKS_MAX
        html = render_template(
            "pulls/_diff.html", diff=result, split=split, comment_base=comment_base,
            old_base=old_comment_base,
            file_base=file_base, tree=_file_tree(result.files) if tree else None,
            view_links=view_links, split_rows=git_diff.split_rows, line_links=line_links)
        bidi = sorted({f.path for f in result.files if any(
            BIDI.search(line.text) for h in f.hunks for line in h.lines if line.kind == "add")})
        return json.dumps({"html": html, "bidi": bidi,
                           "files": [[f.index, f.path, f.status, f.old_path]
                                     for f in result.files]})

    data = json.loads(_cache().get_or_compute("pull-diff", key, compute))
    return data["html"], data["files"], data.get("bidi", [])


def _commit_rows(commits: list[pygit2.Commit]) -> list[dict[str, Any]]:
    from datetime import UTC, datetime

    rows = []
    for c in commits:
        subject, _body = git_branches.split_message(
            (c.raw_message or b"").decode("utf-8", "replace"))
        rows.append({"id": str(c.id), "subject": subject,
                     "author": (c.author.raw_name or b"").decode("utf-8", "replace"),
                     "author_email": (c.author.raw_email or b"").decode("utf-8", "replace"),
                     "when": datetime.fromtimestamp(c.commit_time, UTC)})
    return rows


# -- comments ----------------------------------------------------------------------

def _comment_view(comment: PullRequestComment, md: Callable[[str | None], Markup],
                  user: User | None, rights: discussion.Rights) -> dict[str, Any]:
    return discussion.comment_view(comment, md, user, rights,
                                   can_edit=core_pulls.can_edit_comment,
                                   can_delete=core_pulls.can_delete_comment)


def _comments(pr: PullRequest) -> list[PullRequestComment]:
    return list(db().scalars(
        select(PullRequestComment).where(PullRequestComment.pull_request_id == pr.id)
        .options(selectinload(PullRequestComment.user),
                 selectinload(PullRequestComment.editor))
        .order_by(PullRequestComment.id)))


# -- merge status --------------------------------------------------------------------

def _merge_info(pr: PullRequest, user: User | None) -> dict[str, Any]:
    """What the merge box shows: the status (NEEDSREBASE when only
    fast-forwards are allowed and a merge commit would be needed), the
    conflicting files, whether this viewer may merge now and why not."""
    session = db()
    info: dict[str, Any] = {"status": None, "conflicts": [], "text": "", "refusal": None,
                            "can_merge": False, "rights": False}
    if pr.status != core_pulls.OPEN:
        return info
    try:
        status, conflicts = core_pulls.merge_status(session, settings().data_dir, pr)
        session.commit()  # the cached status, for the next viewers and the API
    except (pygit2.GitError, KeyError, ValueError, OSError):
        session.rollback()
        status, conflicts = "unknown", []
    opts = settings_of(pr.project)
    if status == git_pulls.MERGE and opts["disable_non_fast-forward_merges"]:
        status = NEEDSREBASE
    text = MERGE_TEXT.get(status, MERGE_TEXT["unknown"])
    if status == git_pulls.FFORWARD and opts["always_merge"]:
        text = "The changes can be merged; this project always makes a merge commit."
    info.update(status=status, conflicts=conflicts, text=text)
    info["rights"] = core_pulls.can_merge(session, user, pr)
    if user is not None:
        refusal = core_pulls.merge_refusal(session, user, pr)
        info["refusal"] = refusal.message if refusal is not None else None
        info["can_merge"] = refusal is None and status in MERGEABLE
    return info


def _can_delete_branch(pr: PullRequest, user: User | None) -> bool:
    """The source branch may go with the merge: allowed by the instance, a
    local source, commit rights on that branch, and not its default branch."""
    source = pr.project_from
    if (user is None or source is None or pr.remote_git
            or not _setting("allow_delete_branch", True)):
        return False
    if pr.branch_from == (source.default_branch or "") and source.id == pr.project_id:
        return False
    return access.can_commit(db(), user, source, pr.branch_from)


# -- the PR page -------------------------------------------------------------------

def _pull_page(project: Project, pr: PullRequest, *, form: MultiDict[str, str] | None = None,
               preview: Markup | None = None, errors: dict[str, list[str]] | None = None,
               status: int = 200) -> Any:
    session, user = db(), current_user()
    md = discussion.renderer(project)
    url = pr_url(pr)
    project_path = discussion.purl(project)
    repo = _open_repo(project)
    span = review.pr_span(repo, pr) if repo is not None else review.Span(
        None, None, error="The repository is not available.")
    head_id = str(span.head.id) if span.head is not None else None
    split, tree = _view_args()
    token = csrf.token()
    can_comment = core_pulls.can_comment(session, user, pr)

    diff_html, files, bidi = "", [], []
    if repo is not None and span.head is not None:
        comment_base = f"{url}/comment/{head_id}/" if pr.status == core_pulls.OPEN else None
        diff_html, files, bidi = render_diff(
            repo, span, split=split, tree=tree, comment_base=comment_base,
            file_base=f"{url}/file/", view_links=_view_links(url, split, tree, "#pr-files"),
            old_comment_base=review.old_comment_base(url, span) if comment_base else None)
    file_index, old_index = review.file_indexes(files)
    base_id = str(span.base.id) if span.base is not None else None

    rights: discussion.Rights = {}
    comments = _comments(pr)
    views = [_comment_view(c, md, user, rights) for c in comments]
    lines = review.Lines(repo) if repo is not None else None
    threads = review.group_threads(lines, [v for v in views if v["c"].line is not None],
                                   head_id, set(file_index), base_id=base_id,
                                   old_paths=set(old_index)) if lines is not None else {}
    unique_threads = list({id(t): t for t in threads.values()}.values())
    if diff_html and unique_threads:
        row = get_template_attribute("pulls/_macros.html", "thread_row")
        cols = 4 if split else 3
        diff_html = review.place_threads(
            diff_html, file_index, unique_threads,
            lambda t: row(t, cols, project_path, url, token, can_comment, head_id),
            old_index=old_index)
    timeline: list[tuple[str, Any]] = []
    listed: set[int] = set()
    for v in views:
        c = v["c"]
        if c.id in threads:
            t = threads[c.id]
            if id(t) not in listed:
                listed.add(id(t))
                timeline.append(("thread", t))
        elif c.notification:
            timeline.append(("event", v))
        else:
            timeline.append(("comment", v))

    commits = span.commits
    shown = commits[-COMMITS_SHOWN:] if len(commits) > COMMITS_SHOWN else commits
    commit_rows = _commit_rows(list(reversed(shown)))
    commit_flags = core_flags.flags_of_commits(session, project, [r["id"] for r in commit_rows])
    head_flags = core_flags.flags_of_pull(session, pr)
    merge = _merge_info(pr, user)
    needed = core_pulls.minimum_score(project)
    form = form or MultiDict()
    subscribers = core_pulls.subscribers(session, pr)
    return render_template(
        "pulls/pull_page.html", pr=pr, pr_url=url, span=span, head_id=head_id,
        description_html=md(pr.initial_comment) if (pr.initial_comment or "").strip() else None,
        timeline=timeline, file_anchor={p: f"pf{i + 1}" for p, i in file_index.items()},
        diff_html=Markup(diff_html), files_count=len(files),  # noqa: S704 - rendered above
        bidi_files=bidi,
        commits=commit_rows, commits_total=len(commits), commits_truncated=span.truncated,
        commit_flags=commit_flags, head_flags=head_flags,
        flag_labels=core_flags.STATUS_LABELS, flag_classes=core_flags.STATUS_BADGES,
        merge=merge, delete_branch=_can_delete_branch(pr, user),
        can_rebase=pr.status == core_pulls.OPEN and core_pulls.can_rebase(session, user, pr),
        can_close=core_pulls.can_close(session, user, pr),
        can_refresh=bool(pr.remote_git) and pr.status == core_pulls.OPEN and user is not None
        and can_comment and (user.id == pr.user_id
                             or core_pulls.is_committer(session, user, project)),
        can_edit=pr.status == core_pulls.OPEN and core_pulls.can_edit(session, user, pr),
        can_tag=core_pulls.can_tag(session, user, pr),
        can_assign=core_pulls.can_assign(session, user, pr),
        can_comment=can_comment, token=token,
        score=core_pulls.score(pr), needed=needed,
        threshold=core_pulls.threshold_reached(pr),
        related=core_pulls.related_issues(session, user, pr),
        pr_tags=[discussion.tag_view(t) for t in pr.tags],
        subscribers=subscribers,
        subscribed=user is not None and any(u.id == user.id for u in subscribers),
        quick_replies=discussion.quick_replies(project),
        comment_text=form.get("comment", ""), preview=preview, errors=errors or {},
        values={"tag": form.get("tag", ", ".join(t.name for t in pr.tags)),
                "user": form.get("user", pr.assignee.name if pr.assignee else "")},
        signed_off=bool(settings_of(project)[core_pulls.SIGNED_OFF_SETTING]),
        ci_sentences=ci_trigger.sentences(settings().trigger_ci)
        if can_comment and pr.status == core_pulls.OPEN else [],
        **header_context(project, "pulls")), status


@project_route(bp, "/pull-request/<int:prid>")
@project_route(bp, "/pull-request/<int:prid>/", endpoint="view_pull_slash")
def view_pull(repo: str, prid: int, namespace: str | None = None,
              username: str | None = None) -> Any:
    project = _pulls_project(repo, namespace, username)
    return _pull_page(project, _pull(project, prid))


def _span_or_404(project: Project, pr: PullRequest
                 ) -> tuple[pygit2.Repository, review.Span]:
    repo = _open_repo(project)
    if repo is None:
        abort(404)
    span = review.pr_span(repo, pr)
    if span.head is None:
        abort(404, description=span.error or "The commits of this pull request are gone.")
    return repo, span


@project_route(bp, "/pull-request/<int:prid>/file/<path:fpath>")
def view_pull_file(repo: str, prid: int, fpath: str, namespace: str | None = None,
                   username: str | None = None) -> Any:
    """One file of the PR's diff, inlined whatever its size (up to the
    per-file limit); ``?fragment=1``: only the file's block, for pulls.js."""
    project = _pulls_project(repo, namespace, username)
    pr = _pull(project, prid)
    git_repo, span = _span_or_404(project, pr)
    assert span.head is not None
    f = git_diff.one_file(git_repo, span.base.tree if span.base else None, span.head.tree,
                          fpath)
    if f is None:
        abort(404)
    split, _tree = _view_args()
    url = pr_url(pr)
    head_id = str(span.head.id)
    comment_base = f"{url}/comment/{head_id}/" if pr.status == core_pulls.OPEN else None
    old_base = review.old_comment_base(url, span) if comment_base else None
    block = get_template_attribute("pulls/_macros.html", "file_block")
    html = str(block(f, split, comment_base, None, git_diff.split_rows, True, old_base))
    session, user = db(), current_user()
    can_comment = core_pulls.can_comment(session, user, pr)
    md = discussion.renderer(project)
    rights: discussion.Rights = {}
    views = [_comment_view(c, md, user, rights) for c in _comments(pr)
             if c.line is not None and c.filename in (f.path, f.old_path)]
    threads = review.group_threads(review.Lines(git_repo), views, head_id, {f.path},
                                   base_id=str(span.base.id) if span.base else None,
                                   old_paths={f.old_path})
    token = csrf.token()
    row = get_template_attribute("pulls/_macros.html", "thread_row")
    html = review.place_threads(
        html, {f.path: f.index}, list({id(t): t for t in threads.values()}.values()),
        lambda t: row(t, 4 if split else 3, discussion.purl(project), url, token, can_comment,
                      head_id), old_index={f.old_path: f.index})
    if is_true(request.args.get("fragment")):
        return Response(html, mimetype="text/html")
    return render_template("pulls/file.html", pr=pr, pr_url=url, file=f,
                           file_html=Markup(html),  # noqa: S704 - escaped by the macros
                           can_comment=can_comment, token=token,
                           **header_context(project, "pulls"))


def _raw_response(project: Project, pr: PullRequest, kind: str) -> Response:
    """``git format-patch`` of the PR's commits, or ``git diff`` of its range,
    streamed from the target repository."""
    _repo, span = _span_or_404(project, pr)
    assert span.head is not None
    head = str(span.head.id)
    base = str(span.base.id) if span.base is not None else None
    tag = f"pull-{kind}-{span.key}"
    if tag in request.if_none_match:
        return Response(status=304)
    if kind == "patch":
        args = ["format-patch", "--stdout", "--no-color"]
        args += ([f"{base}..{head}"] if base else ["--root", head]) + ["--"]
    else:
        args = ["diff", "--no-color", "--no-ext-diff", "--find-renames",
                base or git_diff.EMPTY_TREE_SHA1, head, "--"]
    directory = paths.repo_path(settings().data_dir, "main", project.fullname)
    resp = Response(git_diff.stream_git(directory, args), mimetype="text/plain")
    resp.charset = "utf-8"
    resp.set_etag(tag)
    resp.headers["Cache-Control"] = "private, no-cache" if project.private else "public, no-cache"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@project_route(bp, "/pull-request/<int:prid>.patch", endpoint="pull_patch")
def pull_patch(repo: str, prid: int, namespace: str | None = None,
               username: str | None = None) -> Response:
    project = _pulls_project(repo, namespace, username)
    return _raw_response(project, _pull(project, prid), "patch")


@project_route(bp, "/pull-request/<int:prid>.diff", endpoint="pull_diff")
def pull_diff(repo: str, prid: int, namespace: str | None = None,
              username: str | None = None) -> Response:
    project = _pulls_project(repo, namespace, username)
    return _raw_response(project, _pull(project, prid), "diff")


# -- comments ------------------------------------------------------------------------

def _need_login(pr: PullRequest, js: bool) -> Any:
    if js:
        return _js_error("You must be logged in", 401)
    return redirect(login_url(pr_url(pr)))


def _comment_json(project: Project, pr: PullRequest, comment: PullRequestComment,
                  message: str) -> Any:
    """What ``?js=1`` comment posts get: the new comment rendered for the page."""
    user = current_user()
    view = _comment_view(comment, discussion.renderer(project), user, {})
    card = get_template_attribute("pulls/_macros.html", "comment_card")
    html = str(card(view, pr_url(pr), csrf.token(), core_pulls.can_comment(db(), user, pr)))
    return jsonify({"code": "OK", "message": message, "comment_id": comment.id, "html": html})


@project_route(bp, "/pull-request/<int:prid>/comment", methods=["POST"])
@project_route(bp, "/pull-request/<int:prid>/comment/", endpoint="pull_comment_slash",
               methods=["POST"])
def pull_comment(repo: str, prid: int, namespace: str | None = None,
                 username: str | None = None) -> Any:
    """A general comment (``comment``, or the ``quick_reply`` chosen when it is empty)."""
    js = is_true(request.args.get("js"))
    project = _pulls_project(repo, namespace, username)
    pr = _pull(project, prid)
    user = current_user()
    if user is None:
        return _need_login(pr, js)
    session, form = db(), request.form
    text = discussion.quick_reply(project, form)
    if form.get("preview") and not js:
        return _pull_page(project, pr, form=form,
                          preview=discussion.renderer(project, cache=False)(text))
    try:
        comment = core_pulls.add_comment(session, user, pr, text, base_url=base_url(),
                                         trigger_ci=settings().trigger_ci)
        session.commit()
    except ForgeError as exc:
        session.rollback()
        if js:
            return _js_error(exc.message or "Refused", discussion.status_of(exc))
        flash_error(exc.message or "The comment was refused")
        return _pull_page(project, _pull(project, prid), form=form,
                          errors=form_errors_from(exc), status=discussion.status_of(exc))
    if js:
        return _comment_json(project, pr, comment, "Comment added")
    flash_success("Comment added")
    return redirect(pr_url(pr) + f"#comment-{comment.id}")


@project_route(bp, "/pull-request/<int:prid>/comment/<commit>/<path:filename>/<int:row>",
               methods=["GET", "POST"])
def pull_inline_comment(repo: str, prid: int, commit: str, filename: str, row: int,
                        namespace: str | None = None, username: str | None = None) -> Any:
    """An inline comment on ``row`` (a line of the file's version at
    ``commit``; ``?side=old``: a removed line, ``commit`` being the diff's
    base); GET is the form used without JavaScript."""
    js = is_true(request.args.get("js"))
    project = _pulls_project(repo, namespace, username)
    pr = _pull(project, prid)
    user = current_user()
    session = db()
    git_repo = _open_repo(project)
    if git_repo is None or not _HEX.match(commit):
        abort(404)
    lines = review.Lines(git_repo)
    if lines.blob_id(commit, filename) is None:
        if js:
            return _js_error("No such file at this commit", 404)
        abort(404)
    code = lines.line(commit, filename, row)
    tree_id = request.values.get("tree_id") or None
    side = request.values.get("side") or None
    text = request.form.get("comment", "")
    errors: dict[str, list[str]] = {}
    preview = None
    status = 200
    if request.method == "POST":
        if user is None:
            return _need_login(pr, js)
        if request.form.get("preview") and not js:
            preview = discussion.renderer(project, cache=False)(text)
        else:
            try:
                comment = core_pulls.add_comment(session, user, pr, text, base_url=base_url(),
                                                 commit=commit, filename=filename, row=row,
                                                 tree_id=tree_id, side=side,
                                                 trigger_ci=settings().trigger_ci)
                session.commit()
            except ForgeError as exc:
                session.rollback()
                if js:
                    return _js_error(exc.message or "Refused", discussion.status_of(exc))
                flash_error(exc.message or "The comment was refused")
                errors, status = form_errors_from(exc), discussion.status_of(exc)
                pr = _pull(project, prid)
            else:
                if js:
                    return _comment_json(project, pr, comment, "Comment added")
                flash_success("Comment added")
                return redirect(pr_url(pr) + f"#comment-{comment.id}")
    md = discussion.renderer(project)
    rights: discussion.Rights = {}
    thread = [_comment_view(c, md, user, rights) for c in _comments(pr)
              if c.filename == filename and c.line == row
              and (c.side == review.OLD) == (side == review.OLD)]
    return render_template(
        "pulls/inline_comment.html", pr=pr, pr_url=pr_url(pr), commit=commit,
        filename=filename, row=row, code=code, tree_id=tree_id, text=text, errors=errors,
        side=review.OLD if side == review.OLD else None,
        preview=preview, thread=thread, can_comment=core_pulls.can_comment(session, user, pr),
        token=csrf.token(), **header_context(project, "pulls")), status


@project_route(bp, "/pull-request/<int:prid>/comment/<int:commentid>/edit",
               methods=["GET", "POST"])
def edit_pull_comment(repo: str, prid: int, commentid: int, namespace: str | None = None,
                      username: str | None = None) -> Any:
    js = is_true(request.args.get("js"))
    project = _pulls_project(repo, namespace, username)
    pr = _pull(project, prid)
    session, user = db(), current_user()
    try:
        comment = core_pulls.get_comment(session, pr, commentid)
    except NotFound:
        abort(404)
    if user is None:
        return _need_login(pr, js)
    text = comment.comment
    preview = None
    status = 200
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        text = request.form.get("update_comment", request.form.get("comment", ""))
        answer, preview, errors, status = discussion.save_comment_edit(
            project, text, js,
            lambda t: core_pulls.edit_comment(session, user, comment, t, base_url=base_url()),
            pr_url(pr) + f"#comment-{comment.id}")
        if answer is not None:
            return answer
        if status != 200:
            comment = core_pulls.get_comment(session, pr, commentid)
    elif not core_pulls.can_edit_comment(session, user, comment):
        flash_error("You may not edit this comment")
        status = 403
    return render_template(
        "pulls/comment_edit.html", pr=pr, pr_url=pr_url(pr), comment=comment, text=text,
        preview=preview, errors=errors,
        allowed=core_pulls.can_edit_comment(session, user, comment),
        **header_context(project, "pulls")), status


@project_route(bp, "/pull-request/<int:prid>/comment/drop", methods=["POST"])
def drop_pull_comment(repo: str, prid: int, namespace: str | None = None,
                      username: str | None = None) -> Any:
    """``drop_comment=<id>``: the comment's author or a committer."""
    js = is_true(request.args.get("js"))
    project = _pulls_project(repo, namespace, username)
    pr = _pull(project, prid)
    session, user = db(), current_user()
    if user is None:
        return _need_login(pr, js)
    try:
        comment = core_pulls.get_comment(session, pr, request.form.get("drop_comment", ""))
        core_pulls.delete_comment(session, user, comment)
        session.commit()
    except ForgeError as exc:
        session.rollback()
        if js:
            return discussion.plain(f"notok: {exc.message}", discussion.status_of(exc))
        flash_error(exc.message or "The comment could not be deleted")
        return redirect(pr_url(pr))
    if js:
        return discussion.plain("ok")
    flash_success("Comment removed")
    return redirect(pr_url(pr))


@project_route(bp, "/pull-request/<int:prid>/comment/<int:commentid>/react",
               methods=["POST"])
def react_pull_comment(repo: str, prid: int, commentid: int, namespace: str | None = None,
                       username: str | None = None) -> Any:
    """``reaction=<name>`` gives one, ``unreact=<name>`` takes it back (the
    issue page's form and script)."""
    js = is_true(request.args.get("js"))
    project = _pulls_project(repo, namespace, username)
    pr = _pull(project, prid)
    session, user = db(), current_user()
    try:
        comment = core_pulls.get_comment(session, pr, commentid)
    except NotFound:
        abort(404)
    if user is None:
        return discussion.plain("notok: You must be logged in", 401) if js else redirect(
            login_url(pr_url(pr)))

    def change() -> Any:
        if "unreact" in request.form:
            return core_pulls.unreact(session, user, comment, request.form.get("unreact", ""))
        return core_pulls.react(session, user, comment, request.form.get("reaction", ""))

    return discussion.react_answer(js, change, pr_url(pr) + f"#comment-{comment.id}")


# -- editing and metadata ------------------------------------------------------------

@project_route(bp, "/pull-request/<int:prid>/edit", methods=["GET", "POST"])
@project_route(bp, "/pull-request/<int:prid>/edit/", endpoint="edit_pull_slash",
               methods=["GET", "POST"])
def edit_pull(repo: str, prid: int, namespace: str | None = None,
              username: str | None = None) -> Any:
    """Title, description, target branch; ``allow_rebase`` for the author only."""
    project = _pulls_project(repo, namespace, username)
    pr = _pull(project, prid)
    session, user = db(), current_user()
    if user is None:
        return redirect(login_url())
    git_repo = _open_repo(project)
    branches = git_branches.branch_names(git_repo, with_aliases=False) if git_repo else []
    form = {"title": pr.title, "initial_comment": pr.initial_comment, "branch_to": pr.branch,
            "allow_rebase": pr.allow_rebase}
    errors: dict[str, list[str]] = {}
    preview = None
    status = 200
    allowed = pr.status == core_pulls.OPEN and core_pulls.can_edit(session, user, pr)
    is_author = user.id == pr.user_id
    if request.method == "POST":
        form = {"title": request.form.get("title", ""),
                "initial_comment": request.form.get("initial_comment", ""),
                "branch_to": request.form.get("branch_to", pr.branch) or pr.branch,
                "allow_rebase": is_true(request.form.get("allow_rebase"))}
        if request.form.get("preview"):
            preview = discussion.renderer(project, cache=False)(form["initial_comment"])
        else:
            try:
                changed = core_pulls.edit_pull(
                    session, user, pr, base_url=base_url(), title=form["title"],
                    initial_comment=form["initial_comment"], branch_to=form["branch_to"],
                    allow_rebase=form["allow_rebase"] if is_author else None,
                    data_dir=settings().data_dir)
                session.commit()
            except (ForgeError, git_pulls.PullGitError) as exc:
                session.rollback()
                if isinstance(exc, git_pulls.PullGitError):
                    exc = InvalidInput(str(exc), errors={"branch_to": [str(exc)]})
                errors = form_errors_from(exc)
                flash_error(exc.message or "The pull request could not be changed")
                status = discussion.status_of(exc)
                pr = _pull(project, prid)
            else:
                flash_success("Pull request edited" if changed else "Nothing changed")
                return redirect(pr_url(pr))
    elif not allowed:
        flash_error("Only the author, the assignee or those with ticket access may edit "
                    "an open pull request")
        status = 403
    return render_template("pulls/edit.html", pr=pr, pr_url=pr_url(pr), form=form,
                           errors=errors, preview=preview, allowed=allowed,
                           is_author=is_author, branches=branches,
                           **header_context(project, "pulls")), status


@project_route(bp, "/pull-request/<int:prid>/update", methods=["POST"])
def update_pull(repo: str, prid: int, namespace: str | None = None,
                username: str | None = None) -> Any:
    """``tag`` (comma-separated, full replacement) and ``user`` (assignee,
    empty: nobody); only the fields that changed are sent to core."""
    project = _pulls_project(repo, namespace, username)
    pr = _pull(project, prid)
    session, user = db(), current_user()
    if user is None:
        return redirect(login_url(pr_url(pr)))
    form = request.form
    changes: dict[str, Any] = {}
    if "tag" in form:
        wanted = [t.strip().lower() for t in form.get("tag", "").split(",") if t.strip()]
        if sorted(wanted) != sorted(t.name.lower() for t in pr.tags):
            changes["tags"] = form.get("tag", "")
    assignee_field = "user" if "user" in form else "assignee" if "assignee" in form else None
    if assignee_field is not None:
        wanted_user = form.get(assignee_field, "").strip()
        current = pr.assignee.name if pr.assignee else ""
        if wanted_user != current:
            changes["assignee"] = wanted_user or None
    if not changes:
        flash_success("Nothing changed")
        return redirect(pr_url(pr))
    try:
        messages = core_pulls.update_metadata(session, user, pr, base_url=base_url(),
                                              **changes)
        session.commit()
    except ForgeError as exc:
        session.rollback()
        flash_error(exc.message or "The change was refused")
        pr = _pull(project, prid)
        return _pull_page(project, pr, form=form, status=discussion.status_of(exc),
                          errors=form_errors_from(exc, {"assignee": "user", "tags": "tag"}))
    flash_success("; ".join(messages) if messages else "Nothing changed")
    return redirect(pr_url(pr))


@project_route(bp, "/pull-request/<int:prid>/trigger-ci", methods=["POST"])
def trigger_pull_ci(repo: str, prid: int, namespace: str | None = None,
                    username: str | None = None) -> Any:
    """The "Rerun CI" menu: ``comment`` (one of the trigger sentences) is posted as a
    notification comment and the ``pull-request.ci.trigger`` event recorded."""
    project = _pulls_project(repo, namespace, username)
    pr = _pull(project, prid)
    session, user = db(), current_user()
    if user is None:
        return redirect(login_url(pr_url(pr)))
    try:
        comment = ci_trigger.trigger(session, user, pr, request.form.get("comment"),
                                     settings().trigger_ci, base_url=base_url())
        session.commit()
    except ForgeError as exc:
        session.rollback()
        flash_error(exc.message or "Refused")
        return _pull_page(project, _pull(project, prid), status=discussion.status_of(exc))
    flash_success("CI asked to run again")
    return redirect(pr_url(pr) + f"#comment-{comment.id}")


@project_route(bp, "/pull-request/<int:prid>/watch", methods=["POST"])
def watch_pull(repo: str, prid: int, namespace: str | None = None,
               username: str | None = None) -> Any:
    """``watch=1`` subscribes, ``watch=0`` opts out."""
    project = _pulls_project(repo, namespace, username)
    pr = _pull(project, prid)
    user = current_user()
    if user is None:
        return redirect(login_url(pr_url(pr)))
    return discussion.watch_answer(is_true(request.form.get("watch", "1")),
                        lambda watch: core_pulls.set_subscription(db(), user, pr, watch),
                        pr_url(pr), "pull request")


# -- close, reopen, merge, rebase ------------------------------------------------------

def _status_change(repo: str, prid: int, namespace: str | None, username: str | None,
                   action: Callable[..., bool], done: str, nothing: str) -> Any:
    project = _pulls_project(repo, namespace, username)
    pr = _pull(project, prid)
    session, user = db(), current_user()
    if user is None:
        return redirect(login_url(pr_url(pr)))
    try:
        changed = action(session, user, pr, base_url=base_url())
        session.commit()
    except ForgeError as exc:
        session.rollback()
        flash_error(exc.message or "Refused")
        return _pull_page(project, _pull(project, prid), status=discussion.status_of(exc))
    if changed:
        flash_success(done)
    else:
        flash_error(nothing)
    return redirect(pr_url(pr))


@project_route(bp, "/pull-request/close/<int:prid>", methods=["POST"])
def close_pull(repo: str, prid: int, namespace: str | None = None,
               username: str | None = None) -> Any:
    return _status_change(repo, prid, namespace, username, core_pulls.close,
                          "Pull request closed", "This pull request is not open")


@project_route(bp, "/pull-request/<int:prid>/reopen", methods=["POST"])
def reopen_pull(repo: str, prid: int, namespace: str | None = None,
                username: str | None = None) -> Any:
    return _status_change(repo, prid, namespace, username, core_pulls.reopen,
                          "Pull request reopened", "This pull request is already open")


def _task_url(pr: PullRequest, task_id: str) -> str:
    return pr_url(pr, f"/task/{task_id}")


@project_route(bp, "/pull-request/<int:prid>/merge", methods=["POST"])
def merge_pull(repo: str, prid: int, namespace: str | None = None,
               username: str | None = None) -> Any:
    """Queue the merge (optional ``comment``, ``delete_branch``) and wait for it."""
    project = _pulls_project(repo, namespace, username)
    pr = _pull(project, prid)
    session, user = db(), current_user()
    if user is None:
        return redirect(login_url(pr_url(pr)))
    refusal = core_pulls.merge_refusal(session, user, pr)
    if refusal is not None:
        flash_error(refusal.message or "You may not merge this pull request")
        return redirect(pr_url(pr))
    delete_branch = is_true(request.form.get("delete_branch"))
    if delete_branch and not _can_delete_branch(pr, user):
        flash_error("You may not delete the source branch of this pull request")
        return redirect(pr_url(pr))
    comment = request.form.get("comment", "").strip() or None
    from pagurus.tasks import pulls as pull_tasks

    task = pull_tasks.merge_pull.delay(pr.id, user.id, base_url(), comment=comment,
                                       delete_branch=delete_branch)
    return redirect(_task_url(pr, task.id))


@project_route(bp, "/pull-request/<int:prid>/rebase", methods=["POST"])
def rebase_pull(repo: str, prid: int, namespace: str | None = None,
                username: str | None = None) -> Any:
    project = _pulls_project(repo, namespace, username)
    pr = _pull(project, prid)
    session, user = db(), current_user()
    if user is None:
        return redirect(login_url(pr_url(pr)))
    if pr.status != core_pulls.OPEN or not core_pulls.can_rebase(session, user, pr):
        flash_error("You may not rebase this pull request")
        return redirect(pr_url(pr))
    from pagurus.tasks import pulls as pull_tasks

    task = pull_tasks.rebase_pull.delay(pr.id, user.id, base_url())
    return redirect(_task_url(pr, task.id))


@project_route(bp, "/pull-request/<int:prid>/task/<taskid>")
def pull_task(repo: str, prid: int, taskid: str, namespace: str | None = None,
              username: str | None = None) -> Any:
    """The waiting page of a merge or rebase: reloads until the task ends,
    then back to the PR with what happened (a refused merge is an error)."""
    from pagurus.tasks.status import task_status

    project = _pulls_project(repo, namespace, username)
    pr = _pull(project, prid)
    if not _TASK_ID.match(taskid):
        abort(404)
    state = task_status(taskid)
    if not state["ready"]:
        try:
            count = max(0, min(int(request.args.get("count", "0")), 1_000_000))
        except ValueError:
            count = 0
        refresh = _task_url(pr, taskid) + f"?count={count + 1}"
        return render_template("pages/wait.html", refresh_url=refresh, count=count)
    result = state.get("result")
    if not state.get("successful"):
        flash_error("The operation failed; it has been logged for the administrators.")
    elif isinstance(result, dict):
        done = next((bool(result[k]) for k in ("merged", "rebased", "refreshed")
                     if k in result), True)
        message = str(result.get("message") or ("Done" if done else "Refused"))
        conflicts = [str(c) for c in result.get("conflicts") or []]
        if conflicts and not all(c in message for c in conflicts):
            message += " Conflicting files: " + ", ".join(conflicts)
        (flash_success if done else flash_error)(message)
    return redirect(pr_url(pr))


# -- opening a pull request -------------------------------------------------------------

def contributing_text(project: Project) -> str | None:
    """``templates/contributing.md`` at HEAD of the project's requests repo."""
    try:
        path = paths.repo_path(settings().data_dir, "requests", project.fullname)
        repo = pygit2.Repository(str(path))
        commit = repo.head.peel(pygit2.Commit)
        entry = commit.tree["templates/contributing.md"]
        blob = repo[entry.id]
    except (pygit2.GitError, KeyError, OSError, ValueError, paths.UnsafePath):
        return None
    if not isinstance(blob, pygit2.Blob) or blob.size > CONTRIBUTING_MAX:
        return None
    return blob.data.decode("utf-8", "replace")


def _target_for(source: Project) -> Project:
    """``?project_to=<url path>`` (a project of the same family the viewer
    sees), by default the parent of a fork, else the project itself."""
    wanted = (request.values.get("project_to") or "").strip("/")
    if wanted:
        target = discussion.project_from_path(wanted)
        if target is None or not core_pulls.same_family(source, target):
            abort(404)
        return target
    parent = source.parent
    if parent is not None and access.can_see(db(), current_user(), parent):
        return parent
    return source


def _prefill(commits: list[pygit2.Commit]) -> tuple[str, str]:
    """A one-commit PR starts with that commit's subject and body."""
    if len(commits) != 1:
        return "", ""
    message = (commits[0].raw_message or b"").decode("utf-8", "replace")
    return git_branches.split_message(message)


@project_route(bp, "/diff/remote", methods=["GET", "POST"])
@project_route(bp, "/diff/remote/", endpoint="new_remote_pull_slash", methods=["GET", "POST"])
def new_remote_pull(repo: str, namespace: str | None = None,
                    username: str | None = None) -> Any:
    from pagurus.web.ui.pull_remote import remote_page

    return remote_page(_pulls_project(repo, namespace, username))


@project_route(bp, "/diff/remote/task/<taskid>")
def new_remote_pull_task(repo: str, taskid: str, namespace: str | None = None,
                         username: str | None = None) -> Any:
    from pagurus.web.ui.pull_remote import remote_task

    project = _pulls_project(repo, namespace, username)
    if not _TASK_ID.match(taskid):
        abort(404)
    return remote_task(project, taskid)


@project_route(bp, "/pull-request/refresh/<int:prid>", methods=["POST"])
def refresh_remote_pull(repo: str, prid: int, namespace: str | None = None,
                        username: str | None = None) -> Any:
    """Fetch a remote PR's branch again (its author or a committer), in the worker."""
    project = _pulls_project(repo, namespace, username)
    pr = _pull(project, prid)
    session, user = db(), current_user()
    if user is None:
        return redirect(login_url(pr_url(pr)))
    if not pr.remote_git or pr.status != core_pulls.OPEN or not (
            core_pulls.can_comment(session, user, pr)
            and (user.id == pr.user_id or core_pulls.is_committer(session, user, project))):
        flash_error("You may not refresh this pull request")
        return redirect(pr_url(pr))
    from pagurus.tasks import pulls as pull_tasks

    task = pull_tasks.refresh_remote_pull.delay(pr.id, user.id, base_url())
    return redirect(_task_url(pr, task.id))


@project_route(bp, "/diff/<path:spec>", methods=["GET", "POST"])
def new_pull(repo: str, spec: str, namespace: str | None = None,
             username: str | None = None) -> Any:
    """``<branch_to>..<branch_from>``: ``branch_from`` of this project into
    ``branch_to`` of the target; commits and diff first, the form for
    committers of this project."""
    source = _project(repo, namespace, username)
    branch_to, sep, branch_from = spec.partition("..")
    if not sep or not branch_to or not branch_from:
        abort(404)
    target = _target_for(source)
    if not core_pulls.pulls_enabled(target):
        abort(404)
    session, user = db(), current_user()
    target_repo = _open_repo(target)
    if target_repo is None or _open_repo(source) is None:
        abort(404)
    data_dir = settings().data_dir
    git_repo = review.preview_repo(paths.repo_path(data_dir, "main", source.fullname),
                                   paths.repo_path(data_dir, "main", target.fullname))
    span = review.preview_span(git_repo, target_repo, branch_to, branch_from)
    if span.head is None:
        abort(404, description=span.error)
    if git_pulls.branch_head(target_repo, branch_to) is None and not is_empty(target_repo):
        abort(404, description=f"Branch {branch_to} could not be found in the target repo")
    can_open = (user is not None and access.can_commit(session, user, source)
                and not access.is_blocked_on(user, target) and not access.is_blocked(user))
    title, description = _prefill(span.commits)
    form = {"title": title, "initial_comment": description, "allow_rebase": True}
    errors: dict[str, list[str]] = {}
    preview = None
    status = 200
    if request.method == "POST":
        if user is None:
            return redirect(login_url(request.path))
        form = {"title": request.form.get("title", ""),
                "initial_comment": request.form.get("initial_comment", ""),
                "allow_rebase": is_true(request.form.get("allow_rebase"))}
        if request.form.get("preview"):
            preview = discussion.renderer(target, cache=False)(form["initial_comment"])
        else:
            try:
                pr = core_pulls.create_pull(
                    session, data_dir, user, target, branch_to=branch_to,
                    branch_from=branch_from, title=form["title"], base_url=base_url(),
                    source=source, initial_comment=form["initial_comment"],
                    allow_rebase=form["allow_rebase"])
                session.commit()
            except ForgeError as exc:
                session.rollback()
                errors = form_errors_from(exc)
                flash_error(exc.message or "The pull request could not be opened")
                status = discussion.status_of(exc)
            else:
                flash_success("Pull request opened")
                return redirect(pr_url(pr))
    split, tree = _view_args()
    page = request.path
    diff_html = ""
    if span.commits:
        file_base = (f"{discussion.purl(source)}/c/{span.base.id}..{span.head.id}/f/"
                     if span.base is not None else None)
        diff_html, _files, _bidi = render_diff(git_repo, span, split=split, tree=tree,
                                        comment_base=None, file_base=file_base,
                                        view_links=_view_links(page, split, tree))
    commit_rows = _commit_rows(list(reversed(span.commits[-COMMITS_SHOWN:])))
    signed_off = bool(settings_of(target)[core_pulls.SIGNED_OFF_SETTING])
    unsigned = [str(c.id) for c in span.commits if signed_off and not has_signed_off(
        (c.raw_message or b"").decode("utf-8", "replace"))]
    contributing = contributing_text(target)
    existing = core_pulls.open_pull_for_branch(session, source, branch_from)
    return render_template(
        "pulls/new_pull.html", source=source, target=target, branch_to=branch_to,
        branch_from=branch_from, commits=commit_rows, commits_total=len(span.commits),
        diff_html=Markup(diff_html),  # noqa: S704 - rendered by templates
        form=form, errors=errors, preview=preview, can_open=can_open,
        signed_off=signed_off, unsigned=unsigned,
        contributing=discussion.renderer(target)(contributing) if contributing else None,
        existing=[(p, pr_url(p)) for p in existing if p.project_id == target.id
                  and core_pulls.can_view(session, user, p)],
        target_branches=git_branches.branch_names(target_repo, with_aliases=False),
        spec_url=lambda to: discussion.purl(source, "/diff/" + quote(to, safe="/") + ".."
                                  + quote(branch_from, safe="/")),
        project_to=request.values.get("project_to", ""),
        **header_context(source, "pulls")), status

