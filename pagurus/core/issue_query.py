"""Issue lists: the one place they are filtered, for the UI and the API alike.

``parse_filters`` reads request arguments (Pagure's names) into
:class:`IssueFilters`; ``issues_query`` turns them into a ``Select`` limited
by ``core.issues.visible_clause``, so a private issue never appears in a list,
a count or a search result of someone who may not see it.

Free text in ``search_pattern`` is searched in titles, descriptions and
comments with the database's full-text index (SQLite FTS5, PostgreSQL
``to_tsvector`` GIN indexes of ``model.search``). User text only ever reaches
the database as bound parameters: each word becomes an FTS5 string (quotes
doubled) or the argument of ``phraseto_tsquery``, so FTS syntax in the input
(``"``, ``*``, ``NEAR(``, ``-``, ``AND OR``…) is searched for, not obeyed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import reduce
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    bindparam,
    cast,
    column,
    exists,
    false,
    func,
    literal_column,
    not_,
    or_,
    select,
    table,
    union,
    union_all,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session, aliased, defer, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from pagurus.core import access
from pagurus.core import issues as core_issues
from pagurus.core import projects as core_projects
from pagurus.core.errors import InvalidInput
from pagurus.db import in_ids
from pagurus.model import (
    GroupMember,
    Issue,
    IssueComment,
    IssueCustomKey,
    IssueCustomValue,
    IssueTag,
    Project,
    ProjectGroup,
    ProjectUser,
    TagColored,
    User,
)
from pagurus.model.search import PG_COMMENT_TSV, PG_ISSUE_TSV

OPEN, CLOSED = core_issues.OPEN, core_issues.CLOSED
SEARCH_MAX = 500
TERMS_MAX = 16
REPORT_NAME_MAX = 100
REPORTS_MAX = 100
ORDER_KEYS = ("date_created", "last_updated", "closed_at", "title", "priority", "assignee",
              "user", "number", "status", "milestone", "close_status")
NULLABLE_KEYS = ("closed_at", "priority", "assignee", "milestone", "close_status")
# query arguments an issue list understands (what a report stores)
LIST_KEYS = ("status", "close_status", "tags", "assignee", "author", "milestones", "milestone",
             "no_stones", "priority", "since", "search_pattern", "ckeys", "cvalue",
             "private", "query_id", "order", "order_key", "n")
SEARCH_KEYS = ("status", "priority", "tags", "assignee", "author", "milestones", "content")
_TOKEN = re.compile(r'(?:(?P<key>[^\s:"]+):)?(?:"(?P<quoted>[^"]*)"?|(?P<word>\S+))')
# a last word that matches as a prefix: letters and digits, 3 or more (shorter
# prefixes expand to a good part of the dictionary)
_PLAIN_WORD = re.compile(r"^[^\W_]{3,}$")
_NUMBER = re.compile(r"^#?(\d{1,9})$")

Args = Mapping[str, Any]


@dataclass
class Term:
    """A word (or a quoted phrase) of free text to find."""

    text: str
    phrase: bool = False


@dataclass
class IssueFilters:
    """What an issue list shows. ``status`` None means open and closed."""

    status: str | None = OPEN
    close_status: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    not_tags: list[str] = field(default_factory=list)
    assignee: str | None = None
    not_assignee: str | None = None
    assigned: bool | None = None
    author: str | None = None
    not_author: str | None = None
    milestones: list[str] = field(default_factory=list)
    no_milestone: bool = False
    no_stones: bool | None = None
    priority: int | None = None
    since: datetime | None = None
    terms: list[Term] = field(default_factory=list)
    text: str = ""
    custom: list[tuple[str, str]] = field(default_factory=list)
    private: bool | None = None
    query_id: str | None = None
    created: tuple[datetime | None, datetime | None] = (None, None)
    updated: tuple[datetime | None, datetime | None] = (None, None)
    closed: tuple[datetime | None, datetime | None] = (None, None)
    order: str = "desc"
    order_key: str = "date_created"
    # set when the arguments were refused: the list shows nothing
    nothing: bool = False
    # the project listed (None: across projects); scopes tag lookups
    project_id: int | None = None


# -- reading arguments ------------------------------------------------------------

def values(args: Args, key: str) -> list[str]:
    """Every value of ``key``: repeated query keys, or a stored list, or one value."""
    getlist = getattr(args, "getlist", None)
    raw: Iterable[Any]
    if getlist is not None:
        raw = getlist(key)
    else:
        value = args.get(key)
        raw = [] if value is None else value if isinstance(value, list | tuple) else [value]
    out = [str(v) for v in raw if v is not None]
    if any("\x00" in v for v in out):  # PostgreSQL text cannot hold it
        raise _bad(key, "NUL characters are refused")
    return out


def first(args: Args, key: str) -> str | None:
    found = values(args, key)
    return found[0].strip() if found else None


def _bad(field_name: str, message: str, code: str = "EINVALIDREQ") -> InvalidInput:
    return InvalidInput(f"Invalid {field_name}: {message}", code=code,
                        errors={field_name: [message]})


def parse_bool(value: str | None, field_name: str) -> bool | None:
    if value is None or value.strip() == "":
        return None
    text = value.strip().lower()
    if text in ("1", "true", "t", "y", "yes", "on"):
        return True
    if text in ("0", "false", "f", "n", "no", "off"):
        return False
    raise _bad(field_name, "true or false")


def parse_time(value: str | None, field_name: str = "since", *,
               end_of_day: bool = False) -> datetime | None:
    """Epoch seconds (bad: ETIMESTAMP) or ``YYYY-MM-DD`` / ISO date-time (bad:
    EDATETIME). A bare date as an upper bound means the end of that day."""
    text = (value or "").strip()
    if not text:
        return None
    if text.isdigit():
        try:
            return datetime.fromtimestamp(int(text), UTC)
        except (OverflowError, ValueError, OSError):
            raise _bad(field_name, "not a valid timestamp", "ETIMESTAMP") from None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        start = datetime.combine(day, time(), UTC)
        return start + timedelta(days=1) - timedelta(microseconds=1) if end_of_day else start
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _bad(field_name, "a date as YYYY-MM-DD or a timestamp", "EDATETIME") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_range(value: str | None, field_name: str) -> tuple[datetime | None, datetime | None]:
    """``since..until`` (either side optional); a lone value is ``since``."""
    text = (value or "").strip()
    if not text:
        return None, None
    since, sep, until = text.partition("..")
    return (parse_time(since, field_name),
            parse_time(until, field_name, end_of_day=True) if sep else None)


def parse_status(project: Project | None, value: str | None) -> tuple[str | None, list[str]]:
    """(status or None for all, close statuses): ``Open``, ``Closed``, ``all`` or a
    close status name (a project's; any name when listing across projects)."""
    text = (value or "").strip()
    if not text or text.lower() == "open":
        return OPEN, []
    if text.lower() == "closed":
        return CLOSED, []
    if text.lower() == "all":
        return None, []
    if project is None:
        return CLOSED, [text]
    for name in project.close_status or []:
        if str(name).lower() == text.lower():
            return CLOSED, [str(name)]
    raise _bad("status", "Open, Closed, all or one of the close statuses")


def split_search(pattern: str) -> list[tuple[str | None, str, bool, str]]:
    """(key or None, value, quoted, original text) for each token of ``pattern``."""
    out = []
    for match in _TOKEN.finditer(pattern):
        quoted = match.group("quoted")
        value = quoted if quoted is not None else (match.group("word") or "")
        out.append((match.group("key"), value, quoted is not None, match.group(0)))
    return out


def parse_filters(session: Session, project: Project | None, args: Args) -> IssueFilters:
    """The filters named by ``args`` (query arguments or a stored report).

    Unknown priorities, statuses and malformed dates raise InvalidInput with
    Pagure's codes; an unknown tag, user or custom field simply matches nothing."""
    f = IssueFilters(project_id=project.id if project is not None else None)
    f.status, f.close_status = parse_status(project, first(args, "status"))
    for raw in values(args, "close_status"):
        if raw.strip():
            f.status = CLOSED
            f.close_status.append(raw.strip())
    for raw in values(args, "tags"):
        add_tags(f, raw)
    set_person(f, "assignee", first(args, "assignee"))
    set_person(f, "author", first(args, "author"))
    for raw in values(args, "milestones") + values(args, "milestone"):
        _add_milestone(f, raw)
    f.no_stones = parse_bool(first(args, "no_stones"), "no_stones")
    priority = first(args, "priority")
    if priority and project is not None:
        f.priority = core_issues.resolve_priority(project, priority)
    f.since = parse_time(first(args, "since"))
    keys, cvalues = values(args, "ckeys"), values(args, "cvalue")
    if len(keys) != len(cvalues):
        raise _bad("ckeys", "each custom field (ckeys) needs a value (cvalue)")
    f.custom = [(k.strip(), v.strip()) for k, v in zip(keys, cvalues, strict=True)
                if k.strip() and v.strip()]
    f.private = parse_bool(first(args, "private"), "private")
    query_id = first(args, "query_id")
    if query_id:
        if not query_id.lstrip("#").isdigit() or len(query_id) > 10:
            raise _bad("query_id", "digits of an issue number")
        f.query_id = query_id.lstrip("#")
    f.created = parse_range(first(args, "created"), "created")
    f.updated = parse_range(first(args, "updated"), "updated")
    f.closed = parse_range(first(args, "closed"), "closed")
    order = (first(args, "order") or "").lower()
    f.order = "asc" if order == "asc" else "desc"
    key = (first(args, "order_key") or "").lower()
    f.order_key = "number" if key == "id" else key if key in ORDER_KEYS else "date_created"
    pattern = first(args, "search_pattern") or ""
    if len(pattern) > SEARCH_MAX:
        raise _bad("search_pattern", f"at most {SEARCH_MAX} characters")
    if pattern:
        _apply_search(session, project, f, pattern)
    return f


def add_tags(f: Any, raw: str) -> None:
    """``a, !b``: tagged ``a``, not tagged ``b`` (issue or pull-request filters)."""
    for name in raw.split(","):
        name = name.strip()
        if name.startswith("!"):
            if name[1:].strip():
                f.not_tags.append(name[1:].strip())
        elif name:
            f.tags.append(name)


def _add_milestone(f: IssueFilters, raw: str) -> None:
    name = raw.strip()
    if not name:
        return
    if name.lower() == "none":
        f.no_milestone = True
    else:
        f.milestones.append(name)


def set_person(f: Any, kind: str, raw: str | None) -> None:
    """``assignee``/``author`` filters: a name, ``!name`` (not them) or, for
    the assignee, ``true``/``false`` (assigned at all)."""
    if not raw:
        return
    if kind == "assignee" and raw.lower() in ("true", "1", "false", "0"):
        f.assigned = raw.lower() in ("true", "1")
        f.assignee = f.not_assignee = None
        return
    if raw.startswith("!"):
        setattr(f, f"not_{kind}", raw[1:].strip() or None)
        setattr(f, kind, None)
    else:
        setattr(f, kind, raw)
        setattr(f, f"not_{kind}", None)
    if kind == "assignee":
        f.assigned = None


def _apply_search(session: Session, project: Project | None, f: IssueFilters,
                  pattern: str) -> None:
    """``key:value`` tokens refine the filters; everything else is free text."""
    custom_names = ({k.name for k in core_issues.custom_keys(session, project)}
                    if project is not None else set())
    free: list[str] = []
    for key, value, quoted, original in split_search(pattern):
        lowered = (key or "").lower()
        if key is not None and value and lowered in SEARCH_KEYS:
            if lowered == "status":
                f.status, f.close_status = parse_status(project, value)
            elif lowered == "priority":
                if project is not None:
                    f.priority = core_issues.resolve_priority(project, value)
            elif lowered == "tags":
                add_tags(f, value)
            elif lowered == "milestones":
                _add_milestone(f, value)
            elif lowered in ("assignee", "author"):
                set_person(f, lowered, value)
            else:  # content: searched like free text
                f.terms.append(Term(value, phrase=quoted))
                free.append(value)
            continue
        if key is not None and value and key in custom_names:
            f.custom.append((key, value))
            continue
        text = value if key is None else original.strip()
        if text:
            f.terms.append(Term(text, phrase=quoted and key is None))
            free.append(text)
    f.terms = [t for t in f.terms if any(c.isalnum() for c in t.text)][:TERMS_MAX]
    f.text = " ".join(free).strip()


# -- building the SQL --------------------------------------------------------------

def like_escape(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern (escape character ``\\``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _user_id(session: Session, name: str) -> int | None:
    from pagurus.core.users import get_user

    user = get_user(session, name)
    return user.id if user is not None else None


_ISSUES_FTS = table("issues_fts", column("rowid"), column("issues_fts"))
_COMMENTS_FTS = table("issue_comments_fts", column("rowid"), column("issue_comments_fts"))


def fts5_query(terms: list[Term]) -> str:
    """Each term as an FTS5 string (a phrase of its tokens); the last one, a
    plain word, matches as a prefix."""
    parts = ['"' + t.text.replace('"', '""') + '"' for t in terms]
    if terms and not terms[-1].phrase and _PLAIN_WORD.match(terms[-1].text):
        parts[-1] += "*"
    return " ".join(parts)


def _pg_tsquery(terms: list[Term]) -> Any:
    simple = literal_column("'simple'")
    parts = []
    for i, term in enumerate(terms):
        if i == len(terms) - 1 and not term.phrase and _PLAIN_WORD.match(term.text):
            # letters and digits only: nothing to_tsquery could read as syntax
            parts.append(func.to_tsquery(simple, bindparam(None, term.text + ":*", String)))
        else:
            parts.append(func.phraseto_tsquery(simple, bindparam(None, term.text, String)))
    return reduce(lambda a, b: a.op("&&")(b), parts)


def text_clause(session: Session, f: IssueFilters) -> ColumnElement[bool] | None:
    """Issues whose title and description, or one of whose comments (not the
    metadata notes), hold every term; or numbered as the text (``12``, ``#12``).

    One ``IN (… UNION …)``: the database reads the two full-text indexes once
    (an ``OR`` with a title ``LIKE``, as Pagure's substring search, would read
    every issue of the project in full)."""
    if not f.text:
        return None
    options: list[ColumnElement[bool]] = []
    if f.terms:
        notes = IssueComment.notification.is_(False)
        if session.get_bind().dialect.name == "postgresql":
            in_issues = select(Issue.id).where(
                literal_column(PG_ISSUE_TSV).op("@@")(_pg_tsquery(f.terms))).correlate(None)
            in_comments = select(IssueComment.issue_id).where(
                notes, literal_column(PG_COMMENT_TSV).op("@@")(_pg_tsquery(f.terms)))
            # IN drops the duplicates itself: UNION ALL spares PostgreSQL a hash
            # of every match (a quarter of a common word's time)
            options.append(Issue.id.in_(union_all(in_issues, in_comments)))
        else:
            query = fts5_query(f.terms)
            in_issues = select(_ISSUES_FTS.c.rowid).where(_ISSUES_FTS.c.issues_fts.match(query))
            in_comments = select(IssueComment.issue_id).where(
                notes, IssueComment.id.in_(select(_COMMENTS_FTS.c.rowid).where(
                    _COMMENTS_FTS.c.issue_comments_fts.match(query))))
            # "+ 0" keeps SQLite from fetching every match by rowid (random reads
            # of whole rows): it walks the project's issues in the list's order
            # and probes the set of matches, so a page of a broad search stops early
            options.append((Issue.id + 0).in_(union(in_issues, in_comments)))
    number = _NUMBER.match(f.text)
    if number:
        options.append(Issue.number == int(number.group(1)))
    return or_(*options) if options else false()


def _tags_exist(names: list[str], project_id: int | None) -> ColumnElement[bool]:
    """The tag ids are found once (a subquery SQL evaluates a single time), then
    each issue is probed on the ``issue_tags`` index alone."""
    lowered = sorted({n.lower() for n in names})
    wanted = select(TagColored.id).where(func.lower(TagColored.name).in_(lowered))
    if project_id is not None:
        wanted = wanted.where(TagColored.project_id == project_id)
    return exists().where(IssueTag.issue_id == Issue.id, IssueTag.tag_id.in_(wanted))


def _person(session: Session, col: Any, name: str | None, not_name: str | None
            ) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if name:
        uid = _user_id(session, name)
        out.append(col == uid if uid is not None else false())
    if not_name:
        uid = _user_id(session, not_name)
        if uid is not None:
            out.append(or_(col.is_(None), col != uid))
    return out


def _range(col: Any, bounds: tuple[datetime | None, datetime | None]
           ) -> list[ColumnElement[bool]]:
    since, until = bounds
    out = []
    if since is not None:
        out.append(col >= since)
    if until is not None:
        out.append(col <= until)
    return out


def people_conditions(session: Session, f: Any, *, assignee: Any, author: Any
                      ) -> list[ColumnElement[bool]]:
    """The assignee/assigned/author filters of ``f`` (issue or pull request
    filters) on the given columns."""
    out = _person(session, assignee, f.assignee, f.not_assignee)
    if f.assigned is True:
        out.append(assignee.is_not(None))
    elif f.assigned is False:
        out.append(assignee.is_(None))
    return out + _person(session, author, f.author, f.not_author)


def date_conditions(f: Any, *, created: Any, updated: Any, closed: Any
                    ) -> list[ColumnElement[bool]]:
    """The created/updated/closed ranges of ``f`` on the given columns."""
    return _range(created, f.created) + _range(updated, f.updated) + _range(closed, f.closed)


def conditions(session: Session, f: IssueFilters, *, with_status: bool = True
               ) -> list[ColumnElement[bool]]:
    """SQL conditions for the filters (not visibility, not the project)."""
    out: list[ColumnElement[bool]] = [false()] if f.nothing else []
    if with_status:
        if f.status is not None:
            out.append(Issue.status == f.status)
        if f.close_status:
            out.append(func.lower(Issue.close_status).in_(
                sorted({c.lower() for c in f.close_status})))
    if f.tags:
        out.append(_tags_exist(f.tags, f.project_id))
    if f.not_tags:
        out.append(not_(_tags_exist(f.not_tags, f.project_id)))
    out += people_conditions(session, f, assignee=Issue.assignee_id, author=Issue.user_id)
    stones: list[ColumnElement[bool]] = []
    if f.milestones:
        stones.append(Issue.milestone.in_(f.milestones))
    if f.no_milestone or f.no_stones is True:
        stones.append(Issue.milestone.is_(None))
    if stones:
        out.append(or_(*stones))
    elif f.no_stones is False:
        out.append(Issue.milestone.is_not(None))
    if f.priority is not None:
        out.append(Issue.priority == f.priority)
    if f.since is not None:
        out.append(Issue.last_updated >= f.since)
    out += date_conditions(f, created=Issue.date_created, updated=Issue.last_updated,
                           closed=Issue.closed_at)
    for key, value in f.custom:
        stored = IssueCustomValue.value
        if "*" in value:
            pattern = "%".join(like_escape(p) for p in value.lower().split("*"))
            match = func.lower(stored).like(pattern, escape="\\")
        else:
            match = func.lower(stored) == value.lower()
        out.append(exists().where(
            IssueCustomValue.issue_id == Issue.id, IssueCustomKey.id == IssueCustomValue.key_id,
            IssueCustomKey.name == key, match))
    if f.private is not None:
        out.append(Issue.private.is_(f.private))
    if f.query_id:
        out.append(cast(Issue.number, String).like(f"%{f.query_id}%"))
    searched = text_clause(session, f)
    if searched is not None:
        out.append(searched)
    return out


def ordered(stmt: Select[Any], f: IssueFilters) -> Select[Any]:
    """Sort by ``order_key``; a lower priority weight is a higher priority, so
    "descending priority" lists weight 1 first. Empty values always go last."""
    desc = f.order == "desc"
    key = f.order_key
    if key in ("assignee", "user"):
        person = aliased(User)
        stmt = stmt.outerjoin(person, person.id == (Issue.assignee_id if key == "assignee"
                                                    else Issue.user_id))
        col: Any = func.lower(person.name)
    elif key == "priority":
        col = Issue.priority
        desc = not desc
    elif key == "title":
        col = func.lower(Issue.title)
    else:
        col = getattr(Issue, key)
    first_key = col.desc() if desc else col.asc()
    if key in NULLABLE_KEYS:
        # only where empty values exist: "NULLS LAST" on a column that has none
        # would keep PostgreSQL from reading its index backwards (a full sort)
        first_key = first_key.nulls_last()
    tie = Issue.id.desc() if f.order == "desc" else Issue.id.asc()
    return stmt.order_by(first_key, tie)


# -- project lists ------------------------------------------------------------------

@contextmanager
def planned(session: Session, f: IssueFilters | None) -> Iterator[None]:
    """Run a text search's queries with PostgreSQL's sequential scans discouraged.

    The planner prices ``to_tsvector`` of a long description far below its real
    cost, so for a common word it reads every issue computing the vector (3.5 s
    on 10,000 issues) rather than use the GIN index (0.3 s). ``SET LOCAL`` ends
    with the transaction at the latest, even when a query fails."""
    if f is None or not f.terms or session.get_bind().dialect.name != "postgresql":
        yield
        return
    session.execute(sql_text("SET LOCAL enable_seqscan = off"))
    yield
    session.execute(sql_text("RESET enable_seqscan"))


def _visible(session: Session, viewer: User | None, project: Project, given: Any) -> Any:
    return given if given is not None else core_issues.visible_clause(session, viewer, project)


def issues_query(session: Session, viewer: User | None, project: Project,
                 f: IssueFilters, *, visible: Any = None) -> Select[tuple[Issue]]:
    """The project's issues ``viewer`` may see that pass the filters, sorted.
    ``visible`` (``core.issues.visible_clause``, computed once per request by
    callers that run several queries) saves finding the viewer's access again."""
    stmt = select(Issue).where(_visible(session, viewer, project, visible),
                               *conditions(session, f))
    return ordered(stmt, f)


def count(session: Session, viewer: User | None, project: Project, f: IssueFilters, *,
          visible: Any = None) -> int:
    """The real number of issues the list holds (all pages)."""
    with planned(session, f):
        return session.scalar(select(func.count()).where(
            _visible(session, viewer, project, visible), *conditions(session, f))) or 0


def status_counts(session: Session, viewer: User | None, project: Project,
                  f: IssueFilters, *, visible: Any = None) -> dict[str, int]:
    """Open and closed counts under every filter but the status (for the tabs)."""
    with planned(session, f):
        rows = session.execute(select(Issue.status, func.count()).where(
            _visible(session, viewer, project, visible),
            *conditions(session, f, with_status=False)).group_by(Issue.status)).all()
    return _counted(rows)


@dataclass
class Listing:
    """One page of a project's issue list: the tab counts (every filter but the
    status), the list's real total and the page's issue ids in order."""

    counts: dict[str, int]
    total: int
    ids: list[int]
    page: int


def listing(session: Session, viewer: User | None, project: Project, f: IssueFilters,
            page: int, per_page: int, *, visible: Any = None, clamp: bool = False,
            with_counts: bool = True) -> Listing:
    """Counts, total and page ids of a list, with the fewest passes over the matches.

    A text search matches once: counts, total and page come from one ordered
    query of (id, status, close status) — evaluating a common word over every
    comment is the whole cost of such a page, and counting and paging apart
    paid it twice. Other lists count on the index and read only the page;
    ``with_counts=False`` (the API) leaves the tab counts out where they cost."""
    visible = _visible(session, viewer, project, visible)
    page = max(page, 1)

    def start(total: int) -> int:  # ``clamp``: a page past the end shows the last one
        nonlocal page
        if clamp:
            page = min(page, max(1, -(-total // per_page)))
        return (page - 1) * per_page

    if f.terms:
        with planned(session, f):
            rows = session.execute(ordered(select(Issue.id, Issue.status, Issue.close_status)
                                           .where(visible, *conditions(session, f,
                                                                       with_status=False)),
                                           f)).all()
        counts = _counted((status, 1) for _id, status, _cs in rows)
        wanted = {c.lower() for c in f.close_status}
        kept = [i for i, status, close in rows
                if (f.status is None or status == f.status)
                and (not wanted or (close or "").lower() in wanted)]
        offset = start(len(kept))
        return Listing(counts, len(kept), kept[offset:offset + per_page], page)
    if with_counts:
        counts = status_counts(session, viewer, project, f, visible=visible)
        total = count(session, viewer, project, f, visible=visible) if f.close_status \
            else counts[f.status or "all"]
    else:  # one status counted on the list's index is cheaper than all of them
        counts = {}
        total = count(session, viewer, project, f, visible=visible)
    offset = start(total)
    if offset >= total:
        return Listing(counts, total, [], page)
    ids = list(session.scalars(issues_query(session, viewer, project, f, visible=visible)
                               .with_only_columns(Issue.id).limit(per_page).offset(offset)))
    return Listing(counts, total, ids, page)


def _counted(pairs: Iterable[tuple[str, int]]) -> dict[str, int]:
    """{Open, Closed, all: n} from (status, n) pairs."""
    counts = {OPEN: 0, CLOSED: 0}
    for status, n in pairs:
        counts[status] = counts.get(status, 0) + n
    counts["all"] = counts[OPEN] + counts[CLOSED]
    return counts


def issues_by_id(session: Session, ids: list[int], *, project: Project | None = None,
                 with_project: bool = False, content: bool = True) -> list[Issue]:
    """The issues with these ids in that order, with their people (see ``page_of``)."""
    if not ids:
        return []
    # lists show people by name: their settings and such stay unread
    options: list[Any] = [joinedload(rel).load_only(User.name, User.fullname)
                          for rel in (Issue.user, Issue.assignee, Issue.closed_by)]
    if with_project:
        options.append(joinedload(Issue.project).joinedload(Project.user))
    if not content:
        options.append(defer(Issue.content))
    return rows_in_order(session, Issue, ids, options, project)


def page_of(session: Session, stmt: Select[tuple[Issue]], page: int, per_page: int, *,
            project: Project | None = None, with_project: bool = False,
            content: bool = True, filters: IssueFilters | None = None) -> list[Issue]:
    """One page of issues, with their people loaded in the same query.

    The page is chosen on the issue ids alone, then only its issues are read in
    full: sorting (and skipping, on a far page) narrow rows instead of whole
    issues with their descriptions. With ``project`` (all issues are its own)
    each issue gets it without a lookup; ``content=False`` leaves the
    descriptions unread (lists do not show them); ``filters`` are those of
    ``stmt`` (for :func:`planned`)."""
    with planned(session, filters):
        ids = list(session.scalars(stmt.with_only_columns(Issue.id).limit(per_page)
                                   .offset((page - 1) * per_page)))
    return issues_by_id(session, ids, project=project, with_project=with_project,
                        content=content)


def rows_in_order(session: Session, model: Any, ids: list[int], options: list[Any],
                  project: Project | None) -> list[Any]:
    """The ``model`` rows with these ids, in the ids' order (a page chosen on
    ids alone); with ``project``, each row gets it without a lookup."""
    found = {r.id: r for r in session.scalars(
        select(model).where(in_ids(session, model.id, ids)).options(*options)).unique()}
    rows = [found[i] for i in ids if i in found]
    if project is not None:
        for row in rows:
            set_committed_value(row, "project", project)
    return rows


def comment_counts(session: Session, issue_ids: list[int]) -> dict[int, int]:
    """Comments written by people (not metadata notes) per issue, in one query."""
    if not issue_ids:
        return {}
    return {issue_id: n for issue_id, n in session.execute(
        select(IssueComment.issue_id, func.count(IssueComment.id))
        .where(in_ids(session, IssueComment.issue_id, issue_ids),
               IssueComment.notification.is_(False))
        .group_by(IssueComment.issue_id))}


# -- a user's issues across projects ------------------------------------------------

def user_scope(session: Session, viewer: User | None, user: User) -> ColumnElement[bool]:
    """Issues of projects ``viewer`` may see with the tracker on, and among their
    private issues only those ``viewer`` may see (unlike Pagure, which showed
    every issue of the user to anyone)."""
    ids = list(session.scalars(select(Issue.project_id).where(
        or_(Issue.user_id == user.id, Issue.assignee_id == user.id)).distinct()))
    if not ids:
        return false()
    projects = session.scalars(select(Project).where(
        Project.id.in_(ids), core_projects.visible_clause(session, viewer)))
    allowed = [p.id for p in projects if core_issues.tracker_enabled(p)]
    if not allowed:
        return false()
    scope = Issue.project_id.in_(allowed)
    if viewer is None or access.is_blocked(viewer):
        return and_(scope, Issue.private == false())
    if viewer.is_admin:
        return scope
    triagers = _ticket_projects(session, viewer, allowed)
    return and_(scope, or_(Issue.private == false(), Issue.user_id == viewer.id,
                           Issue.assignee_id == viewer.id,
                           Issue.project_id.in_(triagers) if triagers else false()))


def _ticket_projects(session: Session, viewer: User, ids: list[int]) -> list[int]:
    """Which of ``ids`` ``viewer`` owns or holds any access on (ticket or more)."""
    found = set(session.scalars(select(Project.id).where(
        Project.id.in_(ids), Project.user_id == viewer.id)))
    found.update(session.scalars(select(ProjectUser.project_id).where(
        ProjectUser.project_id.in_(ids), ProjectUser.user_id == viewer.id)))
    found.update(session.scalars(select(ProjectGroup.project_id).join(
        GroupMember, GroupMember.group_id == ProjectGroup.group_id).where(
        ProjectGroup.project_id.in_(ids), GroupMember.user_id == viewer.id)))
    return sorted(found)


def user_issues_query(session: Session, scope: ColumnElement[bool], user: User, role: str,
                      f: IssueFilters) -> Select[tuple[Issue]]:
    """``role`` ``created`` (the user is the author) or ``assigned``."""
    mine = Issue.user_id == user.id if role == "created" else Issue.assignee_id == user.id
    return ordered(select(Issue).where(scope, mine, *conditions(session, f)), f)


def user_count(session: Session, scope: ColumnElement[bool], user: User, role: str,
               f: IssueFilters, *, with_status: bool = True) -> int:
    mine = Issue.user_id == user.id if role == "created" else Issue.assignee_id == user.id
    return session.scalar(select(func.count()).where(
        scope, mine, *conditions(session, f, with_status=with_status))) or 0


def user_status_counts(session: Session, scope: ColumnElement[bool], user: User, role: str,
                       f: IssueFilters) -> dict[str, int]:
    mine = Issue.user_id == user.id if role == "created" else Issue.assignee_id == user.id
    return _counted(session.execute(select(Issue.status, func.count()).where(
        scope, mine, *conditions(session, f, with_status=False)).group_by(Issue.status)))


# -- milestones (roadmap) -------------------------------------------------------------

def milestone_counts(session: Session, viewer: User | None, project: Project, *,
                     visible: Any = None) -> dict[str | None, dict[str, int]]:
    """{milestone or None: {Open: n, Closed: m}} over the issues ``viewer`` may see."""
    out: dict[str | None, dict[str, int]] = {}
    for stone, status, n in session.execute(
            select(Issue.milestone, Issue.status, func.count())
            .where(_visible(session, viewer, project, visible))
            .group_by(Issue.milestone, Issue.status)):
        out.setdefault(stone, {OPEN: 0, CLOSED: 0})[status] = n
    return out


def ordered_milestones(project: Project) -> list[str]:
    """The project's milestones in ``milestones_keys`` order, then any others by name."""
    stones = project.milestones or {}
    keys = [str(k) for k in (project.milestones_keys or []) if str(k) in stones]
    return keys + sorted((str(k) for k in stones if str(k) not in keys), key=str.lower)


# -- saved reports -------------------------------------------------------------------

def report_args(args: Args) -> dict[str, Any]:
    """The list arguments worth keeping from ``args`` (one value or a list)."""
    out: dict[str, Any] = {}
    for key in LIST_KEYS:
        found = [v for v in values(args, key) if v.strip()]
        if found:
            out[key] = found[0] if len(found) == 1 else found
    return out


def check_report_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise _bad("report_name", "a name is required")
    name = name.strip()
    if (len(name) > REPORT_NAME_MAX or "/" in name
            or any(ord(c) < 32 or ord(c) == 127 for c in name)):
        raise _bad("report_name", f"at most {REPORT_NAME_MAX} characters, no '/'")
    return name


def save_report(session: Session, actor: User | None, project: Project, name: Any,
                args: Args) -> str:
    """Store the list arguments under ``name`` (admins only; same name replaces)."""
    core_issues.require_tracker(project)
    if not access.can_admin(session, actor, project):
        raise core_issues.IssueNotAllowed("Only the project's admins may save reports")
    name = check_report_name(name)
    stored = report_args(args)
    # the arguments must make a valid list before they are kept
    parse_filters(session, project, stored)
    reports = dict(project.reports or {})
    if name not in reports and len(reports) >= REPORTS_MAX:
        raise _bad("report_name", f"at most {REPORTS_MAX} reports per project")
    reports[name] = stored
    project.reports = reports
    session.flush()
    return name


def delete_report(session: Session, actor: User | None, project: Project, name: str) -> None:
    if not access.can_admin(session, actor, project):
        raise core_issues.IssueNotAllowed("Only the project's admins may delete reports")
    reports = dict(project.reports or {})
    if name not in reports:
        raise InvalidInput("No such report", errors={"report": ["No such report"]})
    del reports[name]
    project.reports = reports
    session.flush()
