"""Webhook delivery: the dispatcher's consumer and the worker's POST.

The ``webhooks`` consumer of the outbox only writes delivery rows and queues
one :func:`deliver_webhook` task per row: it never waits on a target. The
task claims the attempt (``core.webhooks.claim``: a task queued twice posts
once), POSTs with a short timeout and no database transaction open, records
the outcome and, for a connection error, a timeout, a 5xx or a 429, queues
the next attempt after ``core.webhooks.BACKOFF``. A 2xx is delivered; any
other answer (redirects are not followed) is final.

Outgoing-address guard (as ``core.netguard`` does for git): the host is
resolved once, every address must be public unless ``allow_local_remotes``,
and the connection goes to those checked addresses, never to a second lookup
(DNS rebinding); the Host header and the TLS name stay the URL's.
"""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from kombu.exceptions import KombuError
from sqlalchemy.orm import Session, sessionmaker

from pagurus import __version__
from pagurus.config import Settings
from pagurus.core import netguard
from pagurus.core import webhooks as core
from pagurus.model import Event, Project, WebhookDelivery, utcnow
from pagurus.tasks.app import celery_app, runtime

log = logging.getLogger(__name__)

TIMEOUT = 10.0  # seconds, for the connection and for each read
DEADLINE = 30.0  # seconds for a whole exchange, however the target trickles
# a row the dispatcher has not committed yet (its task was queued inside the
# transaction): look again for this long, in the task (a Celery retry with a
# countdown was seen stuck with Redis, acks_late and prefetch 1)
MISSING_WAIT = 10.0
MISSING_STEP = 0.1

Resolver = Callable[..., list[Any]]


class Refused(Exception):
    """The URL may not be posted to; final (no retry)."""


# -- the consumer ----------------------------------------------------------------

def consume(session: Session, event: Event, base_url: str) -> None:
    """Outbox consumer: delivery rows for ``event``, each with its task queued.

    The tasks are queued inside the dispatcher's transaction: if the broker
    fails, the rows go with the rollback and the event is tried again; a task
    that runs before the commit finds no row yet and looks again shortly."""
    if event.private or event.project_id is None:
        return
    project = session.get(Project, event.project_id)
    for row in core.record_event(session, event, project, base_url):
        deliver_webhook.delay(row.id, 0)


def queue(ids: list[int]) -> None:
    """Queue the first attempt of committed deliveries (test button, redeliver)."""
    for delivery_id in ids:
        deliver_webhook.delay(delivery_id, 0)


def upkeep(sessions: sessionmaker[Session]) -> int:
    """Hourly, from the dispatcher: forget deliveries past ``core.RETENTION``
    and queue again the pending ones whose task was lost. Returns how many
    rows were forgotten; a broker that is away only delays the re-queuing."""
    with sessions() as session:
        gone = core.prune(session, utcnow() - core.RETENTION)
        session.commit()
        lost = core.lost(session)
    if gone:
        log.info("forgot %d webhook deliveries", gone)
    try:
        for delivery_id, attempts in lost:
            deliver_webhook.delay(delivery_id, attempts)
    except (KombuError, OSError):
        log.warning("could not queue %d lost webhook deliveries again", len(lost),
                    exc_info=True)
    return gone


# -- the POST ---------------------------------------------------------------------

