"""Flag emails (``notify_on_pull-request_flag``, ``notify_on_commit_flag``):
a CI posts flags through the API, a real dispatcher round hands the events
to a real Celery worker, and a real SMTP server (aiosmtpd) receives the
mail — only when the project asked for it, only to those who may see it."""

from __future__ import annotations

import time

from conftest import auth
from mailhelp import dispatch, skip_backlog
from pullui_help import commit, grant, make_project, open_pull
from sqlalchemy import select

from pagurus.core import notify, social
from pagurus.model import Event, Project, Watcher

API = "/api/0"
BASE = "http://pagurus.test"


def _mails(mailbox, project, event_prefix, expected, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in mailbox.messages
                 if m["X-Pagurus-Project"] == project.fullname
                 and (m["X-Pagurus-Event"] or "").startswith(event_prefix)]
        if len(found) >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def _set(session, project, **options):
    project = session.get(Project, project.id)
    project.settings = {**project.settings, **options}
    session.commit()


def _post_flag(client, token, url, **fields):
    body = {"username": "jenkins", "comment": "Build #12 finished", "status": "success",
            "url": "https://ci.example/12", **fields}
    resp = client.post(url, headers=auth(token), data=body)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _last_event(session, project, topic):
    session.expire_all()
    return session.scalar(select(Event).where(Event.project_id == project.id,
                                              Event.topic == topic)
                          .order_by(Event.id.desc()).limit(1))


def test_pull_request_flags_mail_its_subscribers_once_the_project_turns_it_on(
        app, settings, worker, mailbox, session, make_user, make_token, client):
    skip_backlog(app, settings)
    owner, author, ci, fan = make_user(), make_user(), make_user(), make_user()
    project, repo = make_project(session, settings, owner, **{
        "notify_on_pull-request_flag": False})
    grant(session, project, ci, "commit")
    grant(session, project, author, "commit")
    commit(repo, "topic", {"t.txt": "t\n"}, "Topic", "main")
    pr = open_pull(session, settings, author, project, "topic", title="Faster start")
    from pagurus.core import pulls as core_pulls

    core_pulls.set_subscription(session, fan, pr, True)
    session.commit()
    token = make_token(ci, ["pull_request_flag"], project=project)
    flag_url = f"{API}/{project.url_path}/pull-request/{pr.number}/flag"

    uid = _post_flag(client, token, flag_url, status="pending")["uid"]
    added = _last_event(session, project, "pull-request.flag.added")
    assert notify.mails_for(session, added, BASE) == []  # the project did not ask
    dispatch(app, settings)

    _set(session, project, **{"notify_on_pull-request_flag": True})
    _post_flag(client, token, flag_url, uid=uid, status="failure", comment="2 tests failed")
    dispatch(app, settings)
    mails = _mails(mailbox, project, "pull-request.flag.updated", 3)
    # subscribers: the author, the owner, the explicit subscriber; not the CI that posted
    assert sorted(m["To"] for m in mails) == sorted(
        [owner.default_email, author.default_email, fan.default_email])
    mail = mails[0]
    assert mail["Subject"] == f"[{project.fullname}] PR #{pr.number} - jenkins: failure"
    assert mail["X-Pagurus-Pull-Request"] == str(pr.number)
    text = mail.get_content()
    assert "jenkins set the status of pull request" in text and "Failure" in text
    assert "2 tests failed" in text and "https://ci.example/12" in text
    assert f"/pull-request/{pr.number}" in text
    # nothing was mailed for the flag posted while the setting was off
    assert _mails(mailbox, project, "pull-request.flag.added", 0, timeout=0) == []
    # the commit-flag event of the same flag mails nobody (its setting is off)
    assert _mails(mailbox, project, "commit.flag", 0, timeout=0) == []


def test_commit_flags_mail_committers_and_commit_watchers_when_the_project_asks(
        app, settings, worker, mailbox, session, make_user, make_token, client):
    skip_backlog(app, settings)
    owner, ci, committer, watcher, issues_only, unwatched, ticket = (
        make_user() for _ in range(7))
    project, repo = make_project(session, settings, owner, notify_on_commit_flag=True)
    grant(session, project, ci, "commit")
    grant(session, project, committer, "commit")
    grant(session, project, unwatched, "commit")
    grant(session, project, ticket, "ticket")
    social.set_watch(session, watcher, project, social.WATCH_COMMITS)
    social.set_watch(session, issues_only, project, social.WATCH_ISSUES)
    social.set_watch(session, unwatched, project, social.WATCH_NONE)
    session.commit()
    head = str(repo.lookup_reference("refs/heads/main").target)
    token = make_token(ci, ["commit_flag"], project=project)
    _post_flag(client, token, f"{API}/{project.url_path}/c/{head}/flag", percent="100")
    dispatch(app, settings)
    mails = _mails(mailbox, project, "commit.flag.added", 3)
    assert sorted(m["To"] for m in mails) == sorted(
        [owner.default_email, committer.default_email, watcher.default_email])
    assert mails[0]["Subject"] == f"[{project.fullname}] Commit #{head} - jenkins: success"
    assert mails[0]["X-Pagurus-Commit"] == head
    text = mails[0].get_content()
    assert "Success (100%)" in text and f"/c/{head}" in text


def test_flag_mail_of_a_private_project_reaches_only_those_who_may_see_it(
        app, settings, worker, mailbox, session, make_user, make_token, client):
    skip_backlog(app, settings)
    owner, ci, outsider, author = make_user(), make_user(), make_user(), make_user()
    project, repo = make_project(session, settings, owner, private=True, **{
        "notify_on_commit_flag": True, "notify_on_pull-request_flag": True})
    grant(session, project, ci, "commit")
    grant(session, project, author, "commit")
    commit(repo, "topic", {"t.txt": "t\n"}, "Topic", "main")
    pr = open_pull(session, settings, author, project, "topic")
    # an outsider's watch row (say, from before they lost access) and subscription
    session.add(Watcher(project_id=project.id, user_id=outsider.id, watch_issues=True,
                        watch_commits=True))
    from pagurus.model import PullRequestWatcher

    session.add(PullRequestWatcher(pull_request_id=pr.id, user_id=outsider.id, watch=True))
    session.commit()
    token = make_token(ci, ["pull_request_flag", "commit_flag"], project=project)
    _post_flag(client, token, f"{API}/{project.url_path}/pull-request/{pr.number}/flag")
    dispatch(app, settings)
    pr_mails = _mails(mailbox, project, "pull-request.flag.added", 2)
    assert sorted(m["To"] for m in pr_mails) == sorted(
        [owner.default_email, author.default_email])
    # the same flag's commit event: its people already had the PR mail
    commit_added = _last_event(session, project, "commit.flag.added")
    assert commit_added.payload["pull_request"] == pr.number
    assert notify.mails_for(session, commit_added, BASE) == []

    head = str(repo.lookup_reference("refs/heads/main").target)
    _post_flag(client, token, f"{API}/{project.url_path}/c/{head}/flag")
    dispatch(app, settings)
    commit_mails = _mails(mailbox, project, "commit.flag.added", 2)
    assert sorted(m["To"] for m in commit_mails) == sorted(
        [owner.default_email, author.default_email])
    assert all(m["To"] != outsider.default_email for m in mailbox.messages
               if m["X-Pagurus-Project"] == project.fullname)
