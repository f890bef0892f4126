"""Pull-request rules (core.pulls) on real repositories: opening from a
branch and from a fork, commit ranges, merge status in memory, rights,
votes, refresh after pushes, related issues."""

from __future__ import annotations

import pygit2
import pytest
from commithelp import SIG, commit
from conftest import unique

from pagurus.core import issues, pulls
from pagurus.core import projects as core_projects
from pagurus.core.errors import ForgeError, InvalidInput, NotAllowed
from pagurus.core.issue_json import issue_json
from pagurus.core.pull_json import pull_json
from pagurus.git import pulls as git_pulls
from pagurus.git.repos import fork_bare, init_bare, remove
from pagurus.paths import repo_path

BASE = "http://pagurus.test"


def make(session, settings, owner, **opts):
    project = core_projects.create_project(session, settings, owner, unique("pr"), "d")
    project.repo_state = "ready"
    project.settings = {**project.settings, **opts}
    session.commit()
    repo = init_bare(repo_path(settings.data_dir, "main", project.fullname), "main")
    commit(repo, "main", {"README": "hello\n", "a.txt": "one\ntwo\nthree\n"}, "Initial")
    return project, repo


def test_a_branch_pr_shares_numbers_with_issues_and_tracks_its_commits(session, settings,
                                                                       make_user):
    owner = make_user()
    project, repo = make(session, settings, owner)
    issue = issues.create_issue(session, owner, project, title="bug", content="x",
                                base_url=BASE)
    first = commit(repo, "feature/x", {"b.txt": "b\n"}, "Add b", "main")
    second = commit(repo, "feature/x", {"c.txt": "c\n"}, "Add c\n\nFixes #1")
    pr = pulls.create_pull(session, settings.data_dir, owner, project, branch_to="main",
                           branch_from="feature/x", title="Add files", base_url=BASE,
                           initial_comment="Adds b and c")
    session.commit()
    assert pr.number == issue.number + 1
    assert (pr.commit_start, pr.commit_stop) == (first, second)
    assert str(repo.lookup_reference(f"refs/pull/{pr.number}/head").target) == second
    assert pulls.merge_status(session, settings.data_dir, pr) == ("FFORWARD", [])
    data = pull_json(session, pr, BASE)
    assert data["cached_merge_status"] == "FFORWARD" and data["branch_from"] == "feature/x"
    assert data["repo_from"]["fullname"] == project.fullname
    # "Fixes #1" in a commit relates the PR to issue 1
    assert issue_json(session, issue, BASE)["related_prs"] == [{"id": pr.number,
                                                                "title": "Add files"}]


def test_merge_status_sees_merges_conflicts_and_nothing_to_do(session, settings, make_user):
    owner = make_user()
    project, repo = make(session, settings, owner)
    commit(repo, "clean", {"new.txt": "n\n"}, "New file", "main")
    commit(repo, "clash", {"a.txt": "one\nTWO from the branch\nthree\n"}, "Change two", "main")
    commit(repo, "same", {"z.txt": "z\n"}, "Z", "main")
    prs = {b: pulls.create_pull(session, settings.data_dir, owner, project, branch_to="main",
                                branch_from=b, title=b, base_url=BASE)
           for b in ("clean", "clash", "same")}
    session.commit()
    commit(repo, "main", {"a.txt": "one\ntwo on main\nthree\n"}, "Main moves on")
    repo.references.create("refs/heads/main", repo.lookup_reference("refs/heads/main").target,
                           force=True)
    assert pulls.merge_status(session, settings.data_dir, prs["clean"]) == ("MERGE", [])
    assert pulls.merge_status(session, settings.data_dir, prs["clash"]) == ("CONFLICTS",
                                                                            ["a.txt"])
    # main now contains "same": nothing left to merge
    main = git_pulls.branch_head(repo, "main")
    merged_tree = git_pulls.merge_tree(repo, str(main.id), prs["same"].commit_stop)
    oid = repo.create_commit("refs/heads/main", SIG, SIG, "merge", merged_tree,
                             [main.id, repo[prs["same"].commit_stop].id])
    assert oid
    assert pulls.merge_status(session, settings.data_dir, prs["same"])[0] == "NO_CHANGE"


