"""A project's tracker vocabulary: milestones, priorities, close statuses,
custom fields and quick replies.

Each setter takes the whole, ordered list (declarative, like Pagure's
settings forms), checks every row first and only then applies, so refused
input changes nothing. Rows carry the name they had (``orig``) so a rename
can be told from a removal plus an addition.

What happens to issues (Pagure leaves them pointing at names that no longer
exist; we keep them consistent):
- renaming a milestone, a priority (its weight) or a close status rewrites
  the issues that used it, and board columns closing with that close status;
- removing one clears it from those issues (a closed issue stays closed) and
  from board columns (the column still closes);
- a custom field keeps its values across a rename; changing its type or its
  options drops the values that the new definition would refuse;
- the default priority follows its priority, and is reset when it goes.
These bulk rewrites add no comment to each issue: the project changed, not
the issues.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pagurus.core import issues
from pagurus.core.errors import InvalidInput
from pagurus.core.projects import project_payload, require_admin
from pagurus.events import outbox
from pagurus.model import (
    Board,
    BoardStatus,
    Issue,
    IssueCustomKey,
    IssueCustomValue,
    Project,
    User,
    utcnow,
)

NAME_MAX = 255
ROWS_MAX = 500
QUICK_REPLY_MAX = 10_000
QUICK_REPLIES_MAX = 100
WEIGHT_MAX = 1_000_000
LIST_OPTIONS_MAX = 200
# names that mean something else wherever a close status is accepted
RESERVED_CLOSE_STATUSES = ("open", "closed", "all")


# -- small checks -------------------------------------------------------------------

def _name(value: Any, field: str, what: str) -> str:
    """One line of printable text, at most NAME_MAX characters ('' if empty)."""
    if value is None:
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise InvalidInput(f"Invalid {what}", errors={field: [f"{what}: text expected"]})
    text = str(value).strip()
    if len(text) > NAME_MAX:
        raise InvalidInput(f"{what} too long: {text[:40]}…",
                           errors={field: [f"{what}: at most {NAME_MAX} characters"]})
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidInput(f"Invalid {what}", errors={field: [f"{what}: one line of text"]})
    return text


def _orig(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _rows(rows: Any, field: str) -> list[Mapping[str, Any]]:
    if rows is None:
        return []
    if not isinstance(rows, list | tuple) or not all(isinstance(r, Mapping) for r in rows):
        raise InvalidInput(f"Invalid {field}", errors={field: ["a list of rows expected"]})
    if len(rows) > ROWS_MAX:
        raise InvalidInput(f"Too many {field}", errors={field: [f"at most {ROWS_MAX}"]})
    return list(rows)


def _unique(names: list[str], field: str, what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name.lower() in seen:
            raise InvalidInput(f"{what} {name} given twice",
                               errors={field: [f"{what} {name} given twice"]})
        seen.add(name.lower())


def _renames(pairs: list[tuple[str | None, str]], current: Iterable[str], field: str,
             what: str) -> dict[str, str | None]:
    """old -> new (None: removed) for every current name that changes."""
    known = list(current)
    kept: dict[str, str] = {}
    for orig, new in pairs:
        if orig is None or orig not in known:
            continue
        if orig in kept:
            raise InvalidInput(f"{what} {orig} given twice",
                               errors={field: [f"{what} {orig} given twice"]})
        kept[orig] = new
    out: dict[str, str | None] = {old: new for old, new in kept.items() if old != new}
    out.update({old: None for old in known if old not in kept})
    return out


def _remap_issues(session: Session, project: Project, column: Any,
                  mapping: Mapping[Any, Any]) -> int:
    """Rewrite ``column`` of the project's issues by ``mapping`` (old -> new),
    swaps included (rows are picked before any is written)."""
    if not mapping:
        return 0
    picked: dict[Any, list[int]] = {}
    for issue_id, value in session.execute(select(Issue.id, column).where(
            Issue.project_id == project.id, column.in_(list(mapping)))):
        picked.setdefault(mapping[value], []).append(issue_id)
    for new, ids in picked.items():
        for start in range(0, len(ids), 500):
            session.execute(update(Issue).where(Issue.id.in_(ids[start:start + 500]))
                            .values({column.key: new})
                            .execution_options(synchronize_session=False))
    if picked:
        session.expire_all()
    return sum(len(ids) for ids in picked.values())


def record_change(session: Session, actor: User, project: Project, field: str) -> None:
    """A tracker setting changed: the project's date and a ``project.edit`` event."""
    project.date_modified = utcnow()
    session.flush()
    outbox.record(session, "project.edit", {
        "agent": actor.name, "project": project_payload(project), "fields": [field]},
        project_id=project.id, private=project.private)


