"""Webhook rules: which events go out, to which URLs, in which bytes, and
what a delivery attempt's outcome means for the next one.

Wire format (Pagure's, so existing receivers keep working): a JSON body with
sorted keys ``i``, ``msg`` (the event payload plus ``pagure_instance`` and
``project_fullname``), ``msg_id`` (``<year>-<uuid4>``), ``timestamp`` and
``topic``; headers ``X-Pagure``, ``X-Pagure-project``, ``X-Pagure-Topic`` and
the hex HMAC-SHA1 / HMAC-SHA256 of the exact body keyed with the project's
``hook_token`` (``X-Pagure-Signature``, ``X-Pagure-Signature-256``).

Unlike Pagure, deliveries are logged and retried (``BACKOFF``). The body is
built once per event and stored, so every attempt and redelivery sends the
same bytes and ``msg_id`` (receivers can de-duplicate); signatures are made
at send time with the token current then. Nothing about a private project or
a private object (``Event.private``) is ever sent; the settings page's test
notification carries only ``{"content": "Test message"}``.

The HTTP side lives in ``pagurus.tasks.webhooks``.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from pagurus.core.errors import NotFound
from pagurus.core.projects import require_admin, settings_of
from pagurus.model import Event, Project, User, WebhookDelivery, utcnow

TEST_TOPIC = "Test.notification"
TEST_MESSAGE: dict[str, Any] = {"content": "Test message"}
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
# seconds before attempt 2, 3, …; attempt MAX_ATTEMPTS is the last
BACKOFF = (60, 300, 1800, 7200, 21600)
MAX_ATTEMPTS = len(BACKOFF) + 1
# a claimed attempt not recorded within this long is taken as lost (worker died)
LEASE = timedelta(minutes=10)
RETENTION = timedelta(days=30)
LOG_SIZE = 50
ERROR_MAX = 300

_counter = itertools.count(1)  # Pagure's "i": a per-process message counter


def urls_of(project: Project) -> list[str]:
    """The ``Web-hooks`` setting: one URL per line, sorted (not de-duplicated,
    as in Pagure: a URL listed twice is posted to twice)."""
    text = settings_of(project).get("Web-hooks") or ""
    return sorted(line.strip() for line in str(text).splitlines() if line.strip())


def wants(event: Event, project: Project | None) -> bool:
    """Whether ``event`` goes to web-hooks: a public project with URLs set,
    and an event about nothing private."""
    return (project is not None and not event.private and not project.private
            and bool(urls_of(project)))


def message_body(topic: str, payload: dict[str, Any], project: Project, base_url: str,
                 when: datetime) -> str:
    """The JSON body posted for one event (keys sorted at every level)."""
    msg = {**payload, "pagure_instance": base_url, "project_fullname": project.fullname}
    return json.dumps({
        "i": next(_counter),
        "msg": msg,
        "msg_id": f"{when.year}-{uuid.uuid4()}",
        "timestamp": int(when.timestamp()),
        "topic": topic,
    }, sort_keys=True)


def signatures(body: bytes, token: str) -> tuple[str, str]:
    """(HMAC-SHA1, HMAC-SHA256) of ``body`` keyed with the hook token, in hex."""
    key = token.encode("utf-8")
    return (hmac.new(key, body, hashlib.sha1).hexdigest(),
            hmac.new(key, body, hashlib.sha256).hexdigest())


def headers_for(body: str, token: str) -> dict[str, str]:
    """The request headers; instance, project and topic are read back from the
    stored body so that they always agree with it."""
    data = json.loads(body)
    msg = data.get("msg") or {}
    sha1, sha256 = signatures(body.encode("utf-8"), token)
    return {
        "Content-Type": "application/json",
        "X-Pagure": str(msg.get("pagure_instance", "")),
        "X-Pagure-project": str(msg.get("project_fullname", "")),
        "X-Pagure-Signature": sha1,
        "X-Pagure-Signature-256": sha256,
        "X-Pagure-Topic": str(data.get("topic", "")),
    }


def _rows(session: Session, project: Project, topic: str, body: str,
          event_id: int | None) -> list[WebhookDelivery]:
    now = utcnow()
    rows = [WebhookDelivery(project_id=project.id, event_id=event_id, url=url, topic=topic,
                            body=body, status=PENDING, attempts=0, next_attempt_at=now,
                            created_at=now)
            for url in urls_of(project)]
    session.add_all(rows)
    session.flush()
    return rows


def record_event(session: Session, event: Event, project: Project | None,
                 base_url: str) -> list[WebhookDelivery]:
    """Pending deliveries of ``event``, one per URL (none when it is not for
    web-hooks); the caller queues them after they are written."""
    if project is None or not wants(event, project):
        return []
    body = message_body(event.topic, event.payload or {}, project, base_url, event.created_at)
    return _rows(session, project, event.topic, body, event.id)


def queue_test(session: Session, actor: User | None, project: Project,
               base_url: str) -> list[WebhookDelivery]:
    """The settings page's test: a ``Test.notification`` to every URL (as in
    Pagure, also for a private project: the admin asked, and it says nothing)."""
    require_admin(session, actor, project)
    body = message_body(TEST_TOPIC, dict(TEST_MESSAGE), project, base_url, utcnow())
    return _rows(session, project, TEST_TOPIC, body, None)


def recent(session: Session, actor: User | None, project: Project,
           limit: int = LOG_SIZE) -> list[WebhookDelivery]:
    """The project's newest deliveries, for its admins."""
    require_admin(session, actor, project)
    return list(session.scalars(select(WebhookDelivery)
                                .where(WebhookDelivery.project_id == project.id)
                                .order_by(WebhookDelivery.id.desc()).limit(limit)))


