"""Pull requests from a remote git repository: ``{P}/diff/remote`` (form,
then the worker fetches the branch and opens the PR while a waiting page
reloads) and ``POST {P}/pull-request/refresh/<id>`` (fetch it again).

The URL goes through the outgoing-address guard (``core.remote_pulls``,
``core.netguard``) before anything is queued, so a refused address is told
at once and nothing is fetched; the task checks it again before fetching.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import abort, redirect, render_template, request
from werkzeug.wrappers import Response

from pagurus.core import access, remote_pulls
from pagurus.core import issues as core_issues
from pagurus.core import pulls as core_pulls
from pagurus.core.errors import ForgeError, InvalidInput
from pagurus.model import Project
from pagurus.web.context import base_url, current_user, db, settings
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
    """The cheap checks, before queueing anything: the fields and the address guard."""
    core_issues.check_title(form["title"])
    for name in ("branch_from", "branch_to"):
        if not form[name].strip():
            raise InvalidInput(f"Invalid {name}", errors={name: ["This field is required."]})
    remote_pulls.check_remote(settings(), form["git_repo"])


def remote_page(project: Project) -> Any:
    """GET: the form (prefilled from the query after a refusal); POST: check
    and queue ``tasks.pulls.fetch_remote_pull``, then wait for it."""
    if not _remote_allowed():
        abort(404)
    user = current_user()
    if user is None:
        return redirect(login_url())
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

            task = pull_tasks.fetch_remote_pull.delay(
                project.id, user.id, base_url(), form["git_repo"].strip(),
                form["branch_from"].strip(), form["branch_to"].strip(), form["title"],
                form["initial_comment"])
            back = {k: form[k] for k in ECHOED}
            return redirect(f"/{project.url_path}/diff/remote/task/{task.id}?"
                            + urlencode(back))
    return render_template("pulls/new_remote.html", form=form, errors=errors,
                           may_open=may_open, preview=preview,
                           **header_context(project, "pulls")), status


def remote_task(project: Project, taskid: str) -> Response | Any:
    """The waiting page of a remote PR: to the new PR when it is open, back
    to the form (with what was typed, but the description) when refused."""
    from pagurus.tasks.status import task_status

    state = task_status(taskid)
    back = {k: request.args.get(k, "") for k in ECHOED}
    form_url = f"/{project.url_path}/diff/remote?" + urlencode(back)
    if not state["ready"]:
        try:
            count = max(0, min(int(request.args.get("count", "0")), 1_000_000))
        except ValueError:
            count = 0
        refresh = f"/{project.url_path}/diff/remote/task/{taskid}?" + urlencode(
            {**back, "count": count + 1})
        return render_template("pages/wait.html", refresh_url=refresh, count=count)
    result = state.get("result")
    if state.get("successful") and isinstance(result, dict) and result.get("created"):
        flash_success(str(result.get("message") or "Pull request opened"))
        return redirect(f"/{project.url_path}/pull-request/{int(result['id'])}")
    if state.get("successful") and isinstance(result, dict):
        flash_error(str(result.get("message") or "The pull request could not be opened"))
    else:
        flash_error("The remote repository could not be fetched; the error has been logged.")
    return redirect(form_url)