# -- milestones ---------------------------------------------------------------------

def check_milestone_date(value: Any, field: str = "date") -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise InvalidInput("Invalid milestone date", errors={field: ["a date as YYYY-MM-DD"]})
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise InvalidInput(f"Invalid milestone date: {value[:20]}",
                           errors={field: ["a date as YYYY-MM-DD"]}) from None


def set_milestones(session: Session, actor: User, project: Project, rows: Any) -> list[str]:
    """``rows``: ordered ``{name, date, active, orig}``; a row with an empty
    name is skipped (so a milestone whose name is cleared goes away)."""
    require_admin(session, actor, project)
    order: list[str] = []
    values: dict[str, dict[str, Any]] = {}
    pairs: list[tuple[str | None, str]] = []
    for row in _rows(rows, "milestones"):
        name = _name(row.get("name"), "milestones", "Milestone name")
        if not name:
            continue
        order.append(name)
        _unique(order, "milestones", "Milestone")
        values[name] = {"date": check_milestone_date(row.get("date"), "milestones"),
                        "active": issues.parse_bool(row.get("active", True), "active")}
        pairs.append((_orig(row.get("orig")), name))
    current = dict(project.milestones or {})
    mapping = _renames(pairs, current, "milestones", "Milestone")
    old_order = [m for m in (project.milestones_keys or []) if m in current]
    if values == current and order == old_order and not mapping:
        return []
    project.milestones = values
    project.milestones_keys = order
    moved = _remap_issues(session, project, Issue.milestone, mapping)
    record_change(session, actor, project, "milestones")
    out = ["Milestones updated"]
    if moved:
        out.append(f"{moved} issue{'s' if moved != 1 else ''} updated")
    return out


# -- priorities ---------------------------------------------------------------------

def _weight(value: Any) -> int:
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(
        value, bool) else ""
    if not text.lstrip("-").isdigit() or len(text) > 8 or abs(int(text)) > WEIGHT_MAX:
        raise InvalidInput(f"Invalid priority weight: {text[:20]!r}",
                           errors={"priorities": ["weights are whole numbers"]})
    return int(text)


def sorted_priorities(project: Project) -> list[tuple[int, str]]:
    """(weight, title) pairs by weight (lower weight, higher priority)."""
    out = []
    for key, title in (project.priorities or {}).items():
        if str(key).lstrip("-").isdigit():
            out.append((int(key), str(title)))
    return sorted(out)


def set_priorities(session: Session, actor: User, project: Project, rows: Any) -> list[str]:
    """``rows``: ``{weight, title, orig}`` (``orig``: the weight it had). Rows
    with neither weight nor title are skipped. Stored as Pagure does:
    ``{"<weight>": "<title>", "": ""}``."""
    require_admin(session, actor, project)
    wanted: list[tuple[int, str]] = []
    pairs: list[tuple[str | None, str]] = []
    for row in _rows(rows, "priorities"):
        raw_weight = row.get("weight")
        title = _name(row.get("title"), "priorities", "Priority title")
        if (raw_weight in (None, "") or str(raw_weight).strip() == "") and not title:
            continue
        if not title:
            raise InvalidInput("Each priority needs a title",
                               errors={"priorities": ["a title is required"]})
        weight = _weight(raw_weight)
        wanted.append((weight, title))
        orig = row.get("orig")
        pairs.append((str(orig).strip() if orig not in (None, "") else None, str(weight)))
    _unique([str(w) for w, _ in wanted], "priorities", "Priority weight")
    _unique([t for _, t in wanted], "priorities", "Priority")
    current = sorted_priorities(project)
    mapping = _renames(pairs, [str(w) for w, _ in current], "priorities", "Priority")
    new = {str(w): t for w, t in sorted(wanted)}
    if new:
        new[""] = ""
    if new == {str(k): str(v) for k, v in (project.priorities or {}).items()} and not mapping:
        return []
    titles = {str(w): t for w, t in current}
    old_default = _default_weight(project, current)
    project.priorities = new
    moved = _remap_issues(session, project, Issue.priority,
                          {int(k): (int(v) if v is not None else None)
                           for k, v in mapping.items()})
    if old_default is not None:
        follow = mapping.get(str(old_default), str(old_default))
        project.default_priority = new.get(follow) if follow is not None else None
    elif project.default_priority and project.default_priority not in titles.values():
        project.default_priority = None
    record_change(session, actor, project, "priorities")
    out = ["Priorities updated"]
    if moved:
        out.append(f"{moved} issue{'s' if moved != 1 else ''} updated")
    return out