def test_a_pr_from_a_fork_stays_readable_after_the_fork_is_deleted(session, settings,
                                                                   make_user):
    owner, contributor = make_user(), make_user()
    project, repo = make(session, settings, owner)
    fork = core_projects.fork_project(session, contributor, project)
    fork.repo_state = "ready"
    session.commit()
    fork_path = repo_path(settings.data_dir, "main", fork.fullname)
    fork_bare(repo_path(settings.data_dir, "main", project.fullname), fork_path)
    head = commit(pygit2.Repository(str(fork_path)), "fix", {"a.txt": "fixed\n"}, "Fix a",
                  "main")
    # only committers of the source may open a PR from it
    with pytest.raises(NotAllowed):
        pulls.create_pull(session, settings.data_dir, owner, project, source=fork,
                          branch_to="main", branch_from="fix", title="t", base_url=BASE)
    session.rollback()
    pr = pulls.create_pull(session, settings.data_dir, contributor, project, source=fork,
                           branch_to="main", branch_from="fix", title="Fix", base_url=BASE)
    session.commit()
    assert pr.commit_stop == head and repo[head]  # the objects are in the target now
    remove(fork_path)
    session.delete(fork)
    session.commit()
    session.refresh(pr)
    assert pr.project_from is None
    span = pulls.sync(session, settings.data_dir, pr)
    assert span.stop == head
    assert pulls.merge_status(session, settings.data_dir, pr)[0] == "FFORWARD"


def test_bad_pull_requests_are_refused_and_leave_nothing(session, settings, make_user):
    owner = make_user()
    project, repo = make(session, settings, owner)
    before = set(repo.references)
    for kwargs in ({"branch_from": "nope"}, {"branch_from": "main"},
                   {"branch_from": "-x"}, {"branch_to": "nope", "branch_from": "main"},
                   {"branch_from": "main", "title": ""}):
        args = {"branch_to": "main", "title": "t", **kwargs}
        with pytest.raises(InvalidInput):
            pulls.create_pull(session, settings.data_dir, owner, project, base_url=BASE, **args)
        session.rollback()
    assert set(repo.references) == before
    project.settings = {**project.settings, "pull_requests": False}
    session.commit()
    with pytest.raises(pulls.PullsDisabled):
        pulls.create_pull(session, settings.data_dir, owner, project, branch_to="main",
                          branch_from="main", title="t", base_url=BASE)


def test_signed_off_is_enforced_when_the_project_asks(session, settings, make_user):
    owner = make_user()
    project, repo = make(session, settings, owner,
                         **{"Enforce_signed-off_commits_in_pull-request": True})
    commit(repo, "unsigned", {"u.txt": "u\n"}, "No sign-off", "main")
    commit(repo, "signed", {"s.txt": "s\n"}, "Signed\n\nSigned-off-by: Dev <dev@example.com>",
           "main")
    with pytest.raises(InvalidInput) as err:
        pulls.create_pull(session, settings.data_dir, owner, project, branch_to="main",
                          branch_from="unsigned", title="t", base_url=BASE)
    assert err.value.code == "ENOSIGNEDOFF"
    session.rollback()
    pulls.create_pull(session, settings.data_dir, owner, project, branch_to="main",
                      branch_from="signed", title="t", base_url=BASE)


def test_votes_assignee_and_rights_decide_who_may_merge(session, settings, make_user):
    owner, author, reviewer, collaborator = make_user(), make_user(), make_user(), make_user()
    project, repo = make(session, settings, owner,
                         **{"Minimum_score_to_merge_pull-request": 2,
                            "Only_assignee_can_merge_pull-request": True})
    core_projects.set_user_access(session, owner, project, author, "commit")
    core_projects.set_user_access(session, owner, project, collaborator, "collaborator",
                                  branches="feature/*")
    commit(repo, "topic", {"t.txt": "t\n"}, "T", "main")
    pr = pulls.create_pull(session, settings.data_dir, author, project, branch_to="main",
                           branch_from="topic", title="T", base_url=BASE)
    session.commit()
    assert pulls.merge_refusal(session, collaborator, pr).code == "ENOPRCLOSE"
    assert pulls.merge_refusal(session, owner, pr).code == "ENOTASSIGNED"
    pulls.update_metadata(session, owner, pr, base_url=BASE, assignee=owner.name)
    assert pulls.merge_refusal(session, author, pr).code == "ENOTASSIGNEE"
    assert pulls.merge_refusal(session, owner, pr).code == "EPRSCORE"
    pulls.add_comment(session, reviewer, pr, "+1 looks good", base_url=BASE)
    pulls.add_comment(session, author, pr, ":thumbsup:", base_url=BASE)
    pulls.add_comment(session, reviewer, pr, "+1 again", base_url=BASE)  # one vote per user
    session.commit()
    assert pulls.score(pr) == 2 and pulls.threshold_reached(pr) is True
    assert pulls.merge_refusal(session, owner, pr) is None
    pulls.add_comment(session, reviewer, pr, "actually -1", base_url=BASE)
    assert pulls.score(pr) == 0


