"""Pull-request lists: the one place they are filtered, for the UI and the API.

Usage, for a project list::

    f = parse_filters(request.args)              # InvalidInput on bad values
    stmt = pulls_query(session, viewer, project, f)
    total = count(session, viewer, project, f)
    counts = status_counts(session, viewer, project, f)   # Open/Merged/Closed/all
    prs = page_of(session, stmt, page, per_page)

and for a user's lists across projects (``kind`` ``filed`` or ``actionable``)::

    scope = user_scope(session, viewer, user, kind)
    stmt = user_pulls_query(session, scope, user, kind, f)
    total = user_count(session, scope, user, kind, f)

Arguments (Pagure's names): ``status`` (``Open`` default, ``Merged``,
``Closed``, ``all``; ``true``/``1`` = open, ``false``/``0`` = merged or
closed; case-insensitive), ``assignee`` (a user name, ``!name`` = not
assigned to name, ``true``/``1`` = assigned, ``false``/``0`` = unassigned),
``author`` (a user name, ``!name`` = not by name), ``tags`` (repeatable or
comma-separated; ``!tag`` excludes), ``search_pattern`` (in titles,
case-insensitive; with ``*`` the pattern must match the whole title, ``*``
standing for anything, else it is found anywhere), ``order`` (``asc`` /
``desc``, default desc), ``order_key`` (``date_created`` default,
``last_updated``: sorts on the time the code last changed, ``updated_on``),
``created``/``updated``/``closed`` (``since..until`` ranges, each bound in
epoch seconds or ``YYYY-MM-DD``).

Pull requests are visible with their project: a project list is only built
for a project the viewer may see, and user lists only hold pull requests of
projects the viewer may see with pull requests enabled. (Pagure listed a
user's pull requests on projects the viewer could not see.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, false, func, not_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from pagurus.core import access, issue_query
from pagurus.core import projects as core_projects
from pagurus.core import pulls as core_pulls
from pagurus.core.errors import InvalidInput
from pagurus.model import Project, PullRequest, PullRequestTag, TagColored, User

OPEN, MERGED, CLOSED = core_pulls.OPEN, core_pulls.MERGED, core_pulls.CLOSED
ORDER_KEYS = {"date_created": "date_created", "last_updated": "updated_on",
              "updated_on": "updated_on"}
SEARCH_MAX = 255
KINDS = ("filed", "actionable")

Args = Mapping[str, Any]


@dataclass
class PullFilters:
    """What a pull-request list shows. ``statuses`` empty means every status."""

    statuses: tuple[str, ...] = (OPEN,)
    assignee: str | None = None
    not_assignee: str | None = None
    assigned: bool | None = None
    author: str | None = None
    not_author: str | None = None
    tags: list[str] = field(default_factory=list)
    not_tags: list[str] = field(default_factory=list)
    search: str | None = None
    created: tuple[datetime | None, datetime | None] = (None, None)
    updated: tuple[datetime | None, datetime | None] = (None, None)
    closed: tuple[datetime | None, datetime | None] = (None, None)
    order: str = "desc"
    order_key: str = "date_created"


def _bad(field_name: str, message: str) -> InvalidInput:
    return InvalidInput(f"Invalid {field_name}: {message}", errors={field_name: [message]})


def parse_status(value: str | None) -> tuple[str, ...]:
    """The statuses a ``status`` argument selects (empty tuple: all)."""
    text = (value or "").strip().lower()
    if text in ("", "open", "true", "1"):
        return (OPEN,)
    if text in ("false", "0"):
        return (MERGED, CLOSED)
    if text == "all":
        return ()
    if text in ("merged", "closed"):
        return (text.capitalize(),)
    raise _bad("status", "Open, Merged, Closed, all, true or false")


def parse_filters(args: Args) -> PullFilters:
    """The filters named by ``args`` (request arguments or a dict; repeated
    keys via ``getlist``). Bad values raise InvalidInput (ETIMESTAMP /
    EDATETIME for bad dates); unknown users or tags simply match nothing."""
    f = PullFilters()
    f.statuses = parse_status(issue_query.first(args, "status"))
    issue_query.set_person(f, "assignee", issue_query.first(args, "assignee"))
    issue_query.set_person(f, "author", issue_query.first(args, "author"))
    for raw in issue_query.values(args, "tags"):
        issue_query.add_tags(f, raw)
    search = issue_query.first(args, "search_pattern")
    if search:
        if len(search) > SEARCH_MAX:
            raise _bad("search_pattern", f"At most {SEARCH_MAX} characters.")
        f.search = search
    order = (issue_query.first(args, "order") or "").lower()
    f.order = "asc" if order == "asc" else "desc"
    key = (issue_query.first(args, "order_key") or "").lower()
    f.order_key = ORDER_KEYS.get(key, "date_created")
    f.created = issue_query.parse_range(issue_query.first(args, "created"), "created")
    f.updated = issue_query.parse_range(issue_query.first(args, "updated"), "updated")
    f.closed = issue_query.parse_range(issue_query.first(args, "closed"), "closed")
    return f


# -- SQL -------------------------------------------------------------------------------

def _tagged(names: list[str]) -> ColumnElement[bool]:
    """Tagged with one of ``names`` (tags of the PR's own project)."""
    lowered = sorted({n.lower() for n in names})
    return exists().where(PullRequestTag.pull_request_id == PullRequest.id,
                          PullRequestTag.tag_id == TagColored.id,
                          TagColored.project_id == PullRequest.project_id,
                          func.lower(TagColored.name).in_(lowered))


def _like_pattern(search: str) -> str:
    escaped = issue_query.like_escape(search.lower())
    if "*" in search:
        return escaped.replace("*", "%")
    return f"%{escaped}%"


def conditions(session: Session, f: PullFilters, *, with_status: bool = True
               ) -> list[ColumnElement[bool]]:
    """SQL conditions for the filters (not the project nor visibility)."""
    out: list[ColumnElement[bool]] = []
    if with_status and f.statuses:
        out.append(PullRequest.status.in_(f.statuses))
    out += issue_query.people_conditions(session, f, assignee=PullRequest.assignee_id,
                                         author=PullRequest.user_id)
    if f.tags:
        out.append(_tagged(f.tags))
    if f.not_tags:
        out.append(not_(_tagged(f.not_tags)))
    if f.search:
        out.append(func.lower(PullRequest.title).like(_like_pattern(f.search), escape="\\"))
    out += issue_query.date_conditions(f, created=PullRequest.date_created,
                                       updated=PullRequest.last_updated,
                                       closed=PullRequest.closed_at)
    return out


def ordered(stmt: Select[Any], f: PullFilters) -> Select[Any]:
    col = getattr(PullRequest, f.order_key)
    if f.order == "asc":
        return stmt.order_by(col.asc(), PullRequest.id.asc())
    return stmt.order_by(col.desc(), PullRequest.id.desc())


def _statuses(session: Session, where: list[ColumnElement[bool]]) -> dict[str, int]:
    counts = {OPEN: 0, MERGED: 0, CLOSED: 0}
    for status, n in session.execute(select(PullRequest.status, func.count())
                                     .where(*where).group_by(PullRequest.status)):
        counts[status] = counts.get(status, 0) + n
    counts["all"] = counts[OPEN] + counts[MERGED] + counts[CLOSED]
    return counts


# -- a project's list -----------------------------------------------------------------

def _project_scope(session: Session, viewer: User | None, project: Project
                   ) -> ColumnElement[bool]:
    if not access.can_see(session, viewer, project):
        return false()
    return PullRequest.project_id == project.id


def pulls_query(session: Session, viewer: User | None, project: Project, f: PullFilters
                ) -> Select[tuple[PullRequest]]:
    """The project's pull requests passing the filters, sorted (the caller
    has checked that pull requests are enabled: ``core.pulls.require_pulls``)."""
    return ordered(select(PullRequest).where(_project_scope(session, viewer, project),
                                             *conditions(session, f)), f)


def count(session: Session, viewer: User | None, project: Project, f: PullFilters) -> int:
    """How many pull requests the list holds (all pages)."""
    return session.scalar(select(func.count()).where(
        _project_scope(session, viewer, project), *conditions(session, f))) or 0


def status_counts(session: Session, viewer: User | None, project: Project,
                  f: PullFilters) -> dict[str, int]:
    """{Open, Merged, Closed, all: n} under every filter but the status (for tabs)."""
    return _statuses(session, [_project_scope(session, viewer, project),
                               *conditions(session, f, with_status=False)])


def page_of(session: Session, stmt: Select[tuple[PullRequest]], page: int, per_page: int, *,
            project: Project | None = None) -> list[PullRequest]:
    """One page, with the people, projects and tags the JSON and the rows need
    loaded in a few queries (``project``: every PR is its own, no lookup)."""
    ids = list(session.scalars(stmt.with_only_columns(PullRequest.id).limit(per_page)
                               .offset((page - 1) * per_page)))
    if not ids:
        return []
    options: list[Any] = [joinedload(PullRequest.user), joinedload(PullRequest.assignee),
                          joinedload(PullRequest.closed_by),
                          selectinload(PullRequest.tags),
                          joinedload(PullRequest.project_from)]
    if project is None:
        options.append(joinedload(PullRequest.project))
    return issue_query.rows_in_order(session, PullRequest, ids, options, project)


# -- a user's lists across projects ----------------------------------------------------

def user_scope(session: Session, viewer: User | None, user: User, kind: str
               ) -> ColumnElement[bool]:
    """Pull requests of projects ``viewer`` may see with pull requests on:
    for ``filed``, projects where ``user`` opened some; for ``actionable``,
    projects where ``user`` is owner, admin or committer (direct or by group)."""
    if kind not in KINDS:
        raise ValueError(f"unknown list {kind!r}")
    if kind == "filed":
        ids = list(session.scalars(select(PullRequest.project_id).where(
            PullRequest.user_id == user.id).distinct()))
        if not ids:
            return false()
        where = [Project.id.in_(ids)]
    else:
        where = [core_projects.with_access_clause(user, ("commit", "admin"))]
    projects = session.scalars(select(Project).where(
        *where, core_projects.visible_clause(session, viewer)))
    allowed = [p.id for p in projects if core_pulls.pulls_enabled(p)]
    if not allowed:
        return false()
    return PullRequest.project_id.in_(allowed)


def _mine(user: User, kind: str) -> ColumnElement[bool]:
    return PullRequest.user_id == user.id if kind == "filed" else PullRequest.user_id != user.id


def user_pulls_query(session: Session, scope: ColumnElement[bool], user: User, kind: str,
                     f: PullFilters) -> Select[tuple[PullRequest]]:
    """``filed``: opened by ``user``; ``actionable``: opened by someone else
    on the projects of ``scope`` (from :func:`user_scope`)."""
    return ordered(select(PullRequest).where(scope, _mine(user, kind),
                                             *conditions(session, f)), f)


def user_count(session: Session, scope: ColumnElement[bool], user: User, kind: str,
               f: PullFilters) -> int:
    return session.scalar(select(func.count()).where(
        scope, _mine(user, kind), *conditions(session, f))) or 0


def user_status_counts(session: Session, scope: ColumnElement[bool], user: User, kind: str,
                       f: PullFilters) -> dict[str, int]:
    return _statuses(session, [scope, _mine(user, kind),
                               *conditions(session, f, with_status=False)])