def _default_weight(project: Project, current: list[tuple[int, str]]) -> int | None:
    default = project.default_priority
    if not default:
        return None
    for weight, title in current:
        if default in (str(weight), title):
            return weight
    return None


def set_default_priority(session: Session, actor: User, project: Project,
                         value: Any) -> list[str]:
    """A weight or title of the project's priorities ('' resets); stored as
    the title, as Pagure does."""
    require_admin(session, actor, project)
    weight = issues.resolve_priority(project, value)
    title = issues.priority_title(project, weight) if weight is not None else None
    if title == (project.default_priority or None):
        return []
    project.default_priority = title
    record_change(session, actor, project, "default_priority")
    return [f"Default priority set to {title}" if title else "Default priority reset"]


# -- close statuses -----------------------------------------------------------------

def set_close_statuses(session: Session, actor: User, project: Project,
                       rows: Any) -> list[str]:
    """``rows``: ordered ``{name, orig}``; empty names are skipped."""
    require_admin(session, actor, project)
    names: list[str] = []
    pairs: list[tuple[str | None, str]] = []
    for row in _rows(rows, "close_status"):
        name = _name(row.get("name"), "close_status", "Close status")
        if not name:
            continue
        if name.lower() in RESERVED_CLOSE_STATUSES:
            raise InvalidInput(f"{name} cannot be a close status",
                               errors={"close_status": [f"{name} is reserved"]})
        names.append(name)
        pairs.append((_orig(row.get("orig")), name))
    _unique(names, "close_status", "Close status")
    current = [str(s) for s in project.close_status or []]
    mapping = _renames(pairs, current, "close_status", "Close status")
    if names == current and not mapping:
        return []
    project.close_status = names
    moved = _remap_issues(session, project, Issue.close_status, mapping)
    board_ids = select(Board.id).where(Board.project_id == project.id)
    for old, new in mapping.items():
        session.execute(update(BoardStatus).where(
            BoardStatus.board_id.in_(board_ids), BoardStatus.close_status == old)
            .values(close_status=new).execution_options(synchronize_session=False))
    if mapping:
        session.expire_all()
    record_change(session, actor, project, "close_status")
    out = ["Close statuses updated"]
    if moved:
        out.append(f"{moved} issue{'s' if moved != 1 else ''} updated")
    return out


# -- custom fields ------------------------------------------------------------------