def test_close_reopen_and_comment_rights(session, settings, make_user):
    owner, author, stranger = make_user(), make_user(), make_user()
    project, repo = make(session, settings, owner)
    core_projects.set_user_access(session, owner, project, author, "commit")
    commit(repo, "topic", {"t.txt": "t\n"}, "T", "main")
    pr = pulls.create_pull(session, settings.data_dir, author, project, branch_to="main",
                           branch_from="topic", title="T", base_url=BASE)
    note = pulls.add_comment(session, stranger, pr, "nice", base_url=BASE)
    session.commit()
    with pytest.raises(pulls.PullNotAllowed):
        pulls.close(session, stranger, pr, base_url=BASE)
    other = make_user()
    with pytest.raises(pulls.PullNotAllowed):
        pulls.edit_comment(session, other, note, "x", base_url=BASE)
    with pytest.raises(pulls.PullNotAllowed):
        pulls.delete_comment(session, other, note)
    assert pulls.close(session, author, pr, base_url=BASE) is True
    assert pr.status == "Closed" and pr.comments[-1].comment.endswith(f"closed by {author.name}")
    assert pulls.reopen(session, author, pr, base_url=BASE) is True
    pulls.delete_comment(session, owner, note)
    session.commit()
    inline = pulls.add_comment(session, owner, pr, "typo here", base_url=BASE,
                               commit=pr.commit_stop, filename="t.txt", row=1)
    assert (inline.filename, inline.line) == ("t.txt", 1)
    with pytest.raises(InvalidInput):
        pulls.add_comment(session, owner, pr, "half", base_url=BASE, filename="t.txt")
    session.rollback()
    pr.status = "Merged"
    with pytest.raises(InvalidInput):
        pulls.reopen(session, owner, pr, base_url=BASE)
    session.rollback()


def test_pushing_to_the_source_branch_adds_or_rebases(session, settings, make_user):
    owner = make_user()
    project, repo = make(session, settings, owner)
    commit(repo, "topic", {"t.txt": "t\n"}, "T", "main")
    pr = pulls.create_pull(session, settings.data_dir, owner, project, branch_to="main",
                           branch_from="topic", title="T", base_url=BASE)
    session.commit()
    commit(repo, "topic", {"u.txt": "u\n"}, "U")
    commit(repo, "topic", {"v.txt": "v\n"}, "V")
    assert pulls.refresh_from_push(session, settings.data_dir, pr, agent=owner,
                                   base_url=BASE) == "pull-request.updated"
    assert pr.comments[-1].comment.startswith("**2 new commits added**")
    assert "``U``" in pr.comments[-1].comment and "``V``" in pr.comments[-1].comment
    assert pulls.refresh_from_push(session, settings.data_dir, pr, agent=owner,
                                   base_url=BASE) is None
    # rewrite the branch from main: a rebase
    commit(repo, "main", {"m.txt": "m\n"}, "M")
    repo.references.create("refs/heads/topic", git_pulls.branch_head(repo, "main").id,
                           force=True)
    commit(repo, "topic", {"t.txt": "t2\n"}, "T again")
    assert pulls.refresh_from_push(session, settings.data_dir, pr, agent=owner,
                                   base_url=BASE) == "pull-request.rebased"
    assert pr.comments[-1].comment.startswith("rebased onto ")
    session.commit()


def test_errors_carry_api_codes():
    assert pulls.PullsDisabled().code == "EPULLREQUESTSDISABLED"
    assert pulls.PullNotFound().code == "ENOREQ"
    assert issubclass(pulls.PullNotAllowed, ForgeError)
