"""Git refs of a project (spec §2.2): branches, default branch, tags,
aliases, clone URLs and ``hascommit``.

Ref changes are admin actions written straight into the bare repository
(pygit2), after checking the caller's role on the project through core —
not only the token's ACLs. Names are validated before use and always used
as full ref names.
"""

from __future__ import annotations

from typing import Any

import pygit2
from flask import jsonify, request

from pagurus.core import access, gitaccess
from pagurus.core.errors import InvalidInput
from pagurus.core.users import get_user
from pagurus.git import branches as git_branches
from pagurus.git.refs import open_repo
from pagurus.model import Project
from pagurus.web import context
from pagurus.web.api import bp
from pagurus.web.api.auth import Caller, require_user
from pagurus.web.api.errors import ApiError
from pagurus.web.api.params import body, query_flag
from pagurus.web.api.projects import project_json
from pagurus.web.api.registry import Param, api_route
from pagurus.web.api.schemas import BOOL, INT, MESSAGE, NAMES, STR, obj, ref

WITH_COMMITS = Param("with_commits", "Return {name: commit hash} instead of names.",
                     "boolean")
NAME_MAP = {"type": "object", "additionalProperties": STR}
BRANCHES = obj({
    "total_branches": INT,
    "branches": {"oneOf": [NAMES, NAME_MAP]},
    "default": {"oneOf": [STR, NAME_MAP, {"type": "null"}]},
})
TAGS = obj({"total_tags": INT, "tags": {"oneOf": [NAMES, NAME_MAP]}})
ALIASES = {"type": "object", "additionalProperties": STR,
           "description": '{"refs/heads/<alias>": "refs/heads/<target>"}'}


def _repo(project: Project) -> pygit2.Repository:
    if project.repo_state != "ready":
        raise ApiError("EEMPTYGIT", status=404)
    try:
        return open_repo(context.settings().data_dir, project.fullname)
    except (FileNotFoundError, pygit2.GitError):
        raise ApiError("EEMPTYGIT", status=404) from None


def _git_error(exc: git_branches.RefError) -> ApiError:
    if exc.code == "ENOCODE":
        return ApiError("ENOCODE", message=exc.message)
    return ApiError(exc.code, errors=exc.message)


def _invalid(exc: InvalidInput) -> ApiError:
    return ApiError("EINVALIDREQ", errors=exc.errors or exc.message)


def _branches_json(project: Project, r: pygit2.Repository,
                   with_commits: bool) -> dict[str, Any]:
    names = git_branches.branch_names(r)
    default = git_branches.default_branch(r, project.default_branch)
    if with_commits:
        branches: Any = {n: git_branches.branch_target(r, n) for n in names}
        default_json: Any = {default: git_branches.branch_target(r, default)} \
            if default else {}
    else:
        branches = names
        default_json = default
    return {"total_branches": len(names), "branches": branches, "default": default_json}


def _tags_json(r: pygit2.Repository, with_commits: bool) -> dict[str, Any]:
    tags = sorted(git_branches.list_tags(r), key=lambda t: t.name)
    if with_commits:
        return {"total_tags": len(tags), "tags": {t.name: t.commit or t.target for t in tags}}
    return {"total_tags": len(tags), "tags": [t.name for t in tags]}


def _may_write_ref(caller: Caller, project: Project, full_ref: str) -> None:
    """Commit rights on that ref (collaborators on their branches), or 401."""
    user = require_user(caller)
    if not gitaccess.can_update_ref(context.db(), gitaccess.Identity(user=user), project,
                                    "main", full_ref):
        raise ApiError("ENOTHIGHENOUGH")


# -- branches -----------------------------------------------------------------------

@api_route(
    bp, project="/git/branches", tag="git", summary="List the branches of a project",
    query=(WITH_COMMITS,), response=BRANCHES,
)
def api_git_branches(caller: Caller, project: Project) -> Any:
    """Branch names (aliases included), sorted, and the default branch (null
    for an empty repository)."""
    r = _repo(project)
    return jsonify(_branches_json(project, r, query_flag("with_commits")))


@api_route(
    bp, project="/git/branches", methods=("POST",), auth_mode="token",
    acls=("modify_project",), tag="git", summary="Set the default branch",
    body=(Param("branch_name", "An existing branch.", required=True), WITH_COMMITS),
    response=BRANCHES,
    errors=("EINVALIDREQ", "EGITERROR", "EMODIFYPROJECTNOTALLOWED", "EEMPTYGIT"),
)
def api_git_set_default(caller: Caller, project: Project) -> Any:
    """Points HEAD at ``branch_name`` and records it as the project's default
    branch. Project admins only (401 EMODIFYPROJECTNOTALLOWED); an unknown
    branch is 400 EGITERROR."""
    user = require_user(caller)
    if not access.can_admin(context.db(), user, project):
        raise ApiError("EMODIFYPROJECTNOTALLOWED")
    name = body().text("branch_name", required=True) or ""
    r = _repo(project)
    try:
        git_branches.set_head(r, name)
    except InvalidInput as exc:
        raise _invalid(exc) from None
    except git_branches.RefError as exc:
        raise ApiError("EGITERROR", errors=exc.message) from None
    project.default_branch = name
    context.db().commit()
    return jsonify(_branches_json(project, r, body().flag("with_commits")
                                  or query_flag("with_commits")))


