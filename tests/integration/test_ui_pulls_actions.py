"""Acting on a pull request from its page with plain forms: editing,
tags and assignee, watching, closing and reopening, and merging or
rebasing through the worker (the waiting page returns to the PR). Every
refusal says why and changes nothing; every POST needs its CSRF token."""

from __future__ import annotations

from conftest import login_as
from pullui_help import (
    commit,
    fresh,
    grant,
    make_project,
    open_pull,
    post,
    pr_path,
)

from pagurus.git import pulls as git_pulls
from pagurus.model import PullRequestWatcher
from pagurus.tasks.status import wait_for


def follow_task(client, resp):
    """Wait for the task a merge/rebase form queued, then come back to the PR."""
    location = resp.headers["Location"]
    assert "/task/" in location
    waiting = client.get(location)
    if waiting.status_code == 200:
        assert "Working on it" in waiting.get_data(as_text=True)
    wait_for(location.rsplit("/", 1)[1].split("?")[0], 60)
    back = client.get(location)
    assert back.status_code == 302
    return client.get(back.headers["Location"])


def test_the_author_edits_title_description_target_and_rebase_choice(client, session,
                                                                      settings, make_user):
    owner, author, stranger = make_user(), make_user(), make_user()
    project, repo = make_project(session, settings, owner)
    grant(session, project, author, "commit")
    commit(repo, "stable", {"s.txt": "s\n"}, "Stable", "main")
    commit(repo, "topic", {"t.txt": "t\n"}, "T", "main")
    pr = open_pull(session, settings, author, project, "topic", title="Old title",
                   allow_rebase=True)
    edit = pr_path(pr, "/edit")
    login_as(client, stranger)
    assert client.get(edit).status_code == 403
    assert post(client, edit, {"title": "Hacked"}).status_code == 403
    assert fresh(session, pr).title == "Old title"
    login_as(client, author)
    form = client.get(edit).get_data(as_text=True)
    assert 'value="Old title"' in form and '<option value="stable">' in form
    assert 'name="allow_rebase"' in form
    resp = post(client, edit, {"title": "New title", "initial_comment": "Now with text",
                               "branch_to": "stable"})
    assert resp.status_code == 302
    pr = fresh(session, pr)
    assert (pr.title, pr.initial_comment, pr.branch, pr.allow_rebase) == (
        "New title", "Now with text", "stable", False)
    bad = post(client, edit, {"title": "", "branch_to": "stable"})
    assert bad.status_code == 400 and fresh(session, pr).title == "New title"
    missing = post(client, edit, {"title": "x", "branch_to": "no-such-branch"})
    assert missing.status_code == 400 and fresh(session, pr).branch == "stable"
    # the owner may edit but the rebase choice stays the author's
    login_as(client, owner)
    assert 'name="allow_rebase"' not in client.get(edit).get_data(as_text=True)
    post(client, edit, {"title": "Owner title", "branch_to": "stable", "allow_rebase": "1"})
    assert (fresh(session, pr).title, fresh(session, pr).allow_rebase) == ("Owner title", False)


def test_tags_assignee_and_watching(client, session, settings, make_user):
    owner, reviewer, stranger = make_user(), make_user(), make_user()
    project, repo = make_project(session, settings, owner)
    commit(repo, "topic", {"t.txt": "t\n"}, "T", "main")
    pr = open_pull(session, settings, owner, project, "topic")
    update = pr_path(pr, "/update")
    login_as(client, stranger)
    resp = post(client, update, {"tag": "sneaky", "user": stranger.name})
    assert resp.status_code == 403 and fresh(session, pr).tags == []
    login_as(client, owner)
    resp = post(client, update, {"tag": "backend, needs-review", "user": reviewer.name})
    assert resp.status_code == 302
    pr = fresh(session, pr)
    assert sorted(t.name for t in pr.tags) == ["backend", "needs-review"]
    assert pr.assignee_id == reviewer.id
    html = client.get(pr_path(pr)).get_data(as_text=True)
    assert "Metadata Update from" in html and "backend" in html
    unknown = post(client, update, {"tag": "backend, needs-review", "user": "nobody-here"})
    assert unknown.status_code in (400, 404) and fresh(session, pr).assignee_id == reviewer.id
    post(client, update, {"tag": "backend", "user": ""})
    pr = fresh(session, pr)
    assert [t.name for t in pr.tags] == ["backend"] and pr.assignee_id is None
    # watching
    login_as(client, stranger)
    post(client, pr_path(pr, "/watch"), {"watch": "1"})
    row = session.get(PullRequestWatcher, (pr.id, stranger.id))
    assert row is not None and row.watch is True
    assert "Unwatch this pull request" in client.get(pr_path(pr)).get_data(as_text=True)
    post(client, pr_path(pr, "/watch"), {"watch": "0"})
    session.expire_all()
    assert session.get(PullRequestWatcher, (pr.id, stranger.id)).watch is False


