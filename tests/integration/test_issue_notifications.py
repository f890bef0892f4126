"""Issue notification emails: a real dispatcher round, a real Celery worker and
a real SMTP server (aiosmtpd) receive them."""

from __future__ import annotations

import time

from conftest import unique
from mailhelp import dispatch, skip_backlog

from pagurus.core import issues
from pagurus.core import projects as core_projects
from pagurus.model import IssueCustomKey

BASE = "http://pagurus.test"


def _project(session, settings, owner):
    project = core_projects.create_project(session, settings, owner, unique("n"), "d")
    project.repo_state = "ready"
    project.close_status = ["Fixed"]
    session.commit()
    return project


def _mails_about(mailbox, project, number, expected, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in mailbox.messages
                 if m["X-Pagurus-Project"] == project.fullname
                 and m["X-Pagurus-Issue"] == str(number)]
        if len(found) >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_subscribers_but_not_the_actor_get_threaded_issue_mail(app, settings, worker, mailbox,
                                                                 session, make_user):
    skip_backlog(app, settings)
    owner, reporter, fan = make_user(), make_user(), make_user()
    project = _project(session, settings, owner)
    issue = issues.create_issue(session, reporter, project, title="Crash on start",
                                content="It **crashes**.", base_url=BASE)
    session.commit()
    dispatch(app, settings)
    issues.set_subscription(session, fan, issue, True)
    issues.add_comment(session, owner, issue, "Looking into it", base_url=BASE)
    session.commit()
    dispatch(app, settings)

    mails = _mails_about(mailbox, project, issue.number, 3)
    new = [m for m in mails if m["X-Pagurus-Event"] == "issue.new"]
    comments = [m for m in mails if m["X-Pagurus-Event"] == "issue.comment.added"]
    # the new issue: the owner (project users hear of it), not the reporter who opened it
    assert sorted(m["To"] for m in new) == [owner.default_email]
    assert sorted(m["To"] for m in comments) == sorted([reporter.default_email, fan.default_email])
    root = new[0]["Message-ID"]
    assert all(m["References"] == root for m in comments)
    assert "Looking into it" in comments[0].get_content()
    assert f"/issue/{issue.number}" in comments[0].get_content()
    assert comments[0]["Subject"] == f"[{project.fullname}] Issue #{issue.number}: Crash on start"

    # a second round sends nothing again
    before = len(mailbox.messages)
    dispatch(app, settings)
    time.sleep(0.5)
    assert len(_mails_about(mailbox, project, issue.number, 0, timeout=0)) == len(mails)
    assert len(mailbox.messages) == before


def test_private_issue_mail_reaches_only_those_who_may_see_it(app, settings, worker, mailbox,
                                                              session, make_user):
    skip_backlog(app, settings)
    owner, reporter, watcher = make_user(), make_user(), make_user()
    project = _project(session, settings, owner)
    from pagurus.core import social

    social.set_watch(session, watcher, project, social.WATCH_ISSUES)
    issue = issues.create_issue(session, reporter, project, title="Secret hole", content="x",
                                base_url=BASE, private=True)
    session.commit()
    dispatch(app, settings)
    mails = _mails_about(mailbox, project, issue.number, 1)
    assert [m["To"] for m in mails] == [owner.default_email]


def test_status_changes_and_notify_fields_mail_but_tag_churn_does_not(app, settings, worker,
                                                                      mailbox, session,
                                                                      make_user):
    skip_backlog(app, settings)
    owner, reporter = make_user(), make_user()
    project = _project(session, settings, owner)
    session.add(IssueCustomKey(project_id=project.id, name="severity", key_type="text",
                               notify=True))
    session.add(IssueCustomKey(project_id=project.id, name="quiet", key_type="text"))
    issue = issues.create_issue(session, reporter, project, title="t", content="c",
                                base_url=BASE)
    session.commit()
    dispatch(app, settings)
    _mails_about(mailbox, project, issue.number, 1)
    start = len(_mails_about(mailbox, project, issue.number, 0, timeout=0))

    issues.update_metadata(session, owner, issue, base_url=BASE, tags="a,b")
    issues.update_metadata(session, owner, issue, base_url=BASE, custom={"quiet": "x"})
    issues.update_metadata(session, owner, issue, base_url=BASE, custom={"severity": "high"})
    issues.update_metadata(session, owner, issue, base_url=BASE, status="Fixed")
    session.commit()
    dispatch(app, settings)
    mails = _mails_about(mailbox, project, issue.number, start + 2)[start:]
    bodies = sorted(m.get_content() for m in mails)
    assert len(mails) == 2, bodies
    assert any("severity: high" in b for b in bodies)
    assert any("closed the issue (Closed as Fixed)" in b for b in bodies)
    assert all(m["To"] == reporter.default_email for m in mails)
