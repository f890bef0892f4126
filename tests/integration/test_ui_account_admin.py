"""Site administration page: users list, block/unblock, create; 404 for others."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from conftest import PASSWORD, csrf_of, login_as, unique

from pagurus.core import users as core_users
from pagurus.model import User

HOSTILE = "<script>alert(1)</script>"


def post(client: Any, url: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
    return client.post(url, data={"csrf_token": csrf_of(client), **(data or {})}, **kw)


def fresh(session: Any, user_id: int) -> User:
    session.rollback()
    session.expire_all()
    return session.get(User, user_id)


@pytest.fixture
def admin(client: Any, make_user: Any) -> User:
    user = make_user(admin=True)
    login_as(client, user)
    return user


def test_admin_pages_are_404_for_everyone_else(app, make_user, session) -> None:
    victim = make_user()
    anonymous = app.test_client()
    regular = app.test_client()
    login_as(regular, make_user())
    for browser in (anonymous, regular):
        assert browser.get("/admin").status_code == 404
        assert post(browser, f"/admin/users/{victim.name}/block",
                    {"until": (date.today() + timedelta(days=3)).isoformat()}
                    ).status_code == 404
        assert post(browser, "/admin/users/new",
                    {"user": unique("x"), "email_address": f"{unique('x')}@example.com"}
                    ).status_code == 404
    assert fresh(session, victim.id).blocked_until is None
    # the menu shows no admin link to them
    assert 'href="/admin"' not in regular.get("/settings").get_data(as_text=True)


def test_admin_lists_users_escaped(client, admin, make_user, session) -> None:
    other = make_user()
    row = fresh(session, other.id)
    row.fullname = HOSTILE
    session.commit()
    page = client.get(f"/admin?q={other.name}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert other.name in html and other.default_email in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="/admin"' in client.get("/settings").get_data(as_text=True)
    assert "Content-Security-Policy" in page.headers


def test_admin_blocks_and_unblocks_a_user(client, app, admin, make_user, session) -> None:
    victim = make_user()
    victim_browser = app.test_client()
    login_as(victim_browser, victim)
    assert victim_browser.get("/settings").status_code == 200

    until = (date.today() + timedelta(days=7)).isoformat()
    resp = post(client, f"/admin/users/{victim.name}/block", {"until": until},
                follow_redirects=True)
    assert f"blocked until {until}" in resp.get_data(as_text=True)
    assert fresh(session, victim.id).blocked_until.date().isoformat() == until
    # their session is gone and they can't log in
    assert victim_browser.get("/settings").status_code == 302
    refused = post(app.test_client(), "/login/", {"username": victim.name,
                                                  "password": PASSWORD})
    assert refused.status_code == 401

    post(client, f"/admin/users/{victim.name}/unblock")
    assert fresh(session, victim.id).blocked_until is None
    assert post(app.test_client(), "/login/", {"username": victim.name, "password": PASSWORD}
                ).status_code == 302


@pytest.mark.parametrize("until,message", [
    ("", "Give the date"),
    ("tomorrow", "Give the date"),
    ("2001-01-01", "future date"),
])
def test_block_needs_a_future_date(client, admin, make_user, session, until, message) -> None:
    victim = make_user()
    resp = post(client, f"/admin/users/{victim.name}/block", {"until": until},
                follow_redirects=True)
    assert message in resp.get_data(as_text=True)
    assert fresh(session, victim.id).blocked_until is None


def test_admin_cannot_block_themselves_nor_unknown_users(client, admin, session) -> None:
    until = (date.today() + timedelta(days=2)).isoformat()
    resp = post(client, f"/admin/users/{admin.name}/block", {"until": until},
                follow_redirects=True)
    assert "You cannot block yourself." in resp.get_data(as_text=True)
    assert fresh(session, admin.id).blocked_until is None
    assert post(client, f"/admin/users/{unique('ghost')}/block", {"until": until}
                ).status_code == 404


def test_admin_creates_a_user(client, app, admin, session) -> None:
    name = unique("made")
    resp = post(client, "/admin/users/new", {"user": name, "fullname": "Made Here",
                                             "email_address": f"{name}@example.com",
                                             "password": PASSWORD})
    assert resp.status_code == 302
    session.rollback()
    user = core_users.get_user(session, name)
    assert user is not None and user.active and not user.is_admin
    assert post(app.test_client(), "/login/", {"username": name, "password": PASSWORD}
                ).status_code == 302

    dup = post(client, "/admin/users/new", {"user": name,
                                            "email_address": f"{unique('o')}@example.com"})
    assert dup.status_code == 400 and "Already taken" in dup.get_data(as_text=True)
    bad = post(client, "/admin/users/new", {"user": HOSTILE, "email_address": "x@example.com"})
    assert bad.status_code == 400
    assert "<script>alert(1)</script>" not in bad.get_data(as_text=True)
