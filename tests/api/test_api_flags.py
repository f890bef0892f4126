"""Commit flags and pull-request flags through API v0: adding, updating by
uid, the five statuses, percent, URL checks, hostile text kept verbatim,
events (spec §2.2 ``{P}/c/<hash>/flag``, §2.5 ``…/flag``)."""

from __future__ import annotations

import pytest
from apihelp import error_of, grant
from conftest import auth
from pullhelp import API, commit, events, git_project, open_pr, pr_url
from sqlalchemy import func, select

from pagurus.core import flags as core_flags
from pagurus.model import ApiToken, CommitFlag

XSS = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def flag_url(project, commit_hash):
    return f"{API}/{project.url_path}/c/{commit_hash}/flag"


def flag_body(**extra):
    return {"username": "CI", "comment": "Tests passed", "url": "https://ci.example/1",
            "status": "success", **extra}


def flag_count(session, project):
    session.expire_all()
    return session.scalar(select(func.count(CommitFlag.id)).where(
        CommitFlag.project_id == project.id))


def test_a_ci_flags_a_commit_and_updates_its_flag_by_uid(client, session, settings,
                                                         make_user, make_token):
    owner = make_user()
    project, repo = git_project(session, settings, owner)
    head = str(repo.lookup_reference("refs/heads/main").target)
    token = make_token(owner, ["commit_flag"], project=project)
    resp = client.post(flag_url(project, head[:10]), headers=auth(token),
                       data=flag_body(percent="40", status="pending"))
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()
    assert data["message"] == "Flag added" and len(data["uid"]) == 32
    flag = data["flag"]
    assert (flag["commit_hash"], flag["status"], flag["percent"]) == (head, "pending", 40)
    assert flag["username"] == "CI" and flag["url"] == "https://ci.example/1"
    assert flag["user"]["name"] == owner.name and "default_email" in flag["user"]
    resp = client.post(flag_url(project, head), headers=auth(token),
                       json=flag_body(uid=data["uid"], percent=100, comment="All green"))
    assert resp.get_json()["message"] == "Flag updated"
    assert resp.get_json()["uid"] == data["uid"]
    listed = client.get(flag_url(project, head)).get_json()
    assert listed["total_flags"] == 1
    only = listed["flags"][0]
    assert (only["status"], only["percent"], only["comment"]) == ("success", 100, "All green")
    assert "default_email" not in only["user"]
    stored = session.scalar(select(CommitFlag).where(CommitFlag.uid == data["uid"]))
    token_row = session.get(ApiToken, stored.token_id)
    assert token_row is not None and token_row.project_id == project.id
    topics = [t for t, _ in events(session, project, "commit.flag")]
    assert topics == ["commit.flag.added", "commit.flag.updated"]
    payload = events(session, project, "commit.flag.updated")[0][1]
    assert payload["flag"]["status"] == "success" and payload["agent"] == owner.name


def test_each_status_is_accepted_and_flags_list_newest_first(client, session, settings,
                                                              make_user, make_token):
    owner = make_user()
    project, repo = git_project(session, settings, owner)
    head = str(repo.lookup_reference("refs/heads/main").target)
    token = make_token(owner, ["commit_flag"])
    for i, status in enumerate(core_flags.STATUSES):
        resp = client.post(flag_url(project, head), headers=auth(token),
                           data=flag_body(status=status.upper(), uid=f"job-{i}",
                                          username=f"ci-{status}"))
        assert resp.status_code == 200, (status, resp.get_json())
        assert resp.get_json()["flag"]["status"] == status
    listed = client.get(flag_url(project, head)).get_json()["flags"]
    assert [f["username"] for f in listed] == [f"ci-{s}" for s in
                                               reversed(core_flags.STATUSES)]
    # a flag of another commit stays there
    other = commit(repo, "main", {"z": "z\n"}, "Z")
    assert client.get(flag_url(project, other)).get_json() == {"total_flags": 0, "flags": []}
    flags = core_flags.flags_of_commits(session, project, [head, other, head])
    assert list(flags) == [head] and len(flags[head]) == 5