def test_close_and_reopen_by_the_author_not_by_others(client, session, settings, make_user):
    owner, author, stranger = make_user(), make_user(), make_user()
    project, repo = make_project(session, settings, owner)
    grant(session, project, author, "commit")
    commit(repo, "topic", {"t.txt": "t\n"}, "T", "main")
    pr = open_pull(session, settings, author, project, "topic")
    close = f"/{project.url_path}/pull-request/close/{pr.number}"
    login_as(client, stranger)
    resp = post(client, close)
    assert resp.status_code == 403 and fresh(session, pr).status == "Open"
    assert client.post(close, data={}).status_code == 400  # no CSRF token
    login_as(client, author)
    assert client.post(close, data={}).status_code == 400 and fresh(session, pr).status == "Open"
    resp = post(client, close)
    assert resp.status_code == 302 and fresh(session, pr).status == "Closed"
    html = client.get(pr_path(pr)).get_data(as_text=True)
    assert "pr-status-closed" in html and f"closed by {author.name}" in html
    assert 'action="' + pr_path(pr, "/reopen") + '"' in html
    resp = post(client, pr_path(pr, "/reopen"))
    assert resp.status_code == 302 and fresh(session, pr).status == "Open"


def test_merging_through_the_worker_fast_forward_then_refused_conflicts(
        client, session, settings, make_user, worker):
    owner, contributor = make_user(), make_user()
    project, repo = make_project(session, settings, owner)
    grant(session, project, contributor, "commit")
    head = commit(repo, "topic", {"t.txt": "t\n"}, "Topic", "main")
    commit(repo, "clash", {"a.txt": "CLASH\n"}, "Clash", "main")
    pr = open_pull(session, settings, contributor, project, "topic")
    clash = open_pull(session, settings, contributor, project, "clash")
    # a stranger cannot merge: told why, nothing queued, nothing changed
    login_as(client, make_user())
    resp = post(client, pr_path(pr, "/merge"))
    assert resp.status_code == 302 and "/task/" not in resp.headers["Location"]
    assert fresh(session, pr).status == "Open"
    login_as(client, owner)
    page = follow_task(client, post(client, pr_path(pr, "/merge"),
                                    {"comment": "Thanks for this", "delete_branch": "1"}))
    html = page.get_data(as_text=True)
    assert "Changes merged" in html and "pr-status-merged" in html
    assert "Thanks for this" in html
    assert str(git_pulls.branch_head(repo, "main").id) == head
    assert git_pulls.branch_head(repo, "topic") is None  # deleted with the merge
    assert fresh(session, pr).status == "Merged"
    # a.txt changed on main since (the merge above did not touch it), now make it clash
    commit(repo, "main", {"a.txt": "MAIN\n"}, "Main edits a")
    page = follow_task(client, post(client, pr_path(clash, "/merge")))
    html = page.get_data(as_text=True)
    assert "Merge conflicts" in html and "a.txt" in html
    assert fresh(session, clash).status == "Open"


def test_rebasing_through_the_worker(client, session, settings, make_user, worker):
    owner = make_user()
    project, repo = make_project(session, settings, owner)
    commit(repo, "topic", {"t.txt": "t\n"}, "Topic", "main")
    pr = open_pull(session, settings, owner, project, "topic", allow_rebase=True)
    main_tip = commit(repo, "main", {"m.txt": "m\n"}, "Main moves")
    login_as(client, owner)
    page = follow_task(client, post(client, pr_path(pr, "/rebase")))
    assert page.status_code == 200
    topic = git_pulls.branch_head(repo, "topic")
    assert str(topic.parents[0].id) == main_tip
    # nobody else may
    login_as(client, make_user())
    resp = post(client, pr_path(pr, "/rebase"))
    assert "/task/" not in resp.headers["Location"]
