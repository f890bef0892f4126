"""A private project's code is 404 on every browsing page, to anonymous
visitors and to logged-in non-members alike - exactly like a missing one."""

from __future__ import annotations

import browse_fixture as bf
import pytest
from conftest import login_as

from pagurus.core import users as core_users

SUFFIXES = ("", "/tree", "/tree/main", "/tree/main/f/README.md", "/blob/main/f/README.md",
            "/blob/main/f/secret.txt", "/raw/main/f/secret.txt", "/raw/main",
            "/blame/secret.txt?identifier=main", "/blame/main/f/secret.txt",
            "/history/secret.txt?identifier=main", "/history/main/f/secret.txt")


@pytest.fixture(scope="module")
def fx(app, worker):
    return bf.shared(app)


def assert_like_missing(client, fx, suffix):
    """Same status and same page as a project that does not exist."""
    name = fx.private_url.rsplit("/", 1)[1]
    resp = client.get(fx.private_url + suffix)
    missing = client.get("/nosuchproject0000" + suffix)
    assert resp.status_code == missing.status_code == 404
    assert resp.data.replace(name.encode(), b"X") == \
        missing.data.replace(b"nosuchproject0000", b"X")
    assert b"secret\n" not in resp.data and b"secret readme" not in resp.data


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_anonymous_visitors_get_404(client, fx, suffix):
    assert_like_missing(client, fx, suffix)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_non_members_get_404(client, fx, make_user, suffix):
    login_as(client, make_user())
    assert_like_missing(client, fx, suffix)


def test_the_owner_sees_everything(client, fx, session):
    login_as(client, core_users.get_user(session, fx.private_owner))
    for suffix in SUFFIXES:
        resp = client.get(fx.private_url + suffix)
        assert resp.status_code == (302 if suffix.endswith("README.md") and "/tree/" in suffix
                                    else 200), suffix
    resp = client.get(fx.private_url + "/raw/main/f/secret.txt")
    assert resp.data == b"secret\n"
    assert resp.headers["Cache-Control"].startswith("private")


def test_the_api_hides_private_trees_too(client, fx):
    for suffix in ("/tree", "/tree/main/f/secret.txt"):
        resp = client.get("/api/0" + fx.private_url + suffix)
        assert resp.status_code == 404
        assert resp.get_json()["error_code"] == "ENOPROJECT"
