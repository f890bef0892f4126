"""Online editing and branch management.

``{P}/edit/<branch>/f/<path>`` edits one text file and commits it;
``{P}/b/<branch>/delete``, ``{P}/branch/new`` delete and create branches;
``{P}/default/branch/`` moves HEAD (admins).

Every ref change is a local push into the bare repo as the user
(:mod:`pagurus.git.commit_edit`), so the pre-receive hook applies the same
rules as to any ``git push`` and the post-receive hook records the events.
It runs synchronously in the request: a one-commit local push takes well
under a second, the user waits for the outcome anyway, and a refusal must
come back to the form with the submitted text intact (a worker plus a wait
page would lose it).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pygit2
from flask import Blueprint, abort, redirect, render_template, request
from werkzeug.wrappers import Response

from pagurus import paths
from pagurus.core import access, gitaccess
from pagurus.core.errors import InvalidInput
from pagurus.git import branches as git_branches
from pagurus.git import commit_edit, refs
from pagurus.model import Project, User
from pagurus.web import csrf
from pagurus.web.context import current_user, db, settings
from pagurus.web.routes import project_route
from pagurus.web.ui.helpers import flash_error, flash_success, login_url

bp = Blueprint("ui_edit", __name__)
bp.before_request(csrf.protect)


# -- helpers shared with the templates ---------------------------------------------

def _may_update(project: Project, user: User | None, branch: str | None) -> bool:
    if user is None:
        return False
    ref = f"refs/heads/{branch}" if branch is not None else None
    return gitaccess.can_update_ref(db(), gitaccess.Identity(user=user), project, "main", ref)


@bp.app_template_global("can_edit_branch")
def can_edit_branch(project: Project, branch: str | None) -> bool:
    """For the blob and branches pages: may the viewer commit to ``branch``?"""
    try:
        return _may_update(project, current_user(), branch)
    except Exception:  # noqa: BLE001 - a template helper never breaks a page
        return False


@bp.app_template_global("edit_url")
def edit_url(project: Project, branch: str, path: str) -> str:
    return f"/{project.url_path}/edit/{quote(branch, safe='/')}/f/{quote(path, safe='/')}"


@bp.app_template_global("project_branch_names")
def project_branch_names(project: Project) -> list[str]:
    try:
        repo = refs.open_repo(settings().data_dir, project.fullname)
        return git_branches.branch_names(repo, with_aliases=False)
    except (FileNotFoundError, pygit2.GitError):
        return []


# -- loading -----------------------------------------------------------------------

def _load(repo: str, namespace: str | None, username: str | None
          ) -> tuple[Project, pygit2.Repository]:
    from pagurus.web.ui.project import _project

    project = _project(repo, namespace, username)
    if project.repo_state != "ready":
        abort(404)
    try:
        gitrepo = refs.open_repo(settings().data_dir, project.fullname)
    except (FileNotFoundError, pygit2.GitError):
        abort(404)
    return project, gitrepo


def _purl(project: Project, suffix: str = "") -> str:
    return f"/{project.url_path}{suffix}"


def _blob_url(project: Project, branch: str, path: str) -> str:
    return _purl(project, f"/blob/{quote(branch, safe='/')}/f/{quote(path, safe='/')}")


def _refuse(project: Project, message: str, back: str) -> Response:
    """No rights: a private project does not exist for them, a public one says no."""
    if project.private:
        abort(404)
    flash_error(message)
    return redirect(back)


def _repo_path(project: Project) -> Any:
    return paths.repo_path(settings().data_dir, "main", project.fullname)


def _verified_emails(user: User) -> list[str]:
    emails = sorted(e.email for e in user.emails if e.verified)
    if user.default_email in emails:  # the default first
        emails.remove(user.default_email)
        emails.insert(0, user.default_email)
    return emails


# -- edit --------------------------------------------------------------------------

@project_route(bp, "/edit/<path:rest>", endpoint="edit_file", methods=["GET", "POST"])
def edit_file(repo: str, rest: str, namespace: str | None = None,
              username: str | None = None) -> Any:
    """Edit a text file on a branch and commit it (to that branch or another)."""
    project, gitrepo = _load(repo, namespace, username)
    user = current_user()
    if user is None:
        return redirect(login_url())
    if refs.is_empty(gitrepo) or "/f/" not in rest:
        abort(404)
    try:
        source, path = refs.split_ref_and_path(gitrepo, rest)
    except refs.RefNotFound:
        abort(404)
    head = git_branches.branch_target(gitrepo, source)
    if head is None or not path:
        abort(404)  # files are edited on branches, not on tags or commits
    blob_url = _blob_url(project, source, path)
    if not _may_update(project, user, None):
        return _refuse(project, "You are not allowed to commit to this project", blob_url)
    commit = gitrepo[head].peel(pygit2.Commit)
    try:
        original, _mode = commit_edit.editable_blob(gitrepo, commit, path)
    except commit_edit.EditError as exc:
        flash_error(exc.message)
        return redirect(blob_url)
    emails = _verified_emails(user)
    if request.method == "GET":
        form = {"content": original, "branch": source, "base": str(commit.id),
                "email": emails[0] if emails else "", "commit_title": f"Update {path}",
                "commit_message": ""}
        return _edit_page(project, source, path, form, {}, None, emails=emails)
    return _submit(project, gitrepo, user, source, path, original, emails)


def _edit_page(project: Project, source: str, path: str, form: dict[str, str] | None,
               errors: dict[str, list[str]], refusal: str | None, status: int = 200,
               emails: list[str] | None = None) -> Response:
    from pagurus.web.ui.project import header_context

    html = render_template(
        "edit/edit.html", source=source, path=path, form=form, errors=errors,
        refusal=refusal, emails=emails or [], action=edit_url(project, source, path),
        blob_url=_blob_url(project, source, path), **header_context(project, "code"))
    return Response(html, status=status, mimetype="text/html")


def _submit(project: Project, gitrepo: pygit2.Repository, user: User, source: str,
            path: str, original: str, emails: list[str]) -> Response:
    f = request.form
    form = {k: f.get(k, "") for k in ("content", "commit_title", "commit_message",
                                      "email", "branch", "base")}
    form["branch"] = form["branch"].strip() or source
    errors: dict[str, list[str]] = {}

    def again(message: str | None = None, status: int = 400) -> Response:
        if message:
            flash_error(message)
        return _edit_page(project, source, path, form, errors, None, status=status,
                          emails=emails)

    try:
        message = commit_edit.commit_message(form["commit_title"], form["commit_message"])
    except commit_edit.EditError as exc:
        errors["commit_title"] = [exc.message]
        return again()
    if form["email"] not in emails:
        errors["email"] = ["Choose one of your verified email addresses."]
        return again()
    target = form["branch"]
    try:
        git_branches.checked_name(target)
    except InvalidInput:
        errors["branch"] = ["Not a valid branch name."]
        return again()
    if not _may_update(project, user, target):
        if project.private:
            abort(404)
        return again(f"You are not allowed to commit to the branch {target}", 403)
    base_id = form["base"] or ""
    source_head = git_branches.branch_target(gitrepo, source)
    if source_head is None:
        return again("The branch you were editing no longer exists", 409)
    try:
        parent = git_branches.commit_of(gitrepo, base_id) if len(base_id) == 40 else None
    except git_branches.RefError:
        parent = None
    if parent is None:
        parent = gitrepo[source_head].peel(pygit2.Commit)
    target_head = git_branches.branch_target(gitrepo, target)
    if target == source:
        expected = str(parent.id)  # what the user saw: a moved branch is refused
    else:
        expected = target_head
        if target_head is not None and target_head != str(parent.id) and \
                not gitrepo.descendant_of(parent.id, target_head):
            errors["branch"] = [f"The branch {target} exists and has diverged from "
                                f"{source}."]
            return again()
    data = commit_edit.normalize_content(form["content"], original)
    if len(data) > commit_edit.MAX_EDIT:
        errors["content"] = ["The new content is over 1 MB."]
        return again()
    name = user.fullname or user.name
    try:
        new = commit_edit.build_commit(gitrepo, parent, path, data, name, form["email"],
                                       message)
    except commit_edit.EditError as exc:
        return again(exc.message)
    result = commit_edit.push_ref(settings(), _repo_path(project), user.name, str(new),
                                  f"refs/heads/{target}", expected)
    if not result.ok:
        return again(f"The commit was refused: {result.message}", 409)
    flash_success("Changes committed")
    return redirect(_blob_url(project, target, path))


# -- branches ----------------------------------------------------------------------

@project_route(bp, "/b/<path:branch>/delete", endpoint="delete_branch", methods=["POST"])
def delete_branch(repo: str, branch: str, namespace: str | None = None,
                  username: str | None = None) -> Any:
    """Delete a branch (not the default one) through a push, so hooks run."""
    project, gitrepo = _load(repo, namespace, username)
    user = current_user()
    if user is None:
        return redirect(login_url())
    back = _purl(project, "/branches")
    head = git_branches.branch_target(gitrepo, branch)
    if not _may_update(project, user, branch):
        return _refuse(project, "You are not allowed to delete this branch", back)
    if head is None:
        abort(404)
    default = git_branches.default_branch(gitrepo, project.default_branch)
    if branch == default:
        flash_error("The default branch cannot be deleted")
        return redirect(back)
    result = commit_edit.push_ref(settings(), _repo_path(project), user.name, None,
                                  f"refs/heads/{branch}", head)
    if not result.ok:
        flash_error(f"The branch could not be deleted: {result.message}")
    else:
        flash_success(f"Branch {branch} deleted")
    return redirect(back)


@project_route(bp, "/branch/new", endpoint="new_branch", methods=["POST"])
def new_branch(repo: str, namespace: str | None = None, username: str | None = None) -> Any:
    """Create a branch from a branch, tag or commit id (fields ``branch_name``
    and ``from``)."""
    project, gitrepo = _load(repo, namespace, username)
    user = current_user()
    if user is None:
        return redirect(login_url())
    back = _purl(project, "/branches")
    name = (request.form.get("branch_name") or request.form.get("branch") or "").strip()
    source = (request.form.get("from") or request.form.get("from_branch")
              or request.form.get("from_commit") or "").strip()
    if not _may_update(project, user, name or None):
        return _refuse(project, "You are not allowed to create this branch", back)
    try:
        git_branches.checked_name(name)
    except InvalidInput:
        flash_error("Invalid branch name")
        return redirect(back)
    if git_branches.branch_target(gitrepo, name) is not None:
        flash_error(f"Branch {name} already exists")
        return redirect(back)
    try:
        commit = refs.resolve_commit(gitrepo, source or None)
    except refs.RefNotFound:
        flash_error(f"No branch, tag or commit {source}")
        return redirect(back)
    result = commit_edit.push_ref(settings(), _repo_path(project), user.name,
                                  str(commit.id), f"refs/heads/{name}", None)
    if not result.ok:
        flash_error(f"The branch could not be created: {result.message}")
    else:
        flash_success(f"Branch {name} created")
    return redirect(back)


@project_route(bp, "/default/branch/", endpoint="set_default_branch", methods=["POST"])
def set_default_branch(repo: str, namespace: str | None = None,
                       username: str | None = None) -> Any:
    """Project admins: HEAD and ``project.default_branch`` name ``branches``."""
    project, gitrepo = _load(repo, namespace, username)
    user = current_user()
    if user is None:
        return redirect(login_url())
    if not access.can_admin(db(), user, project):
        abort(404)
    back = _purl(project, "/settings")
    name = (request.form.get("branches") or "").strip()
    try:
        git_branches.set_head(gitrepo, name)
    except (InvalidInput, git_branches.RefError):
        flash_error(f"No branch {name} in this repository")
        return redirect(back)
    project.default_branch = name
    db().commit()
    flash_success(f"Default branch set to {name}")
    return redirect(back)
