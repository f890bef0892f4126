"""Merging pull requests (the ``pagurus.merge_pull`` task): fast-forward,
merge commits checked with ``git cat-file``/``git log``, the project's merge
options, conflicts, sign-off, the rules re-checked inside the task, deleting
the source branch, and ``pull_request_access_only``. Real repos made by the
worker, real pushes through the hooks."""

from __future__ import annotations

from typing import Any

from conftest import unique
from pull_fixture import (
    BASE,
    Clone,
    bare,
    clone_fixture,  # noqa: F401 - fixture
    commit_info,
    fork,
    hook_server_fixture,  # noqa: F401 - fixture
    is_ancestor,
    new_project,
    open_pull,
    owner_fixture,  # noqa: F401 - fixture
    project_fixture,  # noqa: F401 - fixture
    reload,
    rev,
    set_options,
    topics,
)
from test_hooks_common import git, refused

from pagurus.core import projects as core_projects
from pagurus.core import pulls as core_pulls
from pagurus.git.pushenv import PULL_REQUEST
from pagurus.tasks.pulls import merge_pull


def feature(clone: Clone, user: Any, branch: str = "feature", files: dict | None = None,
            message: str = "Add a feature") -> str:
    clone.start(branch)
    head = clone.write(files or {f"{unique('f')}.txt": "feature\n"}, message)
    clone.push_branch(branch, user.name)
    return head


def move_main(clone: Clone, user: Any, files: dict[str, str | None],
              message: str = "Main moves on") -> str:
    clone.start("main")
    sha = clone.write(files, message)
    clone.push_branch("main", user.name)
    return sha


def test_a_fast_forward_merge_moves_the_branch_and_closes_the_pr(session, settings, owner,
                                                                project, clone):
    clone.start("feature")
    first = clone.write({"a.txt": "a\n"}, "Add a")
    head = clone.write({"b.txt": "b\n"}, "Add b")
    clone.push_branch("feature", owner.name)
    pr = open_pull(session, settings, owner, project, "feature", title="Add a and b")

    result = merge_pull(pr.id, owner.id, BASE)

    assert result["merged"] is True and result["message"] == "Changes merged!"
    assert result["code"] == "FFORWARD" and result["merge_commit"] == head
    path = bare(settings, project)
    assert rev(path, "refs/heads/main") == head
    assert git("log", "--format=%s", "-2", "main", cwd=path).stdout.split("\n")[:2] == [
        "Add b", "Add a"]
    pr = reload(session, pr)
    assert pr.status == "Merged" and pr.closed_by_id == owner.id
    assert (pr.commit_start, pr.commit_stop) == (first, head)
    assert pr.comments[-1].comment == f"Pull-Request has been merged by {owner.name}"
    assert pr.comments[-1].notification is True
    [closed] = topics(session, project, "pull-request.closed")
    assert closed.payload["merged"] is True and closed.payload["merge_commit"] == head
    # the push went through the hooks, naming the pull request
    receive = topics(session, project, "git.receive")[-1].payload
    assert receive["branch"] == "main" and receive["pull_request_id"] == pr.uid
    assert receive["agent"] == owner.name


def test_a_diverged_branch_gets_a_merge_commit_by_the_merger(session, settings, owner,
                                                             project, clone, make_user):
    author = make_user()
    core_projects.set_user_access(session, owner, project, author, "commit")
    session.commit()
    head = feature(clone, author, files={"feature.txt": "new\n"})
    pr = open_pull(session, settings, author, project, "feature", title="Add <the> feature")
    tip = move_main(clone, owner, {"main.txt": "main\n"})

    result = merge_pull(pr.id, owner.id, BASE, comment="Thanks, merging!")

    assert result["merged"] is True and result["code"] == "MERGE"
    path = bare(settings, project)
    merge = rev(path, "refs/heads/main")
    assert merge == result["merge_commit"] and merge not in (tip, head)
    info = commit_info(path, merge)
    assert info["parents"] == [tip, head]
    assert info["message"] == f"Merge #{pr.number} `Add <the> feature`\n"
    who = f"{owner.fullname} <{owner.default_email}>"
    assert info["author"] == who and info["committer"] == who
    files = git("ls-tree", "--name-only", merge, cwd=path).stdout.split()
    assert {"README.md", "main.txt", "feature.txt"} <= set(files)
    assert git("show", f"{merge}:feature.txt", cwd=path).stdout == "new\n"
    pr = reload(session, pr)
    texts = [c.comment for c in pr.comments]
    assert texts[-2:] == ["Thanks, merging!", f"Pull-Request has been merged by {owner.name}"]
    assert pr.comments[-2].user_id == owner.id and not pr.comments[-2].notification