def redeliver(session: Session, actor: User | None, project: Project,
              delivery_id: int) -> WebhookDelivery:
    """A new pending delivery with the same URL and body (the old row stays
    in the log as it was)."""
    require_admin(session, actor, project)
    old = session.get(WebhookDelivery, delivery_id)
    if old is None or old.project_id != project.id:
        raise NotFound("No such delivery", code="ENOCODE")
    now = utcnow()
    row = WebhookDelivery(project_id=project.id, event_id=old.event_id, url=old.url,
                          topic=old.topic, body=old.body, status=PENDING, attempts=0,
                          next_attempt_at=now, created_at=now)
    session.add(row)
    session.flush()
    return row


# -- attempts -------------------------------------------------------------------

def claim(session: Session, delivery_id: int, attempt: int) -> str:
    """Take attempt number ``attempt`` (0-based) of a delivery, atomically:
    ``claimed``, ``missing`` (not written yet, or gone) or ``stale`` (that
    attempt was already made, or the delivery is over). A task queued twice
    (broker redelivery, upkeep) thus never posts twice. Commits."""
    done = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.attempts == attempt,
               WebhookDelivery.status == PENDING)
        .values(attempts=attempt + 1, next_attempt_at=utcnow() + LEASE))
    session.commit()
    if getattr(done, "rowcount", 0) == 1:
        return "claimed"
    return "stale" if session.get(WebhookDelivery, delivery_id) is not None else "missing"


@dataclass(frozen=True)
class Outcome:
    """What one POST gave: an HTTP status, or an error before one came."""

    status_code: int | None = None
    error: str | None = None
    retryable: bool = True  # for errors without a status (refused URL: False)


def _verdict(outcome: Outcome) -> str:
    code = outcome.status_code
    if code is not None:
        if 200 <= code < 300:
            return DELIVERED
        return PENDING if code == 429 or code >= 500 else FAILED
    return PENDING if outcome.retryable else FAILED


def record_outcome(session: Session, delivery_id: int, outcome: Outcome) -> int | None:
    """Store an attempt's outcome; the seconds until the next attempt, or None
    when the delivery is over (delivered, refused, or out of attempts). Commits."""
    row = session.get(WebhookDelivery, delivery_id)
    if row is None:
        return None
    verdict = _verdict(outcome)
    if verdict == PENDING and row.attempts >= MAX_ATTEMPTS:
        verdict = FAILED
    now = utcnow()
    row.last_status_code = outcome.status_code
    row.last_error = (outcome.error or "")[:ERROR_MAX] or None
    row.status = verdict
    wait = None
    if verdict == PENDING:
        wait = BACKOFF[min(max(row.attempts, 1), len(BACKOFF)) - 1]
        row.next_attempt_at = now + timedelta(seconds=wait)
    else:
        row.next_attempt_at = None
        row.delivered_at = now if verdict == DELIVERED else None
    session.commit()
    return wait


def lost(session: Session, now: datetime | None = None) -> list[tuple[int, int]]:
    """(id, attempts) of pending deliveries whose task was lost: due for more
    than ``LEASE`` (a worker died during the POST, or the broker was away when
    it was queued). Queuing them again is safe: ``claim`` refuses duplicates."""
    limit = (now or datetime.now(UTC)) - LEASE
    return [(i, a) for i, a in session.execute(
        select(WebhookDelivery.id, WebhookDelivery.attempts)
        .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at < limit)
        .order_by(WebhookDelivery.id).limit(1000))]


def prune(session: Session, before: datetime) -> int:
    """Forget deliveries made before ``before``; returns how many went."""
    gone = session.execute(delete(WebhookDelivery).where(WebhookDelivery.created_at < before))
    return int(getattr(gone, "rowcount", 0) or 0)
