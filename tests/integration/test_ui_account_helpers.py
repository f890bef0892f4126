"""The shared UI helpers and the mail task's fallback without an SMTP server."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from pagurus.core.errors import InvalidInput
from pagurus.tasks import mail
from pagurus.tasks.app import runtime
from pagurus.web.ui import helpers

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("delta,text", [
    (timedelta(seconds=5), "just now"),
    (timedelta(seconds=50), "1 minute ago"),
    (timedelta(minutes=5), "5 minutes ago"),
    (timedelta(hours=3, minutes=10), "3 hours ago"),
    (timedelta(days=1), "1 day ago"),
    (timedelta(days=15), "2 weeks ago"),
    (timedelta(days=400), "1 year ago"),
    (timedelta(days=-5), "in 5 days"),
])
def test_relative_times_read_like_a_person_would_say(delta, text) -> None:
    assert helpers.reltime(NOW - delta, now=NOW) == text
    # naive datetimes are UTC
    assert helpers.reltime((NOW - delta).replace(tzinfo=None), now=NOW) == text
    assert helpers.reltime(None) == "never"
    assert helpers.utc(NOW) == "2024-05-01 12:00:00 UTC"


@pytest.mark.parametrize("url,expected", [
    ("/settings", "/settings"),
    ("/a/b?c=d#e", "/a/b?c=d#e"),
    ("", "/"),
    (None, "/"),
    ("settings", "/"),
    ("//evil.example", "/"),
    ("/\\evil.example", "/"),
    ("https://evil.example/x", "/"),
    ("/ok\nLocation: x", "/"),
    ("javascript:alert(1)", "/"),
])
def test_safe_next_keeps_only_local_paths(url, expected) -> None:
    assert helpers.safe_next(url) == expected


def test_form_errors_map_core_fields_to_form_fields() -> None:
    exc = InvalidInput("bad", errors={"username": ["Already taken."], "email": "Nope."})
    assert helpers.form_errors_from(exc, {"username": "user"}) == {
        "user": ["Already taken."], "email": ["Nope."]}
    assert helpers.form_errors_from(InvalidInput("plain")) == {}
    assert helpers.form_errors_from(InvalidInput("x", errors=["a", "b"])) == {"_": ["a", "b"]}


def test_truthy_form_values() -> None:
    assert all(helpers.is_true(v) for v in ("1", "true", "on", "YES", True))
    assert not any(helpers.is_true(v) for v in ("0", "", "off", None, "nope", False))


def test_avatar_initials_and_colour_are_stable() -> None:
    class Person:
        name, fullname = "ada", "Ada King Lovelace"

    assert helpers.initials(Person()) == "AL"
    assert helpers.initials("bob") == "B"
    assert helpers.initials("<>") == "?"
    assert helpers.avatar_hue("ada") == helpers.avatar_hue("ada")
    assert 0 <= helpers.avatar_hue("ada") < 360


def test_email_without_smtp_server_goes_to_the_log(app, caplog) -> None:
    rt = runtime()
    saved = rt.settings
    rt.settings = saved.replace(smtp_host="")
    try:
        with caplog.at_level(logging.WARNING, logger="pagurus.tasks.mail"):
            result = mail.send_email.apply(
                args=("someone@example.com", "Confirm\nInjected: header",
                      "open http://pagurus.test/confirm/abc")).get()
    finally:
        rt.settings = saved
    assert result == {"message": "logged", "to": "someone@example.com"}
    assert "http://pagurus.test/confirm/abc" in caplog.text
    assert "No SMTP server configured" in caplog.text


def test_subject_cannot_inject_headers(settings) -> None:
    msg = mail.build_message(settings, "a@example.com", "Hi\r\nBcc: x@example.com", "body")
    assert msg["Subject"] == "Hi Bcc: x@example.com"
    assert msg["Bcc"] is None