def test_always_merge_makes_a_merge_commit_even_for_a_fast_forward(session, settings, owner,
                                                                   project, clone):
    set_options(session, project, always_merge=True)
    tip = rev(bare(settings, project), "refs/heads/main")
    head = feature(clone, owner)
    pr = open_pull(session, settings, owner, project, "feature", title="Always")
    result = merge_pull(pr.id, owner.id, BASE)
    assert result["merged"] is True and result["code"] == "MERGE"
    info = commit_info(bare(settings, project), result["merge_commit"])
    assert info["parents"] == [tip, head]
    assert info["message"].startswith(f"Merge #{pr.number} `Always`")


def test_disabled_non_fast_forward_merges_refuse_a_merge_commit(session, settings, owner,
                                                                project, clone):
    set_options(session, project, **{"disable_non_fast-forward_merges": True})
    feature(clone, owner)
    pr = open_pull(session, settings, owner, project, "feature")
    tip = move_main(clone, owner, {"other.txt": "x\n"})
    before = len(pr.comments)
    result = merge_pull(pr.id, owner.id, BASE, comment="merge please")
    assert result["merged"] is False and result["code"] == "NEEDSREBASE"
    assert "fast-forward" in result["message"] and "rebase" in result["message"]
    assert rev(bare(settings, project), "refs/heads/main") == tip
    pr = reload(session, pr)
    assert pr.status == "Open" and len(pr.comments) == before
    # once rebased onto main, the fast-forward goes through
    clone.start("feature", "origin/feature")
    git("rebase", "-q", "origin/main", cwd=clone.path,
        env={"GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.org"})
    clone.push_branch("feature", owner.name, force=True)
    assert merge_pull(pr.id, owner.id, BASE)["code"] == "FFORWARD"


def test_conflicts_are_listed_and_nothing_changes(session, settings, owner, project, clone):
    feature(clone, owner, files={"README.md": "from the branch\n", "x/clash.txt": "b\n",
                                 "fine.txt": "ok\n"})
    pr = open_pull(session, settings, owner, project, "feature")
    tip = move_main(clone, owner, {"README.md": "from main\n", "x/clash.txt": "m\n"})
    result = merge_pull(pr.id, owner.id, BASE, comment="try", delete_branch=True)
    assert result["merged"] is False and result["code"] == "EPRCONFLICTS"
    assert result["conflicts"] == ["README.md", "x/clash.txt"]
    assert "README.md" in result["message"] and "x/clash.txt" in result["message"]
    path = bare(settings, project)
    assert rev(path, "refs/heads/main") == tip and rev(path, "refs/heads/feature")
    pr = reload(session, pr)
    assert pr.status == "Open" and not [c for c in pr.comments if c.comment == "try"]
    assert topics(session, project, "pull-request.closed") == []


def test_already_merged_changes_close_the_pr_with_nothing_to_do(session, settings, owner,
                                                                project, clone):
    head = feature(clone, owner)
    pr = open_pull(session, settings, owner, project, "feature")
    clone.push(f"{head}:refs/heads/main", user=owner.name, check=True)
    result = merge_pull(pr.id, owner.id, BASE)
    assert result["merged"] is False
    assert result["message"] == "Nothing to do, changes were already merged"
    assert result["status"] == "Merged"
    assert reload(session, pr).status == "Merged"
    [closed] = topics(session, project, "pull-request.closed")
    assert closed.payload["merged"] is True


def test_an_empty_target_branch_is_created_at_the_pr_head(session, settings, owner,
                                                          make_user, tmp_path, worker):
    contributor = make_user()
    empty = new_project(session, settings, owner, readme=False)
    forked = fork(session, settings, contributor, empty)
    clone = Clone(settings, forked, tmp_path / "fork")
    head = clone.write({"first.txt": "1\n"}, "First commit")
    clone.push_branch("start", contributor.name)
    pr = open_pull(session, settings, contributor, empty, "start", source=forked)
    result = merge_pull(pr.id, owner.id, BASE)
    assert result["merged"] is True and result["code"] == "CREATE"
    assert rev(bare(settings, empty), "refs/heads/main") == head


