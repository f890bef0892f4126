"""Merging and rebasing pull requests through API v0 (spec §2.5): the
refusals answered at once with Pagure's codes, and real merges and rebases
done by the worker (waiting or not), checked in the git repository."""

from __future__ import annotations

from apihelp import error_of, grant, poll_task
from conftest import auth
from pullhelp import (
    commit,
    events,
    git_project,
    hooked_project,
    make_fork,
    open_pr,
    pr_url,
    reload,
    set_options,
)

from pagurus.core import pulls as core_pulls
from pagurus.git import pulls as git_pulls

BASE = "http://pagurus.test"


def main_tip(repo):
    return str(git_pulls.branch_head(repo, "main").id)


# -- refusals (no worker involved) -------------------------------------------------------

def test_merge_refusals_carry_pagures_codes_and_change_nothing(client, session, settings,
                                                               make_user, make_token):
    owner, author, triager = make_user(), make_user(), make_user()
    project, repo = git_project(session, settings, owner,
                                **{"Only_assignee_can_merge_pull-request": True,
                                   "Minimum_score_to_merge_pull-request": 1})
    grant(session, project, author, "commit")
    grant(session, project, triager, "ticket")
    pr = open_pr(session, settings, author, project, repo)
    url = pr_url(project, pr, "/merge")
    tip = main_tip(repo)

    def merge(user):
        return client.post(url, headers=auth(make_token(user, ["pull_request_merge"])),
                           data={"wait": "true"})

    assert error_of(merge(triager)) == (403, "ENOPRCLOSE")
    assert error_of(merge(owner)) == (403, "ENOTASSIGNED")
    core_pulls.update_metadata(session, owner, pr, base_url=BASE, assignee=owner.name)
    session.commit()
    assert error_of(merge(author)) == (403, "ENOTASSIGNEE")
    assert error_of(merge(owner)) == (403, "EPRSCORE")
    core_pulls.close(session, owner, pr, base_url=BASE)
    session.commit()
    assert error_of(merge(owner)) == (400, "EINVALIDREQ")
    assert main_tip(repo) == tip
    assert reload(session, pr).status == "Closed"
    assert [p["merged"] for t, p in events(session, project) if t == "pull-request.closed"] \
        == [False]


def test_rebase_refusals(client, session, settings, make_user, make_token):
    owner, contributor, stranger = make_user(), make_user(), make_user()
    project, repo = git_project(session, settings, owner)
    fork, fork_repo = make_fork(session, settings, contributor, project)
    locked = open_pr(session, settings, contributor, project, repo, source=fork,
                     source_repo=fork_repo, allow_rebase=False)
    allowed = open_pr(session, settings, contributor, project, repo, source=fork,
                      source_repo=fork_repo, allow_rebase=True)
    owner_token = make_token(owner, ["pull_request_rebase"])
    resp = client.post(pr_url(project, locked, "/rebase"), headers=auth(owner_token))
    assert error_of(resp) == (403, "EREBASENOTALLOWED")
    resp = client.post(pr_url(project, allowed, "/rebase"),
                       headers=auth(make_token(stranger, ["pull_request_rebase"])))
    assert error_of(resp) == (403, "ENOPRCLOSE")
    core_pulls.close(session, owner, allowed, base_url=BASE)
    session.commit()
    resp = client.post(pr_url(project, allowed, "/rebase"), headers=auth(owner_token))
    assert error_of(resp) == (400, "EINVALIDREQ")
    resp = client.post(pr_url(project, allowed, "/rebase"),
                       headers=auth(make_token(owner, ["pull_request_merge"])))
    assert error_of(resp) == (401, "EINVALIDTOK")


# -- with the worker -------------------------------------------------------------------

def test_merging_and_waiting_fast_forwards_the_target(client, session, settings, make_user,
                                                      make_token, worker):
    owner = make_user()
    project, repo = hooked_project(session, settings, owner)
    pr = open_pr(session, settings, owner, project, repo, files={"new.txt": "n\n"})
    token = make_token(owner, ["pull_request_merge"])
    resp = client.post(pr_url(project, pr, "/merge"), headers=auth(token))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"message": "Changes merged!"}
    assert main_tip(repo) == pr.commit_stop
    pr = reload(session, pr)
    assert (pr.status, pr.closed_by_id) == ("Merged", owner.id)
    closed = [p for t, p in events(session, project) if t == "pull-request.closed"]
    assert closed[-1]["merged"] is True
    data = client.get(pr_url(project, pr)).get_json()
    assert data["status"] == "Merged"
    assert data["comments"][-1]["comment"] == f"Pull-Request has been merged by {owner.name}"


