"""Who reaches the issue endpoints at all: private issues, disabled and
read-only trackers, token ACLs and project binding, blocked users, sessions."""

from __future__ import annotations

from apihelp import API, error_of, grant, make_project
from conftest import auth, csrf_of, login_as, unique
from issuehelp import BASE, new_issue, reload, set_settings, tracker_project
from sqlalchemy import func, select

from pagurus.core import issues as core_issues
from pagurus.model import Issue, IssueComment, Project

ALL_ACLS = ["issue_create", "issue_update", "issue_comment", "issue_change_status",
            "issue_assign", "issue_subscribe", "issue_update_milestone",
            "issue_update_custom_fields"]


def calls(project, issue, comment, assignee):
    """(method, url, payload) of every issue endpoint this module serves."""
    base = f"{API}/{project.url_path}"
    n = issue.number
    return [
        ("POST", f"{base}/new_issue", {"title": "t", "issue_content": "c"}),
        ("GET", f"{base}/issue/{n}", None),
        ("POST", f"{base}/issue/{n}", {"title": "t2", "issue_content": "c2"}),
        ("GET", f"{base}/issue/{n}/comment/{comment.id}", None),
        ("POST", f"{base}/issue/{n}/status", {"status": "Closed"}),
        ("POST", f"{base}/issue/{n}/milestone", {"milestone": "v1"}),
        ("POST", f"{base}/issue/{n}/comment", {"comment": "x"}),
        ("POST", f"{base}/issue/{n}/assign", {"assignee": assignee.name}),
        ("POST", f"{base}/issue/{n}/subscribe", {"status": True}),
        ("POST", f"{base}/issue/{n}/custom/severity", {"value": "minor"}),
        ("POST", f"{base}/issue/{n}/custom", {"severity": "major"}),
    ]


def send(client, method, url, payload, headers):
    if method == "GET":
        return client.get(url, headers=headers)
    return client.post(url, json=payload, headers=headers)


def snapshot(session, project):
    """Everything the calls could change."""
    session.expire_all()
    issues = session.scalars(select(Issue).where(Issue.project_id == project.id)
                             .order_by(Issue.id)).all()
    comments = session.scalar(select(func.count()).select_from(IssueComment).join(Issue).where(
        Issue.project_id == project.id))
    return ([(i.title, i.status, i.milestone, i.assignee_id, len(i.custom_values))
             for i in issues], comments, session.get(Project, project.id).last_number)


def setup(session, settings, make_user, **kwargs):
    owner, dev = make_user(), make_user()
    project = tracker_project(session, settings, owner, **kwargs)
    issue = new_issue(session, owner, project)
    comment = core_issues.add_comment(session, owner, issue, "hi", base_url=BASE)
    session.commit()
    return owner, dev, project, issue, comment


def test_a_disabled_tracker_answers_404_on_every_endpoint(client, session, settings,
                                                          make_user, make_token):
    owner, dev, project, issue, comment = setup(session, settings, make_user)
    set_settings(session, project, issue_tracker=False)
    token = make_token(owner, ALL_ACLS, project=project)
    before = snapshot(session, project)
    for method, url, payload in calls(project, issue, comment, dev):
        assert error_of(send(client, method, url, payload, auth(token))) == (
            404, "ETRACKERDISABLED"), url
        if method == "GET":
            assert error_of(client.get(url)) == (404, "ETRACKERDISABLED"), url
    assert snapshot(session, project) == before


def test_a_read_only_tracker_refuses_every_change_but_still_reads(client, session, settings,
                                                                  make_user, make_token):
    owner, dev, project, issue, comment = setup(session, settings, make_user)
    set_settings(session, project, issue_tracker_read_only=True)
    token = make_token(owner, ALL_ACLS, project=project)
    before = snapshot(session, project)
    for method, url, payload in calls(project, issue, comment, dev):
        resp = send(client, method, url, payload, auth(token))
        if method == "GET":
            assert resp.status_code == 200, url
        else:
            assert error_of(resp) == (401, "ETRACKERREADONLY"), url
    assert snapshot(session, project) == before


def test_tokens_without_the_acl_or_for_another_project_are_refused(client, session, settings,
                                                                   make_user, make_token):
    owner, dev, project, issue, comment = setup(session, settings, make_user)
    elsewhere = make_project(session, settings, owner, unique("other"))
    wrong_acl = make_token(owner, ["fork_project", "modify_project"], project=project)
    other_project = make_token(owner, ALL_ACLS, project=elsewhere)
    before = snapshot(session, project)
    for method, url, payload in calls(project, issue, comment, dev):
        if method == "GET":
            continue
        for token in (wrong_acl, other_project):
            assert error_of(send(client, method, url, payload, auth(token))) == (
                401, "EINVALIDTOK"), url
        assert error_of(send(client, method, url, payload, {})) == (401, "EINVALIDTOK"), url
        assert error_of(send(client, method, url, payload, auth("X" * 64))) == (
            401, "EINVALIDTOK"), url
    assert snapshot(session, project) == before
    # another project's token reads no more than an anonymous visitor
    assert client.get(f"{API}/{project.name}/issue/{issue.number}",
                      headers=auth(other_project)).status_code == 200
    assert error_of(client.get(f"{API}/{project.name}/issue/{issue.number}/comment/"
                               f"{comment.id}", headers=auth(other_project))) == (
        401, "EINVALIDTOK")


