"""Rebasing a pull request (the ``pagurus.rebase_pull`` task): its commits
replayed onto the target branch in memory, authors and messages kept, the
source branch force-updated through the hooks, "rebased onto" recorded;
conflicts refused with the files named; who may rebase."""

from __future__ import annotations

from typing import Any

from pull_fixture import (
    BASE,
    Clone,
    bare,
    clone_fixture,  # noqa: F401 - fixture
    commit_info,
    fork,
    hook_server_fixture,  # noqa: F401 - fixture
    open_pull,
    owner_fixture,  # noqa: F401 - fixture
    project_fixture,  # noqa: F401 - fixture
    reload,
    rev,
    topics,
)
from test_hooks_common import git

from pagurus.core import projects as core_projects
from pagurus.core import pulls as core_pulls
from pagurus.git import pullmerge
from pagurus.tasks.app import runtime
from pagurus.tasks.pulls import merge_pull, rebase_pull


def log(path: Any, ref: str, n: int) -> list[str]:
    return git("log", "--format=%H %an <%ae>|%cn <%ce>|%s", f"-{n}", ref,
               cwd=path).stdout.splitlines()


def test_rebase_replays_the_commits_onto_the_target(session, settings, owner, project, clone):
    clone.start("feature")
    old = [clone.write({"a.txt": "a\n"}, "Add a"), clone.write({"b.txt": "b\n"}, "Add b")]
    clone.push_branch("feature", owner.name)
    pr = open_pull(session, settings, owner, project, "feature")
    clone.start("main")
    tip = clone.write({"main.txt": "m\n"}, "Main moves on")
    clone.push_branch("main", owner.name)
    assert core_pulls.merge_status(session, settings.data_dir, pr)[0] == "MERGE"
    session.commit()

    result = rebase_pull(pr.id, owner.id, BASE)

    assert result["rebased"] is True and result["message"] == "Pull-request rebased onto main"
    path = bare(settings, project)
    new_head = rev(path, "refs/heads/feature")
    assert new_head == result["head"] and new_head not in old
    lines = log(path, "refs/heads/feature", 3)
    who = f"{owner.fullname} <{owner.default_email}>"
    assert [ln.split(" ", 1)[1] for ln in lines[:2]] == [
        f"Ada Author <ada@example.org>|{who}|Add b", f"Ada Author <ada@example.org>|{who}|Add a"]
    assert lines[2].startswith(tip)
    first = lines[1].split(" ", 1)[0]
    assert commit_info(path, first)["parents"] == [tip]
    assert git("show", f"{new_head}:b.txt", cwd=path).stdout == "b\n"
    pr = reload(session, pr)
    assert pr.commit_stop == new_head and rev(path, f"refs/pull/{pr.number}/head") == new_head
    rebased = [c for c in pr.comments if c.comment.startswith("rebased onto")]
    assert len(rebased) == 1 and rebased[0].user_id == owner.id
    assert topics(session, project, "pull-request.rebased")
    assert core_pulls.merge_status(session, settings.data_dir, pr)[0] == "FFORWARD"
    # the push went through the hooks
    receive = topics(session, project, "git.receive")[-1].payload
    assert receive["branch"] == "feature" and receive["forced"] is True
    assert merge_pull(pr.id, owner.id, BASE)["code"] == "FFORWARD"


def test_rebase_conflicts_are_listed_and_the_branch_kept(session, settings, owner, project,
                                                         clone):
    clone.start("feature")
    clone.write({"README.md": "branch\n"}, "Change the readme")
    head = clone.write({"ok.txt": "ok\n"}, "Fine")
    clone.push_branch("feature", owner.name)
    pr = open_pull(session, settings, owner, project, "feature")
    clone.start("main")
    clone.write({"README.md": "main\n"}, "Main changes the readme")
    clone.push_branch("main", owner.name)
    before = len(pr.comments)
    result = rebase_pull(pr.id, owner.id, BASE)
    assert result["rebased"] is False and result["conflicts"] == ["README.md"]
    assert "README.md" in result["message"]
    assert rev(bare(settings, project), "refs/heads/feature") == head
    assert len(reload(session, pr).comments) == before


