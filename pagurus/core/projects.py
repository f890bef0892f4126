"""Projects: creation, lookup, forks, settings, access grants, deletion.

Repositories on disk are made and removed by worker tasks; core only changes
rows (``repo_state`` tracks where the disk side is) and records events.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import Select, exists, false, func, or_, select
from sqlalchemy.orm import Session

from pagurus.config import Settings
from pagurus.core import access, activity
from pagurus.core.access import Level
from pagurus.core.errors import Conflict, InvalidInput, NotAllowed, NotFound
from pagurus.core.groups import get_group, is_member, user_groups
from pagurus.core.names import (
    check_not_reserved,
    glob_to_like,
    project_key,
    validate_namespace,
    validate_project_name,
)
from pagurus.core.users import get_user
from pagurus.events import outbox
from pagurus.model import (
    Group,
    GroupMember,
    Project,
    ProjectGroup,
    ProjectTag,
    ProjectUser,
    User,
    utcnow,
)

DEFAULT_SETTINGS: dict[str, Any] = {
    "issue_tracker": True,
    "project_documentation": False,
    "pull_requests": True,
    "Only_assignee_can_merge_pull-request": False,
    "Minimum_score_to_merge_pull-request": -1,
    "Web-hooks": None,
    "Enforce_signed-off_commits_in_pull-request": False,
    "always_merge": False,
    "issues_default_to_private": False,
    "fedmsg_notifications": True,
    "stomp_notifications": True,
    "mqtt_notifications": True,
    "pull_request_access_only": False,
    "notify_on_pull-request_flag": False,
    "notify_on_commit_flag": False,
    "issue_tracker_read_only": False,
    "disable_non_fast-forward_merges": False,
    "open_metadata_access_to_all": False,
}
ACCESS_LEVELS = ("ticket", "collaborator", "commit", "admin")
DESCRIPTION_MAX = 10_000
URL_MAX = 2_000
BRANCH_MAX = 255
_TRUE = ("1", "true", "t", "y", "yes", "on")


def settings_of(project: Project) -> dict[str, Any]:
    """The settings dict with defaults filled in and unknown keys dropped."""
    stored = project.settings or {}
    return {k: stored.get(k, v) for k, v in DEFAULT_SETTINGS.items()}


def project_payload(project: Project) -> dict[str, Any]:
    """Compact project description carried by events."""
    return {
        "id": project.id,
        "name": project.name,
        "namespace": project.namespace,
        "fullname": project.fullname,
        "url_path": project.url_path,
        "private": project.private,
        "user": project.user.name,
        "parent": project.parent.fullname if project.parent else None,
    }


def _record(session: Session, topic: str, project: Project, agent: User | None,
            **extra: Any) -> None:
    payload = {"agent": agent.name if agent else None, "project": project_payload(project),
               **extra}
    outbox.record(session, topic, payload, project_id=project.id, private=project.private)


# -- lookup ---------------------------------------------------------------

def get_project(session: Session, name: str, namespace: str | None = None,
                fork_user: str | None = None) -> Project | None:
    if not name:
        return None
    key = project_key(namespace or None, name, fork_user)
    return session.scalar(select(Project).where(Project.key == key))


def find_visible(session: Session, viewer: User | None, name: str,
                 namespace: str | None = None, fork_user: str | None = None) -> Project:
    """The project if ``viewer`` may see it; otherwise the same NotFound as a missing one."""
    project = get_project(session, name, namespace, fork_user)
    if project is None or not access.can_see(session, viewer, project):
        raise NotFound("Project not found", code="ENOPROJECT")
    return project


def by_fullname(session: Session, fullname: str) -> Project | None:
    """``[forks/<user>/][<ns>/]<name>`` (as on disk and in git URLs)."""
    return session.scalar(select(Project).where(Project.key == fullname.lower()))


def visible_clause(session: Session, viewer: User | None) -> Any:
    """SQL condition: projects ``viewer`` may see (for lists)."""
    ok = Project.repo_state != "deleting"
    if viewer is not None and viewer.is_admin and not access.is_blocked(viewer):
        return ok
    if viewer is None or access.is_blocked(viewer):
        return ok & (Project.private == false())
    member = exists().where(ProjectUser.project_id == Project.id,
                            ProjectUser.user_id == viewer.id)
    via_group = exists().where(
        ProjectGroup.project_id == Project.id,
        ProjectGroup.group_id == GroupMember.group_id,
        GroupMember.user_id == viewer.id,
    )
    return ok & or_(Project.private == false(), Project.user_id == viewer.id, member, via_group)


def with_access_clause(user: User, levels: tuple[str, ...] = ACCESS_LEVELS) -> Any:
    """SQL condition: projects the user owns or holds one of ``levels`` on."""
    member = exists().where(ProjectUser.project_id == Project.id,
                            ProjectUser.user_id == user.id, ProjectUser.access.in_(levels))
    via_group = exists().where(
        ProjectGroup.project_id == Project.id, ProjectGroup.access.in_(levels),
        ProjectGroup.group_id == GroupMember.group_id, GroupMember.user_id == user.id,
    )
    return or_(Project.user_id == user.id, member, via_group)


def query_projects(
    session: Session,
    viewer: User | None,
    *,
    pattern: str | None = None,
    namespace: str | None = None,
    owner: str | None = None,
    username: str | None = None,
    fork: bool | None = None,
    tags: list[str] | None = None,
) -> Select[tuple[Project]]:
    """The filtered, visibility-checked query behind project lists."""
    stmt = select(Project).where(visible_clause(session, viewer))
    if pattern:
        if "*" in pattern:
            stmt = stmt.where(Project.name.ilike(glob_to_like(pattern), escape="\\"))
        else:
            stmt = stmt.where(func.lower(Project.name) == pattern.lower())
    if namespace:
        stmt = stmt.where(func.lower(Project.namespace) == namespace.lower())
    if owner:
        negate = owner.startswith("!")
        user = get_user(session, owner.lstrip("!"))
        if user is None:
            stmt = stmt if negate else stmt.where(false())
        else:
            stmt = stmt.where(Project.user_id != user.id if negate else Project.user_id == user.id)
    if username:
        user = get_user(session, username)
        if user is None:
            stmt = stmt.where(false())
        else:
            levels = ("admin", "commit", "collaborator")
            stmt = stmt.where(with_access_clause(user, levels))
    if fork is not None:
        stmt = stmt.where(Project.is_fork == fork)
    for tag in tags or []:
        stmt = stmt.where(exists().where(ProjectTag.project_id == Project.id,
                                         func.lower(ProjectTag.name) == tag.lower()))
    return stmt.order_by(func.lower(Project.name), Project.id)


# -- creation ----------------------------------------------------------------

def _check_text(field: str, value: str | None, maxlen: int) -> str:
    value = value or ""
    if not isinstance(value, str) or len(value) > maxlen or "\x00" in value:
        raise InvalidInput(f"Invalid {field}", errors={field: [f"At most {maxlen} characters."]})
    return value


def _check_url(field: str, value: str | None) -> str:
    value = _check_text(field, value, URL_MAX).strip()
    if value and not value.lower().startswith(("http://", "https://")):
        raise InvalidInput(f"Invalid {field}", errors={field: ["Must be an http(s) URL."]})
    return value


def check_branch_name(branch: str) -> str:
    """Ref-name rules of git plus ours: no leading '-', no '..', no control chars."""
    if (not isinstance(branch, str) or not branch or len(branch) > BRANCH_MAX
            or branch.startswith(("-", "/", ".")) or branch.endswith(("/", ".", ".lock"))
            or ".." in branch or "//" in branch or "@{" in branch
            or any(ord(c) < 33 or c in "~^:?*[\\\x7f" for c in branch)):
        raise InvalidInput(f"Invalid branch name {branch!r}",
                           errors={"default_branch": ["Not a valid git branch name."]})
    return branch


def allowed_namespaces(session: Session, settings: Settings, user: User,
                       private: bool = False) -> list[str]:
    names = list(settings.allowed_prefix)
    names += [g.name for g in user_groups(session, user)]
    if settings.user_namespace or private:
        names.append(user.name)
    return sorted(set(names), key=str.lower)


def create_project(
    session: Session,
    settings: Settings,
    actor: User,
    name: str,
    description: str,
    *,
    namespace: str | None = None,
    url: str = "",
    avatar_email: str = "",
    private: bool = False,
    default_branch: str | None = None,
    mirrored_from: str | None = None,
) -> Project:
    """Write the project row (state ``pending``) and its ``project.new`` event."""
    if not settings.enable_new_projects:
        raise NotFound("Creating projects disabled on this instance", code="ENEWPROJECTDISABLED")
    if access.is_blocked(actor):
        raise NotAllowed("This account is blocked")
    name = validate_project_name(name)
    namespace = validate_namespace(namespace)
    check_not_reserved(namespace, name)
    if not isinstance(description, str) or not description.strip():
        raise InvalidInput("A description is required",
                           errors={"description": ["This field is required."]})
    description = _check_text("description", description, DESCRIPTION_MAX)
    url = _check_url("url", url)
    avatar_email = _check_text("avatar_email", avatar_email, 255)
    private = bool(private) and settings.private_projects
    if namespace and not access.is_site_admin(actor):
        ok = {n.lower() for n in allowed_namespaces(session, settings, actor, private)}
        if namespace.lower() not in ok:
            raise InvalidInput(f"You are not allowed to create projects in the namespace "
                               f"{namespace!r}", errors={"namespace": ["Not allowed."]})
    if namespace is None and settings.user_namespace:
        namespace = actor.name
    if mirrored_from:
        mirrored_from = _check_url("mirrored_from", mirrored_from)
    branch = check_branch_name(default_branch or "main")
    key = project_key(namespace, name)
    if session.scalar(select(Project.id).where(Project.key == key)) is not None:
        full = f"{namespace}/{name}" if namespace else name
        raise Conflict(f"It is not possible to create the project {full!r}: it already exists")
    project = Project(
        key=key, namespace=namespace, name=name, user_id=actor.id, description=description,
        url=url, avatar_email=avatar_email, private=private, default_branch=branch,
        mirrored_from=mirrored_from or None, hook_token=secrets.token_hex(20),
        settings=dict(DEFAULT_SETTINGS), repo_state="pending",
    )
    project.user = actor
    session.add(project)
    session.flush()
    _record(session, "project.new", project, actor)
    activity.log_project_created(session, project, actor)
    return project


def fork_project(session: Session, actor: User, source: Project) -> Project:
    """The fork row (state ``pending``); the worker clones the repos.

    Forks keep the source's privacy, start with issues and PRs disabled, and
    only one fork per user of a given project exists."""
    if access.is_blocked(actor) or not access.can_see(session, actor, source):
        raise NotFound("Project not found", code="ENOPROJECT")
    if source.repo_state != "ready":
        raise Conflict("The project's repositories are not ready yet")
    key = project_key(source.namespace, source.name, actor.name)
    if session.scalar(select(Project.id).where(Project.key == key)) is not None:
        raise Conflict(f'Repo "forks/{actor.name}/{source.fullname.split("forks/", 1)[-1]}" '
                       "already exists")
    fork_settings = dict(settings_of(source))
    fork_settings.update(issue_tracker=False, pull_requests=False)
    fork = Project(
        key=key, namespace=source.namespace, name=source.name, user_id=actor.id,
        parent_id=source.id, is_fork=True, description=source.description, url=source.url,
        avatar_email=source.avatar_email, private=source.private,
        default_branch=source.default_branch, hook_token=secrets.token_hex(20),
        settings=fork_settings, repo_state="pending",
    )
    fork.user = actor
    fork.parent = source
    session.add(fork)
    session.flush()
    _record(session, "project.forked", fork, actor)
    return fork


def mark_ready(project: Project) -> None:
    project.repo_state = "ready"


# -- edits -----------------------------------------------------------------

def require_admin(session: Session, actor: User | None, project: Project) -> User:
    if actor is None or not access.can_admin(session, actor, project):
        raise NotAllowed("You are not allowed to modify this project",
                         code="EMODIFYPROJECTNOTALLOWED")
    return actor


def update_project(session: Session, actor: User, project: Project, *,
                   description: str | None = None, url: str | None = None,
                   avatar_email: str | None = None, private: bool | None = None,
                   tags: list[str] | None = None) -> list[str]:
    """Edit the project details; returns the names of the fields that changed."""
    require_admin(session, actor, project)
    changed: list[str] = []
    if description is not None:
        if not description.strip():
            raise InvalidInput("A description is required",
                               errors={"description": ["This field is required."]})
        value = _check_text("description", description, DESCRIPTION_MAX)
        if value != project.description:
            project.description = value
            changed.append("description")
    if url is not None:
        value = _check_url("url", url)
        if value != project.url:
            project.url = value
            changed.append("url")
    if avatar_email is not None:
        value = _check_text("avatar_email", avatar_email, 255)
        if value != project.avatar_email:
            project.avatar_email = value
            changed.append("avatar_email")
    if private is not None and bool(private) != project.private:
        project.private = bool(private)
        changed.append("private")
    if tags is not None:
        wanted = []
        for tag in tags:
            tag = tag.strip()
            if not tag:
                continue
            if len(tag) > 255 or any(ord(c) < 32 for c in tag):
                raise InvalidInput("Invalid tag", errors={"tags": ["At most 255 characters."]})
            if tag.lower() not in {w.lower() for w in wanted}:
                wanted.append(tag)
        if sorted(t.name for t in project.tags) != sorted(wanted):
            project.tags = [ProjectTag(name=t) for t in wanted]
            changed.append("tags")
    if changed:
        project.date_modified = utcnow()
        session.flush()
        _record(session, "project.edit", project, actor, fields=changed)
    return changed


def coerce_setting(key: str, value: Any) -> Any:
    default = DEFAULT_SETTINGS[key]
    if key == "Minimum_score_to_merge_pull-request":
        try:
            return int(value)
        except (TypeError, ValueError):
            raise InvalidInput("Minimum_score_to_merge_pull-request must be an integer",
                               code="ENOCODE") from None
    if key == "Web-hooks":
        text = "" if value is None else str(value)
        return text or None
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in _TRUE
    return value


def update_settings(session: Session, actor: User, project: Project,
                    changes: dict[str, Any], *, reset_missing_booleans: bool = False) -> list[str]:
    """Change known setting keys (unknown ones are ignored). The UI passes
    ``reset_missing_booleans`` because an unchecked box is not submitted."""
    require_admin(session, actor, project)
    current = settings_of(project)
    new = dict(current)
    for key, value in changes.items():
        if key in DEFAULT_SETTINGS:
            new[key] = coerce_setting(key, value)
    if reset_missing_booleans:
        for key, default in DEFAULT_SETTINGS.items():
            if isinstance(default, bool) and key not in changes:
                new[key] = False
    changed = [k for k in DEFAULT_SETTINGS if new[k] != current[k]]
    if changed:
        project.settings = new
        project.date_modified = utcnow()
        session.flush()
        _record(session, "project.edit", project, actor, fields=changed)
    return changed


def set_user_access(session: Session, actor: User, project: Project, user: User,
                    level: str | None, branches: str | None = None) -> None:
    """Grant, change or (``level`` None/'') remove a user's access.

    Admins change anyone; a user may always remove themself."""
    removing = not level
    if not (access.can_admin(session, actor, project) or (removing and actor.id == user.id)):
        raise NotAllowed("You are not allowed to modify this project",
                         code="EMODIFYPROJECTNOTALLOWED")
    if user.id == project.user_id:
        raise InvalidInput("The owner's access cannot be changed here")
    row = session.scalar(select(ProjectUser).where(ProjectUser.project_id == project.id,
                                                   ProjectUser.user_id == user.id))
    if removing:
        if row is None:
            raise InvalidInput(f"User {user.name!r} has no access to this project")
        project.user_access.remove(row)
        session.delete(row)
        session.flush()
        _record(session, "project.user.removed", project, actor, removed_user=user.name)
        return
    if level not in ACCESS_LEVELS:
        raise InvalidInput(f"Invalid access level {level!r}",
                           errors={"acl": [f"One of {', '.join(ACCESS_LEVELS)}."]})
    branches = _check_branches(level, branches)
    if access.is_blocked(user):
        raise InvalidInput(f"User {user.name!r} is blocked")
    if row is None:
        project.user_access.append(ProjectUser(user_id=user.id, access=level, branches=branches))
        session.flush()
        _record(session, "project.user.added", project, actor, new_user=user.name,
                access=level, branches=branches)
    elif (row.access, row.branches) != (level, branches):
        row.access, row.branches = level, branches
        session.flush()
        _record(session, "project.user.access.updated", project, actor, new_user=user.name,
                new_access=level, new_branches=branches)


def _check_branches(level: str, branches: str | None) -> str | None:
    if level != "collaborator":
        return None
    patterns = [p.strip() for p in (branches or "").split(",") if p.strip()]
    if not patterns:
        raise InvalidInput("Collaborators need branch patterns",
                           errors={"branches": ["Give at least one branch pattern."]})
    for p in patterns:
        if len(p) > 255 or p.startswith("-") or ".." in p or any(ord(c) < 33 for c in p):
            raise InvalidInput(f"Invalid branch pattern {p!r}")
    return ",".join(patterns)


def set_group_access(session: Session, actor: User, project: Project, group: Group,
                     level: str | None, branches: str | None = None) -> None:
    removing = not level
    if not (access.can_admin(session, actor, project)
            or (removing and is_member(group, actor) and access.level(
                session, actor, project) >= Level.TICKET)):
        raise NotAllowed("You are not allowed to modify this project",
                         code="EMODIFYPROJECTNOTALLOWED")
    row = session.scalar(select(ProjectGroup).where(ProjectGroup.project_id == project.id,
                                                    ProjectGroup.group_id == group.id))
    if removing:
        if row is None:
            raise InvalidInput(f"Group {group.name!r} has no access to this project")
        project.group_access.remove(row)
        session.delete(row)
        session.flush()
        _record(session, "project.group.removed", project, actor, removed_groups=[group.name])
        return
    if level not in ACCESS_LEVELS:
        raise InvalidInput(f"Invalid access level {level!r}")
    branches = _check_branches(level, branches)
    if row is None:
        project.group_access.append(ProjectGroup(group_id=group.id, access=level,
                                                 branches=branches))
        session.flush()
        _record(session, "project.group.added", project, actor, new_group=group.name,
                access=level, branches=branches)
    elif (row.access, row.branches) != (level, branches):
        row.access, row.branches = level, branches
        session.flush()
        _record(session, "project.group.access.updated", project, actor,
                new_group=group.name, new_access=level, new_branches=branches)


def modify_acl(session: Session, actor: User, project: Project, user_type: str, name: str,
               acl: str | None) -> None:
    """API ``git/modifyacls``: one entry point for users and groups."""
    if user_type == "user":
        user = get_user(session, name)
        if user is None:
            raise NotFound("No such user found", code="ENOUSER")
        set_user_access(session, actor, project, user, acl or None)
    elif user_type == "group":
        group = get_group(session, name)
        if group is None:
            raise NotFound("Group not found", code="ENOGROUP")
        set_group_access(session, actor, project, group, acl or None)
    else:
        raise InvalidInput("user_type must be 'user' or 'group'",
                           errors={"user_type": ["Not a valid choice"]})


def give_project(session: Session, actor: User, project: Project, new_owner: User,
                 retain_access: bool = False) -> None:
    """Change the owner (main admin): owner or site admin only."""
    if not (access.is_owner(actor, project) or access.is_site_admin(actor)):
        raise NotAllowed("Only the main admin can set the main admin", code="ENOTMAINADMIN")
    if new_owner.id == project.user_id:
        return
    if project.is_fork:
        raise InvalidInput("The owner of a fork cannot be changed")
    old_owner = project.user
    for row in list(project.user_access):
        if row.user_id == new_owner.id:
            project.user_access.remove(row)
            session.delete(row)
    project.user_id = new_owner.id
    project.user = new_owner
    session.flush()
    if retain_access and old_owner.id != new_owner.id:
        project.user_access.append(ProjectUser(user_id=old_owner.id, access="admin"))
    project.date_modified = utcnow()
    session.flush()
    _record(session, "project.edit", project, actor, fields=["user"])


def block_users(session: Session, actor: User, project: Project, names: list[str]) -> None:
    require_admin(session, actor, project)
    users = []
    for name in names:
        user = get_user(session, name)
        if user is None:
            raise InvalidInput(f"No user {name!r} found", code="ENOCODE")
        users.append(user.name)
    project.block_users = sorted(set(users))


def request_delete(session: Session, settings: Settings, actor: User, project: Project) -> None:
    """Owner/admin marks the project for deletion (it vanishes from every view at
    once); the worker then removes disk and row, recording the event."""
    enabled = settings.enable_del_forks if project.is_fork else settings.enable_del_projects
    if not enabled:
        raise NotFound("Project not found", code="ENOPROJECT")
    if not access.can_admin(session, actor, project):
        raise NotAllowed("You are not allowed to delete this project", code="ENOTHIGHENOUGH")
    if project.repo_state == "deleting":
        raise NotFound("Project not found", code="ENOPROJECT")
    project.repo_state = "deleting"


def delete_row(session: Session, project: Project, agent: User | None = None) -> None:
    """Remove the row and record ``project.deleted`` with it; forks of it keep
    living as standalone projects. Used once the repos are gone, and to undo a
    creation whose repos could not be made."""
    _record(session, "project.deleted", project, agent)
    for child in session.scalars(select(Project).where(Project.parent_id == project.id)):
        child.parent_id = None
    session.delete(project)


# -- reading ---------------------------------------------------------------

def contributors(session: Session, project: Project) -> dict[str, Any]:
    """``{users: {admin, commit, ticket, collaborators}, groups: {...}}``; each
    level lists only those whose highest level it is; admin includes the owner."""
    users: dict[str, list[Any]] = {"admin": [project.user.name], "commit": [], "ticket": [],
                                   "collaborators": []}
    for row in sorted(project.user_access, key=lambda r: r.user.name):
        if row.access == "collaborator":
            users["collaborators"].append({"user": row.user.name, "branches": row.branches})
        elif row.user.name not in users["admin"]:
            users[row.access].append(row.user.name)
    groups: dict[str, list[Any]] = {"admin": [], "commit": [], "ticket": [], "collaborators": []}
    for row in sorted(project.group_access, key=lambda r: r.group.name):
        if row.access == "collaborator":
            groups["collaborators"].append({"user": row.group.name, "branches": row.branches})
        else:
            groups[row.access].append(row.group.name)
    return {"users": users, "groups": groups}


def _forks_clause(session: Session, viewer: User | None, project: Project) -> Any:
    return (Project.parent_id == project.id) & visible_clause(session, viewer)


def forks_of(session: Session, viewer: User | None, project: Project) -> list[Project]:
    stmt = (select(Project).where(_forks_clause(session, viewer, project))
            .order_by(Project.date_created))
    return list(session.scalars(stmt))


def fork_count(session: Session, viewer: User | None, project: Project) -> int:
    """How many forks ``viewer`` may see, without loading them (project headers)."""
    stmt = select(func.count(Project.id)).where(_forks_clause(session, viewer, project))
    return int(session.scalar(stmt) or 0)


def group_projects_query(session: Session, viewer: User | None, group: Group,
                         levels: tuple[str, ...] = ACCESS_LEVELS) -> Select[tuple[Project]]:
    """Projects on which ``group`` holds one of ``levels``, visible to ``viewer``."""
    granted = exists().where(ProjectGroup.project_id == Project.id,
                             ProjectGroup.group_id == group.id,
                             ProjectGroup.access.in_(levels))
    return (select(Project).where(visible_clause(session, viewer), granted)
            .order_by(func.lower(Project.name), Project.id))