@pytest.mark.parametrize("bad", [
    {"url": "javascript:alert(1)"}, {"url": "JavaScript:alert(1)//http://x"},
    {"url": "data:text/html,<script>alert(1)</script>"}, {"url": "ftp://ci.example/x"},
    {"url": "https://"}, {"url": "/relative/path"}, {"url": "https://ci.example/a b"},
    {"url": ""}, {"status": "done"}, {"status": ""}, {"percent": "101"},
    {"percent": "-1"}, {"percent": "half"}, {"percent": "50.5"}, {"uid": "u" * 33},
    {"username": ""}, {"comment": ""}, {"username": "two\nlines"},
])
def test_bad_flags_are_refused_and_change_nothing(client, session, settings, make_user,
                                                  make_token, bad):
    owner = make_user()
    project, repo = git_project(session, settings, owner)
    head = str(repo.lookup_reference("refs/heads/main").target)
    token = make_token(owner, ["commit_flag"])
    resp = client.post(flag_url(project, head), headers=auth(token), data=flag_body(**bad))
    assert error_of(resp) == (400, "EINVALIDREQ"), bad
    field = next(iter(bad))
    assert field in resp.get_json()["errors"]
    assert flag_count(session, project) == 0
    assert events(session, project, "commit.flag") == []


def test_flag_text_is_kept_verbatim_in_json(client, session, settings, make_user,
                                            make_token):
    owner = make_user()
    project, repo = git_project(session, settings, owner)
    head = str(repo.lookup_reference("refs/heads/main").target)
    token = make_token(owner, ["commit_flag"])
    resp = client.post(flag_url(project, head), headers=auth(token),
                       data=flag_body(username=XSS, comment=XSS,
                                      url="https://ci.example/?q=<script>"))
    assert resp.status_code == 200, resp.get_json()
    flag = client.get(flag_url(project, head)).get_json()["flags"][0]
    assert flag["username"] == XSS and flag["comment"] == XSS
    assert flag["url"] == "https://ci.example/?q=<script>"
    assert resp.mimetype == "application/json"


def test_who_may_flag_and_which_commits(client, session, settings, make_user, make_token):
    owner, reporter, committer = make_user(), make_user(), make_user()
    project, repo = git_project(session, settings, owner)
    grant(session, project, reporter, "ticket")
    grant(session, project, committer, "commit")
    head = str(repo.lookup_reference("refs/heads/main").target)
    resp = client.post(flag_url(project, head),
                       headers=auth(make_token(reporter, ["commit_flag"], project=project)),
                       data=flag_body())
    assert error_of(resp) == (401, "ENOTHIGHENOUGH")
    resp = client.post(flag_url(project, head),
                       headers=auth(make_token(committer, ["pull_request_flag"])),
                       data=flag_body())
    assert error_of(resp) == (401, "EINVALIDTOK")
    token = make_token(committer, ["commit_flag"])
    for missing in ("0" * 40, "nothex", str(repo[head].tree_id)):
        assert error_of(client.post(flag_url(project, missing), headers=auth(token),
                                    data=flag_body())) == (404, "ENOCOMMIT"), missing
        assert error_of(client.get(flag_url(project, missing))) == (404, "ENOCOMMIT")
    assert client.post(flag_url(project, head), headers=auth(token),
                       data=flag_body()).status_code == 200
    assert flag_count(session, project) == 1


def test_private_projects_hide_their_flags(client, session, settings, make_user, make_token):
    owner, stranger = make_user(), make_user()
    project, repo = git_project(session, settings, owner, private=True)
    head = str(repo.lookup_reference("refs/heads/main").target)
    owner_token = make_token(owner, ["commit_flag"])
    assert client.post(flag_url(project, head), headers=auth(owner_token),
                       data=flag_body()).status_code == 200
    assert error_of(client.get(flag_url(project, head))) == (404, "ENOPROJECT")
    resp = client.post(flag_url(project, head),
                       headers=auth(make_token(stranger, ["commit_flag"])), data=flag_body())
    assert error_of(resp) == (404, "ENOPROJECT")
    assert client.get(flag_url(project, head), headers=auth(owner_token)).get_json()[
        "total_flags"] == 1
    private = [p for p in events(session, project, "commit.flag")]
    assert len(private) == 1


