"""Running the outbox dispatcher by hand in mail tests.

The test database is shared by every test of a process: when a mail test
first dispatches, the events of all earlier tests are pending too, and
mailing them would queue hundreds of messages ahead of the test's own
(which then miss their wait). ``skip_backlog`` marks those taken first,
without mail; ``dispatch`` then relays only what the test did.
"""

from __future__ import annotations

from typing import Any

from pagurus.services import dispatcher

BASE = "http://pagurus.test"


def skip_backlog(app: Any, settings: Any) -> None:
    sessions = app.extensions["pagurus"]["sessions"]
    while dispatcher.run_once(sessions, settings, BASE,
                              consumers={"mail": lambda *_args: None}):
        pass


def dispatch(app: Any, settings: Any) -> None:
    sessions = app.extensions["pagurus"]["sessions"]
    while dispatcher.run_once(sessions, settings, BASE):
        pass
