"""Stars and watch choices: what users follow and how loudly.

Watching follows Pagure: without an explicit choice, the owner and everyone
with access to a project (directly or through a group) watch its issues and
pull requests but not its commits. An explicit choice, ``unwatch`` included,
wins over that default; resetting (level ``-1``) removes the choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, exists, false, func, or_, select, union
from sqlalchemy.orm import Session

from pagurus.core import access
from pagurus.core.errors import InvalidInput, NotAllowed, NotFound
from pagurus.core.projects import visible_clause
from pagurus.core.users import get_user
from pagurus.model import (
    GroupMember,
    Project,
    ProjectGroup,
    ProjectTag,
    ProjectUser,
    Star,
    User,
    Watcher,
)

# Pagure's levels for POST {P}/watch/settings/<level> and the watchers API
WATCH_RESET = -1
WATCH_NONE = 0
WATCH_ISSUES = 1
WATCH_COMMITS = 2
WATCH_ALL = 3
WATCH_LEVELS = (WATCH_RESET, WATCH_NONE, WATCH_ISSUES, WATCH_COMMITS, WATCH_ALL)
WATCH_LABELS = {
    WATCH_NONE: "Unwatch",
    WATCH_ISSUES: "Watch issues and pull requests",
    WATCH_COMMITS: "Watch commits",
    WATCH_ALL: "Watch issues, pull requests and commits",
}


def _require_visible(session: Session, user: User | None, project: Project) -> User:
    if user is None or access.is_blocked(user) or not access.can_see(session, user, project):
        raise NotFound("Project not found", code="ENOPROJECT")
    return user


# -- stars -------------------------------------------------------------------

def is_starred(session: Session, user: User | None, project: Project) -> bool:
    if user is None:
        return False
    return session.scalar(select(Star.id).where(Star.project_id == project.id,
                                                Star.user_id == user.id)) is not None


def star(session: Session, user: User, project: Project, on: bool) -> bool:
    """Star (``on``) or unstar; True when something changed. Starring a
    project one cannot see is refused like a missing project."""
    _require_visible(session, user, project)
    row = session.scalar(select(Star).where(Star.project_id == project.id,
                                            Star.user_id == user.id))
    if on and row is None:
        session.add(Star(project_id=project.id, user_id=user.id))
        session.flush()
        return True
    if not on and row is not None:
        session.delete(row)
        session.flush()
        return True
    return False


def star_count(session: Session, project: Project) -> int:
    return session.scalar(select(func.count(Star.id)).where(Star.project_id == project.id)) or 0


def stargazers(session: Session, project: Project) -> list[User]:
    """Users who starred the project, by name."""
    stmt = (select(User).join(Star, Star.user_id == User.id)
            .where(Star.project_id == project.id).order_by(func.lower(User.name)))
    return list(session.scalars(stmt))


def user_stars_query(session: Session, user: User, viewer: User | None) -> Select[tuple[Project]]:
    """Projects ``user`` starred that ``viewer`` may see (a query, for pagination)."""
    starred = exists().where(Star.project_id == Project.id, Star.user_id == user.id)
    return (select(Project).where(starred, visible_clause(session, viewer))
            .order_by(func.lower(Project.name), Project.id))


def user_stars(session: Session, user: User, viewer: User | None = None) -> list[Project]:
    """Projects ``user`` starred, limited to those ``viewer`` may see
    (``viewer`` defaults to the user: one's own stars)."""
    viewer = user if viewer is None else viewer
    return list(session.scalars(user_stars_query(session, user, viewer)))


# -- watching ----------------------------------------------------------------

def _has_access(session: Session, user: User, project: Project) -> bool:
    """Owner, direct grant or group grant: the implicit watchers."""
    return bool(access.grants(session, user, project))


def _explicit(session: Session, user: User, project: Project) -> Watcher | None:
    return session.scalar(select(Watcher).where(Watcher.project_id == project.id,
                                                Watcher.user_id == user.id))


def _names(row_issues: bool, row_commits: bool) -> list[str]:
    out = []
    if row_issues:
        out.append("issues")
    if row_commits:
        out.append("commits")
    return out


def watch_level(session: Session, user: User | None, project: Project) -> list[str]:
    """What the user watches: a sub-list of ``["issues", "commits"]``."""
    if user is None:
        return []
    row = _explicit(session, user, project)
    if row is not None:
        return _names(row.watch_issues, row.watch_commits)
    return ["issues"] if _has_access(session, user, project) else []


def watch_status(session: Session, user: User | None, project: Project) -> int:
    """The same as :func:`watch_level`, as Pagure's number 0-3."""
    names = watch_level(session, user, project)
    return (WATCH_ISSUES if "issues" in names else 0) + (
        WATCH_COMMITS if "commits" in names else 0)


def is_explicit(session: Session, user: User | None, project: Project) -> bool:
    """Whether the user made a choice (else the default applies)."""
    return user is not None and _explicit(session, user, project) is not None


def parse_level(value: Any) -> int:
    """A watch level from a form or URL; ENOCODE for anything else."""
    try:
        level = int(str(value).strip())
    except (TypeError, ValueError):
        level = None  # type: ignore[assignment]
    if level not in WATCH_LEVELS:
        raise InvalidInput(f"Invalid watch level {value!r}: use -1, 0, 1, 2 or 3",
                           code="ENOCODE")
    return level


def set_watch(session: Session, user: User, project: Project, level: int | str,
              *, actor: User | None = None) -> list[str]:
    """Record the user's choice and return what they now watch.

    ``actor`` (default: the user) must be the user or a site admin; the
    watched project must be visible to the user."""
    actor = user if actor is None else actor
    if actor.id != user.id and not access.is_site_admin(actor):
        raise NotAllowed("You are not allowed to modify this project's watchers",
                         code="EMODIFYPROJECTNOTALLOWED")
    level = parse_level(level)
    _require_visible(session, user, project)
    row = _explicit(session, user, project)
    if level == WATCH_RESET:
        if row is not None:
            session.delete(row)
            session.flush()
        return watch_level(session, user, project)
    if row is None:
        row = Watcher(project_id=project.id, user_id=user.id)
        session.add(row)
    row.watch_issues = level in (WATCH_ISSUES, WATCH_ALL)
    row.watch_commits = level in (WATCH_COMMITS, WATCH_ALL)
    session.flush()
    return _names(row.watch_issues, row.watch_commits)


# Pagure's answers to POST {P}/watchers/update
WATCH_MESSAGES = {
    WATCH_NONE: "You are no longer watching this project",
    WATCH_ISSUES: "You are now watching issues and PRs on this project",
    WATCH_COMMITS: "You are now watching commits on this project",
    WATCH_ALL: "You are now watching issues, PRs, and commits on this project",
}


def _api_level(value: Any) -> int:
    """A level as the API takes it: an integer or its text; else ENOCODE
    worded like Pagure (the value quoted, ``None`` when missing)."""
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    if isinstance(text, str) and text in {str(level) for level in WATCH_LEVELS}:
        return int(text)
    shown = "None" if value is None else str(value)[:100]
    raise InvalidInput(f'The watch value of "{shown}" is invalid', code="ENOCODE")


def update_watch_status(session: Session, actor: User, project: Project,
                        watcher: str, value: Any) -> str:
    """Set ``watcher``'s choice on the project for the API and say what it is now.

    Only the watcher themself or a site admin may (EMODIFYPROJECTNOTALLOWED,
    decided before the name is looked up, so that nobody probes names); an
    unknown watcher is EINVALIDREQ; a level outside -1..3 is ENOCODE."""
    user = get_user(session, watcher)
    if not access.is_site_admin(actor) and (user is None or user.id != actor.id):
        raise NotAllowed("You are not allowed to modify this project",
                         code="EMODIFYPROJECTNOTALLOWED")
    if user is None:
        raise InvalidInput("No such user", errors={"watcher": ["No such user."]})
    level = _api_level(value)
    if level == WATCH_RESET:
        _require_visible(session, user, project)
        if _explicit(session, user, project) is None:
            return "Watch status is already reset"
        set_watch(session, user, project, level, actor=actor)
        return "Watch status reset"
    set_watch(session, user, project, level, actor=actor)
    return WATCH_MESSAGES[level]


def watchers(session: Session, project: Project) -> dict[str, Any]:
    """``{total_watchers, watchers: {name or "@group": [...]}}`` as the API's
    ``GET {P}/watchers``: implicit watchers merged with explicit choices, an
    explicit unwatch removing the user."""
    result: dict[str, list[str]] = {project.user.name: ["issues"]}
    user_rows = session.scalars(select(ProjectUser).where(ProjectUser.project_id == project.id))
    for row in user_rows:
        result[row.user.name] = ["issues"]
    group_rows = session.scalars(select(ProjectGroup)
                                 .where(ProjectGroup.project_id == project.id))
    for row in group_rows:
        result["@" + row.group.name] = ["issues"]
    explicit = session.execute(select(Watcher, User.name).join(User, User.id == Watcher.user_id)
                               .where(Watcher.project_id == project.id))
    for row, name in explicit:
        names = _names(row.watch_issues, row.watch_commits)
        if names:
            result[name] = names
        else:
            result.pop(name, None)
    ordered = dict(sorted(result.items(), key=lambda kv: kv[0].lower()))
    return {"total_watchers": len(ordered), "watchers": ordered}


def watcher_users(session: Session, project: Project, kind: str) -> list[User]:
    """Every user who watches ``kind`` (``issues`` or ``commits``), group
    members included: who to notify."""
    if kind not in ("issues", "commits"):
        raise ValueError(kind)
    users: dict[int, User] = {}
    if kind == "issues":
        users[project.user.id] = project.user
        for row in session.scalars(select(ProjectUser)
                                   .where(ProjectUser.project_id == project.id)):
            users[row.user.id] = row.user
        stmt = (select(User).join(GroupMember, GroupMember.user_id == User.id)
                .join(ProjectGroup, ProjectGroup.group_id == GroupMember.group_id)
                .where(ProjectGroup.project_id == project.id))
        for user in session.scalars(stmt):
            users[user.id] = user
    explicit = session.execute(select(Watcher, User).join(User, User.id == Watcher.user_id)
                               .where(Watcher.project_id == project.id))
    for row, user in explicit:
        wants = row.watch_issues if kind == "issues" else row.watch_commits
        if wants:
            users[user.id] = user
        else:
            users.pop(user.id, None)
    # someone who lost access to a private project hears nothing more of it
    visible = [u for u in users.values()
               if u.active and not access.is_blocked(u) and access.can_see(session, u, project)]
    return sorted(visible, key=lambda u: u.name.lower())


# -- the project header, in one query ------------------------------------------------

@dataclass
class HeaderCounts:
    """What every project page header shows, read in one SQL statement (a
    query per figure made the header cost more than the git work of a log
    page). ``held``: the viewer's access names (``"owner"`` included);
    ``explicit``: the viewer's watch choice ``(issues, commits)`` or None."""

    stars: int
    watchers: int
    forks: int
    tags: list[str]
    starred: bool = False
    explicit: tuple[bool, bool] | None = None
    held: tuple[str, ...] = ()
    own_fork_id: int | None = None

    @property
    def watch_status(self) -> int:
        """Pagure's 0-3 for the viewer, as :func:`watch_status` computes it."""
        if self.explicit is not None:
            issues, commits = self.explicit
        else:
            issues, commits = bool(self.held), False
        return (WATCH_ISSUES if issues else 0) + (WATCH_COMMITS if commits else 0)


_SEP = "\x1f"
_header_statements: dict[tuple[bool, str], Any] = {}


class _BoundViewer:
    """A stand-in viewer whose id is a bound parameter, so that
    ``visible_clause`` builds a statement reusable for every signed-in user."""

    is_admin = False
    blocked_until = None
    id = bindparam("uid")


def _header_statement(signed_in: bool, visibility: str) -> Any:
    """The header statement for this kind of viewer, built once: building it
    costs several times what running it does."""
    key = (signed_in, visibility)
    found = _header_statements.get(key)
    if found is not None:
        return found
    pid, uid = bindparam("pid"), bindparam("uid")
    stars = select(func.count(Star.id)).where(Star.project_id == pid)
    # as watchers() counts: owner + direct users + explicit watchers, minus
    # explicit unwatchers; plus one entry per group
    watching = select(Watcher.user_id).where(
        Watcher.project_id == pid, or_(Watcher.watch_issues, Watcher.watch_commits))
    unwatching = select(Watcher.user_id).where(
        Watcher.project_id == pid, Watcher.watch_issues == false(),
        Watcher.watch_commits == false())
    implicit = union(select(Project.user_id.label("uid")).where(Project.id == pid),
                     select(ProjectUser.user_id).where(ProjectUser.project_id == pid),
                     watching).subquery()
    users = select(func.count()).select_from(implicit).where(
        implicit.c.uid.not_in(unwatching))
    groups = select(func.count(ProjectGroup.id)).where(ProjectGroup.project_id == pid)
    viewer: Any = None  # "public": what anonymous and blocked users see
    if visibility != "public":
        viewer = _BoundViewer()
        viewer.is_admin = visibility == "all"
    forks = select(func.count(Project.id)).where(Project.parent_id == pid,
                                                 visible_clause(None, viewer))  # type: ignore[arg-type]
    tags = select(func.aggregate_strings(ProjectTag.name, _SEP)).where(
        ProjectTag.project_id == pid)
    queries: list[Any] = [stars, users, groups, forks, tags]
    if signed_in:
        mine = (Watcher.project_id == pid, Watcher.user_id == uid)
        queries += [
            select(Star.id).where(Star.project_id == pid, Star.user_id == uid),
            select(Watcher.watch_issues).where(*mine),
            select(Watcher.watch_commits).where(*mine),
            select(ProjectUser.access).where(ProjectUser.project_id == pid,
                                             ProjectUser.user_id == uid),
            select(func.aggregate_strings(ProjectGroup.access, _SEP))
            .join(GroupMember, GroupMember.group_id == ProjectGroup.group_id)
            .where(ProjectGroup.project_id == pid, GroupMember.user_id == uid),
            select(Project.id).where(Project.key == bindparam("fork_key")),
        ]
    stmt = select(*[q.correlate(None).scalar_subquery() for q in queries])
    _header_statements[key] = stmt
    return stmt


def header_counts(session: Session, viewer: User | None, project: Project,
                  fork_key: str | None = None) -> HeaderCounts:
    """Stars, watchers (as :func:`watchers` counts them), forks ``viewer``
    may see, tags and, for a signed-in viewer, their star, watch choice,
    grants and the id of the project whose key is ``fork_key`` (their fork)."""
    if viewer is None or access.is_blocked(viewer):
        visibility = "public"
    else:
        visibility = "all" if viewer.is_admin else "member"
    params: dict[str, Any] = {"pid": project.id}
    if viewer is not None:
        params.update(uid=viewer.id, fork_key=fork_key or "")
    row = session.execute(_header_statement(viewer is not None, visibility), params).one()
    n_stars, n_users, n_groups, n_forks, tag_names = row[:5]
    counts = HeaderCounts(stars=int(n_stars or 0),
                          watchers=int(n_users or 0) + int(n_groups or 0),
                          forks=int(n_forks or 0),
                          tags=sorted(tag_names.split(_SEP)) if tag_names else [])
    if viewer is not None:
        star_id, w_issues, w_commits, direct, via_groups, fork_id = row[5:]
        counts.starred = star_id is not None
        if w_issues is not None:
            counts.explicit = (bool(w_issues), bool(w_commits))
        held = ["owner"] if project.user_id == viewer.id else []
        held += [direct] if direct else []
        held += via_groups.split(_SEP) if via_groups else []
        counts.held = tuple(held)
        counts.own_fork_id = fork_id if fork_key else None
    return counts