def test_a_private_issue_does_not_exist_for_outsiders(client, session, settings, make_user,
                                                      make_token):
    owner, author, assignee, triager, outsider = (make_user() for _ in range(5))
    project = tracker_project(session, settings, owner)
    grant(session, project, triager, "ticket")
    issue = new_issue(session, author, project, title="Secret", private=True)
    core_issues.update_metadata(session, owner, issue, base_url=BASE, assignee=assignee.name)
    comment = core_issues.add_comment(session, author, issue, "psst", base_url=BASE)
    session.commit()
    before = snapshot(session, project)
    theirs = make_token(outsider, ALL_ACLS, project=project)
    for method, url, payload in calls(project, issue, comment, outsider)[1:]:
        assert error_of(send(client, method, url, payload, auth(theirs))) == (
            404, "ENOISSUE"), url
        if method == "GET":
            assert error_of(client.get(url)) == (404, "ENOISSUE"), url
    uid_url = f"{API}/{project.name}/issue/{issue.uid}"
    assert error_of(client.get(uid_url, headers=auth(theirs))) == (404, "ENOISSUE")
    assert snapshot(session, project) == before
    for user in (author, assignee, triager, owner):
        token = make_token(user, ["issue_comment"], project=project)
        resp = client.get(f"{API}/{project.name}/issue/{issue.number}", headers=auth(token))
        assert resp.status_code == 200 and resp.get_json()["title"] == "Secret", user.name
        assert client.get(uid_url, headers=auth(token)).status_code == 200
        assert client.post(f"{API}/{project.name}/issue/{issue.number}/comment",
                           headers=auth(token), data={"comment": "ok"}).status_code == 200


def test_a_private_project_hides_its_issues_behind_404_enoproject(client, session, settings,
                                                                  make_user, make_token):
    owner, outsider = make_user(), make_user()
    project = tracker_project(session, settings, owner, private=True)
    issue = new_issue(session, owner, project)
    url = f"{API}/{project.name}/issue/{issue.number}"
    assert error_of(client.get(url)) == (404, "ENOPROJECT")
    assert error_of(client.post(url + "/comment", headers=auth(
        make_token(outsider, ["issue_comment"])), data={"comment": "x"})) == (404, "ENOPROJECT")
    assert client.get(url, headers=auth(make_token(owner, ["issue_comment"]))).status_code == 200


def test_a_user_blocked_on_the_project_reads_but_changes_nothing(client, session, settings,
                                                                 make_user, make_token):
    owner, dev, project, issue, comment = setup(session, settings, make_user)
    blocked = make_user()
    token = make_token(blocked, ALL_ACLS, project=project)
    project = session.get(Project, project.id)
    project.block_users = [blocked.name]
    session.commit()
    before = snapshot(session, project)
    for method, url, payload in calls(project, issue, comment, dev):
        resp = send(client, method, url, payload, auth(token))
        if method == "GET":
            assert resp.status_code == 200, url
        else:
            assert error_of(resp) == (403, "EUBLOCKED"), url
    assert snapshot(session, project) == before


def test_a_browser_session_comments_with_the_csrf_header(client, session, settings, make_user):
    owner, dev, project, issue, comment = setup(session, settings, make_user)
    login_as(client, dev)
    url = f"{API}/{project.name}/issue/{issue.number}/comment"
    assert error_of(client.post(url, data={"comment": "no header"})) == (401, "EINVALIDTOK")
    resp = client.post(url, data={"comment": "from the page"},
                       headers={"X-CSRFToken": csrf_of(client)})
    assert resp.status_code == 200 and resp.get_json()["user"] == dev.name
    assert [c.comment for c in reload(session, issue).comments] == ["hi", "from the page"]


def test_open_metadata_lets_any_user_set_metadata(client, session, settings, make_user,
                                                  make_token):
    owner, helper = make_user(), make_user()
    project = tracker_project(session, settings, owner, open_metadata_access_to_all=True)
    issue = new_issue(session, owner, project)
    token = make_token(helper, ALL_ACLS, project=project)
    base = f"{API}/{project.name}/issue/{issue.number}"
    assert client.post(base + "/milestone", headers=auth(token),
                       data={"milestone": "v1"}).status_code == 200
    assert client.post(base + "/custom/severity", headers=auth(token),
                       data={"value": "minor"}).status_code == 200
    assert client.post(base + "/status", headers=auth(token),
                       data={"status": "Closed"}).status_code == 200
    issue = reload(session, issue)
    assert (issue.milestone, issue.status) == ("v1", "Closed")
