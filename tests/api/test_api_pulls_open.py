"""Opening, reading and editing pull requests through API v0 (spec §2.5),
on real repositories: from a branch, from a fork, by uid, diffstats."""

from __future__ import annotations

from apihelp import error_of, grant
from conftest import auth
from pullhelp import (
    API,
    commit,
    events,
    git_project,
    make_fork,
    open_pr,
    pr_url,
    reload,
    set_options,
)
from sqlalchemy import select

from pagurus.core import pulls as core_pulls
from pagurus.model import PullRequest


def new_url(project):
    return f"{API}/{project.url_path}/pull-request/new"


def test_a_committer_opens_a_pull_request_from_a_branch(client, session, settings, make_user,
                                                        make_token):
    owner = make_user()
    project, repo = git_project(session, settings, owner)
    first = commit(repo, "feature/x", {"b.txt": "b\n"}, "Add b", "main")
    second = commit(repo, "feature/x", {"c.txt": "c\n"}, "Add c")
    token = make_token(owner, ["pull_request_create"])
    resp = client.post(new_url(project), headers=auth(token),
                       data={"title": "Add files", "branch_to": "main",
                             "branch_from": "feature/x", "initial_comment": "Adds b and c"})
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()
    assert (data["title"], data["branch"], data["branch_from"]) == ("Add files", "main",
                                                                   "feature/x")
    assert (data["commit_start"], data["commit_stop"]) == (first, second)
    assert data["status"] == "Open" and data["initial_comment"] == "Adds b and c"
    assert data["repo_from"]["fullname"] == project.fullname
    assert data["project"]["fullname"] == project.fullname and data["remote_git"] is None
    assert data["user"]["name"] == owner.name and "default_email" not in data["user"]
    assert data["full_url"].endswith(f"/{project.url_path}/pull-request/{data['id']}")
    pr = session.scalar(select(PullRequest).where(PullRequest.uid == data["uid"]))
    assert pr.allow_rebase is False  # API-created PRs never allow rebasing
    assert str(repo.lookup_reference(f"refs/pull/{pr.number}/head").target) == second
    assert [t for t, _ in events(session, project, "pull-request.")] == ["pull-request.new"]


def test_a_contributor_opens_a_pull_request_from_their_fork(client, session, settings,
                                                            make_user, make_token):
    owner, contributor = make_user(), make_user()
    project, _repo = git_project(session, settings, owner)
    fork, fork_repo = make_fork(session, settings, contributor, project)
    head = commit(fork_repo, "fix", {"a.txt": "fixed\n"}, "Fix a", "main")
    token = make_token(contributor, ["pull_request_create"])
    body = {"title": "Fix a", "branch_to": "main", "branch_from": "fix",
            "repo_from": project.name, "repo_from_username": contributor.name}
    resp = client.post(new_url(project), headers=auth(token), json=body)
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()
    assert data["repo_from"]["fullname"] == fork.fullname
    assert data["commit_stop"] == head
    # the owner has no commit access on the contributor's fork
    resp = client.post(new_url(project), headers=auth(make_token(owner,
                                                                 ["pull_request_create"])),
                       json={**body, "title": "Again"})
    assert error_of(resp) == (401, "ENOTHIGHENOUGH")
    # an unknown source project
    resp = client.post(new_url(project), headers=auth(token),
                       json={**body, "repo_from_username": owner.name})
    assert error_of(resp) == (404, "ENOPROJECT")
    assert session.scalar(select(PullRequest.id).where(
        PullRequest.project_id == project.id, PullRequest.title == "Again")) is None