def test_always_merge_on_an_empty_target_records_a_merge_commit(session, settings, owner,
                                                                make_user, tmp_path, worker):
    contributor = make_user()
    empty = new_project(session, settings, owner, readme=False, always_merge=True)
    forked = fork(session, settings, contributor, empty)
    clone = Clone(settings, forked, tmp_path / "fork")
    head = clone.write({"first.txt": "1\n"}, "First commit")
    clone.push_branch("start", contributor.name)
    pr = open_pull(session, settings, contributor, empty, "start", source=forked)
    result = merge_pull(pr.id, owner.id, BASE)
    assert result["merged"] is True
    info = commit_info(bare(settings, empty), rev(bare(settings, empty), "refs/heads/main"))
    assert info["parents"] == [head] and info["message"].startswith(f"Merge #{pr.number} ")


def test_sign_off_is_enforced_when_merging(session, settings, owner, project, clone):
    unsigned = feature(clone, owner, "unsigned")
    pr_unsigned = open_pull(session, settings, owner, project, "unsigned")
    clone.start("signed")
    clone.write({"s.txt": "s\n"}, "Signed\n\nSigned-off-by: Ada Author <ada@example.org>")
    clone.push_branch("signed", owner.name)
    pr_signed = open_pull(session, settings, owner, project, "signed", title="Signed")
    move_main(clone, owner, {"m.txt": "m\n"})
    set_options(session, project, **{"Enforce_signed-off_commits_in_pull-request": True})

    refused_merge = merge_pull(pr_unsigned.id, owner.id, BASE)
    assert refused_merge["merged"] is False and refused_merge["code"] == "ENOSIGNEDOFF"
    assert unsigned[:8] in refused_merge["message"]
    assert reload(session, pr_unsigned).status == "Open"

    result = merge_pull(pr_signed.id, owner.id, BASE)
    assert result["merged"] is True and result["code"] == "MERGE"
    message = commit_info(bare(settings, project), result["merge_commit"])["message"]
    assert message == (f"Merge #{pr_signed.number} `Signed`\n\n"
                       f"Signed-off-by: {owner.fullname} <{owner.default_email}>\n")


def test_the_merge_rules_are_checked_again_inside_the_task(session, settings, owner, project,
                                                           clone, make_user):
    reviewer, stranger = make_user(), make_user()
    head = feature(clone, owner)
    pr = open_pull(session, settings, owner, project, "feature")
    tip = rev(bare(settings, project), "refs/heads/main")
    assert merge_pull(pr.id, stranger.id, BASE)["code"] == "ENOPRCLOSE"
    set_options(session, project, **{"Only_assignee_can_merge_pull-request": True,
                                     "Minimum_score_to_merge_pull-request": 1})
    assert merge_pull(pr.id, owner.id, BASE)["code"] == "ENOTASSIGNED"
    pr = reload(session, pr)
    core_pulls.update_metadata(session, owner, pr, base_url=BASE, assignee=reviewer.name)
    session.commit()
    assert merge_pull(pr.id, owner.id, BASE)["code"] == "ENOTASSIGNEE"
    core_pulls.update_metadata(session, owner, reload(session, pr), base_url=BASE,
                               assignee=owner.name)
    session.commit()
    result = merge_pull(pr.id, owner.id, BASE)
    assert result["code"] == "EPRSCORE" and "minimum review score" in result["message"]
    assert rev(bare(settings, project), "refs/heads/main") == tip
    core_pulls.add_comment(session, reviewer, reload(session, pr), "+1", base_url=BASE)
    session.commit()
    assert merge_pull(pr.id, owner.id, BASE)["merged"] is True
    assert rev(bare(settings, project), "refs/heads/main") == head
    # a merged pull request is not merged twice
    assert merge_pull(pr.id, owner.id, BASE)["merged"] is False


