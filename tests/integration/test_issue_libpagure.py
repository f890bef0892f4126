"""A real third-party client, ``libpagure`` (unmodified, from PyPI), drives the
issue tracker of a live ``pagurus web`` (gunicorn): it opens, lists,
comments on and closes issues the way it does against pagure.io."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import unique
from issue_fixture import tracker_project
from libpagure import Pagure
from libpagure.exceptions import APIError
from livehelp import live_web

from pagurus import config
from pagurus.core import tokens as core_tokens
from pagurus.core import users as core_users

pytestmark = pytest.mark.slow

ISSUE_ACLS = ["issue_create", "issue_comment", "issue_change_status", "issue_update"]


@pytest.fixture(scope="module")
def web(settings: config.Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``pagurus web`` on the test settings (same database and data dir)."""
    with live_web(settings, tmp_path_factory.mktemp("libpagure-web") / "web.log") as base:
        yield base


@pytest.fixture
def tracker(app: Any, settings: config.Settings) -> dict[str, Any]:
    """A project; its owner with a user-level and a project token; a reporter
    and a stranger with user-level tokens."""
    session = app.extensions["pagurus"]["sessions"]()
    try:
        owner = core_users.create_user(session, unique("own"), f"{unique('o')}@example.com",
                                       password="correct horse battery")
        reporter = core_users.create_user(session, unique("rep"), f"{unique('r')}@example.com",
                                          password="correct horse battery")
        stranger = core_users.create_user(session, unique("str"), f"{unique('s')}@example.com",
                                          password="correct horse battery")
        session.commit()
        project = tracker_project(session, settings, owner)
        user_token, _ = core_tokens.create_token(session, owner, ISSUE_ACLS)
        project_token, _ = core_tokens.create_token(session, owner, ISSUE_ACLS,
                                                    project=project)
        reporter_token, _ = core_tokens.create_token(session, reporter, ["issue_create",
                                                                         "issue_comment"])
        stranger_token, _ = core_tokens.create_token(session, stranger, ISSUE_ACLS)
        session.commit()
        return {"owner": owner.name, "reporter": reporter.name, "project": project.name,
                "user_token": user_token, "project_token": project_token,
                "reporter_token": reporter_token, "stranger_token": stranger_token}
    finally:
        session.close()


def client_for(web: str, tracker: dict[str, Any], token: str | None) -> Pagure:
    return Pagure(pagure_token=token, pagure_repository=tracker["project"], instance_url=web,
                  insecure=True)


def test_libpagure_opens_lists_comments_on_and_closes_issues(web, tracker) -> None:
    owner = client_for(web, tracker, tracker["user_token"])
    reporter = client_for(web, tracker, tracker["reporter_token"])
    anonymous = client_for(web, tracker, None)
    assert anonymous.api_version() == "0.31"

    made = owner.create_issue("Crash on start", "It crashes, see log", priority="1",
                              milestone="v1", tags="bug,crash", assignee=tracker["reporter"])
    assert made["message"] == "Issue created"
    first = made["issue"]
    assert (first["title"], first["priority"], first["milestone"]) == ("Crash on start", 1,
                                                                       "v1")
    assert first["tags"] == ["bug", "crash"]
    assert first["assignee"]["name"] == tracker["reporter"]
    second = reporter.create_issue("Typo in docs", "teh -> the")["issue"]
    secret = owner.create_issue("Security hole", "details", private=True)["issue"]
    assert secret["private"] is True
    assert sorted(owner.list_tags()) == ["bug", "crash"]

    listed = anonymous.list_issues()
    assert sorted(i["id"] for i in listed) == sorted([first["id"], second["id"]])
    assert secret["id"] in [i["id"] for i in owner.list_issues()]
    assert [i["id"] for i in anonymous.list_issues(tags="crash")] == [first["id"]]
    assert [i["id"] for i in anonymous.list_issues(author=tracker["reporter"])] == [
        second["id"]]

    done = reporter.comment_issue(second["id"], "Also on page 3, **please** fix")
    assert done["message"] == "Comment added" and done["user"] == tracker["reporter"]
    info = anonymous.issue_info(second["id"])
    assert [c["comment"] for c in info["comments"]] == ["Also on page 3, **please** fix"]
    project_client = client_for(web, tracker, tracker["project_token"])
    comment_id = info["comments"][0]["id"]
    one = project_client.get_list_comment(second["id"], comment_id)
    assert one["comment"] == "Also on page 3, **please** fix" and "comment_date" in one

    closed = owner.change_issue_status(second["id"], "Closed", "Fixed")
    assert closed["message"] == ["Issue status updated to: Closed (was: Open)",
                                 "Issue close_status updated to: Fixed"]
    info = anonymous.issue_info(second["id"])
    assert (info["status"], info["close_status"]) == ("Closed", "Fixed")
    assert info["closed_by"]["name"] == tracker["owner"]
    assert info["comments"][-1]["notification"] is True
    assert [i["id"] for i in anonymous.list_issues()] == [first["id"]]
    assert [i["id"] for i in anonymous.list_issues(status="Closed")] == [second["id"]]

    with pytest.raises(APIError, match="Invalid or incomplete input"):
        owner.change_issue_status(first["id"], "Sleeping")
    with pytest.raises(APIError, match="Missing ACLs"):
        reporter.change_issue_status(first["id"], "Closed")
    stranger = client_for(web, tracker, tracker["stranger_token"])
    with pytest.raises(APIError, match="not allowed"):
        stranger.change_issue_status(first["id"], "Closed")
    assert anonymous.issue_info(first["id"])["status"] == "Open"
