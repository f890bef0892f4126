"""Commit flags: statuses that CI systems (or anyone with a flagging token)
set on a commit, and the flags of pull requests, which are the flags of
their head commit (``commit_stop``).

Posting a flag with the ``uid`` of an existing flag on the same commit
updates it; without ``uid`` one is generated, so a CI that wants to update
its flag later keeps the ``uid`` it got back.

Differences from Pagure, on purpose:
- the poster needs commit access (or more) on the project, not only a token
  holding the ACL;
- ``url`` must be an absolute http(s) URL (Pagure took any ``scheme://``),
  so a ``javascript:`` or ``data:`` link never reaches a page;
- an update also replaces the display ``username`` and records who posted
  it last (``user``), and the commit is stored by its full id.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from pagurus.core import access
from pagurus.core.access import Level
from pagurus.core.errors import InvalidInput, NotAllowed
from pagurus.core.projects import project_payload
from pagurus.core.serialize import epoch, user_json
from pagurus.events import outbox
from pagurus.model import ApiToken, CommitFlag, Project, PullRequest, User, utcnow

SUCCESS, FAILURE, ERROR, PENDING, CANCELED = "success", "failure", "error", "pending", "canceled"
STATUSES = (SUCCESS, FAILURE, ERROR, PENDING, CANCELED)
# what pages show for each status (Pagure's FLAG_STATUSES_LABELS keys)
STATUS_LABELS = {SUCCESS: "Success", FAILURE: "Failure", ERROR: "Error", PENDING: "Pending",
                 CANCELED: "Canceled"}
# badge class of the stylesheet's vocabulary for each status
STATUS_BADGES = {SUCCESS: "badge-success", FAILURE: "badge-danger", ERROR: "badge-danger",
                 PENDING: "badge", CANCELED: "badge"}
UID_MAX = 32
USERNAME_MAX = 255
COMMENT_MAX = 10_000
URL_MAX = 2048
_BATCH = 500  # commit ids per query when reading the flags of a commit list


def _bad(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"Invalid {field}: {message}", errors={field: [message]})


def _line(field: str, value: Any, maxlen: int, *, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _bad(field, "This field is required.")
        return None
    if not isinstance(value, str):
        raise _bad(field, "Must be a string.")
    text = value.strip()
    if len(text) > maxlen:
        raise _bad(field, f"At most {maxlen} characters.")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise _bad(field, "One line of text, without control characters.")
    return text


def check_status(value: Any) -> str:
    text = value.strip().lower() if isinstance(value, str) else ""
    if text not in STATUSES:
        raise _bad("status", "Not a valid choice: " + ", ".join(STATUSES))
    return text


def check_percent(value: Any) -> int | None:
    """None (not given), or an integer from 0 to 100 (``"42"`` and ``42.0`` too)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise _bad("percent", "A number from 0 to 100.")
    try:
        number = float(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise _bad("percent", "A number from 0 to 100.") from None
    if number != number or not float(number).is_integer() or not 0 <= number <= 100:
        raise _bad("percent", "A number from 0 to 100.")
    return int(number)


def check_url(value: Any) -> str:
    """An absolute http(s) URL of at most ``URL_MAX`` characters."""
    text = _line("url", value, URL_MAX)
    assert text is not None
    if any(c.isspace() for c in text):
        raise _bad("url", "A URL has no spaces.")
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        raise _bad("url", "Not a valid URL.") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise _bad("url", "Only http:// and https:// URLs are accepted.")
    return text


def check_uid(value: Any) -> str | None:
    return _line("uid", value, UID_MAX, required=False)


def pr_default_status(percent: Any) -> str:
    """The status of a PR flag posted without one: no percent ⇒ pending,
    a percent of 0 ⇒ failure, any other ⇒ success."""
    number = check_percent(percent)
    if number is None:
        return PENDING
    return FAILURE if number == 0 else SUCCESS


def can_flag(session: Session, user: User | None, project: Project) -> bool:
    """Commit access (or more) on the project, not blocked there."""
    return (user is not None and not access.is_blocked(user)
            and not access.is_blocked_on(user, project)
            and access.level(session, user, project) >= Level.COMMIT)


# -- reading ---------------------------------------------------------------------

def get_flag(session: Session, project: Project, commit_hash: str, uid: str
             ) -> CommitFlag | None:
    return session.scalar(select(CommitFlag).where(
        CommitFlag.project_id == project.id, CommitFlag.commit_hash == commit_hash,
        CommitFlag.uid == uid))


def flags_of_commit(session: Session, project: Project, commit_hash: str) -> list[CommitFlag]:
    """The flags of one commit, the most recently updated first."""
    return list(session.scalars(select(CommitFlag).options(joinedload(CommitFlag.user)).where(
        CommitFlag.project_id == project.id, CommitFlag.commit_hash == commit_hash)
        .order_by(CommitFlag.date_updated.desc(), CommitFlag.id.desc())))


def flags_of_commits(session: Session, project: Project, hashes: Iterable[str]
                     ) -> dict[str, list[CommitFlag]]:
    """{commit id: its flags, most recently updated first} for a commit list,
    in one query per ``_BATCH`` commits; commits without flags are left out."""
    wanted = list(dict.fromkeys(h for h in hashes if h))
    out: dict[str, list[CommitFlag]] = {}
    for start in range(0, len(wanted), _BATCH):
        chunk = wanted[start:start + _BATCH]
        for flag in session.scalars(select(CommitFlag).options(joinedload(CommitFlag.user))
                                    .where(CommitFlag.project_id == project.id,
                                           CommitFlag.commit_hash.in_(chunk))
                                    .order_by(CommitFlag.date_updated.desc(),
                                              CommitFlag.id.desc())):
            out.setdefault(flag.commit_hash, []).append(flag)
    return out


def safe_link(url: str | None) -> str | None:
    """``url`` when a page may link to it: an absolute http(s) URL. Rows
    written before the check on writes (or imported) may hold anything, so
    pages ask here rather than trust the column."""
    if not url or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and host else None


# the status a commit list shows for several flags: the most alarming one
_SUMMARY_ORDER = (FAILURE, ERROR, PENDING, CANCELED, SUCCESS)


def summary_status(flags: Iterable[CommitFlag]) -> str | None:
    """The one status that stands for a commit's flags (failure before
    error before pending before canceled before success); None without flags."""
    present = {f.status for f in flags}
    return next((s for s in _SUMMARY_ORDER if s in present), None)


def flags_tag(flags: dict[str, list[CommitFlag]] | list[CommitFlag]) -> str:
    """A digest that changes whenever a shown flag changes (for ETags): an
    update by uid keeps the row id, so every shown field is part of it."""
    rows = flags if isinstance(flags, list) else [f for fl in flags.values() for f in fl]
    parts = sorted(json.dumps([f.id, str(f.date_updated), f.status, f.percent, f.username,
                               f.comment, f.url]) for f in rows)
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def flags_of_pull(session: Session, pr: PullRequest) -> list[CommitFlag]:
    """A pull request's flags: those of its head commit."""
    if not pr.commit_stop:
        return []
    return flags_of_commit(session, pr.project, pr.commit_stop)


def flag_json(flag: CommitFlag, base_url: str, *, public: bool = True) -> dict[str, Any]:
    """Commit-flag JSON (spec §3.7); text is returned as posted (pages escape it)."""
    return {
        "commit_hash": flag.commit_hash,
        "username": flag.username,
        "percent": flag.percent,
        "comment": flag.comment,
        "status": flag.status,
        "url": flag.url,
        "date_created": epoch(flag.date_created),
        "date_updated": epoch(flag.date_updated),
        "user": user_json(flag.user, base_url, public=public),
    }


# -- writing ---------------------------------------------------------------------

def add_or_update(session: Session, actor: User, token: ApiToken | None, project: Project,
                  commit_hash: str, *, username: Any, comment: Any, url: Any, status: Any,
                  percent: Any = None, uid: Any = None, base_url: str,
                  pull_request: PullRequest | None = None) -> tuple[CommitFlag, bool]:
    """Flag ``commit_hash`` (a full commit id the caller has checked exists in
    the project's repo). Returns (flag, created). Records ``commit.flag.added``
    or ``.updated``, and for ``pull_request`` also ``pull-request.flag.*``."""
    if not can_flag(session, actor, project):
        raise NotAllowed("You need commit access on this project to flag commits")
    fields = {
        "username": _line("username", username, USERNAME_MAX),
        "comment": _line("comment", comment, COMMENT_MAX),
        "url": check_url(url),
        "status": check_status(status),
        "percent": check_percent(percent),
    }
    flag_uid = check_uid(uid)
    flag = get_flag(session, project, commit_hash, flag_uid) if flag_uid else None
    created = flag is None
    if flag is None:
        flag = CommitFlag(project_id=project.id, commit_hash=commit_hash,
                          uid=flag_uid or uuid.uuid4().hex, **fields, user_id=actor.id,
                          token_id=token.id if token is not None else None)
        session.add(flag)
    else:
        for key, value in fields.items():
            setattr(flag, key, value)
        flag.user_id = actor.id
        flag.token_id = token.id if token is not None else None
        flag.date_updated = utcnow()
    session.flush()
    session.refresh(flag, ["user"])
    action = "added" if created else "updated"
    data = flag_json(flag, base_url)
    commit_payload = {"repo": project_payload(project), "flag": data, "agent": actor.name}
    if pull_request is not None:
        # the flag of a pull request: its emails go out once (core.notify_flags)
        commit_payload["pull_request"] = pull_request.number
    outbox.record(session, f"commit.flag.{action}", commit_payload,
                  project_id=project.id, private=project.private)
    if pull_request is not None:
        from pagurus.core.pull_json import pull_json

        outbox.record(session, f"pull-request.flag.{action}",
                      {"pullrequest": pull_json(session, pull_request, base_url,
                                                comments=False),
                       "project": project_payload(project), "flag": data,
                       "agent": actor.name},
                      project_id=project.id, private=project.private)
    return flag, created


def add_pull_flag(session: Session, actor: User, token: ApiToken | None, pr: PullRequest, *,
                  username: Any, comment: Any, url: Any, status: Any = None,
                  percent: Any = None, uid: Any = None, base_url: str
                  ) -> tuple[CommitFlag, bool]:
    """Flag a pull request: a commit flag on its head commit. Without a
    status, the percent decides it (:func:`pr_default_status`)."""
    from pagurus.core import pulls as core_pulls

    core_pulls.require_pulls(pr.project)
    if not pr.commit_stop:
        raise InvalidInput("This pull request has no commits to flag")
    if status is None or (isinstance(status, str) and not status.strip()):
        status = pr_default_status(percent)
    return add_or_update(session, actor, token, pr.project, pr.commit_stop, username=username,
                         comment=comment, url=url, status=status, percent=percent, uid=uid,
                         base_url=base_url, pull_request=pr)
