"""Project pages: creation, overview, settings, forks, stars and watching.

Every view first looks the project up with ``core.projects.find_visible``:
whoever may not see it gets the same 404 as for a missing project, before any
login or admin check can tell the two apart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pygit2
from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from pagurus import paths
from pagurus.core import access, social
from pagurus.core import groups as core_groups
from pagurus.core import projects as core_projects
from pagurus.core.errors import ForgeError, NotFound
from pagurus.core.users import get_user
from pagurus.model import Group, Project, User
from pagurus.web import csrf
from pagurus.web.context import base_url, current_user, db, settings
from pagurus.web.routes import PREFIXES, project_route
from pagurus.web.ui.helpers import (
    flash_error,
    flash_forge_error,
    flash_success,
    form_errors_from,
    is_true,
    login_required,
    login_url,
    recent_login_required,
    safe_next,
)

bp = Blueprint("ui_project", __name__)
bp.before_request(csrf.protect)

RECENT_COMMITS = 5
BOOLEAN_SETTINGS = [k for k, v in core_projects.DEFAULT_SETTINGS.items() if isinstance(v, bool)]
SETTING_LABELS = {
    "issue_tracker": "Activate the issue tracker",
    "issue_tracker_read_only": "Make the issue tracker read-only",
    "issues_default_to_private": "New issues are private by default",
    "open_metadata_access_to_all": "Any logged-in user may edit issue metadata",
    "project_documentation": "Activate the project documentation",
    "pull_requests": "Activate pull requests",
    "pull_request_access_only": "Refuse direct pushes: changes only through pull requests",
    "always_merge": "Always create a merge commit",
    "disable_non_fast-forward_merges": "Merge only when a fast-forward is possible",
    "Enforce_signed-off_commits_in_pull-request": "Require signed-off commits in pull requests",
    "Only_assignee_can_merge_pull-request": "Only the assignee may merge a pull request",
    "fedmsg_notifications": "Send fedmsg notifications",
    "stomp_notifications": "Send STOMP notifications",
    "mqtt_notifications": "Send MQTT notifications",
    "notify_on_pull-request_flag": "Notify when a pull request is flagged",
    "notify_on_commit_flag": "Notify when a commit is flagged",
}


# -- lookups and gates -------------------------------------------------------

def _project(repo: str, namespace: str | None, username: str | None) -> Project:
    """The project if the viewer may see it; 404 otherwise. Users the project
    blocked may still read it but not act on it (403 on POST)."""
    viewer = current_user()
    try:
        project = core_projects.find_visible(db(), viewer, repo, namespace, username)
    except NotFound:
        abort(404)
    if request.method == "POST" and access.is_blocked_on(viewer, project):
        abort(403, description="You have been blocked from this project")
    return project


def _admin_project(repo: str, namespace: str | None, username: str | None) -> Project:
    """For settings pages: admins only, everyone else 404."""
    project = _project(repo, namespace, username)
    if not access.can_admin(db(), current_user(), project):
        abort(404)
    return project


def _gate(decorator: Any) -> Response | None:
    """Run a helpers access decorator here (after the 404 checks): its
    redirect when it refuses, None when it lets us through."""
    return decorator(lambda: None)()


def project_url(project: Project, suffix: str = "") -> str:
    return "/" + project.url_path + suffix


def _wait_url(task_id: str, next_path: str, prev: str | None = None) -> str:
    args = {"next": next_path}
    if prev:
        args["prev"] = prev
    return url_for("ui_pages.wait", taskid=task_id, **args)


def _back(project: Project, default_suffix: str = "") -> Response:
    return redirect(safe_next(request.form.get("next"), project_url(project, default_suffix)))


# -- what the project page shows ----------------------------------------------

def clone_urls(project: Project) -> dict[str, str]:
    """HTTP and SSH clone URLs (``git_url_ssh`` when configured)."""
    base = base_url()
    urls = {"http": f"{base}/{project.fullname}.git"}
    conf = settings()
    if conf.git_url_ssh:
        prefix = conf.git_url_ssh
        viewer = current_user()
        if viewer is not None:
            prefix = prefix.replace("{username}", viewer.name)
        urls["ssh"] = f"{prefix}{project.fullname}.git"
    else:
        host = urlsplit(base).hostname or "localhost"
        urls["ssh"] = f"ssh://git@{host}:{conf.ssh_port}/{project.fullname}.git"
    return urls


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def repo_summary(project: Project) -> dict[str, Any]:
    """State of the main repo: ``pending``, ``missing``, ``empty`` or ``ready``
    with the default branch and its last few commits."""
    if project.repo_state == "pending":
        return {"state": "pending"}
    path = paths.repo_path(settings().data_dir, "main", project.fullname)
    try:
        repo = pygit2.Repository(str(path))
    except (pygit2.GitError, KeyError, OSError):
        return {"state": "missing"}
    refs = [r for r in repo.references if r.startswith("refs/heads/")]
    if not refs:
        return {"state": "empty"}
    branch = project.default_branch
    ref = repo.references.get(f"refs/heads/{branch}")
    if ref is None:
        try:
            branch = repo.head.shorthand
            ref = repo.head
        except pygit2.GitError:
            branch = refs[0][len("refs/heads/"):]
            ref = repo.references[refs[0]]
    commits = []
    try:
        target = ref.peel(pygit2.Commit)
        walker = repo.walk(target.id, pygit2.enums.SortMode.NONE)
        for commit in walker:
            subject = _text(commit.raw_message).split("\n", 1)[0]
            commits.append({
                "id": str(commit.id),
                "short": str(commit.id)[:8],
                "subject": subject,
                "author": _text(commit.author.raw_name),
                "time": commit.commit_time,
            })
            if len(commits) >= RECENT_COMMITS:
                break
    except (pygit2.GitError, KeyError, ValueError):
        pass
    branches = sorted(r[len("refs/heads/"):] for r in refs)
    return {"state": "ready", "branch": branch, "commits": commits, "branches": branches}


def header_context(project: Project, tab: str) -> dict[str, Any]:
    """What the project header needs on every project page: one SQL statement
    (``social.header_counts``) plus the parent project for a fork."""
    session = db()
    viewer = current_user()
    fork_key = None
    if viewer is not None:
        fork_key = core_projects.project_key(project.namespace or None, project.name, viewer.name)
    counts = social.header_counts(session, viewer, project, fork_key)
    own_fork = None
    if counts.own_fork_id is not None and counts.own_fork_id != project.id:
        own_fork = session.get(Project, counts.own_fork_id)
    return {
        "project": project,
        "tab": tab,
        "purl": project_url(project),
        "opts": core_projects.settings_of(project),
        "is_admin": _is_admin(viewer, project, counts.held),
        "star_count": counts.stars,
        "starred": counts.starred,
        "watch_total": counts.watchers,
        "watch_status": counts.watch_status,
        "watch_explicit": counts.explicit is not None,
        "watch_labels": social.WATCH_LABELS,
        "fork_count": counts.forks,
        "own_fork": own_fork,
        "parent_visible": project.parent is not None
        and access.can_see(session, viewer, project.parent),
        "tags": counts.tags,
    }


def _is_admin(viewer: User | None, project: Project, held: tuple[str, ...]) -> bool:
    """``access.can_admin`` from grants already read (``owner`` or access names)."""
    if viewer is None or access.is_blocked_on(viewer, project) or access.is_blocked(viewer):
        return False
    if viewer.is_admin:
        return True
    levels = [access.Level.OWNER if h == "owner" else access.ACCESS_NAMES.get(h, access.Level.NONE)
              for h in held]
    return max(levels, default=access.Level.NONE) >= access.Level.ADMIN


def _from_timestamp(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


# -- new project ---------------------------------------------------------------

def _namespace_choices(user: User) -> list[tuple[str, str]]:
    names = core_projects.allowed_namespaces(db(), settings(), user,
                                             private=settings().private_projects)
    return [("", "(none)")] + [(n, n) for n in names]


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/new/", methods=["GET", "POST"])
@login_required
def new_project() -> Any:
    """Create the project row, queue the repos, wait for them."""
    user = current_user()
    assert user is not None
    conf = settings()
    if not conf.enable_new_projects:
        abort(404)
    form = {"name": "", "description": "", "namespace": "", "url": "", "avatar_email": "",
            "default_branch": "", "private": False, "create_readme": False}
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        for key in ("name", "description", "namespace", "url", "avatar_email",
                    "default_branch"):
            form[key] = request.form.get(key, "").strip()
        form["private"] = is_true(request.form.get("private")) and conf.private_projects
        form["create_readme"] = is_true(request.form.get("create_readme"))
        try:
            project = core_projects.create_project(
                db(), conf, user, form["name"], form["description"],
                namespace=form["namespace"] or None, url=form["url"],
                avatar_email=form["avatar_email"], private=bool(form["private"]),
                default_branch=form["default_branch"] or None)
            db().commit()
        except ForgeError as exc:
            db().rollback()
            errors = form_errors_from(exc)
            if not errors:
                errors = {"name": [exc.message]}
            flash_error(exc.message or "The project could not be created")
            status = 400
        else:
            from pagurus.tasks import projects as project_tasks

            task = project_tasks.create_project_repos.delay(project.id,
                                                            bool(form["create_readme"]))
            return redirect(_wait_url(task.id, project_url(project), "/new"))
    return render_template("project/new.html", form=form, errors=errors,
                           namespaces=_namespace_choices(user),
                           private_enabled=conf.private_projects), status


# -- overview ----------------------------------------------------------------

@project_route(bp, "")
@project_route(bp, "/", endpoint="view_project_slash")
def view_project(repo: str, namespace: str | None = None, username: str | None = None) -> Any:
    """The overview: header, clone URLs, first-push help or the latest commits."""
    if repo.endswith(".git") and len(repo) > 4:
        project = _project(repo[:-4], namespace, username)
        return redirect(project_url(project))
    project = _project(repo, namespace, username)
    summary = repo_summary(project)
    for commit in summary.get("commits", []):
        commit["when"] = _from_timestamp(commit["time"])
    readme = None
    if summary["state"] == "ready":
        from pagurus.web.ui.browse import overview_readme

        readme = overview_readme(project, summary.get("branch"))
    ctx = header_context(project, "code")
    return render_template("project/overview.html", summary=summary, readme=readme,
                           clone=clone_urls(project),
                           ready=_ready_branches(project, summary, ctx["opts"]), **ctx)


READY_DAYS = 14


def _ready_branches(project: Project, summary: dict[str, Any],
                    opts: dict[str, Any]) -> list[tuple[Any, Any]]:
    """Recently pushed branches ahead of the default one, with their open PR
    if any: offered to signed-in users only (it costs a few git walks)."""
    if summary.get("state") != "ready" or current_user() is None:
        return []
    target = project.parent or project
    if not core_projects.settings_of(target)["pull_requests"]:
        return []
    from time import time

    from pagurus.core.pulls import open_pull_for_branch
    from pagurus.git.pulls import ready_branches

    repo = pygit2.Repository(str(paths.repo_path(settings().data_dir, "main",
                                                 project.fullname)))
    found = ready_branches(repo, summary["branch"], since=int(time()) - READY_DAYS * 86400)
    return [(b, next(iter(open_pull_for_branch(db(), project, b.name)), None)) for b in found]


@project_route(bp, "/forks")
@project_route(bp, "/forks/", endpoint="project_forks_slash")
def project_forks(repo: str, namespace: str | None = None, username: str | None = None) -> str:
    project = _project(repo, namespace, username)
    forks = core_projects.forks_of(db(), current_user(), project)
    return render_template("project/forks.html", forks=forks,
                           **header_context(project, "forks"))


@project_route(bp, "/stargazers/")
def stargazers(repo: str, namespace: str | None = None, username: str | None = None) -> str:
    project = _project(repo, namespace, username)
    return render_template("project/stargazers.html",
                           users=social.stargazers(db(), project),
                           **header_context(project, "stargazers"))


# -- stars, watching, forking ---------------------------------------------------

@project_route(bp, "/star/<int:star>", methods=["POST"])
def star_project(repo: str, star: int, namespace: str | None = None,
                 username: str | None = None) -> Response:
    project = _project(repo, namespace, username)
    user = current_user()
    if user is None:
        return redirect(login_url(project_url(project)))
    if star not in (0, 1):
        abort(404)
    social.star(db(), user, project, bool(star))
    db().commit()
    flash_success("You starred this project" if star else "You unstarred this project")
    return _back(project)


@project_route(bp, "/watch/settings/<watch>", methods=["POST"])
def watch_project(repo: str, watch: str, namespace: str | None = None,
                  username: str | None = None) -> Response:
    project = _project(repo, namespace, username)
    user = current_user()
    if user is None:
        return redirect(login_url(project_url(project)))
    try:
        level = social.parse_level(watch)
        now = social.set_watch(db(), user, project, level)
        db().commit()
    except ForgeError as exc:
        db().rollback()
        flash_forge_error(exc)
        return _back(project)
    if level == social.WATCH_RESET:
        flash_success("Watch status reset to the default")
    elif not now:
        flash_success("You are no longer watching this project")
    else:
        flash_success("You are now watching " + " and ".join(
            "issues and pull requests" if n == "issues" else n for n in now))
    return _back(project)


def do_fork(repo: str, namespace: str | None = None, username: str | None = None) -> Response:
    """Fork (or go to one's existing fork), then wait for the worker's clone."""
    source = _project(repo, namespace, username)
    user = current_user()
    if user is None:
        return redirect(login_url(project_url(source)))
    existing = core_projects.get_project(db(), source.name, source.namespace, user.name)
    if existing is not None and access.can_see(db(), user, existing):
        return redirect(project_url(existing))
    try:
        fork = core_projects.fork_project(db(), user, source)
        db().commit()
    except ForgeError as exc:
        db().rollback()
        flash_forge_error(exc)
        return redirect(project_url(source))
    from pagurus.tasks import projects as project_tasks

    task = project_tasks.fork_project.delay(fork.id)
    return redirect(_wait_url(task.id, project_url(fork), project_url(source)))


for _prefix in PREFIXES:
    bp.add_url_rule("/do_fork" + _prefix, endpoint="do_fork", view_func=do_fork,
                    methods=["POST"])


# -- settings ----------------------------------------------------------------

def _settings_page(project: Project, errors: dict[str, list[str]] | None = None,
                   status: int = 200) -> tuple[str, int]:
    viewer = current_user()
    conf = settings()
    delete_enabled = conf.enable_del_forks if project.is_fork else conf.enable_del_projects
    user_rows = sorted(project.user_access, key=lambda r: r.user.name.lower())
    group_rows = sorted(project.group_access, key=lambda r: r.group.name.lower())
    return render_template(
        "project/settings.html", errors=errors or {},
        boolean_settings=BOOLEAN_SETTINGS, setting_labels=SETTING_LABELS,
        access_levels=core_projects.ACCESS_LEVELS, user_rows=user_rows,
        group_rows=group_rows, delete_enabled=delete_enabled,
        can_give=(access.is_owner(viewer, project) or access.is_site_admin(viewer))
        and not project.is_fork,
        edit_user=request.args.get("user", ""), edit_group=request.args.get("group", ""),
        **header_context(project, "settings"),
    ), status


@project_route(bp, "/settings", methods=["GET", "POST"])
@project_route(bp, "/settings/", methods=["GET", "POST"], endpoint="project_settings_slash")
def project_settings(repo: str, namespace: str | None = None,
                     username: str | None = None) -> Any:
    """GET: the settings page. POST: the options form (unchecked boxes are false)."""
    project = _admin_project(repo, namespace, username)
    if (refused := _gate(recent_login_required)) is not None:
        return refused
    if request.method == "GET":
        return _settings_page(project)
    user = current_user()
    assert user is not None
    changes: dict[str, Any] = {k: request.form[k] for k in BOOLEAN_SETTINGS if k in request.form}
    changes["Web-hooks"] = request.form.get("Web-hooks", "").replace("\r\n", "\n").strip()
    score = request.form.get("Minimum_score_to_merge_pull-request", "").strip()
    changes["Minimum_score_to_merge_pull-request"] = score or "-1"
    try:
        changed = core_projects.update_settings(db(), user, project, changes,
                                                reset_missing_booleans=True)
        db().commit()
    except ForgeError as exc:
        db().rollback()
        flash_forge_error(exc)
        errors = form_errors_from(exc) or {"Minimum_score_to_merge_pull-request": [exc.message]}
        return _settings_page(project, errors, 400)
    flash_success("Edited successfully settings of repo: " + project.fullname if changed
                  else "Nothing changed")
    return redirect(project_url(project, "/settings"))


@project_route(bp, "/update", methods=["POST"])
def update_project(repo: str, namespace: str | None = None, username: str | None = None) -> Any:
    """Project details: description, url, avatar email, tags, un-private."""
    project = _admin_project(repo, namespace, username)
    if (refused := _gate(recent_login_required)) is not None:
        return refused
    user = current_user()
    assert user is not None
    form = request.form
    # only un-private here; a field missing from the form is left as it is
    private = is_true(form.get("private")) if project.private else None
    avatar = form.get("avatar_email")
    tags = form.get("tags")
    try:
        core_projects.update_project(
            db(), user, project, description=form.get("description"), url=form.get("url"),
            avatar_email=avatar.strip() if avatar is not None else None, private=private,
            tags=tags.split(",") if tags is not None else None)
        db().commit()
    except ForgeError as exc:
        db().rollback()
        flash_forge_error(exc)
        return _settings_page(project, form_errors_from(exc), 400)
    flash_success("Project updated")
    return redirect(project_url(project, "/settings"))


@project_route(bp, "/adduser", methods=["POST"])
def add_user(repo: str, namespace: str | None = None, username: str | None = None) -> Any:
    project = _admin_project(repo, namespace, username)
    if (refused := _gate(recent_login_required)) is not None:
        return refused
    actor = current_user()
    assert actor is not None
    name = request.form.get("user", "").strip()
    level = request.form.get("access", "").strip()
    branches = request.form.get("branches", "")
    target = get_user(db(), name)
    if target is None:
        flash_error(f"No user {name!r} found")
        return _settings_page(project, {"user": ["No such user."]}, 400)
    if not level:
        flash_error("Choose an access level")
        return _settings_page(project, {"access": ["Choose an access level."]}, 400)
    try:
        core_projects.set_user_access(db(), actor, project, target, level, branches)
        db().commit()
    except ForgeError as exc:
        db().rollback()
        flash_forge_error(exc)
        return _settings_page(project, form_errors_from(exc, {"acl": "access"}), 400)
    flash_success(f"User {target.name} now has {level} access")
    return redirect(project_url(project, "/settings"))


@project_route(bp, "/addgroup", methods=["POST"])
def add_group(repo: str, namespace: str | None = None, username: str | None = None) -> Any:
    project = _admin_project(repo, namespace, username)
    if (refused := _gate(recent_login_required)) is not None:
        return refused
    actor = current_user()
    assert actor is not None
    name = request.form.get("group", "").strip()
    level = request.form.get("access", "").strip()
    branches = request.form.get("branches", "")
    group = core_groups.get_group(db(), name)
    if group is None or not core_groups.visible_to(group, actor):
        flash_error(f"No group {name!r} found")
        return _settings_page(project, {"group": ["No such group."]}, 400)
    if not level:
        flash_error("Choose an access level")
        return _settings_page(project, {"group_access": ["Choose an access level."]}, 400)
    try:
        core_projects.set_group_access(db(), actor, project, group, level, branches)
        db().commit()
    except ForgeError as exc:
        db().rollback()
        flash_forge_error(exc)
        return _settings_page(project, form_errors_from(exc, {"branches": "group_branches"}),
                              400)
    flash_success(f"Group {group.name} now has {level} access")
    return redirect(project_url(project, "/settings"))


@project_route(bp, "/dropuser/<int:userid>", methods=["POST"])
def drop_user(repo: str, userid: int, namespace: str | None = None,
              username: str | None = None) -> Response:
    """Admins remove anyone; a user may also remove themself (then leaves)."""
    project = _project(repo, namespace, username)
    actor = current_user()
    leaving = actor is not None and actor.id == userid
    if not leaving and not access.can_admin(db(), actor, project):
        abort(404)
    if (refused := _gate(recent_login_required)) is not None:
        return refused
    assert actor is not None
    target = db().get(User, userid)
    if target is None:
        abort(404)
    try:
        core_projects.set_user_access(db(), actor, project, target, None)
        db().commit()
    except ForgeError as exc:
        db().rollback()
        flash_forge_error(exc)
        admin = access.can_admin(db(), actor, project)
        return redirect(project_url(project, "/settings" if admin else ""))
    flash_success(f"User {target.name} removed")
    if leaving and not access.can_admin(db(), actor, project):
        return redirect(project_url(project) if access.can_see(db(), actor, project) else "/")
    return redirect(project_url(project, "/settings"))


@project_route(bp, "/dropgroup/<int:groupid>", methods=["POST"])
def drop_group(repo: str, groupid: int, namespace: str | None = None,
               username: str | None = None) -> Response:
    project = _admin_project(repo, namespace, username)
    if (refused := _gate(recent_login_required)) is not None:
        return refused
    actor = current_user()
    assert actor is not None
    group = db().get(Group, groupid)
    if group is None:
        abort(404)
    try:
        core_projects.set_group_access(db(), actor, project, group, None)
        db().commit()
    except ForgeError as exc:
        db().rollback()
        flash_forge_error(exc)
    else:
        flash_success(f"Group {group.name} removed")
    return redirect(project_url(project, "/settings"))


@project_route(bp, "/give", methods=["POST"])
def give_project(repo: str, namespace: str | None = None, username: str | None = None) -> Any:
    """Transfer ownership; an owner who gives keeps admin access."""
    project = _admin_project(repo, namespace, username)
    if (refused := _gate(recent_login_required)) is not None:
        return refused
    actor = current_user()
    assert actor is not None
    name = request.form.get("user", "").strip()
    new_owner = get_user(db(), name)
    if new_owner is None or not new_owner.active:
        flash_error(f"No user {name!r} found")
        return _settings_page(project, {"give_user": ["No such user."]}, 400)
    was_owner = access.is_owner(actor, project)
    try:
        core_projects.give_project(db(), actor, project, new_owner, retain_access=was_owner)
        db().commit()
    except ForgeError as exc:
        db().rollback()
        flash_forge_error(exc)
        return redirect(project_url(project, "/settings"))
    flash_success(f"The project has been transferred to {new_owner.name}")
    return redirect(project_url(project))


@project_route(bp, "/delete", methods=["POST"])
def delete_project(repo: str, namespace: str | None = None, username: str | None = None) -> Any:
    """Mark for deletion (the project disappears at once), queue the removal."""
    project = _admin_project(repo, namespace, username)
    if (refused := _gate(recent_login_required)) is not None:
        return refused
    actor = current_user()
    assert actor is not None
    conf = settings()
    if not (conf.enable_del_forks if project.is_fork else conf.enable_del_projects):
        abort(404)
    if request.form.get("confirm", "").strip() != project.name:
        flash_error(f"Type the project name ({project.name}) to confirm the deletion")
        return _settings_page(project, {"confirm": ["Type the project name exactly."]}, 400)
    try:
        core_projects.request_delete(db(), conf, actor, project)
        db().commit()
    except NotFound:
        db().rollback()
        abort(404)
    except ForgeError as exc:
        db().rollback()
        flash_forge_error(exc)
        return redirect(project_url(project, "/settings"))
    from pagurus.tasks import projects as project_tasks

    task = project_tasks.delete_project.delay(project.id, actor.name)
    return redirect(_wait_url(task.id, "/"))
