"""The outbox stays cheap as it grows: a consumer looks for pending events
only near its newest taken one (late commits within the window still come
through), and the dispatcher forgets events past their retention."""

from __future__ import annotations

from datetime import timedelta

from conftest import unique
from sqlalchemy import func, select, update

from pagurus.events import outbox
from pagurus.model import Event, EventDelivery
from pagurus.model.base import utcnow
from pagurus.services import dispatcher


def _event(session, marker):
    event = outbox.record(session, "Test.notification", {"marker": marker})
    session.commit()
    return event.id


def test_a_late_event_within_the_window_is_still_taken(session, monkeypatch):
    consumer = unique("c")
    marker = unique("m")
    late = _event(session, marker)  # pretend it committed after the ones below
    later = [_event(session, marker) for _ in range(3)]
    newest = session.scalar(select(func.max(Event.id)))
    # everything but ``late`` already taken by this consumer
    outbox.mark_delivered(session, consumer, list(session.scalars(
        select(Event.id).where(Event.id != late))))
    session.commit()
    monkeypatch.setattr(outbox, "LOOK_BACK", newest - late + 1)
    assert [e.id for e in outbox.pending(session, consumer)] == [late]
    # far behind the newest taken event, it counts as done (the lookup stays small)
    monkeypatch.setattr(outbox, "LOOK_BACK", newest - late - 1)
    assert outbox.pending(session, consumer) == []
    assert later  # (the events after it exist)


def test_the_dispatcher_forgets_events_past_their_retention(app, settings, session):
    marker = unique("m")
    old, recent = _event(session, marker), _event(session, marker)
    outbox.mark_delivered(session, "mail", [old])
    session.execute(update(Event).where(Event.id == old)
                    .values(created_at=utcnow() - timedelta(days=31)))
    session.commit()
    sessions = app.extensions["pagurus"]["sessions"]
    assert dispatcher.prune(sessions, settings) >= 1
    session.expire_all()
    assert session.get(Event, old) is None and session.get(Event, recent) is not None
    assert session.scalar(select(func.count()).select_from(EventDelivery)
                          .where(EventDelivery.event_id == old)) == 0


def test_a_consumer_added_later_starts_with_the_events_to_come(session):
    marker = unique("m")
    _event(session, marker)
    _event(session, marker)
    consumer = unique("late-consumer")
    assert outbox.start_from_now(session, consumer) >= 2
    session.commit()
    assert outbox.pending(session, consumer) == []
    new = _event(session, marker)
    assert [e.id for e in outbox.pending(session, consumer)] == [new]
    assert outbox.start_from_now(session, consumer) == 0  # only the first time