def _options(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise InvalidInput("Invalid options", errors={field: ["comma-separated options"]})
    out: list[str] = []
    for item in items:
        text = _name(item, field, "Option")
        if text and text not in out:
            out.append(text)
    if len(out) > LIST_OPTIONS_MAX:
        raise InvalidInput("Too many options", errors={field: [f"at most {LIST_OPTIONS_MAX}"]})
    return out


def set_custom_keys(session: Session, actor: User, project: Project, rows: Any) -> list[str]:
    """``rows``: ordered ``{name, key_type, data, notify, orig}``; fields not
    given any more are deleted with their values; a field whose name is
    cleared goes away."""
    require_admin(session, actor, project)
    wanted: list[dict[str, Any]] = []
    for row in _rows(rows, "custom_keys"):
        name = _name(row.get("name"), "custom_keys", "Field name")
        if not name:
            continue
        if any(c in name for c in ",:"):
            raise InvalidInput(f"Invalid field name: {name[:40]}",
                               errors={"custom_keys": ["no commas or colons in field names"]})
        key_type = row.get("key_type")
        if key_type not in issues.CUSTOM_TYPES:
            raise InvalidInput(f"Invalid type for the field {name}", errors={
                "custom_keys": [f"type: one of {', '.join(issues.CUSTOM_TYPES)}"]})
        options = _options(row.get("data"), "custom_keys") if key_type == "list" else []
        if key_type == "list" and not options:
            raise InvalidInput(f"The list field {name} needs options",
                               errors={"custom_keys": [f"{name}: give comma-separated options"]})
        wanted.append({"name": name, "key_type": key_type,
                       "data": options if key_type == "list" else None,
                       "notify": issues.parse_bool(row.get("notify"), "notify"),
                       "orig": _orig(row.get("orig"))})
    _unique([w["name"] for w in wanted], "custom_keys", "Field")
    existing = {k.name: k for k in issues.custom_keys(session, project)}
    origs = [w["orig"] for w in wanted if w["orig"] in existing]
    _unique(origs, "custom_keys", "Field")
    changed = False
    for key in existing.values():
        if key.name not in origs:
            session.delete(key)
            changed = True
    session.flush()
    # renamed fields go through a placeholder name first, so swapping two
    # names (or reusing a name given up) never trips the unique constraint
    renamed = [(existing[w["orig"]], w["name"]) for w in wanted
               if w["orig"] in existing and existing[w["orig"]].name != w["name"]]
    for key, _new in renamed:
        key.name = f":renaming:{key.id}"  # ':' is refused in real names
    session.flush()
    for key, new_name in renamed:
        key.name = new_name
        changed = True
    session.flush()
    recheck: list[IssueCustomKey] = []
    for position, spec in enumerate(wanted):
        key = existing.get(spec["orig"]) if spec["orig"] else None
        if key is None:
            session.add(IssueCustomKey(project_id=project.id, name=spec["name"],
                                       key_type=spec["key_type"], data=spec["data"],
                                       notify=spec["notify"], position=position))
            changed = True
            continue
        if (key.key_type, key.data) != (spec["key_type"], spec["data"]):
            recheck.append(key)
        for attr in ("key_type", "data", "notify", "position"):
            value = position if attr == "position" else spec[attr]
            if getattr(key, attr) != value:
                setattr(key, attr, value)
                changed = True
    if not changed:
        return []
    session.flush()
    dropped = 0
    for key in recheck:
        for value in session.scalars(select(IssueCustomValue).where(
                IssueCustomValue.key_id == key.id)):
            try:
                stored = issues.check_custom_value(key, value.value)
            except InvalidInput:
                stored = None
            if stored is None:
                session.delete(value)
                dropped += 1
            elif stored != value.value:
                value.value = stored
    record_change(session, actor, project, "custom_keys")
    out = ["Custom fields updated"]
    if dropped:
        out.append(f"{dropped} value{'s' if dropped != 1 else ''} no longer valid were removed")
    return out


def custom_keys_json(session: Session, project: Project) -> list[list[str]]:
    """Project JSON's ``custom_keys``: ``[[name, key_type], …]`` in field order."""
    return [[k.name, k.key_type] for k in issues.custom_keys(session, project)]


# -- quick replies ------------------------------------------------------------------

def set_quick_replies(session: Session, actor: User, project: Project,
                      texts: Any) -> list[str]:
    """The ordered list of reply snippets; empty ones are skipped."""
    require_admin(session, actor, project)
    if texts is None:
        texts = []
    if not isinstance(texts, list | tuple):
        raise InvalidInput("Invalid quick replies", errors={"quick_reply": ["a list of texts"]})
    replies: list[str] = []
    for text in texts:
        if not isinstance(text, str):
            raise InvalidInput("Invalid quick reply", errors={"quick_reply": ["text expected"]})
        text = text.replace("\r\n", "\n").strip()
        if not text:
            continue
        if len(text) > QUICK_REPLY_MAX or "\x00" in text:
            raise InvalidInput("Quick reply too long",
                               errors={"quick_reply": [f"at most {QUICK_REPLY_MAX} characters"]})
        replies.append(text)
    if len(replies) > QUICK_REPLIES_MAX:
        raise InvalidInput("Too many quick replies",
                           errors={"quick_reply": [f"at most {QUICK_REPLIES_MAX}"]})
    if replies == list(project.quick_replies or []):
        return []
    project.quick_replies = replies
    record_change(session, actor, project, "quick_replies")
    return ["Quick replies updated"]