def _target(url: str, allow_local: bool, resolver: Resolver) -> tuple[str, str, int, str,
                                                                      tuple[str, ...]]:
    """(scheme, host, port, path, addresses) of a URL that may be posted to;
    Refused otherwise. ``addresses`` is empty when local addresses are allowed
    (then the name is resolved when connecting, as anywhere else)."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https"):
        raise Refused("Only http:// and https:// web-hook URLs are accepted")
    try:
        scheme, host, port, _netloc = netguard.parse_url(url)
    except netguard.RemoteRefused as exc:
        raise Refused(exc.message.replace("git repository ", "web-hook ")
                      .replace("repository ", "web-hook ")) from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if allow_local:
        return scheme, host, port, path, ()
    try:
        addresses = netguard.public_addresses(host, port, resolver)
    except netguard.Unresolved as exc:
        # DNS may be down for a while: retried, unlike a refused address
        raise OSError(f"The host {host} could not be resolved") from exc
    except netguard.OddAddress:
        raise Refused(f"The host {host} has an unexpected address") from None
    except netguard.PrivateAddress as exc:
        raise Refused(f"The host {host} resolves to a local or private address "
                      f"({exc.ip}); this instance posts web-hooks to public addresses only"
                      ) from None
    return scheme, host, port, path, addresses


def _open(host: str, port: int, addresses: tuple[str, ...], timeout: float) -> socket.socket:
    """A connection to the first checked address that answers (or to ``host``)."""
    error: OSError | None = None
    for address in addresses or (host,):
        try:
            return socket.create_connection((address, port), timeout=timeout)
        except OSError as exc:
            error = exc
    assert error is not None
    raise error


class _Pinned(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, addresses: tuple[str, ...],
                 timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._addresses = addresses

    def connect(self) -> None:
        self.sock = _open(self.host, self.port, self._addresses, self.timeout)


class _PinnedTLS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, addresses: tuple[str, ...],
                 timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._addresses = addresses

    def connect(self) -> None:
        raw = _open(self.host, self.port, self._addresses, self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str], *, allow_local: bool,
         resolver: Resolver = socket.getaddrinfo, timeout: float = TIMEOUT,
         deadline: float = DEADLINE) -> core.Outcome:
    """POST ``body`` to ``url`` behind the address guard; never raises."""
    try:
        scheme, host, port, path, addresses = _target(url, allow_local, resolver)
    except Refused as exc:
        return core.Outcome(error=str(exc), retryable=False)
    except OSError as exc:
        return core.Outcome(error=str(exc))
    kind = _PinnedTLS if scheme == "https" else _Pinned
    conn = kind(host, port, addresses, timeout)
    cut = threading.Event()

    def hang_up() -> None:  # a target trickling bytes past the deadline
        cut.set()
        if conn.sock is not None:
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    timer = threading.Timer(deadline, hang_up)
    timer.daemon = True
    timer.start()
    try:
        conn.request("POST", path, body=body, headers={
            **headers, "User-Agent": f"Pagurus-Webhook/{__version__}"})
        response = conn.getresponse()
        code = response.status
        location = response.getheader("Location", "")
        reason = response.reason
    except (OSError, http.client.HTTPException) as exc:
        if cut.is_set():
            return core.Outcome(error=f"No complete answer within {deadline:g} s")
        if isinstance(exc, TimeoutError):
            return core.Outcome(error=f"Timed out after {timeout:g} s")
        return core.Outcome(error=f"{type(exc).__name__}: {exc}".rstrip(": "))
    finally:
        timer.cancel()
        conn.close()
    if 200 <= code < 300:
        return core.Outcome(status_code=code)
    if 300 <= code < 400:
        return core.Outcome(status_code=code,
                            error=f"Redirects are not followed (Location: {location[:200]})")
    return core.Outcome(status_code=code, error=f"HTTP {code} {reason}".strip())


def attempt_delivery(sessions: sessionmaker[Session], settings: Settings, delivery_id: int,
                     attempt: int, *, resolver: Resolver = socket.getaddrinfo
                     ) -> dict[str, Any]:
    """Attempt ``attempt`` (0-based) of one delivery. ``state``: ``claimed``
    (then ``status``, ``status_code``, ``error`` and ``retry_in``, the seconds
    until the next attempt or None), ``stale`` or ``missing``."""
    with sessions() as session:
        state = core.claim(session, delivery_id, attempt)
        if state != "claimed":
            return {"state": state}
        row = session.get(WebhookDelivery, delivery_id)
        assert row is not None
        project = session.get(Project, row.project_id)
        url, body, topic = row.url, row.body, row.topic
        token = project.hook_token if project is not None else ""
        private = project is None or project.private
    if private and topic != core.TEST_TOPIC:
        outcome = core.Outcome(error="The project is private now", retryable=False)
    else:
        outcome = post(url, body.encode("utf-8"), core.headers_for(body, token),
                       allow_local=settings.allow_local_remotes, resolver=resolver)
    with sessions() as session:
        retry_in = core.record_outcome(session, delivery_id, outcome)
        row = session.get(WebhookDelivery, delivery_id)
        status = row.status if row is not None else None
    if status != core.DELIVERED:
        log.info("webhook %s to %s: %s%s", delivery_id, url, outcome.error or outcome.status_code,
                 f"; next attempt in {retry_in} s" if retry_in else "")
    return {"state": state, "status": status, "status_code": outcome.status_code,
            "error": outcome.error, "retry_in": retry_in}


@celery_app.task(name="pagurus.deliver_webhook")
def deliver_webhook(delivery_id: int, attempt: int = 0) -> dict[str, Any]:
    """One attempt of a webhook delivery; queues the next one when it failed
    in a way worth retrying."""
    rt = runtime()
    result = attempt_delivery(rt.sessions, rt.settings, delivery_id, attempt)
    deadline = time.monotonic() + MISSING_WAIT
    while result["state"] == "missing" and attempt == 0 and time.monotonic() < deadline:
        time.sleep(MISSING_STEP)
        result = attempt_delivery(rt.sessions, rt.settings, delivery_id, attempt)
    if result.get("retry_in") is not None:
        try:
            deliver_webhook.apply_async((delivery_id, attempt + 1),
                                        countdown=result["retry_in"])
        except (KombuError, OSError):
            # the row stays pending: the dispatcher's upkeep queues it again
            log.warning("could not queue the next attempt of webhook %s", delivery_id,
                        exc_info=True)
    return result