def test_nothing_to_rebase_when_already_on_the_tip(session, settings, owner, project, clone):
    clone.start("feature")
    head = clone.write({"x.txt": "x\n"}, "X")
    clone.push_branch("feature", owner.name)
    pr = open_pull(session, settings, owner, project, "feature")
    result = rebase_pull(pr.id, owner.id, BASE)
    assert result["rebased"] is False and result["code"] == "NO_CHANGE"
    assert rev(bare(settings, project), "refs/heads/feature") == head


def test_who_may_rebase_a_pr_from_a_fork(session, settings, owner, project, clone, make_user,
                                         tmp_path):
    contributor, stranger, committer = make_user(), make_user(), make_user()
    core_projects.set_user_access(session, owner, project, committer, "commit")
    session.commit()
    forked = fork(session, settings, contributor, project)
    mine = Clone(settings, forked, tmp_path / "fork")
    mine.start("fix")
    head = mine.write({"fix.txt": "fix\n"}, "Fix it")
    mine.push_branch("fix", contributor.name)
    pr = open_pull(session, settings, contributor, project, "fix", source=forked)
    clone.start("main")
    tip = clone.write({"m.txt": "m\n"}, "Main moves")
    clone.push_branch("main", owner.name)

    assert rebase_pull(pr.id, stranger.id, BASE)["code"] == "EREBASENOTALLOWED"
    # the target's committers only when the author allows rebasing
    assert rebase_pull(pr.id, committer.id, BASE)["code"] == "EREBASENOTALLOWED"
    assert rev(bare(settings, forked), "refs/heads/fix") == head
    pr = reload(session, pr)
    pr.allow_rebase = True
    session.commit()
    result = rebase_pull(pr.id, committer.id, BASE)
    assert result["rebased"] is True, result
    new_head = rev(bare(settings, forked), "refs/heads/fix")
    assert commit_info(bare(settings, forked), new_head)["parents"] == [tip]
    # the author of the fork may always rebase their branch
    clone.start("main")
    clone.write({"m2.txt": "m\n"}, "Main moves again")
    clone.push_branch("main", owner.name)
    pr = reload(session, pr)
    pr.allow_rebase = False
    session.commit()
    assert rebase_pull(pr.id, contributor.id, BASE)["rebased"] is True
    pr = reload(session, pr)
    assert pr.commit_stop == rev(bare(settings, forked), "refs/heads/fix")
    assert core_pulls.merge_status(session, settings.data_dir, pr)[0] == "FFORWARD"


def test_a_push_to_the_source_during_a_rebase_is_never_overwritten(session, settings, owner,
                                                                   project, clone, tmp_path):
    clone.start("feature")
    clone.write({"a.txt": "a\n"}, "A")
    clone.push_branch("feature", owner.name)
    pr = open_pull(session, settings, owner, project, "feature")
    clone.start("main")
    clone.write({"m.txt": "m\n"}, "M")
    clone.push_branch("main", owner.name)
    path = bare(settings, project)
    repo = core_pulls.repo_of(settings.data_dir, project)
    committer = pullmerge.Identity(owner.name, owner.fullname, owner.default_email)
    plan = pullmerge.plan_rebase(repo, "main", rev(path, "refs/heads/feature"),
                                 committer=committer)
    # the author pushes one more commit before the rebase is pushed
    clone.start("feature", "origin/feature")
    late = clone.write({"late.txt": "late\n"}, "Late")
    clone.push_branch("feature", owner.name)
    result = pullmerge.push_rebase(runtime().settings, path, path, "feature", plan,
                                   user=owner.name)
    assert not result.ok and result.stale
    assert rev(path, "refs/heads/feature") == late
    assert pr.id