def test_delete_branch_removes_the_merged_source_branch(session, settings, owner, project,
                                                        clone):
    head = feature(clone, owner, "topic/delete-me")
    pr = open_pull(session, settings, owner, project, "topic/delete-me")
    result = merge_pull(pr.id, owner.id, BASE, delete_branch=True)
    assert result["merged"] is True
    assert "Branch topic/delete-me deleted." in result["message"]
    path = bare(settings, project)
    assert rev(path, "refs/heads/topic/delete-me") is None
    assert rev(path, "refs/heads/main") == head
    # the head stays reachable for the PR
    assert rev(path, f"refs/pull/{pr.number}/head") == head
    deletion = topics(session, project, "git.branch.deletion")[-1].payload
    assert deletion["branch"] == "topic/delete-me" and deletion["agent"] == owner.name


def test_delete_branch_needs_rights_on_the_source(session, settings, owner, project,
                                                  make_user, tmp_path):
    contributor = make_user()
    forked = fork(session, settings, contributor, project)
    clone = Clone(settings, forked, tmp_path / "fork")
    feature(clone, contributor, "fix")
    pr = open_pull(session, settings, contributor, project, "fix", source=forked)
    tip = rev(bare(settings, project), "refs/heads/main")
    result = merge_pull(pr.id, owner.id, BASE, delete_branch=True)
    assert result["merged"] is False and "permissions" in result["message"]
    assert rev(bare(settings, project), "refs/heads/main") == tip
    assert rev(bare(settings, forked), "refs/heads/fix")
    # without deleting, the owner merges the fork's branch
    assert merge_pull(pr.id, owner.id, BASE)["merged"] is True
    assert rev(bare(settings, forked), "refs/heads/fix")


def test_pull_request_access_only_takes_merges_but_no_direct_push(session, settings, owner,
                                                                  project, make_user,
                                                                  tmp_path):
    contributor = make_user()
    forked = fork(session, settings, contributor, project)
    clone = Clone(settings, forked, tmp_path / "fork")
    head = feature(clone, contributor, "fix")
    pr = open_pull(session, settings, contributor, project, "fix", source=forked)
    other_head = feature(clone, contributor, "other")
    other = open_pull(session, settings, contributor, project, "other", source=forked)
    set_options(session, project, pull_request_access_only=True)
    mine = Clone(settings, project, tmp_path / "mine")
    tip = rev(bare(settings, project), "refs/heads/main")

    # a direct push is refused, even naming a pull request whose head it lacks
    mine.write({"direct.txt": "d\n"}, "Direct")
    assert refused(mine.push("HEAD:refs/heads/main", user=owner.name))
    assert refused(mine.push("HEAD:refs/heads/main", user=owner.name,
                             extra={PULL_REQUEST: pr.uid}))
    # nor does a pull request's uid let a non-committer in
    git("fetch", "-q", "origin", f"refs/pull/{pr.number}/head", cwd=mine.path)
    assert refused(mine.push(f"{head}:refs/heads/main", user=contributor.name,
                             extra={PULL_REQUEST: pr.uid}))
    assert rev(bare(settings, project), "refs/heads/main") == tip

    result = merge_pull(pr.id, owner.id, BASE)
    assert result["merged"] is True, result
    assert rev(bare(settings, project), "refs/heads/main") == head
    # the second one needs a merge commit: accepted too
    result = merge_pull(other.id, owner.id, BASE)
    assert result["merged"] is True and result["code"] == "MERGE"
    assert is_ancestor(bare(settings, project), other_head, "refs/heads/main")


def test_merging_resets_the_cached_merge_status_of_the_other_prs(session, settings, owner,
                                                                 project, clone):
    feature(clone, owner, "one")
    feature(clone, owner, "two")
    one = open_pull(session, settings, owner, project, "one")
    two = open_pull(session, settings, owner, project, "two")
    assert core_pulls.merge_status(session, settings.data_dir, two)[0] == "FFORWARD"
    session.commit()
    assert merge_pull(one.id, owner.id, BASE)["merged"] is True
    two = reload(session, two)
    assert two.merge_status is None
    assert core_pulls.merge_status(session, settings.data_dir, two)[0] == "MERGE"


def test_the_worker_runs_the_merge_task(session, settings, owner, project, clone):
    head = feature(clone, owner)
    pr = open_pull(session, settings, owner, project, "feature")
    result = merge_pull.delay(pr.id, owner.id, BASE).get(timeout=120)
    assert result["merged"] is True
    assert rev(bare(settings, project), "refs/heads/main") == head