def test_bad_new_pull_requests_are_refused_and_leave_nothing(client, session, settings,
                                                             make_user, make_token):
    owner, stranger = make_user(), make_user()
    project, repo = git_project(session, settings, owner)
    commit(repo, "topic", {"t.txt": "t\n"}, "T", "main")
    commit(repo, "unsigned", {"u.txt": "u\n"}, "U", "main")
    token = make_token(owner, ["pull_request_create"])
    refs_before = set(repo.references)
    resp = client.post(new_url(project), headers=auth(token), data={"title": "t"})
    assert error_of(resp) == (400, "EINVALIDREQ")
    assert set(resp.get_json()["errors"]) == {"branch_to", "branch_from"}
    for fields in ({"branch_from": "nope"}, {"branch_from": "main"},
                   {"branch_to": "nope"}, {"branch_from": "-x"}):
        data = {"title": "t", "branch_to": "main", "branch_from": "topic", **fields}
        resp = client.post(new_url(project), headers=auth(token), data=data)
        assert error_of(resp) == (400, "EINVALIDREQ"), fields
    set_options(session, project, **{"Enforce_signed-off_commits_in_pull-request": True})
    resp = client.post(new_url(project), headers=auth(token),
                       data={"title": "t", "branch_to": "main", "branch_from": "unsigned"})
    assert error_of(resp) == (400, "ENOSIGNEDOFF")
    # a token without the ACL, a stranger without commit access
    resp = client.post(new_url(project), headers=auth(make_token(owner, ["issue_create"])),
                       data={"title": "t", "branch_to": "main", "branch_from": "topic"})
    assert error_of(resp) == (401, "EINVALIDTOK")
    resp = client.post(new_url(project),
                       headers=auth(make_token(stranger, ["pull_request_create"])),
                       data={"title": "t", "branch_to": "main", "branch_from": "topic"})
    assert error_of(resp) == (401, "ENOTHIGHENOUGH")
    assert session.scalar(select(PullRequest.id).where(
        PullRequest.project_id == project.id)) is None
    assert set(repo.references) == refs_before
    session.expire_all()
    assert events(session, project, "pull-request.") == []


def test_anyone_reads_a_pull_request_by_number_or_uid(client, session, settings, make_user):
    owner, reviewer = make_user(), make_user()
    project, repo = git_project(session, settings, owner)
    pr = open_pr(session, settings, owner, project, repo, title="Readable")
    core_pulls.add_comment(session, reviewer, pr, "Looks <b>good</b>", base_url="x")
    session.commit()
    data = client.get(pr_url(project, pr)).get_json()
    assert data["id"] == pr.number and data["uid"] == pr.uid
    assert [c["comment"] for c in data["comments"]] == ["Looks <b>good</b>"]
    assert data["cached_merge_status"] in ("FFORWARD", "unknown")
    assert data["threshold_reached"] is None
    assert client.get(pr_url(project, pr) + "?comments=0").get_json()["comments"] == []
    by_uid = client.get(f"{API}/pull-requests/{pr.uid}")
    assert by_uid.status_code == 200 and by_uid.get_json()["title"] == "Readable"
    assert error_of(client.get(f"{API}/pull-requests/{'0' * 32}")) == (404, "ENOREQ")
    assert error_of(client.get(f"{API}/pull-requests/nothex")) == (404, "ENOREQ")
    assert error_of(client.get(pr_url(project, 999))) == (404, "ENOREQ")
    comment_id = data["comments"][0]["id"]
    one = client.get(pr_url(project, pr, f"/comment/{comment_id}")).get_json()
    assert one["comment"] == "Looks <b>good</b>" and one["user"]["name"] == reviewer.name
    assert error_of(client.get(pr_url(project, pr, "/comment/999999999"))) == (404,
                                                                              "ENOCOMMENT")


