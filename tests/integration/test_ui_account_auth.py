"""Accounts in the browser: register, confirm, log in and out, lost passwords.

Emails go through the real worker to the real test SMTP server (``mailbox``).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import PASSWORD, csrf_of, login_as, unique

from pagurus.core import users as core_users
from pagurus.model import User, utcnow

HOSTILE = "<script>alert(1)</script>"


def post(client: Any, url: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
    """POST a form the way the page does: with the session's CSRF token."""
    return client.post(url, data={"csrf_token": csrf_of(client), **(data or {})}, **kw)


def link_in(message: Any, path: str) -> str:
    """The path of the first link to ``path`` in an email's body."""
    found = re.search(r"http://pagurus\.test(" + re.escape(path) + r"\S+)",
                      message.get_content())
    assert found, message.get_content()
    return found.group(1)


def to(address: str) -> Any:
    return lambda m: m["To"] == address


def logged_in_as(client: Any) -> str | None:
    """The user name the site greets, from the settings page (None: not logged in)."""
    resp = client.get("/settings")
    if resp.status_code != 200:
        return None
    found = re.search(r"Settings of ([^<]+)</h1>", resp.get_data(as_text=True))
    return found.group(1).strip() if found else None


def fresh_user(session: Any, user_id: int) -> User:
    session.rollback()
    session.expire_all()
    return session.get(User, user_id)