def test_merging_without_waiting_queues_a_task_that_merges(client, session, settings,
                                                           make_user, make_token, worker):
    owner = make_user()
    project, repo = hooked_project(session, settings, owner)
    pr = open_pr(session, settings, owner, project, repo, files={"x.txt": "x\n"})
    commit(repo, "main", {"m.txt": "m\n"}, "Main moves on")
    resp = client.post(pr_url(project, pr, "/merge"),
                       headers=auth(make_token(owner, ["pull_request_merge"])),
                       json={"wait": False})
    data = resp.get_json()
    assert data["message"] == "Merging queued" and data["taskid"]
    status = poll_task(client, data["taskid"])
    assert status["successful"] is True
    merge = repo[main_tip(repo)]
    assert [str(p) for p in merge.parent_ids][1] == pr.commit_stop
    assert merge.message.startswith(f"Merge #{pr.number} `A change`")
    assert reload(session, pr).status == "Merged"


def test_a_conflicting_merge_is_refused_with_the_files_named(client, session, settings,
                                                             make_user, make_token, worker):
    owner = make_user()
    project, repo = hooked_project(session, settings, owner)
    pr = open_pr(session, settings, owner, project, repo,
                 files={"a.txt": "one\nTWO from the branch\nthree\n"})
    tip = commit(repo, "main", {"a.txt": "one\ntwo on main\nthree\n"}, "Main edits a")
    resp = client.post(pr_url(project, pr, "/merge"),
                       headers=auth(make_token(owner, ["pull_request_merge"])),
                       data={"wait": "1"})
    assert error_of(resp) == (409, "EPRCONFLICTS")
    assert "a.txt" in resp.get_json()["errors"]
    assert main_tip(repo) == tip
    assert reload(session, pr).status == "Open"


def test_non_fast_forward_merges_disabled_answer_409(client, session, settings, make_user,
                                                     make_token, worker):
    owner = make_user()
    project, repo = hooked_project(session, settings, owner,
                                   **{"disable_non_fast-forward_merges": True})
    pr = open_pr(session, settings, owner, project, repo, files={"y.txt": "y\n"})
    tip = commit(repo, "main", {"m.txt": "m\n"}, "Main moves on")
    resp = client.post(pr_url(project, pr, "/merge"),
                       headers=auth(make_token(owner, ["pull_request_merge"])))
    assert error_of(resp) == (409, "EPRCONFLICTS")
    assert "rebase" in resp.get_json()["errors"]
    assert main_tip(repo) == tip and reload(session, pr).status == "Open"


def test_rebasing_moves_the_pr_onto_the_target(client, session, settings, make_user,
                                               make_token, worker):
    owner = make_user()
    project, repo = hooked_project(session, settings, owner)
    pr = open_pr(session, settings, owner, project, repo, branch="topic",
                 files={"t.txt": "t\n"})
    tip = commit(repo, "main", {"m.txt": "m\n"}, "Main moves on")
    token = make_token(owner, ["pull_request_rebase"])
    resp = client.post(pr_url(project, pr, "/rebase"), headers=auth(token))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"message": "Pull-request rebased"}
    head = git_pulls.branch_head(repo, "topic")
    assert str(head.parent_ids[0]) == tip and head.message == "A change"
    pr = reload(session, pr)
    assert pr.commit_stop == str(head.id)
    # nothing left to rebase: the worker's reason comes back
    resp = client.post(pr_url(project, pr, "/rebase"), headers=auth(token))
    assert error_of(resp) == (400, "ENOCODE")
    assert "Nothing to rebase" in resp.get_json()["error"]
    resp = client.post(pr_url(project, pr, "/rebase"), headers=auth(token),
                       json={"wait": False})
    assert resp.get_json()["message"] == "Rebasing queued"
    poll_task(client, resp.get_json()["taskid"])
    set_options(session, project, pull_requests=False)
    resp = client.post(pr_url(project, pr, "/rebase"), headers=auth(token))
    assert error_of(resp) == (404, "EPULLREQUESTSDISABLED")
