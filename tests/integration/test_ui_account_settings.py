"""User settings in the browser: profile, emails, API tokens, SSH keys, sessions."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import PASSWORD, auth, csrf_of, login_as, unique

from pagurus.core import sshkeys as core_sshkeys
from pagurus.core import tokens as core_tokens
from pagurus.core import users as core_users
from pagurus.core.tokens import TokenRefused
from pagurus.model import ApiToken, SSHKey, User, UserEmail, utcnow

HOSTILE = "<script>alert(1)</script>"


def post(client: Any, url: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
    return client.post(url, data={"csrf_token": csrf_of(client), **(data or {})}, **kw)


def fresh(session: Any, model: Any, ident: int) -> Any:
    session.rollback()
    session.expire_all()
    return session.get(model, ident)


def flashes(resp: Any) -> str:
    return " ".join(re.findall(r'class="flash flash-\w+">([^<]*)<', resp.get_data(as_text=True)))


@pytest.fixture
def me(client: Any, make_user: Any) -> User:
    user = make_user()
    login_as(client, user)
    return user


# -- profile and sessions ---------------------------------------------------------
def test_settings_page_shows_every_section(client, me) -> None:
    html = client.get("/settings").get_data(as_text=True)
    for anchor in ('id="profile"', 'id="emails"', 'id="keys"', 'id="tokens"',
                   'id="security"', 'action="/settings/forcelogout"',
                   'href="/password/change"', me.default_email):
        assert anchor in html


def test_change_full_name(client, me, session) -> None:
    resp = post(client, "/settings", {"fullname": "Ada Lovelace"})
    assert resp.status_code == 302
    assert fresh(session, User, me.id).fullname == "Ada Lovelace"
    bad = post(client, "/settings", {"fullname": "x" * 256})
    assert bad.status_code == 400 and "At most 255" in bad.get_data(as_text=True)
    assert fresh(session, User, me.id).fullname == "Ada Lovelace"


def test_old_login_must_log_in_again_for_settings(client, me) -> None:
    with client.session_transaction() as sess:
        sess["login_at"] = utcnow().timestamp() - 3600
    resp = client.get("/settings/token/new")
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/login/?next=/settings/token/new"
    page = client.get("/login/?next=/settings/token/new").get_data(as_text=True)
    assert "Action canceled, try it again" in page
    # and the old session is over
    assert client.get("/settings").status_code == 302


def test_log_out_everywhere(client, app, me) -> None:
    other = app.test_client()
    login_as(other, me)
    resp = post(client, "/settings/forcelogout")
    assert resp.status_code == 302 and resp.headers["Location"] == "/login/"
    assert client.get("/settings").status_code == 302
    assert other.get("/settings").status_code == 302
    # a new login works again
    fresh_login = post(app.test_client(), "/login/", {"username": me.name,
                                                      "password": PASSWORD})
    assert fresh_login.status_code == 302


def test_preferences_are_saved(client, me, session) -> None:
    post(client, "/settings/usersettings", {"cc_me_to_my_actions": "1"})
    assert fresh(session, User, me.id).settings["cc_me_to_my_actions"] is True
    post(client, "/settings/usersettings", {})
    assert fresh(session, User, me.id).settings["cc_me_to_my_actions"] is False


# -- emails -----------------------------------------------------------------------
def test_add_confirm_default_and_drop_emails(client, worker, mailbox, me, session) -> None:
    extra = f"{unique('alt')}@example.org"
    first = me.default_email
    resp = post(client, "/settings/email/add", {"email": extra})
    assert resp.status_code == 302
    row = session.query(UserEmail).filter_by(email=extra).one()
    assert row.user_id == me.id and not row.verified
    assert "pending confirmation" in client.get("/settings").get_data(as_text=True)

    # a pending email can't be the default
    refused = post(client, "/settings/email/default", {"email": extra}, follow_redirects=True)
    assert "Confirm this email address" in flashes(refused)
    assert fresh(session, User, me.id).default_email == first

    # resend, then confirm with the link of the email
    post(client, "/settings/email/resend", {"email": extra})
    message = mailbox.wait_for(lambda m: m["To"] == extra)
    link = re.search(r"http://pagurus\.test(/settings/email/confirm/\S+)",
                     message.get_content()).group(1)
    # somebody else's browser can't confirm it
    stranger_client = client.application.test_client()
    stranger = core_users.create_user(session, unique("s"), f"{unique('s')}@example.com",
                                      password=PASSWORD)
    session.commit()
    login_as(stranger_client, stranger)
    stranger_client.get(link)
    assert not fresh(session, UserEmail, row.id).verified
    assert client.get(link).status_code == 302
    assert fresh(session, UserEmail, row.id).verified

    # the default email can't be dropped; a confirmed one can become the default
    refused = post(client, "/settings/email/drop", {"email": first}, follow_redirects=True)
    assert "cannot remove your default" in flashes(refused)
    post(client, "/settings/email/default", {"email": extra})
    assert fresh(session, User, me.id).default_email == extra
    dropped = post(client, "/settings/email/drop", {"email": first},
                   follow_redirects=True)
    assert "removed" in flashes(dropped), flashes(dropped)
    user = fresh(session, User, me.id)
    assert [e.email for e in user.emails] == [extra]

    # the last email can't be dropped
    refused = post(client, "/settings/email/drop", {"email": extra}, follow_redirects=True)
    assert "You must keep at least one email address" in flashes(refused)
    assert [e.email for e in fresh(session, User, me.id).emails] == [extra]


def test_email_used_by_someone_else_is_refused(client, me, make_user, session) -> None:
    other = make_user()
    resp = post(client, "/settings/email/add", {"email": other.default_email})
    assert resp.status_code == 400 and "Already in use" in resp.get_data(as_text=True)
    bad = post(client, "/settings/email/add", {"email": HOSTILE})
    assert bad.status_code == 400
    assert "<script>alert(1)</script>" not in bad.get_data(as_text=True)
    assert len(fresh(session, User, me.id).emails) == 1


def test_cannot_touch_the_emails_of_others(client, me, make_user, session) -> None:
    other = make_user()
    resp = post(client, "/settings/email/drop", {"email": other.default_email},
                follow_redirects=True)
    assert "You do not have this email address" in flashes(resp)
    assert fresh(session, User, other.id).emails


# -- API tokens ---------------------------------------------------------------------
def test_create_token_shown_once_then_revoke(client, app, me, session) -> None:
    form = client.get("/settings/token/new").get_data(as_text=True)
    for acl in core_tokens.CROSS_PROJECT_ACLS:
        assert f'value="{acl}"' in form
    assert 'value="issue_create"' not in form

    resp = post(client, "/settings/token/new", {"description": f"ci {HOSTILE}",
                                                "expiration_days": "30",
                                                "acls": ["create_project", "fork_project"]})
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    html = resp.get_data(as_text=True)
    raw = re.search(r'<code id="new-token" class="secret">([A-Z0-9]{64})</code>', html).group(1)
    assert "<script>alert(1)</script>" not in html

    token = core_tokens.authenticate(session, raw)
    assert token.user_id == me.id and token.acls == ["create_project", "fork_project"]
    assert token.project_id is None
    session.rollback()

    # the list shows the prefix, never the secret again
    listing = client.get("/settings").get_data(as_text=True)
    assert token.prefix in listing and raw not in listing
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing

    if any(r.rule == "/api/0/-/whoami" for r in app.url_map.iter_rules()):
        assert app.test_client().post("/api/0/-/whoami", headers=auth(raw)).status_code == 200

    assert post(client, f"/settings/token/revoke/{token.id}").status_code == 302
    session.rollback()
    with pytest.raises(TokenRefused, match="Expired token"):
        core_tokens.authenticate(session, raw)
    session.rollback()
    assert "expired" in client.get("/settings").get_data(as_text=True)
    if any(r.rule == "/api/0/-/whoami" for r in app.url_map.iter_rules()):
        assert app.test_client().post("/api/0/-/whoami", headers=auth(raw)).status_code == 401


def test_token_form_refuses_bad_input(client, me, session) -> None:
    before = session.query(ApiToken).filter_by(user_id=me.id).count()
    cases = [
        ({"expiration_days": "30", "acls": ["issue_create"]}, "Not allowed: issue_create"),
        ({"expiration_days": "30", "acls": ["internal_access"]}, "Not allowed"),
        ({"expiration_days": "30"}, "Pick at least one"),
        ({"expiration_days": "0", "acls": ["commit"]}, "from 1 to"),
        ({"expiration_days": "9999", "acls": ["commit"]}, "from 1 to"),
        ({"expiration_days": "soon", "acls": ["commit"]}, "from 1 to"),
    ]
    for form, message in cases:
        resp = post(client, "/settings/token/new", form)
        assert resp.status_code == 400, form
        assert message in resp.get_data(as_text=True), form
    session.rollback()
    assert session.query(ApiToken).filter_by(user_id=me.id).count() == before


def test_renew_token_keeps_acls_and_description(client, me, session) -> None:
    raw, old = core_tokens.create_token(session, me, ["commit"], days=3, description="deploy")
    session.commit()
    resp = post(client, f"/settings/token/renew/{old.id}")
    assert resp.status_code == 200
    new_raw = re.search(r'class="secret">([A-Z0-9]{64})<', resp.get_data(as_text=True)).group(1)
    assert new_raw != raw
    session.rollback()
    new = core_tokens.authenticate(session, new_raw)
    assert new.id != old.id and new.acls == ["commit"] and new.description == "deploy"
    assert 179 <= (new.expiration - utcnow()).days <= 180


def test_tokens_of_others_answer_404(client, me, make_user, session) -> None:
    other = make_user()
    raw, theirs = core_tokens.create_token(session, other, ["commit"], days=3)
    session.commit()
    assert post(client, f"/settings/token/revoke/{theirs.id}").status_code == 404
    assert post(client, f"/settings/token/renew/{theirs.id}").status_code == 404
    assert post(client, "/settings/token/revoke/999999999").status_code == 404
    session.rollback()
    assert core_tokens.authenticate(session, raw).id == theirs.id


# -- SSH keys -----------------------------------------------------------------------
def keygen(tmp_path: Path, kind: str = "ed25519") -> tuple[str, str]:
    """(public key line, ssh-keygen's SHA256 fingerprint) of a fresh key."""
    path = tmp_path / unique("k")
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "laptop", "-f", str(path)],
                   check=True, capture_output=True)
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", f"{path}.pub"],
                         check=True, capture_output=True, text=True).stdout
    return Path(f"{path}.pub").read_text().strip(), out.split()[1]


