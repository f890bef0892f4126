"""Relays outbox events to their consumers; run by ``pagurus dispatcher``.

Each consumer takes events in id order and marks each one taken in the same
transaction that records what it did with it (for email: the queued send
tasks, whose broker is durable). A consumer that fails on an event stops
there and retries it on the next round: events wait and an event is never
taken twice by one consumer. Only an event the consumer itself cannot
handle — an error that is not the database or the broker being away —
is set aside after ``MAX_ATTEMPTS`` rounds (logged with its traceback), so
one bad event cannot stop every later one. Consumers: email and
webhooks; the event source comes later.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from kombu.exceptions import KombuError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from pagurus.config import Settings
from pagurus.events import outbox
from pagurus.model import Event
from pagurus.model.base import utcnow

log = logging.getLogger(__name__)

Handler = Callable[[Session, Event, Settings, str], None]

MAX_ATTEMPTS = 3
PRUNE_EVERY = 3600.0
# the database, the broker or the network away: wait for them, however long
TRANSIENT: tuple[type[BaseException], ...] = (DBAPIError, KombuError, OSError)
# (consumer, event id) -> failed rounds, in this process
_failures: dict[tuple[str, int], int] = {}


def mail_consumer(session: Session, event: Event, settings: Settings, base_url: str) -> None:
    from pagurus.core import notify
    from pagurus.tasks import mail

    for item in notify.mails_for(session, event, base_url):
        mail.send_email.delay(item.to, item.subject, item.body, item.headers)


def webhooks_consumer(session: Session, event: Event, settings: Settings,
                      base_url: str) -> None:
    from pagurus.tasks import webhooks

    webhooks.consume(session, event, base_url)


CONSUMERS: dict[str, Handler] = {"mail": mail_consumer, "webhooks": webhooks_consumer}
# consumers that, the first time they run on a forge, skip what the outbox
# already holds (webhooks added to a running forge must not replay weeks of
# events to every hook); mail always had its consumer
FROM_NOW = frozenset({"webhooks"})
_started: set[tuple[str, str]] = set()  # (database URL, consumer) checked in this process


def run_once(sessions: sessionmaker[Session], settings: Settings, base_url: str, *,
             consumers: dict[str, Handler] | None = None, limit: int = 200) -> int:
    """One round over every consumer; returns how many events were taken."""
    taken = 0
    for name, handler in (consumers or CONSUMERS).items():
        key = (str(sessions.kw.get("bind", "")), name)
        if name in FROM_NOW and key not in _started:
            with sessions() as session:
                skipped = outbox.start_from_now(session, name)
                session.commit()
            if skipped:
                log.info("consumer %s starts from now: %d earlier events skipped", name,
                         skipped)
            _started.add(key)
        with sessions() as session:
            ids = [e.id for e in outbox.pending(session, name, limit)]
        for event_id in ids:
            with sessions() as session:
                event = session.get(Event, event_id)
                if event is None:
                    continue
                topic = event.topic
                try:
                    handler(session, event, settings, base_url)
                    outbox.mark_delivered(session, name, [event_id])
                    session.commit()
                except Exception as exc:
                    session.rollback()
                    if not _give_up(session, name, event_id, topic, exc):
                        break
            _failures.pop((name, event_id), None)
            taken += 1
    return taken


def _give_up(session: Session, consumer: str, event_id: int, topic: str,
             exc: Exception) -> bool:
    """After a failed event: True when it is set aside (taken without effect)."""
    key = (consumer, event_id)
    _failures[key] = attempts = _failures.get(key, 0) + 1
    if isinstance(exc, TRANSIENT) or attempts < MAX_ATTEMPTS:
        log.warning("consumer %s failed on event %s (%s), attempt %s; will retry",
                    consumer, event_id, topic, attempts, exc_info=exc)
        return False
    log.error("consumer %s set aside event %s (%s) after %s failures", consumer, event_id,
              topic, attempts, exc_info=exc)
    try:
        outbox.mark_delivered(session, consumer, [event_id])
        session.commit()
    except DBAPIError:
        session.rollback()
        return False
    return True


def prune(sessions: sessionmaker[Session], settings: Settings) -> int:
    """Forget events older than ``event_retention_days`` (0: keep them all);
    also webhook deliveries past 30 days (and re-queue lost ones)."""
    from pagurus.tasks import webhooks

    webhooks.upkeep(sessions)
    if settings.event_retention_days <= 0:
        return 0
    before = utcnow() - timedelta(days=settings.event_retention_days)
    with sessions() as session:
        gone = outbox.prune(session, before)
        session.commit()
    if gone:
        log.info("forgot %d events recorded before %s", gone, before.isoformat())
    return gone


def run_forever(sessions: sessionmaker[Session], settings: Settings, base_url: str,
                stop: threading.Event, interval: float = 1.0) -> None:
    """Poll until ``stop`` is set; a busy round is followed at once by the next.
    Old events are pruned at start and then every ``PRUNE_EVERY`` seconds."""
    pruned_at = -PRUNE_EVERY
    while not stop.is_set():
        if time.monotonic() - pruned_at >= PRUNE_EVERY:
            pruned_at = time.monotonic()
            try:
                prune(sessions, settings)
            except Exception:
                log.exception("pruning old events failed")
        try:
            busy = run_once(sessions, settings, base_url)
        except Exception:
            log.exception("dispatcher round failed")
            busy = 0
        if not busy:
            stop.wait(interval)