@api_route(
    bp, project="/git/branch", methods=("POST",), auth_mode="token", acls=("create_branch",),
    tag="git", summary="Create a branch",
    body=(Param("branch", "Name of the new branch.", required=True),
          Param("from_branch", "Start from this branch (default: the default branch)."),
          Param("from_commit", "Start from this commit (not with from_branch).")),
    response=MESSAGE, errors=("EINVALIDREQ", "ENOCODE", "ENOTHIGHENOUGH"),
)
def api_git_create_branch(caller: Caller, project: Project) -> Any:
    """Needs commit rights on the new branch. An existing branch or a missing
    source is 400 ENOCODE; a bad name 400 EINVALIDREQ."""
    data = body()
    name = data.text("branch", required=True) or ""
    from_branch = data.text("from_branch") or None
    from_commit = data.text("from_commit") or None
    if from_branch and from_commit:
        raise ApiError("EINVALIDREQ", errors="from_branch and from_commit cannot be "
                                             "used together")
    try:
        git_branches.checked_name(name)
        if from_branch:
            git_branches.checked_name(from_branch, "from_branch")
    except InvalidInput as exc:
        raise _invalid(exc) from None
    _may_write_ref(caller, project, f"refs/heads/{name}")
    r = _repo(project)
    try:
        if from_commit:
            start = git_branches.commit_of(r, from_commit)
        else:
            source = from_branch or git_branches.default_branch(r, project.default_branch)
            target = git_branches.branch_target(r, source) if source else None
            if target is None:
                raise git_branches.RefError(f"Branch {source or 'HEAD'} not found")
            start = r[target].peel(pygit2.Commit)
        git_branches.create_branch(r, name, start)
    except git_branches.RefError as exc:
        raise ApiError("ENOCODE", message=exc.message) from None
    return jsonify({"message": "Project branch was created"})


# -- tags -----------------------------------------------------------------------------

@api_route(
    bp, project="/git/tags", tag="git", summary="List the git tags of a project",
    query=(WITH_COMMITS,), response=TAGS,
)
def api_git_tags(caller: Caller, project: Project) -> Any:
    """Tag names sorted; with ``with_commits`` the tagged commit of each (the
    tagged object for tags on trees or blobs)."""
    r = _repo(project)
    return jsonify(_tags_json(r, query_flag("with_commits")))


@api_route(
    bp, project="/git/tags", methods=("POST",), auth_mode="token",
    acls=("modify_project", "tag_project"), tag="git", summary="Create a git tag",
    body=(Param("tagname", "Name of the tag.", required=True),
          Param("commit_hash", "Commit to tag (hex id).", required=True),
          Param("message", "Annotation."),
          Param("force", "Move the tag if it exists.", "boolean"),
          WITH_COMMITS),
    response=obj({**TAGS["properties"], "tag_created": BOOL}),
    errors=("EINVALIDREQ", "EGITERROR", "ENOTHIGHENOUGH", "EEMPTYGIT"),
)
def api_git_create_tag(caller: Caller, project: Project) -> Any:
    """An annotated tag signed with the caller's full name and default email.
    Needs commit rights. ``tag_created`` is false when the tag already existed
    and ``force`` was not given (nothing changed). An unknown commit is 400
    EGITERROR."""
    user = require_user(caller)
    data = body()
    name = data.text("tagname", required=True) or ""
    commit_hash = data.text("commit_hash", required=True) or ""
    message = data.text("message") or ""
    force = data.flag("force")
    try:
        git_branches.checked_name(name, "tagname")
    except InvalidInput as exc:
        raise _invalid(exc) from None
    _may_write_ref(caller, project, f"refs/tags/{name}")
    r = _repo(project)
    try:
        commit = git_branches.commit_of(r, commit_hash.strip())
        created = git_branches.create_tag(r, name, commit, message, user.fullname or user.name,
                                          user.default_email, force=force)
    except git_branches.RefError as exc:
        raise ApiError("EGITERROR", errors=exc.message) from None
    return jsonify({**_tags_json(r, data.flag("with_commits")), "tag_created": created})


# -- aliases --------------------------------------------------------------------------

