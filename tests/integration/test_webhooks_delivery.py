"""Web-hooks: the outbox dispatcher records deliveries, the real Celery worker
POSTs them to a real HTTP server on 127.0.0.1 (allowed through
``allow_local_remotes``), signed with the project's hook token in Pagure's
wire format; private things never go out, loopback is refused by default,
5xx answers are retried and 4xx are final; admins read the delivery log,
send a test notification and redeliver."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from conftest import csrf_of, login_as
from issue_fixture import BASE, new_issue, tracker_project
from sqlalchemy import select

from pagurus.core import projects as core_projects
from pagurus.core import webhooks as core_webhooks
from pagurus.model import Project, WebhookDelivery, utcnow
from pagurus.services import dispatcher
from pagurus.tasks import webhooks as webhook_tasks
from pagurus.tasks.app import runtime

WAIT = 60.0
KICK = 5.0


class Receiver:
    """A web-hook target: records every POST and answers from a script
    (per path; 200 once the script is used up)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: dict[str, list[int]] = {}
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._cond:
                    receiver.requests.append({"path": self.path, "headers": self.headers,
                                              "body": body})
                    answers = receiver.script.get(self.path) or [200]
                    code = answers.pop(0) if len(answers) > 1 else answers[0]
                    receiver._cond.notify_all()
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def on(self, path: str) -> list[dict[str, Any]]:
        with self._cond:
            return [r for r in self.requests if r["path"] == path]

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool]) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self.requests), timeout=WAIT):
                raise AssertionError(f"the receiver did not get what was expected: "
                                     f"{[r['path'] for r in self.requests]}")


@pytest.fixture(name="receiver")
def receiver_fixture() -> Iterator[Receiver]:
    box = Receiver()
    box.thread.start()
    try:
        yield box
    finally:
        box.server.shutdown()
        box.server.server_close()
        box.thread.join(10)


