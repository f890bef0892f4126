"""Refused pull-request calls through API v0 (spec §2.5): each answers
Pagure's status and error code and leaves the pull request, its comments,
flags and events as they were. The full who-may-what table is
tests/unit/test_pull_access_matrix.py; this checks the HTTP side of it."""

from __future__ import annotations

from apihelp import error_of, grant
from conftest import auth
from pullhelp import API, events, git_project, make_fork, open_pr, pr_url, reload

from pagurus.core import flags as core_flags
from pagurus.core import pulls as core_pulls


def snapshot(session, project, pr):
    pr = reload(session, pr)
    return (pr.status, pr.title, pr.initial_comment, pr.assignee_id,
            [(c.id, c.comment) for c in pr.comments], [t.name for t in pr.tags],
            len(core_flags.flags_of_pull(session, pr)), len(events(session, project)))


def test_refused_calls_on_a_fork_pull_request_change_nothing(client, session, settings,
                                                             make_user, make_token):
    owner, author, triager, stranger = make_user(), make_user(), make_user(), make_user()
    project, repo = git_project(session, settings, owner)
    grant(session, project, triager, "ticket")
    fork, fork_repo = make_fork(session, settings, author, project)
    pr = open_pr(session, settings, author, project, repo, source=fork,
                 source_repo=fork_repo, description="As it was")
    before = snapshot(session, project, pr)

    def call(user, suffix, acls, **data):
        return client.post(pr_url(project, pr, suffix), data=data,
                           headers=auth(make_token(user, acls)))

    # edit: ticket access, the author or the assignee
    assert error_of(call(stranger, "", ["pull_request_update"], title="Mine now")) == (
        403, "EPRNOTALLOWED")
    # close: committers or the author — ticket access is not enough
    assert error_of(call(triager, "/close", ["pull_request_close"])) == (403, "ENOPRCLOSE")
    # merge: committers only, the author of a fork PR included
    assert error_of(call(author, "/merge", ["pull_request_merge"], wait="1")) == (
        403, "ENOPRCLOSE")
    # flags: commit access on the target
    for user in (author, triager):
        resp = call(user, "/flag", ["pull_request_flag"], username="ci", comment="ok",
                    url="https://ci.example/1")
        assert error_of(resp) == (401, "ENOTHIGHENOUGH")
    # no token, a token of another kind, a wrong token
    resp = client.post(pr_url(project, pr, "/comment"), data={"comment": "anonymous"})
    assert error_of(resp) == (401, "EINVALIDTOK")
    assert error_of(call(stranger, "/comment", ["issue_comment"], comment="x")) == (
        401, "EINVALIDTOK")
    resp = client.post(pr_url(project, pr, "/comment"), data={"comment": "x"},
                       headers=auth("0" * 64))
    assert error_of(resp) == (401, "EINVALIDTOK")
    # a pull request that does not exist
    resp = client.post(pr_url(project, pr.number + 50, "/comment"), data={"comment": "x"},
                       headers=auth(make_token(owner, ["pull_request_comment"])))
    assert error_of(resp) == (404, "ENOREQ")
    assert snapshot(session, project, pr) == before

    # closed: nobody edits it, not even its author
    core_pulls.close(session, owner, reload(session, pr), base_url="http://pagurus.test")
    session.commit()
    closed = snapshot(session, project, pr)
    assert error_of(call(author, "", ["pull_request_update"], title="Late")) == (
        400, "EINVALIDREQ")
    assert snapshot(session, project, pr) == closed


def test_a_private_projects_pull_requests_do_not_exist_for_outsiders(client, session,
                                                                      settings, make_user,
                                                                      make_token):
    owner, stranger = make_user(), make_user()
    project, repo = git_project(session, settings, owner, private=True)
    pr = open_pr(session, settings, owner, project, repo)
    before = snapshot(session, project, pr)
    token = make_token(stranger, ["pull_request_comment", "pull_request_close"])
    for suffix, data in (("/comment", {"comment": "peek"}), ("/close", {})):
        resp = client.post(pr_url(project, pr, suffix), data=data, headers=auth(token))
        assert error_of(resp) == (404, "ENOPROJECT"), suffix
    assert client.get(pr_url(project, pr)).status_code == 404
    assert client.get(f"{API}/pull-requests/{pr.uid}").status_code == 404
    assert snapshot(session, project, pr) == before
