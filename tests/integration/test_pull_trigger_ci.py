"""Asking CI to run again on a pull request (spec §c.5): the "Rerun CI"
button posts a configured trigger sentence as a notification comment and
records ``pull-request.ci.trigger``; an ordinary comment (page or API) that
is exactly such a sentence records the same event; anything else is refused
and changes nothing."""

from __future__ import annotations

from conftest import auth, login_as
from pullui_help import commit, fresh, grant, make_project, open_pull, post, pr_path
from sqlalchemy import select

from pagurus.model import Event, PullRequestComment

SENTENCE = "pretty please pagure-ci rebuild"


def _pull(session, settings, make_user):
    owner, author = make_user(), make_user()
    project, repo = make_project(session, settings, owner)
    grant(session, project, author, "commit")
    commit(repo, "topic", {"t.txt": "t\n"}, "Topic", "main")
    pr = open_pull(session, settings, author, project, "topic")
    return owner, author, project, pr


def _triggers(session, project):
    session.expire_all()
    return list(session.scalars(select(Event).where(
        Event.project_id == project.id, Event.topic == "pull-request.ci.trigger")
        .order_by(Event.id)))


def _comments(session, pr):
    session.expire_all()
    return list(session.scalars(select(PullRequestComment).where(
        PullRequestComment.pull_request_id == pr.id).order_by(PullRequestComment.id)))


def test_rerun_ci_posts_the_sentence_as_an_event_comment_and_records_the_trigger(
        client, session, settings, make_user):
    _owner, _author, project, pr = _pull(session, settings, make_user)
    passer_by = make_user()  # anyone who may comment may ask
    login_as(client, passer_by)
    page = client.get(pr_path(pr)).get_data(as_text=True)
    assert f'action="{pr_path(pr)}/trigger-ci"' in page and "Rerun CI" in page
    assert f'name="comment" value="{SENTENCE}"' in page
    resp = post(client, pr_path(pr, "/trigger-ci"),
                {"comment": "  Pretty Please pagure-CI rebuild "})
    assert resp.status_code == 302
    comments = _comments(session, pr)
    assert [(c.comment, c.notification, c.user_id) for c in comments] == [
        (SENTENCE, True, passer_by.id)]
    assert resp.headers["Location"].endswith(f"#comment-{comments[0].id}")
    events = _triggers(session, project)
    assert len(events) == 1
    payload = events[0].payload
    assert payload["comment"] == SENTENCE and payload["agent"] == passer_by.name
    assert payload["pullrequest"]["id"] == pr.number
    assert payload["pullrequest"]["commit_stop"] == fresh(session, pr).commit_stop
    shown = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "CI asked to run again" in shown and SENTENCE in shown


def test_rerun_ci_refuses_other_text_anonymous_users_and_missing_csrf(
        client, session, settings, make_user):
    _owner, author, project, pr = _pull(session, settings, make_user)
    url = pr_path(pr, "/trigger-ci")
    anonymous = post(client, url, {"comment": SENTENCE})
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    login_as(client, author)
    refused = post(client, url, {"comment": "please rebuild everything"})
    assert refused.status_code == 400
    assert "not a CI trigger sentence" in refused.get_data(as_text=True)
    assert post(client, url, {}).status_code == 400
    assert client.post(url, data={"comment": SENTENCE}).status_code == 400  # no CSRF token
    assert _comments(session, pr) == [] and _triggers(session, project) == []


def test_a_comment_that_is_a_trigger_sentence_records_the_trigger_from_page_and_api(
        client, session, settings, make_user, make_token):
    _owner, author, project, pr = _pull(session, settings, make_user)
    login_as(client, author)
    url = pr_path(pr, "/comment")
    assert post(client, url, {"comment": "PRETTY please pagure-ci rebuild\n"}).status_code == 302
    assert post(client, url, {"comment": f"{SENTENCE}, and thanks"}).status_code == 302
    token = make_token(author, ["pull_request_comment"], project=project)
    api = f"/api/0/{project.url_path}/pull-request/{pr.number}/comment"
    assert client.post(api, headers=auth(token), data={"comment": f" {SENTENCE} "}
                       ).status_code == 200
    assert client.post(api, headers=auth(token), data={"comment": "LGTM"}).status_code == 200
    events = _triggers(session, project)
    assert [e.payload["comment"] for e in events] == [SENTENCE, SENTENCE]
    assert all(e.payload["agent"] == author.name for e in events)
    # ordinary comments stay ordinary comments
    assert [c.notification for c in _comments(session, pr)] == [False] * 4


def test_without_trigger_sentences_there_is_no_rerun_ci_button(
        app, client, session, settings, make_user, monkeypatch):
    _owner, author, project, pr = _pull(session, settings, make_user)
    monkeypatch.setitem(app.extensions["pagurus"], "settings", settings.replace(trigger_ci=()))
    login_as(client, author)
    page = client.get(pr_path(pr)).get_data(as_text=True)
    assert "/trigger-ci" not in page and "Rerun CI" not in page
    assert post(client, pr_path(pr, "/trigger-ci"), {"comment": SENTENCE}).status_code == 400
    assert post(client, pr_path(pr, "/comment"), {"comment": SENTENCE}).status_code == 302
    assert _triggers(session, project) == []


def test_several_trigger_sentences_make_a_menu_and_closed_pulls_have_none(
        app, client, session, settings, make_user, monkeypatch):
    owner, author, project, pr = _pull(session, settings, make_user)
    monkeypatch.setitem(app.extensions["pagurus"], "settings", settings.replace(
        trigger_ci=("Rebuild please", "run <the> tests", "rebuild PLEASE")))
    login_as(client, author)
    page = client.get(pr_path(pr)).get_data(as_text=True)
    assert '<select id="f-trigger-ci" name="comment">' in page
    assert '<option value="Rebuild please">' in page
    assert '<option value="run &lt;the&gt; tests">' in page
    assert "rebuild PLEASE" not in page  # the same sentence once
    assert post(client, pr_path(pr, "/trigger-ci"), {"comment": "run <the> tests"}
                ).status_code == 302
    assert [e.payload["comment"] for e in _triggers(session, project)] == ["run <the> tests"]
    login_as(client, owner)
    assert post(client, f"/{project.url_path}/pull-request/close/{pr.number}", {}
                ).status_code == 302
    assert fresh(session, pr).status == "Closed"
    assert "Rerun CI" not in client.get(pr_path(pr)).get_data(as_text=True)
    assert post(client, pr_path(pr, "/trigger-ci"), {"comment": "Rebuild please"}
                ).status_code == 400
    assert len(_triggers(session, project)) == 1
