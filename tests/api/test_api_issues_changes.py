"""Changing issues through API v0: status, milestone, comments, assignee,
subscription and custom fields (spec §2.3)."""

from __future__ import annotations

from apihelp import error_of, grant
from conftest import auth
from issuehelp import BASE, issue_url, new_issue, reload, tracker_project
from sqlalchemy import select

from pagurus.core import issues as core_issues
from pagurus.model import IssueComment, IssueCustomValue, IssueWatcher


def notes_of(session, issue):
    session.expire_all()
    return session.scalars(select(IssueComment.comment).where(
        IssueComment.issue_id == issue.id, IssueComment.notification.is_(True))
        .order_by(IssueComment.id)).all()


def custom_of(session, issue):
    session.expire_all()
    return {v.key.name: v.value for v in session.scalars(select(IssueCustomValue).where(
        IssueCustomValue.issue_id == issue.id))}


# -- status -----------------------------------------------------------------------------

def test_a_triager_closes_with_a_close_status_and_reopens(client, session, settings,
                                                          make_user, make_token):
    owner, triager, author = make_user(), make_user(), make_user()
    project = tracker_project(session, settings, owner)
    grant(session, project, triager, "ticket")
    issue = new_issue(session, author, project)
    url = issue_url(project, issue, "/status")
    token = make_token(triager, ["issue_change_status"])
    resp = client.post(url, headers=auth(token), data={"status": "Fixed"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"message": ["Issue status updated to: Closed (was: Open)",
                                           "Issue close_status updated to: Fixed"]}
    issue = reload(session, issue)
    assert (issue.status, issue.close_status, issue.closed_by_id) == ("Closed", "Fixed",
                                                                      triager.id)
    assert notes_of(session, issue)[-1].startswith(f"**Metadata Update from @{triager.name}**")
    assert client.post(url, headers=auth(token), data={"status": "Fixed"}).get_json() == {
        "message": "No changes"}
    resp = client.post(url, headers=auth(token), json={"status": "Closed",
                                                       "close_status": "Invalid"})
    assert resp.get_json() == {"message": ["Issue close_status updated to: Invalid "
                                           "(was: Fixed)"]}
    resp = client.post(url, headers=auth(make_token(triager, ["issue_update"])),
                       data={"status": "Open"})
    assert resp.get_json() == {"message": ["Issue status updated to: Open (was: Closed)"]}
    issue = reload(session, issue)
    assert (issue.status, issue.close_status, issue.closed_at) == ("Open", None, None)


def test_closing_an_issue_that_depends_on_an_open_one_is_refused(client, session, settings,
                                                                 make_user, make_token):
    owner = make_user()
    project = tracker_project(session, settings, owner)
    parent = new_issue(session, owner, project, title="parent")
    child = new_issue(session, owner, project, title="child")
    core_issues.update_metadata(session, owner, child, base_url=BASE,
                                depends=str(parent.number))
    session.commit()
    before = len(notes_of(session, child))
    resp = client.post(issue_url(project, child, "/status"),
                       headers=auth(make_token(owner, ["issue_change_status"])),
                       data={"status": "Closed"})
    assert error_of(resp) == (400, "ENOCODE")
    assert "depending" in resp.get_json()["error"]
    assert reload(session, child).status == "Open"
    assert len(notes_of(session, child)) == before


def test_bad_status_values_change_nothing(client, session, settings, make_user, make_token):
    owner = make_user()
    project = tracker_project(session, settings, owner)
    issue = new_issue(session, owner, project)
    url = issue_url(project, issue, "/status")
    token = make_token(owner, ["issue_change_status"])
    for payload in ({}, {"status": ""}, {"status": "Pending"},
                    {"status": "Closed", "close_status": "Nope"}, {"status": ["Closed"]}):
        assert error_of(client.post(url, headers=auth(token), json=payload)) == (
            400, "EINVALIDREQ"), payload
    issue = reload(session, issue)
    assert issue.status == "Open" and notes_of(session, issue) == []


def test_the_assignee_may_close_but_not_the_author_or_others(client, session, settings,
                                                             make_user, make_token):
    owner, author, assignee, stranger = make_user(), make_user(), make_user(), make_user()
    project = tracker_project(session, settings, owner)
    issue = new_issue(session, owner, project)
    mine = new_issue(session, author, project)
    core_issues.update_metadata(session, owner, issue, base_url=BASE, assignee=assignee.name)
    session.commit()
    acl = ["issue_change_status"]
    assert error_of(client.post(issue_url(project, issue, "/status"), headers=auth(
        make_token(stranger, acl)), data={"status": "Closed"})) == (403, "EISSUENOTALLOWED")
    assert reload(session, issue).status == "Open"
    assert client.post(issue_url(project, issue, "/status"), headers=auth(
        make_token(assignee, acl)), data={"status": "Closed"}).status_code == 200
    assert error_of(client.post(issue_url(project, mine, "/status"), headers=auth(
        make_token(author, acl)), data={"status": "Closed"})) == (403, "EISSUENOTALLOWED")
    assert reload(session, issue).status == "Closed"
    assert reload(session, mine).status == "Open"


# -- milestone --------------------------------------------------------------------------

def test_the_milestone_is_set_changed_and_unset(client, session, settings, make_user,
                                                make_token):
    owner, reporter = make_user(), make_user()
    project = tracker_project(session, settings, owner)
    issue = new_issue(session, reporter, project)
    url = issue_url(project, issue, "/milestone")
    token = make_token(owner, ["issue_update_milestone"], project=project)
    assert client.post(url, headers=auth(token), data={"milestone": "v1"}).get_json() == {
        "message": ["Issue set to the milestone: v1"]}
    assert client.post(url, headers=auth(token), data={"milestone": "v2"}).get_json() == {
        "message": ["Issue set to the milestone: v2 (was: v1)"]}
    assert client.post(url, headers=auth(token), data={"milestone": "v2"}).get_json() == {
        "message": "No changes"}
    assert error_of(client.post(url, headers=auth(token), data={"milestone": "v9"})) == (
        400, "EINVALIDREQ")
    assert reload(session, issue).milestone == "v2"
    assert client.post(url, headers=auth(token), data={}).get_json() == {
        "message": ["Issue milestone reset (was: v2)"]}
    assert reload(session, issue).milestone is None
    # project token only; the reporter may not change metadata
    assert error_of(client.post(url, headers=auth(make_token(owner, ["issue_update"])),
                                data={"milestone": "v1"})) == (401, "EINVALIDTOK")
    assert error_of(client.post(url, headers=auth(
        make_token(reporter, ["issue_update"], project=project)), data={"milestone": "v1"})
    ) == (403, "EISSUENOTALLOWED")
    assert reload(session, issue).milestone is None


# -- comments -------------------------------------------------------------------------

def test_anyone_who_sees_the_issue_comments_on_it(client, session, settings, make_user,
                                                  make_token):
    owner, visitor = make_user(), make_user()
    project = tracker_project(session, settings, owner)
    issue = new_issue(session, owner, project)
    url = issue_url(project, issue, "/comment")
    resp = client.post(url, headers=auth(make_token(visitor, ["issue_comment"])),
                       data={"comment": "Me too <script>alert(1)</script>"})
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()
    assert data["message"] == "Comment added" and data["user"] == visitor.name
    assert data["avatar_url"].endswith(f"/avatar/{visitor.name}?size=30")
    comments = client.get(issue_url(project, issue)).get_json()["comments"]
    assert [(c["user"]["name"], c["comment"]) for c in comments] == [
        (visitor.name, "Me too <script>alert(1)</script>")]
    for payload in ({}, {"comment": "   "}, {"comment": "x" * 100_001}):
        assert error_of(client.post(url, headers=auth(make_token(visitor, ["issue_comment"])),
                                    json=payload)) == (400, "EINVALIDREQ")
    assert len(reload(session, issue).comments) == 1


# -- assignee -------------------------------------------------------------------------

def test_assign_reassign_reset_and_unknown_user(client, session, settings, make_user,
                                                make_token):
    owner, dev, other = make_user(), make_user(), make_user()
    project = tracker_project(session, settings, owner)
    issue = new_issue(session, owner, project)
    url = issue_url(project, issue, "/assign")
    token = make_token(owner, ["issue_assign"], project=project)
    assert client.post(url, headers=auth(token), data={"assignee": dev.name}).get_json() == {
        "message": f"Issue assigned to {dev.name}"}
    assert client.post(url, headers=auth(token), data={"assignee": dev.name}).get_json() == {
        "message": "Nothing to change"}
    assert client.post(url, headers=auth(token), data={"assignee": other.name}).get_json() == {
        "message": f"Issue assigned to {other.name} (was: {dev.name})"}
    resp = client.post(url, headers=auth(token), data={"assignee": "no-such-user-here"})
    assert error_of(resp) == (400, "ENOCODE")
    assert reload(session, issue).assignee_id == other.id
    assert client.post(url, headers=auth(token), data={"assignee": ""}).get_json() == {
        "message": "Assignee reset"}
    assert reload(session, issue).assignee_id is None


def test_the_assignee_hands_over_but_a_stranger_may_not_assign(client, session, settings,
                                                               make_user, make_token):
    owner, assignee, stranger = make_user(), make_user(), make_user()
    project = tracker_project(session, settings, owner)
    issue = new_issue(session, owner, project, assignee=assignee.name)
    url = issue_url(project, issue, "/assign")
    assert error_of(client.post(url, headers=auth(
        make_token(stranger, ["issue_assign"], project=project)),
        data={"assignee": stranger.name})) == (403, "EISSUENOTALLOWED")
    resp = client.post(url, headers=auth(make_token(assignee, ["issue_assign"], project=project)),
                       data={"assignee": owner.name})
    assert resp.get_json() == {"message": f"Issue assigned to {owner.name} (was: "
                                          f"{assignee.name})"}


# -- subscription ---------------------------------------------------------------------

def test_a_user_watches_and_unwatches_an_issue(client, session, settings, make_user,
                                               make_token):
    owner, fan = make_user(), make_user()
    project = tracker_project(session, settings, owner)
    issue = new_issue(session, owner, project)
    url = issue_url(project, issue, "/subscribe")
    token = make_token(fan, ["issue_subscribe"], project=project)
    resp = client.post(url, headers=auth(token), data={"status": "true"})
    assert resp.get_json() == {"message": "You are now watching this issue",
                               "avatar_url": resp.get_json()["avatar_url"], "user": fan.name}
    assert core_issues.is_subscribed(session, fan, reload(session, issue))
    resp = client.post(url, headers=auth(token), json={"status": False})
    assert resp.get_json()["message"] == "You are no longer watching this issue"
    session.expire_all()
    assert session.get(IssueWatcher, (issue.id, fan.id)).watch is False
    assert error_of(client.post(url, headers=auth(make_token(fan, ["issue_subscribe"])),
                                data={"status": "1"})) == (401, "EINVALIDTOK")


# -- custom fields ----------------------------------------------------------------------

def test_one_custom_field_is_set_changed_and_reset(client, session, settings, make_user,
                                                   make_token):
    owner = make_user()
    project = tracker_project(session, settings, owner)
    issue = new_issue(session, owner, project)
    token = make_token(owner, ["issue_update_custom_fields"], project=project)

    def post(field, value):
        return client.post(issue_url(project, issue, f"/custom/{field}"), headers=auth(token),
                           data={} if value is None else {"value": value})

    assert post("severity", "minor").get_json() == {
        "message": "Custom field severity adjusted to minor"}
    assert post("severity", "major").get_json() == {
        "message": "Custom field severity adjusted to major (was: minor)"}
    assert post("severity", "major").get_json() == {"message": "No changes"}
    assert post("upstream", "https://example.com/1, https://example.com/2").status_code == 200
    assert error_of(post("severity", "huge")) == (400, "EINVALIDISSUEFIELD")
    assert error_of(post("due", "tomorrow")) == (400, "EINVALIDISSUEFIELD")
    assert error_of(post("nope", "x")) == (400, "EINVALIDISSUEFIELD")
    assert error_of(post("upstream", "javascript:alert(1)")) == (400, "EINVALIDISSUEFIELD_LINK")
    assert custom_of(session, issue) == {"severity": "major",
                                         "upstream": "https://example.com/1, "
                                                     "https://example.com/2"}
    assert post("severity", "").get_json() == {
        "message": "Custom field severity reset (from major)"}
    assert "severity" not in custom_of(session, issue)
    data = client.get(issue_url(project, issue)).get_json()
    assert data["custom_fields"] == [{"name": "upstream", "key_type": "link",
                                      "value": "https://example.com/1, https://example.com/2",
                                      "key_data": None}]


def test_several_custom_fields_are_set_together_or_not_at_all(client, session, settings,
                                                              make_user, make_token):
    owner, reporter = make_user(), make_user()
    project = tracker_project(session, settings, owner)
    issue = new_issue(session, owner, project)
    url = issue_url(project, issue, "/custom")
    token = make_token(owner, ["issue_update"], project=project)
    resp = client.post(url, headers=auth(token), json={"severity": "minor", "due": "2030-05-01",
                                                       "notes": ""})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"messages": [
        {"severity": "Custom field severity adjusted to minor"},
        {"due": "Custom field due adjusted to 2030-05-01"},
        {"notes": "No changes"}]}
    before = custom_of(session, issue)
    notes = len(notes_of(session, issue))
    for payload, expected in (
            ({}, (400, "EINVALIDREQ")),
            ({"severity": "major", "unknown": "x"}, (400, "EINVALIDISSUEFIELD")),
            ({"severity": "major", "due": "soon"}, (400, "EINVALIDISSUEFIELD")),
            ({"severity": "major", "upstream": "ftp://x"}, (400, "EINVALIDISSUEFIELD_LINK")),
            ({"severity": "major", "notes": ["a"]}, (400, "EINVALIDREQ"))):
        assert error_of(client.post(url, headers=auth(token), json=payload)) == expected, payload
    assert custom_of(session, issue) == before
    assert len(notes_of(session, issue)) == notes
    assert error_of(client.post(url, headers=auth(
        make_token(reporter, ["issue_update"], project=project)), json={"severity": "major"})
    ) == (403, "EISSUENOTALLOWED")
    assert custom_of(session, issue) == before