@api_route(
    bp, project="/git/alias", tag="git", summary="List branch aliases", response=ALIASES,
)
def api_git_aliases(caller: Caller, project: Project) -> Any:
    """Aliases are symbolic refs under refs/heads/."""
    return jsonify(git_branches.aliases(_repo(project)))


def _alias_args() -> tuple[str, str]:
    data = body()
    alias = data.text("alias_from", required=True) or ""
    target = data.text("alias_to", required=True) or ""
    try:
        git_branches.checked_name(alias, "alias_from")
        git_branches.checked_name(target, "alias_to")
    except InvalidInput as exc:
        raise _invalid(exc) from None
    return alias, target


@api_route(
    bp, project="/git/alias/new", methods=("POST",), auth_mode="token",
    acls=("create_git_alias", "modify_git_alias", "modify_project"), tag="git",
    summary="Create a branch alias",
    body=(Param("alias_from", "The alias (a branch name).", required=True),
          Param("alias_to", "An existing branch.", required=True)),
    response=ALIASES,
    errors=("EINVALIDREQ", "EBRANCHNOTFOUND", "ENOCODE", "ENOTHIGHENOUGH"),
)
def api_git_alias_new(caller: Caller, project: Project) -> Any:
    """Needs commit rights on the alias name. Unknown target: 400
    EBRANCHNOTFOUND; an existing branch or alias of that name: 400 ENOCODE."""
    alias, target = _alias_args()
    _may_write_ref(caller, project, f"refs/heads/{alias}")
    r = _repo(project)
    try:
        git_branches.create_alias(r, alias, target)
    except git_branches.RefError as exc:
        raise _git_error(exc) from None
    return jsonify(git_branches.aliases(r))


@api_route(
    bp, project="/git/alias/drop", methods=("POST",), auth_mode="token",
    acls=("delete_git_alias", "modify_git_alias", "modify_project"), tag="git",
    summary="Remove a branch alias",
    body=(Param("alias_from", "The alias.", required=True),
          Param("alias_to", "The branch it points to.", required=True)),
    response=ALIASES,
    errors=("EINVALIDREQ", "EBRANCHNOTFOUND", "ENOTHIGHENOUGH"),
)
def api_git_alias_drop(caller: Caller, project: Project) -> Any:
    """Only an alias pointing to ``alias_to`` is removed (400 EBRANCHNOTFOUND
    otherwise); real branches are never deleted here."""
    alias, target = _alias_args()
    _may_write_ref(caller, project, f"refs/heads/{alias}")
    r = _repo(project)
    try:
        git_branches.drop_alias(r, alias, target)
    except git_branches.RefError as exc:
        raise _git_error(exc) from None
    return jsonify(git_branches.aliases(r))


# -- urls and hascommit -------------------------------------------------------------

@api_route(
    bp, project="/git/urls", auth_mode="optional", tag="git", summary="Clone URLs",
    response=obj({"total_urls": INT, "urls": obj({"ssh": STR, "git": STR, "http": STR},
                                                 required=("ssh", "http"))}),
    errors=("EINVALIDTOK",),
)
def api_git_urls(caller: Caller, project: Project) -> Any:
    """``ssh`` (``git_url_ssh`` with ``{username}`` expanded, or
    ``ssh://git@<host>:<port>/``), ``http`` (this site), and ``git`` when
    ``git_url_git`` is configured."""
    from pagurus.web.ui.project import clone_urls

    urls = clone_urls(project)
    conf = context.settings()
    if conf.git_url_git:
        urls["git"] = f"{conf.git_url_git}{project.fullname}.git"
    return jsonify({"total_urls": len(urls), "urls": urls})


@api_route(
    bp, project="/hascommit", tag="git", summary="May a user push to a branch?",
    query=(Param("user", "User name.", required=True),
           Param("branch", "Branch name (without refs/heads/).", required=True)),
    response=obj({"args": obj({"project": ref("Project"), "branch": STR, "user": STR}),
                  "hascommit": BOOL}),
    errors=("EINVALIDREQ", "ENOUSER"),
)
def api_hascommit(caller: Caller, project: Project) -> Any:
    """Answers with the same rule pushes use (collaborators on the branches
    matching their patterns, committers everywhere, read-only projects never)."""
    username = request.args.get("user", "").strip()
    branch = request.args.get("branch", "").strip()
    missing = {k: ["This field is required."] for k, v in (("user", username),
                                                            ("branch", branch)) if not v}
    if missing:
        raise ApiError("EINVALIDREQ", errors=missing)
    session = context.db()
    user = get_user(session, username)
    if user is None:
        raise ApiError("ENOUSER")
    allowed = gitaccess.can_update_ref(session, gitaccess.Identity(user=user), project,
                                       "main", f"refs/heads/{branch}")
    return jsonify({"args": {"project": project_json(project), "branch": branch,
                             "user": user.name},
                    "hascommit": bool(allowed)})