@pytest.fixture(name="local_allowed")
def local_allowed_fixture(app: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The instance (and so the worker) allows loopback targets for this test."""
    allowing = settings.replace(allow_local_remotes=True)
    monkeypatch.setattr(runtime(), "settings", allowing)
    return allowing


def _rounds(app: Any, settings: Any, handler: Any) -> None:
    sessions = app.extensions["pagurus"]["sessions"]
    while dispatcher.run_once(sessions, settings, BASE, consumers={"webhooks": handler}):
        pass


def skip_webhook_backlog(app: Any, settings: Any) -> None:
    """Mark every earlier test's events taken by the webhooks consumer, unsent."""
    _rounds(app, settings, lambda *_args: None)


def dispatch_webhooks(app: Any, settings: Any) -> None:
    _rounds(app, settings, dispatcher.CONSUMERS["webhooks"])


def deliveries(session: Any, project: Any) -> list[WebhookDelivery]:
    session.expire_all()
    return list(session.scalars(select(WebhookDelivery).where(
        WebhookDelivery.project_id == project.id).order_by(WebhookDelivery.id)))


def wait_rows(session: Any, project: Any,
              done: Callable[[list[WebhookDelivery]], bool]) -> list[WebhookDelivery]:
    """The project's deliveries once ``done`` holds for them (the worker is async).

    A first attempt not made after ``KICK`` seconds is queued again, as the
    dispatcher's upkeep does for lost tasks (a task queued twice posts once):
    with Redis, the test worker was seen to leave a freshly queued task unrun."""
    start = time.monotonic()
    kicked: set[int] = set()
    while True:
        rows = deliveries(session, project)
        if done(rows):
            return rows
        if time.monotonic() > start + WAIT:
            raise AssertionError([(r.url, r.status, r.attempts, r.last_error) for r in rows])
        if time.monotonic() > start + KICK:
            lost = [r.id for r in rows if r.status == "pending" and r.attempts == 0
                    and r.id not in kicked]
            webhook_tasks.queue(lost)
            kicked.update(lost)
        time.sleep(0.05)


def hooked_project(session: Any, settings: Any, owner: Any, *urls: str,
                   private: bool = False) -> Project:
    return tracker_project(session, settings, owner, private=private,
                           **{"Web-hooks": "\n".join(urls)})


def test_an_issue_opened_on_a_public_project_is_posted_signed_in_pagures_format(
        app, settings, session, make_user, worker, local_allowed, receiver):
    owner = make_user()
    project = hooked_project(session, settings, owner, f"{receiver.url}/hook")
    skip_webhook_backlog(app, settings)
    issue = new_issue(session, owner, project, "Webhook me")

    dispatch_webhooks(app, settings)
    receiver.wait_for(lambda reqs: len(reqs) >= 1)
    [got] = receiver.requests
    raw = got["body"]
    data = json.loads(raw)
    assert list(data) == ["i", "msg", "msg_id", "timestamp", "topic"]
    assert raw.decode() == json.dumps(data, sort_keys=True)  # sorted at every level
    assert data["topic"] == "issue.new"
    assert isinstance(data["i"], int) and isinstance(data["timestamp"], int)
    year, _, rest = data["msg_id"].partition("-")
    assert year == str(utcnow().year) and uuid.UUID(rest).version == 4
    msg = data["msg"]
    assert msg["pagure_instance"] == BASE and msg["project_fullname"] == project.fullname
    assert msg["issue"]["title"] == "Webhook me" and msg["issue"]["id"] == issue.number
    assert msg["agent"] == owner.name

    headers = got["headers"]
    token = project.hook_token.encode()
    assert headers["X-Pagure-Signature"] == hmac.new(token, raw, hashlib.sha1).hexdigest()
    assert headers["X-Pagure-Signature-256"] == hmac.new(token, raw,
                                                         hashlib.sha256).hexdigest()
    assert headers["X-Pagure"] == BASE
    assert headers["X-Pagure-project"] == project.fullname
    assert headers["X-Pagure-Topic"] == "issue.new"
    assert headers["Content-Type"] == "application/json"

    [row] = wait_rows(session, project, lambda rows: rows and rows[0].status == "delivered")
    assert (row.topic, row.url, row.attempts, row.last_status_code) == (
        "issue.new", f"{receiver.url}/hook", 1, 200)
    assert row.delivered_at is not None and row.last_error is None


def test_nothing_about_a_private_project_or_a_private_issue_is_posted(
        app, settings, session, make_user, worker, local_allowed, receiver):
    owner = make_user()
    hidden = hooked_project(session, settings, owner, f"{receiver.url}/private-project",
                            private=True)
    public = hooked_project(session, settings, owner, f"{receiver.url}/public-project")
    skip_webhook_backlog(app, settings)
    new_issue(session, owner, hidden, "Secret project issue")
    new_issue(session, owner, public, "Secret issue", private=True)
    new_issue(session, owner, public, "Open issue")  # the marker: it does go out

    dispatch_webhooks(app, settings)
    receiver.wait_for(lambda reqs: any(r["path"] == "/public-project" for r in reqs))
    wait_rows(session, public, lambda rows: rows and rows[0].status == "delivered")
    assert [json.loads(r["body"])["msg"]["issue"]["title"] for r in receiver.requests] == [
        "Open issue"]
    assert deliveries(session, hidden) == []
    assert len(deliveries(session, public)) == 1


def test_a_loopback_web_hook_is_refused_unless_the_admin_allows_local_addresses(
        app, settings, session, make_user, worker, receiver):
    assert not runtime().settings.allow_local_remotes
    owner = make_user()
    port = receiver.server.server_port
    project = hooked_project(session, settings, owner, f"{receiver.url}/loop",
                             f"http://localhost:{port}/loop", f"http://[::1]:{port}/loop")
    skip_webhook_backlog(app, settings)
    new_issue(session, owner, project, "Nobody local hears this")

    dispatch_webhooks(app, settings)
    rows = wait_rows(session, project,
                     lambda rows: len(rows) == 3 and all(r.status == "failed" for r in rows))
    for row in rows:
        assert "local or private address" in row.last_error
        assert row.attempts == 1 and row.last_status_code is None
        assert row.next_attempt_at is None
    assert receiver.requests == []


def test_a_web_hook_answering_500_is_retried_and_one_answering_404_is_not(
        app, settings, session, make_user, worker, local_allowed, receiver):
    owner = make_user()
    receiver.script = {"/flaky": [500, 200], "/gone": [404]}
    project = hooked_project(session, settings, owner, f"{receiver.url}/flaky",
                             f"{receiver.url}/gone")
    skip_webhook_backlog(app, settings)
    new_issue(session, owner, project, "Try again")

    dispatch_webhooks(app, settings)
    flaky, gone = wait_rows(session, project,
                            lambda rows: len(rows) == 2 and rows[0].last_status_code
                            is not None and rows[1].status == "failed")
    assert (flaky.url, flaky.status, flaky.last_status_code) == (
        f"{receiver.url}/flaky", "pending", 500)
    assert flaky.next_attempt_at - utcnow() > timedelta(seconds=30)  # backed off
    assert (gone.status, gone.last_status_code, gone.attempts) == ("failed", 404, 1)

    # the second attempt, run now rather than after the back-off
    sessions = app.extensions["pagurus"]["sessions"]
    result = webhook_tasks.attempt_delivery(sessions, local_allowed, flaky.id, 1)
    assert result["status"] == "delivered" and result["retry_in"] is None
    assert webhook_tasks.attempt_delivery(sessions, local_allowed, gone.id, 1) == {
        "state": "stale"}
    flaky, gone = deliveries(session, project)
    assert (flaky.status, flaky.attempts, flaky.last_status_code) == ("delivered", 2, 200)
    first, second = receiver.on("/flaky")
    assert first["body"] == second["body"]  # the same message, same msg_id
    assert len(receiver.on("/gone")) == 1


def test_a_web_hook_that_keeps_failing_is_given_up_after_six_attempts(
        app, settings, session, make_user, receiver):
    owner = make_user()
    allowing = settings.replace(allow_local_remotes=True)
    receiver.script = {"/down": [503]}
    project = hooked_project(session, settings, owner, f"{receiver.url}/down")
    [row] = core_webhooks.queue_test(session, owner, project, BASE)
    session.commit()
    sessions = app.extensions["pagurus"]["sessions"]
    waits = [webhook_tasks.attempt_delivery(sessions, allowing, row.id, n)["retry_in"]
             for n in range(core_webhooks.MAX_ATTEMPTS)]
    assert waits == [60, 300, 1800, 7200, 21600, None]
    [row] = deliveries(session, project)
    assert (row.status, row.attempts, row.last_status_code) == ("failed", 6, 503)
    assert len(receiver.on("/down")) == 6


def test_the_post_goes_to_the_checked_address_not_a_second_lookup(receiver):
    port = receiver.server.server_port
    body = b'{"topic": "Test.notification"}'
    # a name no DNS server knows: only the pinned address can reach the receiver
    conn = webhook_tasks._Pinned("pinned.invalid", port, ("127.0.0.1",), 10.0)
    try:
        conn.request("POST", "/pinned", body=body, headers={"Content-Type": "application/json"})
        assert conn.getresponse().status == 200
    finally:
        conn.close()
    [got] = receiver.on("/pinned")
    assert got["headers"]["Host"] == f"pinned.invalid:{port}" and got["body"] == body

    # the guard resolves once, refuses a private answer, and never asks again
    lookups: list[str] = []

    def rebinding(host: str, port: int, **_kw: Any) -> list[Any]:
        lookups.append(host)
        return [(2, 1, 6, "", ("10.1.2.3", port))]

    outcome = webhook_tasks.post(f"http://pinned.invalid:{port}/x", body, {},
                                 allow_local=False, resolver=rebinding)
    assert outcome.retryable is False and "10.1.2.3" in outcome.error
    assert lookups == ["pinned.invalid"] and receiver.on("/x") == []
    refused = webhook_tasks.post("ftp://example.org/x", body, {}, allow_local=True)
    assert refused.retryable is False and "http://" in refused.error


def test_the_settings_test_button_sends_a_test_notification(
        app, client, settings, session, make_user, worker, local_allowed, receiver):
    owner, stranger = make_user(), make_user()
    project = hooked_project(session, settings, owner, f"{receiver.url}/test")
    login_as(client, owner)
    page = client.get(f"/{project.name}/settings").get_data(as_text=True)
    assert f'formaction="/{project.name}/settings/test_hook"' in page

    # no CSRF token: refused, nothing queued
    assert client.post(f"/{project.name}/settings/test_hook").status_code == 400
    assert deliveries(session, project) == []
    login_as(client, stranger)
    assert client.post(f"/{project.name}/settings/test_hook",
                       data={"csrf_token": csrf_of(client)}).status_code == 404
    assert deliveries(session, project) == []

    login_as(client, owner)
    resp = client.post(f"/{project.name}/settings/test_hook",
                       data={"csrf_token": csrf_of(client)})
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/{project.name}/settings/webhooks")
    receiver.wait_for(lambda reqs: len(reqs) >= 1)
    [got] = receiver.on("/test")
    data = json.loads(got["body"])
    assert data["topic"] == "Test.notification"
    assert data["msg"] == {"content": "Test message", "pagure_instance": BASE,
                           "project_fullname": project.fullname}
    assert got["headers"]["X-Pagure-Signature-256"] == hmac.new(
        project.hook_token.encode(), got["body"], hashlib.sha256).hexdigest()


def test_admins_read_the_delivery_log_and_redeliver_a_notification(
        app, client, settings, session, make_user, worker, local_allowed, receiver):
    owner, committer = make_user(), make_user()
    project = hooked_project(session, settings, owner, f"{receiver.url}/log")
    core_projects.set_user_access(session, owner, project, committer, "commit")
    session.commit()
    other = hooked_project(session, settings, owner, f"{receiver.url}/other")
    [foreign] = core_webhooks.queue_test(session, owner, other, BASE)
    session.commit()
    login_as(client, owner)
    client.post(f"/{project.name}/settings/test_hook", data={"csrf_token": csrf_of(client)})
    [row] = wait_rows(session, project, lambda rows: rows and rows[0].status == "delivered")

    log_url = f"/{project.name}/settings/webhooks"
    page = client.get(log_url)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    row_html = re.search(rf'<tr id="delivery-{row.id}">(.*?)</tr>', body, re.S).group(1)
    for text in ("Test.notification", f"{receiver.url}/log", "delivered", "<td>200</td>",
                 "<td>1</td>", f'action="/{project.name}/settings/webhooks/{row.id}/redeliver"'):
        assert text in row_html, text

    # others: the page does not exist
    client_b = app.test_client()
    assert client_b.get(log_url).status_code == 404
    login_as(client_b, committer)
    assert client_b.get(log_url).status_code == 404
    assert client_b.post(f"{log_url}/{row.id}/redeliver",
                         data={"csrf_token": csrf_of(client_b)}).status_code == 404
    # a delivery of another project is not found here
    assert client.post(f"{log_url}/{foreign.id}/redeliver",
                       data={"csrf_token": csrf_of(client)}).status_code == 404
    assert len(deliveries(session, project)) == 1

    resp = client.post(f"{log_url}/{row.id}/redeliver", data={"csrf_token": csrf_of(client)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(log_url)
    receiver.wait_for(lambda reqs: len([r for r in reqs if r["path"] == "/log"]) == 2)
    first, again = receiver.on("/log")
    assert first["body"] == again["body"]
    old, new = wait_rows(session, project,
                         lambda rows: len(rows) == 2 and rows[1].status == "delivered")
    assert old.id == row.id and new.url == old.url and new.attempts == 1


def test_the_dispatcher_upkeep_forgets_old_deliveries_and_sends_lost_ones(
        app, settings, session, make_user, worker, local_allowed, receiver):
    owner = make_user()
    project = hooked_project(session, settings, owner, f"{receiver.url}/old",
                             f"{receiver.url}/lost")
    rows = core_webhooks.queue_test(session, owner, project, BASE)
    [old] = [r for r in rows if r.url.endswith("/old")]
    [lost] = [r for r in rows if r.url.endswith("/lost")]
    old.created_at = utcnow() - timedelta(days=31)
    old.status = "delivered"
    # its task never ran (the broker was away when it was queued)
    lost.next_attempt_at = utcnow() - timedelta(hours=1)
    session.commit()
    old_id = old.id

    dispatcher.prune(app.extensions["pagurus"]["sessions"], settings)
    receiver.wait_for(lambda reqs: any(r["path"] == "/lost" for r in reqs))
    [row] = wait_rows(session, project,
                      lambda rows: len(rows) == 1 and rows[0].status == "delivered")
    assert row.url.endswith("/lost") and row.id != old_id
    assert receiver.on("/old") == []