# -- pull-request flags ------------------------------------------------------------------

def test_a_ci_flags_a_pull_request_on_its_head_commit(client, session, settings, make_user,
                                                      make_token):
    owner = make_user()
    project, repo = git_project(session, settings, owner)
    pr = open_pr(session, settings, owner, project, repo)
    token = make_token(owner, ["pull_request_flag"], project=project)
    body = {"username": "Jenkins", "comment": "Build running", "url": "http://ci.example/7"}
    resp = client.post(pr_url(project, pr, "/flag"), headers=auth(token), data=body)
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()
    assert data["message"] == "Flag added" and data["user"] == owner.name
    assert data["avatar_url"].startswith("http")
    assert data["flag"]["commit_hash"] == pr.commit_stop
    assert data["flag"]["status"] == "pending" and data["flag"]["percent"] is None
    uid = data["uid"]
    resp = client.post(pr_url(project, pr, "/flag"), headers=auth(token),
                       data={**body, "uid": uid, "percent": "0", "comment": "Broken"})
    assert resp.get_json()["message"] == "Flag updated"
    assert resp.get_json()["flag"]["status"] == "failure"
    resp = client.post(pr_url(project, pr, "/flag"), headers=auth(token),
                       data={**body, "uid": uid, "percent": "100"})
    assert resp.get_json()["flag"]["status"] == "success"
    resp = client.post(pr_url(project, pr, "/flag"), headers=auth(token),
                       data={**body, "uid": uid, "percent": "100", "status": "canceled"})
    assert resp.get_json()["flag"]["status"] == "canceled"
    # the commit's flag list shows the same flag
    flags = client.get(pr_url(project, pr, "/flag")).get_json()["flags"]
    assert [(f["username"], f["status"], f["percent"]) for f in flags] == [
        ("Jenkins", "canceled", 100)]
    assert client.get(flag_url(project, pr.commit_stop)).get_json()["flags"] == flags
    topics = [t for t, _ in events(session, project) if ".flag." in t]
    assert topics == ["commit.flag.added", "pull-request.flag.added"] + [
        "commit.flag.updated", "pull-request.flag.updated"] * 3
    pr_event = events(session, project, "pull-request.flag.added")[0][1]
    assert pr_event["pullrequest"]["id"] == pr.number and pr_event["flag"]["username"] == \
        "Jenkins"


def test_pull_request_flags_refuse_bad_input_and_outsiders(client, session, settings,
                                                           make_user, make_token):
    owner, stranger = make_user(), make_user()
    project, repo = git_project(session, settings, owner)
    pr = open_pr(session, settings, owner, project, repo)
    token = make_token(owner, ["pull_request_flag"])
    resp = client.post(pr_url(project, pr, "/flag"), headers=auth(token), data={})
    assert error_of(resp) == (400, "EINVALIDREQ")
    assert set(resp.get_json()["errors"]) == {"username", "comment", "url"}
    resp = client.post(pr_url(project, pr, "/flag"), headers=auth(token),
                       data={"username": "ci", "comment": "c", "url": "javascript:alert(1)"})
    assert error_of(resp) == (400, "EINVALIDREQ")
    resp = client.post(pr_url(project, pr, "/flag"),
                       headers=auth(make_token(stranger, ["pull_request_flag"])),
                       data={"username": "ci", "comment": "c", "url": "https://x.example"})
    assert error_of(resp) == (401, "ENOTHIGHENOUGH")
    assert error_of(client.post(pr_url(project, 999, "/flag"), headers=auth(token),
                                data={"username": "ci", "comment": "c",
                                      "url": "https://x.example"})) == (404, "ENOREQ")
    assert flag_count(session, project) == 0
