"""Acting on pull requests through API v0: comments (general and inline),
assignee, subscription, close and reopen, and the switches and ACLs that
refuse them (spec §2.5)."""

from __future__ import annotations

import pytest
from apihelp import error_of, grant
from conftest import auth
from pullhelp import API, events, git_project, open_pr, pr_url, reload, set_options
from sqlalchemy import select

from pagurus.core import pulls as core_pulls
from pagurus.model import PullRequestComment, PullRequestWatcher


def comments_of(session, pr):
    session.expire_all()
    return session.scalars(select(PullRequestComment).where(
        PullRequestComment.pull_request_id == pr.id).order_by(PullRequestComment.id)).all()


def test_general_and_inline_comments(client, session, settings, make_user, make_token):
    owner, reviewer = make_user(), make_user()
    project, repo = git_project(session, settings, owner)
    pr = open_pr(session, settings, owner, project, repo, files={"f.txt": "1\n2\n"})
    token = make_token(reviewer, ["pull_request_comment"])
    resp = client.post(pr_url(project, pr, "/comment"), headers=auth(token),
                       data={"comment": "<script>alert(1)</script> +1"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["message"] == "Comment added"
    assert resp.get_json()["user"] == reviewer.name
    resp = client.post(pr_url(project, pr, "/comment"), headers=auth(token),
                       json={"comment": "typo", "commit": pr.commit_stop,
                             "filename": "f.txt", "row": 2,
                             "tree_id": str(repo[pr.commit_stop].tree_id)})
    assert resp.status_code == 200, resp.get_json()
    general, inline = comments_of(session, pr)
    assert general.comment == "<script>alert(1)</script> +1" and general.line is None
    assert (inline.commit_id, inline.filename, inline.line) == (pr.commit_stop, "f.txt", 2)
    data = client.get(pr_url(project, pr)).get_json()
    assert data["comments"][1]["filename"] == "f.txt" and data["comments"][1]["line"] == 2
    assert data["comments"][0]["comment"] == "<script>alert(1)</script> +1"  # verbatim
    assert core_pulls.score(reload(session, pr)) == 1
    topics = [t for t, _ in events(session, project, "pull-request.comment")]
    assert topics == ["pull-request.comment.added"] * 2
    for bad in ({"comment": ""}, {"comment": "half", "filename": "f.txt"},
                {"comment": "x", "commit": "zz", "filename": "f", "row": 1},
                {"comment": "x", "commit": pr.commit_stop, "filename": "f", "row": "two"}):
        resp = client.post(pr_url(project, pr, "/comment"), headers=auth(token), json=bad)
        assert error_of(resp) == (400, "EINVALIDREQ"), bad
    assert len(comments_of(session, pr)) == 2


def test_assign_and_reset_the_assignee(client, session, settings, make_user, make_token):
    owner, triager, author, stranger = make_user(), make_user(), make_user(), make_user()
    project, repo = git_project(session, settings, owner)
    grant(session, project, triager, "ticket")
    grant(session, project, author, "commit")
    pr = open_pr(session, settings, author, project, repo)
    url = pr_url(project, pr, "/assign")
    token = make_token(triager, ["pull_request_assign"], project=project)
    resp = client.post(url, headers=auth(token), data={"assignee": author.name})
    assert resp.get_json() == {"message": "Request assigned"}
    assert reload(session, pr).assignee_id == author.id
    assert client.post(url, headers=auth(token), data={"assignee": author.name}).get_json() \
        == {"message": "Nothing to change"}
    resp = client.post(url, headers=auth(token), data={"assignee": "nobody-such-user"})
    assert error_of(resp) == (400, "ENOCODE")
    assert reload(session, pr).assignee_id == author.id
    # a user-level token is refused: this call needs a project token
    resp = client.post(url, headers=auth(make_token(triager, ["pull_request_update"])),
                       data={})
    assert error_of(resp) == (401, "EINVALIDTOK")
    resp = client.post(url, headers=auth(make_token(stranger, ["pull_request_assign"],
                                                    project=project)), data={})
    assert error_of(resp) == (403, "EPRNOTALLOWED")
    resp = client.post(url, headers=auth(make_token(triager, ["pull_request_update"],
                                                    project=project)), data={})
    assert resp.get_json() == {"message": "Request assignee reset"}
    assert reload(session, pr).assignee_id is None
    topics = [t for t, _ in events(session, project, "pull-request.assigned")]
    assert topics == ["pull-request.assigned.added", "pull-request.assigned.reset"]


def test_subscribe_and_unsubscribe(client, session, settings, make_user, make_token):
    owner, watcher = make_user(), make_user()
    project, repo = git_project(session, settings, owner)
    pr = open_pr(session, settings, owner, project, repo)
    token = make_token(watcher, ["pull_request_subscribe"], project=project)
    resp = client.post(pr_url(project, pr, "/subscribe"), headers=auth(token),
                       data={"status": "true"})
    assert resp.get_json()["message"] == "You are now watching this pull-request"
    assert watcher.id in [u.id for u in core_pulls.subscribers(session, reload(session, pr))]
    resp = client.post(pr_url(project, pr, "/subscribe"), headers=auth(token), json={})
    assert resp.get_json()["message"] == "You are no longer watching this pull-request"
    row = session.get(PullRequestWatcher, (pr.id, watcher.id))
    assert row is not None and row.watch is False
    resp = client.post(pr_url(project, pr, "/subscribe"),
                       headers=auth(make_token(watcher, ["pull_request_subscribe"])),
                       data={"status": "1"})
    assert error_of(resp) == (401, "EINVALIDTOK")


def test_the_author_closes_and_reopens(client, session, settings, make_user, make_token):
    owner, author, stranger = make_user(), make_user(), make_user()
    project, repo = git_project(session, settings, owner)
    grant(session, project, author, "commit")
    pr = open_pr(session, settings, author, project, repo)
    stranger_token = make_token(stranger, ["pull_request_close"])
    assert error_of(client.post(pr_url(project, pr, "/close"),
                                headers=auth(stranger_token))) == (403, "ENOPRCLOSE")
    token = make_token(author, ["pull_request_close"])
    resp = client.post(pr_url(project, pr, "/close"), headers=auth(token))
    assert resp.get_json() == {"message": "Pull-request closed!"}
    pr = reload(session, pr)
    assert (pr.status, pr.closed_by_id) == ("Closed", author.id)
    assert comments_of(session, pr)[-1].comment == f"Pull-Request has been closed by " \
                                                   f"{author.name}"
    assert error_of(client.post(pr_url(project, pr, "/close"), headers=auth(token))) == (
        400, "EINVALIDREQ")
    assert error_of(client.post(pr_url(project, pr, "/reopen"),
                                headers=auth(stranger_token))) == (403, "ENOPRCLOSE")
    resp = client.post(pr_url(project, pr, "/reopen"),
                       headers=auth(make_token(author, ["pull_request_update"])))
    assert resp.get_json() == {"message": "Pull-request reopened!"}
    assert reload(session, pr).status == "Open"
    assert error_of(client.post(pr_url(project, pr, "/reopen"), headers=auth(token))) == (
        400, "EINVALIDREQ")
    closed = [p for t, p in events(session, project, "pull-request.") if t ==
              "pull-request.closed"]
    assert len(closed) == 1 and closed[0]["merged"] is False
    assert "pull-request.reopened" in [t for t, _ in events(session, project)]
    # a merged pull request stays merged
    core_pulls.mark_merged(session, owner, reload(session, pr), base_url="x")
    session.commit()
    for action in ("/close", "/reopen"):
        resp = client.post(pr_url(project, pr, action), headers=auth(token))
        assert error_of(resp) == (400, "EINVALIDREQ"), action
    assert reload(session, pr).status == "Merged"


ENDPOINTS = [
    ("GET", "", None), ("POST", "", "pull_request_update"),
    ("POST", "/merge", "pull_request_merge"), ("POST", "/rebase", "pull_request_rebase"),
    ("POST", "/close", "pull_request_close"), ("POST", "/reopen", "pull_request_close"),
    ("POST", "/comment", "pull_request_comment"), ("GET", "/comment/1", None),
    ("GET", "/flag", None), ("POST", "/flag", "pull_request_flag"),
    ("POST", "/subscribe", "pull_request_subscribe"),
    ("POST", "/assign", "pull_request_assign"), ("GET", "/diffstats", None),
]


def test_disabled_pull_requests_answer_404_everywhere(client, session, settings, make_user,
                                                      make_token):
    owner = make_user()
    project, repo = git_project(session, settings, owner)
    pr = open_pr(session, settings, owner, project, repo)
    set_options(session, project, pull_requests=False)
    acls = sorted({acl for _m, _s, acl in ENDPOINTS if acl} | {"pull_request_create"})
    token = make_token(owner, acls, project=project)
    for method, suffix, _acl in ENDPOINTS:
        resp = client.open(pr_url(project, pr, suffix), method=method, headers=auth(token),
                           data={"title": "t", "comment": "c", "username": "ci",
                                 "url": "https://ci.example", "wait": "0"})
        assert error_of(resp) == (404, "EPULLREQUESTSDISABLED"), (method, suffix)
    for resp in (client.get(f"{API}/{project.url_path}/pull-requests"),
                 client.get(f"{API}/pull-requests/{pr.uid}"),
                 client.post(f"{API}/{project.url_path}/pull-request/new", headers=auth(token),
                             data={"title": "t", "branch_to": "main", "branch_from": "x"})):
        assert error_of(resp) == (404, "EPULLREQUESTSDISABLED")
    assert reload(session, pr).status == "Open"


@pytest.mark.parametrize(("method", "suffix", "acl"),
                         [e for e in ENDPOINTS if e[2]])
def test_a_token_without_the_acl_is_refused(client, session, settings, make_user, make_token,
                                            method, suffix, acl):
    owner = make_user()
    project, repo = git_project(session, settings, owner)
    pr = open_pr(session, settings, owner, project, repo)
    token = make_token(owner, ["issue_create"], project=project)
    resp = client.open(pr_url(project, pr, suffix), method=method, headers=auth(token),
                       data={"title": "t", "comment": "c"})
    assert error_of(resp) == (401, "EINVALIDTOK")
    assert acl in resp.get_json()["errors"]
    pr = reload(session, pr)
    assert (pr.status, pr.title, len(pr.comments)) == ("Open", "A change", 0)


def test_a_user_blocked_on_the_project_may_not_comment(client, session, settings, make_user,
                                                       make_token):
    owner, blocked = make_user(), make_user()
    project, repo = git_project(session, settings, owner)
    pr = open_pr(session, settings, owner, project, repo)
    project.block_users = [blocked.name]
    session.commit()
    resp = client.post(pr_url(project, pr, "/comment"),
                       headers=auth(make_token(blocked, ["pull_request_comment"])),
                       data={"comment": "spam"})
    assert error_of(resp) == (403, "EUBLOCKED")
    assert comments_of(session, pr) == []