def test_register_confirm_by_email_then_log_in(client, worker, mailbox, session) -> None:
    name = unique("reg")
    email = f"{name}@example.com"
    page = client.get("/user/new")
    assert page.status_code == 200 and 'name="confirm_password"' in page.get_data(as_text=True)

    resp = post(client, "/user/new", {"user": name, "fullname": "New Person",
                                      "email_address": email, "password": PASSWORD,
                                      "confirm_password": PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"] == "/login/"
    user = core_users.get_user(session, name)
    assert user is not None and not user.active

    # not confirmed yet: the login is refused
    refused = post(client, "/login/", {"username": name, "password": PASSWORD})
    assert refused.status_code == 401
    assert "not yet confirmed" in refused.get_data(as_text=True)
    assert logged_in_as(client) is None

    message = mailbox.wait_for(to(email))
    assert name in message["Subject"] or "Confirm" in message["Subject"]
    confirm = client.get(link_in(message, "/confirm/"))
    assert confirm.status_code == 302
    assert fresh_user(session, user.id).active

    ok = post(client, "/dologin", {"username": name, "password": PASSWORD,
                                   "next_url": "/settings"})
    assert ok.status_code == 302 and ok.headers["Location"] == "/settings"
    assert logged_in_as(client) == name


def test_register_refuses_bad_input_and_changes_nothing(client, make_user, session) -> None:
    taken = make_user()
    name = unique("reg")
    cases = [
        ({"user": name, "email_address": f"{name}@example.com", "password": PASSWORD,
          "confirm_password": PASSWORD + "x"}, "do not match"),
        ({"user": taken.name, "email_address": f"{name}@example.com", "password": PASSWORD,
          "confirm_password": PASSWORD}, "Already taken"),
        ({"user": name, "email_address": taken.default_email, "password": PASSWORD,
          "confirm_password": PASSWORD}, "Already in use"),
        ({"user": name, "email_address": "not-an-email", "password": PASSWORD,
          "confirm_password": PASSWORD}, "Not a valid email"),
        ({"user": "-" + name, "email_address": f"{name}@example.com", "password": PASSWORD,
          "confirm_password": PASSWORD}, "Use letters"),
        ({"user": name, "email_address": f"{name}@example.com", "password": "short",
          "confirm_password": "short"}, "At least 8"),
    ]
    for form, message in cases:
        resp = post(client, "/user/new", form)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 400, form
        assert message in html, (form, html)
        assert 'class="field-error"' in html
    session.rollback()
    assert core_users.get_user(session, name) is None


def test_registration_closed_answers_404(app, client) -> None:
    settings = app.extensions["pagurus"]["settings"]
    app.extensions["pagurus"]["settings"] = settings.replace(allow_registration=False)
    try:
        assert client.get("/user/new").status_code == 404
        page = client.get("/login/").get_data(as_text=True)
        assert 'href="/user/new"' not in page
    finally:
        app.extensions["pagurus"]["settings"] = settings


def test_bad_confirmation_link_activates_nothing(client) -> None:
    resp = client.get("/confirm/not-a-token", follow_redirects=True)
    assert "No user associated with this token" in resp.get_data(as_text=True)


def test_login_with_wrong_password_is_refused(client, make_user) -> None:
    user = make_user()
    for name, password in ((user.name, "wrong password"), (unique("nobody"), PASSWORD)):
        resp = post(client, "/login/", {"username": name, "password": password})
        assert resp.status_code == 401
        assert "Username or password invalid." in resp.get_data(as_text=True)
    assert logged_in_as(client) is None


def test_blocked_user_cannot_log_in_and_loses_their_session(client, app, make_user,
                                                            session) -> None:
    user = make_user()
    assert post(client, "/login/", {"username": user.name, "password": PASSWORD}
                ).status_code == 302
    assert logged_in_as(client) == user.name

    row = fresh_user(session, user.id)
    core_users.block_user(row, utcnow().replace(year=utcnow().year + 1))
    session.commit()

    # the session that was open stops working at once
    resp = client.get("/settings")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login/")
    refused = post(client, "/login/", {"username": user.name, "password": PASSWORD})
    assert refused.status_code == 401
    assert "This account is blocked." in refused.get_data(as_text=True)
    assert logged_in_as(client) is None


@pytest.mark.parametrize("target,expected", [
    ("/settings", "/settings"),
    ("/settings?x=1", "/settings?x=1"),
    ("https://evil.example/", "/"),
    ("//evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
    ("/\r\nSet-Cookie: a=b", "/"),
])
def test_login_next_only_goes_to_local_pages(client, make_user, target, expected) -> None:
    user = make_user()
    resp = post(client, "/login/", {"username": user.name, "password": PASSWORD,
                                    "next_url": target})
    assert resp.status_code == 302
    assert resp.headers["Location"] == expected


def test_login_page_carries_next_from_the_query(client) -> None:
    html = client.get("/login/?next=/settings").get_data(as_text=True)
    assert 'name="next_url" value="/settings"' in html
    html = client.get("/login/?next=https://evil.example/").get_data(as_text=True)
    assert 'name="next_url" value="/"' in html


def test_pages_needing_login_send_to_login_with_next(client) -> None:
    resp = client.get("/settings")
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/login/?next=/settings"


def test_post_without_csrf_token_is_refused_and_changes_nothing(client, make_user,
                                                               session) -> None:
    user = make_user()
    resp = client.post("/login/", data={"username": user.name, "password": PASSWORD})
    assert resp.status_code == 400
    assert logged_in_as(client) is None

    login_as(client, user)
    resp = client.post("/settings", data={"fullname": "Changed Name"})
    assert resp.status_code == 400
    resp = client.post("/settings", data={"fullname": "Changed Name", "csrf_token": "forged"})
    assert resp.status_code == 400
    assert fresh_user(session, user.id).fullname == user.fullname
    assert client.post("/logout/").status_code == 400
    assert logged_in_as(client) == user.name


def test_logout_ends_the_session(client, make_user) -> None:
    user = make_user()
    login_as(client, user)
    page = client.get("/logout/")
    assert page.status_code == 200 and 'action="/logout/"' in page.get_data(as_text=True)
    resp = post(client, "/logout/")
    assert resp.status_code == 302
    assert logged_in_as(client) is None


def test_lost_password_reset_by_email(client, worker, mailbox, make_user, session) -> None:
    user = make_user()
    answer_known = post(client, "/password/lost", {"username": user.name},
                        follow_redirects=True).get_data(as_text=True)
    answer_unknown = post(client, "/password/lost", {"username": unique("ghost")},
                          follow_redirects=True).get_data(as_text=True)
    assert "If this account exists" in answer_known and "If this account exists" in answer_unknown

    message = mailbox.wait_for(to(user.default_email))
    path = link_in(message, "/password/reset/")

    # a second request within 3 minutes gets the same answer and no new token
    token_before = fresh_user(session, user.id).reset_token
    again = post(client, "/password/lost", {"username": user.name}, follow_redirects=True)
    assert "If this account exists" in again.get_data(as_text=True)
    assert fresh_user(session, user.id).reset_token == token_before

    assert client.get(path).status_code == 200
    mismatch = post(client, path, {"password": "new password 1", "confirm_password": "nope"})
    assert mismatch.status_code == 400 and "do not match" in mismatch.get_data(as_text=True)
    done = post(client, path, {"password": "new password 1",
                               "confirm_password": "new password 1"})
    assert done.status_code == 302 and done.headers["Location"] == "/login/"

    # the link works once; the old password is gone, the new one works
    used = client.get(path)
    assert used.status_code == 302 and used.headers["Location"] == "/password/lost"
    assert post(client, "/login/", {"username": user.name, "password": PASSWORD}
                ).status_code == 401
    assert post(client, "/login/", {"username": user.name, "password": "new password 1"}
                ).status_code == 302


def test_change_password(client, app, make_user, session) -> None:
    user = make_user()
    other_browser = app.test_client()
    login_as(other_browser, user)
    login_as(client, user)

    wrong = post(client, "/password/change", {"old_password": "not it",
                                              "password": "brand new pass",
                                              "confirm_password": "brand new pass"})
    assert wrong.status_code == 400
    assert "This is not your current password." in wrong.get_data(as_text=True)
    short = post(client, "/password/change", {"old_password": PASSWORD, "password": "short",
                                              "confirm_password": "short"})
    assert short.status_code == 400 and "At least 8" in short.get_data(as_text=True)
    assert core_users.check_password(fresh_user(session, user.id), PASSWORD)

    ok = post(client, "/password/change", {"old_password": PASSWORD,
                                           "password": "brand new pass",
                                           "confirm_password": "brand new pass"})
    assert ok.status_code == 302
    assert core_users.check_password(fresh_user(session, user.id), "brand new pass")
    # this browser stays logged in, the other one is logged out
    assert logged_in_as(client) == user.name
    assert logged_in_as(other_browser) is None


def test_hostile_names_come_back_escaped(client, make_user, session) -> None:
    user = make_user()
    row = fresh_user(session, user.id)
    row.fullname = HOSTILE
    session.commit()
    login_as(client, user)
    for url in ("/settings", "/settings/token/new", "/password/change"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in html, url
    html = client.get("/settings").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html

    anon = client.application.test_client()
    refused = post(anon, "/login/", {"username": HOSTILE, "password": "x",
                                     "next_url": '"><script>alert(1)</script>'})
    html = refused.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    bad = post(anon, "/user/new", {"user": HOSTILE, "fullname": HOSTILE,
                                   "email_address": HOSTILE, "password": PASSWORD,
                                   "confirm_password": PASSWORD})
    assert bad.status_code == 400
    assert "<script>alert(1)</script>" not in bad.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/login/", "/user/new", "/password/lost"])
def test_pages_answer_with_the_csp_header(client, url) -> None:
    resp = client.get(url)
    assert resp.status_code == 200
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self' 'nonce-" in csp
    assert resp.headers["X-Frame-Options"] == "DENY"