def test_a_private_projects_pull_requests_are_invisible_to_outsiders(client, session,
                                                                      settings, make_user,
                                                                      make_token):
    owner, member, stranger = make_user(), make_user(), make_user()
    project, repo = git_project(session, settings, owner, private=True)
    grant(session, project, member, "ticket")
    pr = open_pr(session, settings, owner, project, repo)
    assert error_of(client.get(pr_url(project, pr))) == (404, "ENOPROJECT")
    assert error_of(client.get(f"{API}/pull-requests/{pr.uid}")) == (404, "ENOREQ")
    assert error_of(client.get(f"{API}/{project.url_path}/pull-requests")) == (404,
                                                                               "ENOPROJECT")
    stranger_token = make_token(stranger, ["pull_request_comment"])
    resp = client.post(pr_url(project, pr, "/comment"), headers=auth(stranger_token),
                       data={"comment": "hi"})
    assert error_of(resp) == (404, "ENOPROJECT")
    member_token = make_token(member, ["pull_request_comment"])
    assert client.get(pr_url(project, pr), headers=auth(member_token)).status_code == 200
    assert client.get(f"{API}/pull-requests/{pr.uid}",
                      headers=auth(member_token)).status_code == 200


def test_the_author_edits_title_and_description(client, session, settings, make_user,
                                                make_token):
    owner, author, stranger = make_user(), make_user(), make_user()
    project, repo = git_project(session, settings, owner)
    grant(session, project, author, "commit")
    pr = open_pr(session, settings, author, project, repo, title="Old", description="Old text")
    token = make_token(author, ["pull_request_update"])
    resp = client.post(pr_url(project, pr), headers=auth(token),
                       data={"title": "New title", "initial_comment": "New text"})
    assert resp.status_code == 200, resp.get_json()
    assert (resp.get_json()["title"], resp.get_json()["initial_comment"]) == ("New title",
                                                                             "New text")
    assert "pull-request.initial_comment.edited" in [t for t, _ in events(session, project)]
    # without initial_comment the description stays
    resp = client.post(pr_url(project, pr), headers=auth(token), json={"title": "Newer"})
    assert resp.get_json()["initial_comment"] == "New text"
    resp = client.post(pr_url(project, pr), headers=auth(token), data={"title": " "})
    assert error_of(resp) == (400, "EINVALIDREQ")
    resp = client.post(pr_url(project, pr),
                       headers=auth(make_token(stranger, ["pull_request_update"])),
                       data={"title": "Hijack"})
    assert error_of(resp) == (403, "EPRNOTALLOWED")
    resp = client.post(pr_url(project, pr), headers=auth(token),
                       data={"title": "x" * 300})
    assert error_of(resp) == (400, "EINVALIDREQ")
    assert reload(session, pr).title == "Newer"


def test_diffstats_name_added_deleted_modified_and_renamed_files(client, session, settings,
                                                                 make_user):
    owner = make_user()
    project, repo = git_project(session, settings, owner)
    body = "".join(f"line {i}\n" for i in range(40))
    commit(repo, "main", {"big.txt": body}, "Add big")
    pr = open_pr(session, settings, owner, project, repo, files={
        "new.txt": "n\n", "README": None, "a.txt": "one\nTWO\nthree\nfour\n",
        "big.txt": None, "moved.txt": body + "one more\n"})
    stats = client.get(pr_url(project, pr, "/diffstats")).get_json()
    assert stats["new.txt"]["status"] == "A" and stats["new.txt"]["lines_added"] == 1
    assert stats["README"]["status"] == "D" and stats["README"]["lines_removed"] == 1
    assert stats["a.txt"]["status"] == "M"
    assert (stats["a.txt"]["lines_added"], stats["a.txt"]["lines_removed"]) == (2, 1)
    assert stats["moved.txt"]["status"] == "R" and stats["moved.txt"]["old_path"] == "big.txt"
    assert set(stats["a.txt"]) == {"lines_added", "lines_removed", "old_path", "status",
                                   "old_id", "new_id"}
    # once merged by hand, an open PR has nothing left; a closed one keeps its range
    repo.references.create("refs/heads/main", repo[pr.commit_stop].id, force=True)
    assert error_of(client.get(pr_url(project, pr, "/diffstats"))) == (400, "ENOPRSTATS")
    core_pulls.close(session, owner, pr, base_url="x")
    session.commit()
    again = client.get(pr_url(project, pr, "/diffstats")).get_json()
    assert again == stats
