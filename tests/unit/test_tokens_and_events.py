"""API tokens (hashed, ACL-scoped, expiring) and the outbox transaction rule."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from pagurus.core import projects, tokens
from pagurus.core.errors import InvalidInput
from pagurus.model import ApiToken, Event, Project, utcnow


def test_a_token_is_shown_once_and_stored_hashed(session, make_user):
    user = make_user()
    raw, row = tokens.create_token(session, user, ["create_project"], description="ci")
    session.commit()
    assert len(raw) == 64 and raw.isalnum() and raw.upper() == raw
    stored = session.scalar(select(ApiToken).where(ApiToken.id == row.id))
    assert raw not in (stored.token_hash, stored.prefix) and stored.prefix == raw[:8]
    assert tokens.authenticate(session, raw).user_id == user.id


def test_unknown_and_expired_tokens_are_refused_with_their_reason(session, make_user):
    user = make_user()
    raw, row = tokens.create_token(session, user, ["commit"])
    with pytest.raises(tokens.TokenRefused, match="Invalid token"):
        tokens.authenticate(session, "X" * 64)
    row.expiration = utcnow() - timedelta(seconds=1)
    with pytest.raises(tokens.TokenRefused, match="Expired token"):
        tokens.authenticate(session, raw)
    session.rollback()


def test_tokens_of_blocked_users_stop_working(session, make_user):
    user = make_user()
    raw, _ = tokens.create_token(session, user, ["commit"])
    user.blocked_until = utcnow() + timedelta(days=3)
    with pytest.raises(tokens.TokenRefused):
        tokens.authenticate(session, raw)
    session.rollback()


@pytest.mark.parametrize("acls", [[], ["nope"], ["internal_access", "bogus"]])
def test_unknown_or_missing_acls_are_refused(session, make_user, acls):
    user = make_user()
    before = session.scalar(select(ApiToken.id).order_by(ApiToken.id.desc()).limit(1))
    with pytest.raises(InvalidInput):
        tokens.create_token(session, user, acls, allowed=tokens.USER_ACLS)
    session.rollback()
    assert session.scalar(select(ApiToken.id).order_by(ApiToken.id.desc()).limit(1)) == before


def test_token_lifetime_is_bounded(session, make_user):
    user = make_user()
    with pytest.raises(InvalidInput):
        tokens.create_token(session, user, ["commit"], days=731)
    with pytest.raises(InvalidInput):
        tokens.create_token(session, user, ["commit"], days=0)
    session.rollback()


def test_project_events_commit_with_the_change_or_not_at_all(session, settings, make_user):
    owner = make_user()
    name = "ev" + owner.name[-8:]
    project = projects.create_project(session, settings, owner, name, "events")
    pid = project.id
    session.rollback()  # the change is abandoned: its event must vanish too
    assert session.get(Project, pid) is None
    assert not session.scalars(select(Event).where(Event.project_id == pid)).all()

    project = projects.create_project(session, settings, owner, name, "events")
    session.commit()
    topics = session.scalars(select(Event.topic).where(Event.project_id == project.id)).all()
    assert topics == ["project.new"]
    event = session.scalar(select(Event).where(Event.project_id == project.id))
    assert event.payload["agent"] == owner.name
    assert event.payload["project"]["fullname"] == name


def test_access_changes_record_pagure_topics(session, settings, make_user):
    owner, other = make_user(), make_user()
    project = projects.create_project(session, settings, owner, "ac" + owner.name[-8:], "x")
    projects.set_user_access(session, owner, project, other, "ticket")
    projects.set_user_access(session, owner, project, other, "commit")
    projects.set_user_access(session, owner, project, other, None)
    session.commit()
    topics = session.scalars(select(Event.topic).where(Event.project_id == project.id)
                             .order_by(Event.id)).all()
    assert topics == ["project.new", "project.user.added", "project.user.access.updated",
                      "project.user.removed"]
