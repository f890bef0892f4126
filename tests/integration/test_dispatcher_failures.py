"""The outbox dispatcher when a consumer fails: an event the consumer cannot
handle is set aside after a few rounds so later events still go out, while
an outage (database, broker, network) keeps every event waiting."""

from __future__ import annotations

from conftest import unique

from pagurus.events import outbox
from pagurus.services import dispatcher

BASE = "http://pagurus.test"


def _events(session, marker, n):
    events = [outbox.record(session, "Test.notification", {"marker": marker, "n": i})
              for i in range(n)]
    session.commit()
    return [e.id for e in events]


def _fresh_consumer(app, settings):
    """A consumer name that has taken every event already there (other tests'
    events would fill its first rounds)."""
    name = unique("consumer")
    sessions = app.extensions["pagurus"]["sessions"]
    while dispatcher.run_once(sessions, settings, BASE, consumers={name: lambda *_a: None}):
        pass
    return name


def _rounds(app, settings, consumers, rounds):
    sessions = app.extensions["pagurus"]["sessions"]
    for _ in range(rounds):
        dispatcher.run_once(sessions, settings, BASE, consumers=consumers)


def test_a_poison_event_is_set_aside_and_later_events_still_go_out(app, settings, session):
    name = _fresh_consumer(app, settings)
    marker = unique("m")
    first, poison, last = _events(session, marker, 3)
    seen: list[int] = []

    def consumer(_session, event, _settings, _base):
        if (event.payload or {}).get("marker") != marker:
            return  # other tests' events
        if event.id == poison:
            raise ValueError("this event cannot be turned into mail")
        seen.append(event.id)

    _rounds(app, settings, {name: consumer}, 1)
    assert seen == [first]  # stopped at the poison event, in order
    _rounds(app, settings, {name: consumer}, dispatcher.MAX_ATTEMPTS)
    assert seen == [first, last]  # set aside after its attempts; the rest went on
    pending = {e.id for e in outbox.pending(session, name, 10_000)}
    assert not pending & {first, poison, last}
    _rounds(app, settings, {name: consumer}, 2)
    assert seen == [first, last]  # never taken twice


def test_an_outage_keeps_the_event_waiting_however_many_rounds(app, settings, session):
    name = _fresh_consumer(app, settings)
    marker = unique("m")
    (only,) = _events(session, marker, 1)
    up = False
    seen: list[int] = []

    def consumer(_session, event, _settings, _base):
        if (event.payload or {}).get("marker") != marker:
            return
        if not up:
            raise ConnectionRefusedError("the broker is away")
        seen.append(event.id)

    _rounds(app, settings, {name: consumer}, dispatcher.MAX_ATTEMPTS * 3)
    assert seen == []
    assert only in {e.id for e in outbox.pending(session, name, 10_000)}
    up = True
    _rounds(app, settings, {name: consumer}, 1)
    assert seen == [only]