def test_add_list_and_remove_ssh_keys(client, me, session, tmp_path) -> None:
    line, fingerprint = keygen(tmp_path)
    resp = post(client, "/settings/usersettings/addkey", {"ssh_key": line},
                follow_redirects=True)
    assert fingerprint in flashes(resp)
    listing = client.get("/settings").get_data(as_text=True)
    assert fingerprint in listing and "ssh-ed25519" in listing and "laptop" in listing
    session.rollback()
    key = core_sshkeys.find_by_fingerprint(session, fingerprint)
    assert key is not None and key.user_id == me.id

    rsa, rsa_fp = keygen(tmp_path, "rsa")
    post(client, "/settings/usersettings/addkey", {"ssh_key": rsa})
    assert rsa_fp in client.get("/settings").get_data(as_text=True)

    duplicate = post(client, "/settings/usersettings/addkey", {"ssh_key": line})
    assert duplicate.status_code == 400
    assert "This key is already in use." in duplicate.get_data(as_text=True)

    assert post(client, f"/settings/usersettings/removekey/{key.id}").status_code == 302
    session.rollback()
    assert core_sshkeys.find_by_fingerprint(session, fingerprint) is None
    assert fingerprint not in client.get("/settings").get_data(as_text=True)


@pytest.mark.parametrize("garbage,message", [
    ("not a key", "Unsupported key type"),
    ("ssh-ed25519 AAAA!!!!", "not valid base64"),
    ('command="rm -rf ~" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==', "options are not allowed"),
    (HOSTILE, "Unsupported key type"),
])
def test_garbage_ssh_keys_are_refused(client, me, session, garbage, message) -> None:
    resp = post(client, "/settings/usersettings/addkey", {"ssh_key": garbage})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and message in html
    assert "<script>alert(1)</script>" not in html
    session.rollback()
    assert core_sshkeys.user_keys(session, me) == []


def test_ssh_key_of_someone_else_answers_404(client, me, make_user, session,
                                            tmp_path) -> None:
    other = make_user()
    line, _fp = keygen(tmp_path)
    theirs = core_sshkeys.add_user_key(session, other, line)
    session.commit()
    assert post(client, f"/settings/usersettings/removekey/{theirs.id}").status_code == 404
    assert fresh(session, SSHKey, theirs.id) is not None
    # the same key can't be added by me either
    dup = post(client, "/settings/usersettings/addkey", {"ssh_key": line})
    assert dup.status_code == 400
