"""Pull requests from a remote git repository: ``{P}/diff/remote`` and
``POST {P}/pull-request/refresh/<id>`` (fetch it again).

Opening one takes three pages, none needing JavaScript:

1. the form (URL, branches, optionally title and description); a POST checks
   it and queues ``tasks.pulls.fetch_remote_preview``, then
2. the waiting page (``{P}/diff/remote/task/<id>``) reloads until the worker
   has fetched the branch into a preview (``core.remote_pulls``), then sends
   its author to
3. the preview, ``{P}/diff/remote?fetched=<token>``: the commits and the
   diff (rendered like the ``{P}/diff/<to>..<from>`` creation page), the
   title and description (a one-commit branch's message when none was
   typed), and "Create the pull request", which opens it from what was
   fetched (no second fetch), or "Discard".

The URL goes through the outgoing-address guard (``core.remote_pulls``,
``core.netguard``) before anything is queued, so a refused address is told
at once and nothing is fetched; the task checks it again before fetching.
A preview is its author's only: anyone else's token is "gone".
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import abort, redirect, render_template, request
from markupsafe import Markup
from werkzeug.wrappers import Response

from pagurus.core import access, remote_pulls
from pagurus.core import issues as core_issues
from pagurus.core import pulls as core_pulls
from pagurus.core.errors import ForgeError, InvalidInput
from pagurus.core.projects import settings_of
from pagurus.core.pushrules import has_signed_off
from pagurus.git import pulls as git_pulls
from pagurus.model import Project, User
from pagurus.web.context import base_url, current_user, db, settings
from pagurus.web.ui import pull_review as review
from pagurus.web.ui.discussion import status_of as _status_of
from pagurus.web.ui.helpers import flash_error, flash_success, form_errors_from, login_url
from pagurus.web.ui.project import header_context

FIELDS = ("git_repo", "branch_from", "branch_to", "title", "initial_comment")
ECHOED = ("git_repo", "branch_from", "branch_to", "title")  # back in the form after a refusal


def _remote_allowed() -> bool:
    conf = settings()
    return not (getattr(conf, "disable_remote_pr", False)
                or (conf.extra or {}).get("disable_remote_pr", False))


def _check(form: dict[str, str]) -> None:
    """The cheap checks, before queueing anything: the fields and the address
    guard (the title may wait for the preview)."""
    if form["title"].strip():
        core_issues.check_title(form["title"])
    for name in ("branch_from", "branch_to"):
        if not form[name].strip():
            raise InvalidInput(f"Invalid {name}", errors={name: ["This field is required."]})
    remote_pulls.check_remote(settings(), form["git_repo"])


def _form_url(project: Project, values: dict[str, str] | None = None) -> str:
    url = f"/{project.url_path}/diff/remote"
    return url + ("?" + urlencode(values) if values else "")


def remote_page(project: Project) -> Any:
    """GET: the form (prefilled from the query after a refusal), or with
    ``fetched=<token>`` the preview; POST: check and queue the fetch, or
    confirm / discard a preview."""
    if not _remote_allowed():
        abort(404)
    user = current_user()
    if user is None:
        return redirect(login_url())
    if request.values.get("fetched"):
        return _preview_step(project, user, request.values["fetched"])
    session = db()
    may_open = (not access.is_blocked(user) and not access.is_blocked_on(user, project)
                and access.can_see(session, user, project))
    form = {k: request.values.get(k, "") for k in FIELDS}
    if not form["branch_to"]:
        form["branch_to"] = project.default_branch or "main"
    errors: dict[str, list[str]] = {}
    status = 200
    preview = None
    if request.method == "POST" and request.form.get("preview"):
        from pagurus.web.ui.discussion import renderer as _renderer

        preview = _renderer(project, cache=False)(form["initial_comment"])
    elif request.method == "POST":
        try:
            if not may_open:
                raise core_pulls.PullNotAllowed("You may not open pull requests here")
            core_pulls.require_pulls(project)
            _check(form)
        except ForgeError as exc:
            errors = form_errors_from(exc)
            flash_error(exc.message or "The pull request could not be opened")
            status = _status_of(exc)
        else:
            from pagurus.tasks import pulls as pull_tasks

            task = pull_tasks.fetch_remote_preview.delay(
                project.id, user.id, form["git_repo"].strip(), form["branch_from"].strip(),
                form["branch_to"].strip(), form["title"], form["initial_comment"])
            back = {k: form[k] for k in ECHOED}
            return redirect(f"/{project.url_path}/diff/remote/task/{task.id}?"
                            + urlencode(back))
    return render_template("pulls/new_remote.html", form=form, errors=errors,
                           may_open=may_open, preview=preview,
                           **header_context(project, "pulls")), status


def remote_task(project: Project, taskid: str) -> Response | Any:
    """The waiting page of a remote fetch: to the preview when fetched, back
    to the form (with what was typed, but the description) when refused."""
    from pagurus.tasks.status import task_status

    state = task_status(taskid)
    back = {k: request.args.get(k, "") for k in ECHOED}
    form_url = _form_url(project, back)
    if not state["ready"]:
        try:
            count = max(0, min(int(request.args.get("count", "0")), 1_000_000))
        except ValueError:
            count = 0
        refresh = f"/{project.url_path}/diff/remote/task/{taskid}?" + urlencode(
            {**back, "count": count + 1})
        return render_template("pages/wait.html", refresh_url=refresh, count=count)
    result = state.get("result")
    user = current_user()
    if state.get("successful") and isinstance(result, dict) and result.get("fetched"):
        if user is None or result.get("user_id") != user.id:
            abort(404)
        return redirect(_form_url(project, {"fetched": str(result.get("preview", ""))}))
    if state.get("successful") and isinstance(result, dict) and result.get("created"):
        flash_success(str(result.get("message") or "Pull request opened"))
        return redirect(f"/{project.url_path}/pull-request/{int(result['id'])}")
    if state.get("successful") and isinstance(result, dict):
        flash_error(str(result.get("message") or "The pull request could not be opened"))
    else:
        flash_error("The remote repository could not be fetched; the error has been logged.")
    return redirect(form_url)


# -- the preview -------------------------------------------------------------------------

def _preview_step(project: Project, user: User, token: str) -> Any:
    """Show ``user``'s preview ``token``; POST ``confirm`` opens the pull
    request, ``discard`` drops the preview, ``preview`` renders the
    description."""
    conf = settings()
    try:
        fetched = remote_pulls.load_preview(conf, user, project, token)
    except remote_pulls.PreviewGone as exc:
        flash_error(exc.message)
        return redirect(_form_url(project))
    form = {"title": request.form.get("title", ""),
            "initial_comment": request.form.get("initial_comment", "")}
    errors: dict[str, list[str]] = {}
    md_preview = None
    status = 200
    if request.method == "POST" and request.form.get("discard"):
        remote_pulls.drop_preview(conf, fetched.token)
        flash_success("The fetched branch was discarded")
        return redirect(_form_url(project, {"git_repo": fetched.url,
                                            "branch_from": fetched.branch_from,
                                            "branch_to": fetched.branch_to}))
    if request.method == "POST" and request.form.get("preview"):
        from pagurus.web.ui.discussion import renderer as _renderer

        md_preview = _renderer(project, cache=False)(form["initial_comment"])
    elif request.method == "POST":
        session = db()
        try:
            pr = remote_pulls.confirm_preview(
                session, conf, user, project, fetched.token, title=form["title"],
                initial_comment=form["initial_comment"], base_url=base_url())
            session.commit()
        except remote_pulls.PreviewGone as exc:
            session.rollback()
            flash_error(exc.message)
            return redirect(_form_url(project))
        except ForgeError as exc:
            session.rollback()
            errors = form_errors_from(exc)
            flash_error(exc.message or "The pull request could not be opened")
            status = _status_of(exc)
        else:
            remote_pulls.drop_preview(conf, fetched.token)
            flash_success("Pull request opened")
            return redirect(f"/{project.url_path}/pull-request/{pr.number}")
    return _render_preview(project, fetched, form if request.method == "POST" else None,
                           errors, md_preview, status)


def _view_links(page: str, token: str, split: bool, tree: bool) -> list[list[Any]]:
    def url(s: bool, t: bool) -> str:
        query = {"fetched": token, **({"splitview": "1"} if s else {}),
                 **({"files": "tree"} if t else {})}
        return page + "?" + urlencode(query)
    return [["Unified", url(False, tree), not split], ["Split", url(True, tree), split],
            ["File list", url(split, False), not tree], ["File tree", url(split, True), tree]]


def _render_preview(project: Project, fetched: remote_pulls.Preview,
                    form: dict[str, str] | None, errors: dict[str, list[str]],
                    md_preview: Markup | None, status: int) -> Any:
    """The commits and diff of the fetched branch against the target branch
    as it is now, and the confirmation form."""
    from pagurus.web.ui import pulls as ui_pulls

    conf = settings()
    repo = remote_pulls.preview_repo(conf, fetched)
    tip = git_pulls.branch_head(core_pulls.repo_of(conf.data_dir, project), fetched.branch_to)
    head = review._commit(repo, fetched.head)
    if head is None:
        abort(404)
    span = review.range_between(repo, tip.id if tip is not None else None, head)
    if form is None:
        title, description = ui_pulls._prefill(span.commits)
        form = {"title": fetched.title or title,
                "initial_comment": fetched.initial_comment or description}
    split, tree = ui_pulls._view_args()
    page = _form_url(project)
    diff_html = ""
    if span.commits:
        diff_html, _files, _bidi = ui_pulls.render_diff(
            repo, span, split=split, tree=tree, comment_base=None, file_base=None,
            view_links=_view_links(page, fetched.token, split, tree))
    signed_off = bool(settings_of(project)[core_pulls.SIGNED_OFF_SETTING])
    unsigned = [str(c.id) for c in span.commits if signed_off and not has_signed_off(
        (c.raw_message or b"").decode("utf-8", "replace"))]
    return render_template(
        "pulls/remote_preview.html", fetched=fetched, form=form, errors=errors,
        preview=md_preview, commits=ui_pulls._commit_rows(
            list(reversed(span.commits[-ui_pulls.COMMITS_SHOWN:]))),
        commits_total=len(span.commits), commits_truncated=span.truncated,
        diff_html=Markup(diff_html),  # noqa: S704 - rendered by the diff templates
        signed_off=signed_off, unsigned=unsigned, page=page,
        **header_context(project, "pulls")), status
