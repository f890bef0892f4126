"""Refused pull-request actions from the web pages: each answers 403 (or
sends to the login page, or 404 when the PR may not be seen) and changes
nothing. The full who-may-what table is tests/unit/test_pull_access_matrix.py."""

from __future__ import annotations

from conftest import login_as
from pullui_help import (
    BASE,
    commit,
    fresh,
    grant,
    make_fork,
    make_project,
    open_pull,
    post,
    pr_path,
)

from pagurus.core import pulls
from pagurus.git import pulls as git_pulls


def state_of(session, pr):
    pr = fresh(session, pr)
    return (pr.status, pr.title, pr.initial_comment, pr.assignee_id,
            sorted((c.id, c.comment) for c in pr.comments), [t.name for t in pr.tags])


def test_refused_page_actions_answer_403_and_change_nothing(client, session, settings,
                                                            make_user):
    owner, author, triager, stranger = make_user(), make_user(), make_user(), make_user()
    project, repo = make_project(session, settings, owner)
    grant(session, project, triager, "ticket")
    fork, fork_repo = make_fork(session, settings, author, project)
    commit(fork_repo, "topic", {"t.txt": "t\n"}, "Topic", "main")
    pr = open_pull(session, settings, author, project, "topic", source=fork)
    theirs = pulls.add_comment(session, triager, pr, "a triager's note", base_url=BASE)
    session.commit()
    tip = str(git_pulls.branch_head(repo, "main").id)
    before = state_of(session, pr)

    # anonymous: to the login page, nothing posted
    resp = post(client, pr_path(pr, "/comment"), {"comment": "drive-by"})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]

    login_as(client, stranger)
    assert post(client, pr_path(pr, "/edit"), {"title": "Mine"}).status_code == 403
    assert client.get(pr_path(pr, "/edit")).status_code == 403
    assert post(client, f"/{project.url_path}/pull-request/close/{pr.number}"
                ).status_code == 403
    assert post(client, pr_path(pr, "/update"), {"tag": "hijacked"}).status_code == 403
    assert post(client, pr_path(pr, f"/comment/{theirs.id}/edit"),
                {"update_comment": "rewritten"}).status_code == 403

    # the author without rights on the target: may not merge, nor drop others' comments
    login_as(client, author)
    resp = post(client, pr_path(pr, "/merge"))
    assert resp.status_code == 302 and "/task/" not in resp.headers["Location"]
    resp = post(client, pr_path(pr, "/comment/drop"), {"drop_comment": str(theirs.id)})
    assert resp.status_code == 302
    assert "You may not delete this comment" in client.get(
        resp.headers["Location"]).get_data(as_text=True)

    # ticket access tags and assigns, but does not close
    login_as(client, triager)
    assert post(client, f"/{project.url_path}/pull-request/close/{pr.number}"
                ).status_code == 403
    assert state_of(session, pr) == before
    assert str(git_pulls.branch_head(repo, "main").id) == tip


def test_hidden_or_disabled_pull_requests_answer_404(client, session, settings, make_user):
    owner, stranger = make_user(), make_user()
    private, repo = make_project(session, settings, owner, private=True)
    commit(repo, "topic", {"t.txt": "t\n"}, "Topic", "main")
    hidden = open_pull(session, settings, owner, private, "topic")
    project, repo2 = make_project(session, settings, owner)
    commit(repo2, "topic", {"t.txt": "t\n"}, "Topic", "main")
    off = open_pull(session, settings, owner, project, "topic")
    project.settings = {**project.settings, "pull_requests": False}
    session.commit()
    before = (state_of(session, hidden), state_of(session, off))
    login_as(client, stranger)
    for pr in (hidden, off):
        assert client.get(pr_path(pr)).status_code == 404
        assert post(client, pr_path(pr, "/comment"), {"comment": "x"}).status_code == 404
        assert post(client, f"/{pr.project.url_path}/pull-request/close/{pr.number}"
                    ).status_code == 404
    login_as(client, owner)  # even the owner, while pull requests are off
    assert post(client, pr_path(off, "/comment"), {"comment": "x"}).status_code == 404
    assert (state_of(session, hidden), state_of(session, off)) == before
