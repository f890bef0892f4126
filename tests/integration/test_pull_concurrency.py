"""Merges at the same moment: two pull requests into one branch both end
merged, and a merge racing a push never loses the pushed commit (the push's
lease; the merge is computed again on the new tip)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from conftest import unique
from pull_fixture import (
    BASE,
    Clone,
    bare,
    clone_fixture,  # noqa: F401 - fixture
    commit_info,
    hook_server_fixture,  # noqa: F401 - fixture
    is_ancestor,
    open_pull,
    owner_fixture,  # noqa: F401 - fixture
    project_fixture,  # noqa: F401 - fixture
    reload,
    rev,
)

from pagurus.git import pullmerge
from pagurus.tasks import pulls as pull_tasks
from pagurus.tasks.app import runtime


def branch_with_commit(clone: Clone, user: Any, branch: str) -> str:
    clone.start(branch)
    head = clone.write({f"{branch}.txt": f"{branch}\n"}, f"Work on {branch}")
    clone.push_branch(branch, user.name)
    return head


def test_two_merges_into_one_branch_at_once_both_land(session, settings, owner, project,
                                                      clone):
    heads = {b: branch_with_commit(clone, owner, b) for b in ("left", "right")}
    prs = {b: open_pull(session, settings, owner, project, b) for b in heads}
    # both through the real worker (two threads), queued together
    jobs = [pull_tasks.merge_pull.delay(pr.id, owner.id, BASE) for pr in prs.values()]
    results = [job.get(timeout=180) for job in jobs]
    assert all(r["merged"] for r in results), results
    assert sorted(r["code"] for r in results) == ["FFORWARD", "MERGE"]
    path = bare(settings, project)
    tip = rev(path, "refs/heads/main")
    for head in heads.values():
        assert is_ancestor(path, head, tip)
    for pr in prs.values():
        assert reload(session, pr).status == "Merged"


def test_many_merges_called_together_all_land(session, settings, owner, project, clone):
    branches = [unique("b") for _ in range(4)]
    heads = [branch_with_commit(clone, owner, b) for b in branches]
    prs = [open_pull(session, settings, owner, project, b) for b in branches]
    with ThreadPoolExecutor(len(prs)) as pool:
        results = list(pool.map(lambda pr: pull_tasks.merge_pull(pr.id, owner.id, BASE), prs))
    assert all(r["merged"] for r in results), results
    path = bare(settings, project)
    for head in heads:
        assert is_ancestor(path, head, "refs/heads/main")


def test_a_push_landing_during_a_merge_is_kept_and_merged_around(session, settings, owner,
                                                                 project, clone, tmp_path):
    head = branch_with_commit(clone, owner, "feature")
    pr = open_pull(session, settings, owner, project, "feature", title="Racing")
    racer = Clone(settings, project, tmp_path / "racer")
    racer.start("main")
    pushed: list[str] = []

    def push_first(plan: pullmerge.MergePlan) -> None:
        if not pushed:  # someone pushes to main between the plan and its push
            pushed.append(racer.write({"race.txt": "won\n"}, "Pushed meanwhile"))
            racer.push_branch("main", owner.name)

    path = bare(settings, project)
    start = rev(path, "refs/heads/main")
    merger = pullmerge.Identity(owner.name, owner.fullname, owner.default_email)
    outcome = pullmerge.merge(runtime().settings, path, "main", head, merger=merger,
                              message="Merge #1 `Racing`\n", pull_request=pr.uid,
                              before_push=push_first)
    # the first plan (a fast-forward from the old tip) lost its lease; the
    # second was computed on the pushed commit
    assert outcome.pushed and outcome.plan.action == pullmerge.MERGE
    assert outcome.plan.target_tip == pushed[0] != start
    tip = rev(path, "refs/heads/main")
    assert commit_info(path, tip)["parents"] == [pushed[0], head]


def test_a_merge_that_keeps_losing_the_race_gives_up_and_loses_nothing(session, settings,
                                                                      owner, project, clone,
                                                                      tmp_path):
    head = branch_with_commit(clone, owner, "feature")
    pr = open_pull(session, settings, owner, project, "feature")
    racer = Clone(settings, project, tmp_path / "racer")
    racer.start("main")
    pushed: list[str] = []

    def always_push(plan: pullmerge.MergePlan) -> None:
        pushed.append(racer.write({f"{unique('r')}.txt": "r\n"}, "Pushed meanwhile"))
        racer.push_branch("main", owner.name)

    path = bare(settings, project)
    merger = pullmerge.Identity(owner.name, owner.fullname, owner.default_email)
    outcome = pullmerge.merge(runtime().settings, path, "main", head, merger=merger,
                              message="m\n", pull_request=pr.uid, before_push=always_push)
    assert not outcome.pushed and outcome.stale
    assert "kept changing" in outcome.message
    assert len(pushed) == 1 + pullmerge.RETRIES
    assert rev(path, "refs/heads/main") == pushed[-1]
    assert not is_ancestor(path, head, "refs/heads/main")
    assert reload(session, pr).status == "Open"


def test_merges_and_pushes_racing_never_lose_a_commit(session, settings, owner, project,
                                                      clone, tmp_path):
    branches = [unique("m") for _ in range(3)]
    heads = [branch_with_commit(clone, owner, b) for b in branches]
    prs = [open_pull(session, settings, owner, project, b) for b in branches]
    racer = Clone(settings, project, tmp_path / "racer")
    landed: list[str] = []
    done = threading.Event()

    def keep_pushing() -> None:
        # a developer pushing to main in a loop: fetch, rebase, push (refused
        # pushes — main moved — are retried, never forced)
        env = {"GIT_COMMITTER_NAME": "R", "GIT_COMMITTER_EMAIL": "r@example.org"}
        from test_hooks_common import git

        for n in range(6):
            racer.start("main")
            sha = racer.write({f"race{n}.txt": f"{n}\n"}, f"Race {n}")
            for _attempt in range(10):
                proc = racer.push_branch("main", owner.name, check=False)
                if proc.returncode == 0:
                    landed.append(racer.rev("HEAD"))
                    break
                git("fetch", "-q", "origin", cwd=racer.path)
                git("rebase", "-q", "origin/main", cwd=racer.path, env=env)
            assert sha
        done.set()

    pusher = threading.Thread(target=keep_pushing)
    pusher.start()
    with ThreadPoolExecutor(len(prs)) as pool:
        results = list(pool.map(lambda pr: pull_tasks.merge_pull(pr.id, owner.id, BASE), prs))
    pusher.join(300)
    assert done.is_set()
    path = bare(settings, project)
    tip = rev(path, "refs/heads/main")
    for result, head in zip(results, heads, strict=True):
        # a merge may give up after losing the race twice, but never half-way
        assert result["merged"] or result["code"] == "ESTALE", result
        assert is_ancestor(path, head, tip) == bool(result["merged"])
    for sha in landed:
        assert is_ancestor(path, sha, tip)


def test_the_branch_lock_serializes_holders(settings):
    rt = runtime()
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with pull_tasks.branch_lock(rt, 999_999, "main"):
            held.set()
            release.wait(60)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(60)
        with pytest.raises(pull_tasks.LockTimeout):
            with pull_tasks.branch_lock(rt, 999_999, "main", timeout=0.2):
                pass
        # another branch is not blocked
        with pull_tasks.branch_lock(rt, 999_999, "other", timeout=5):
            pass
    finally:
        release.set()
        holder.join(60)
    with pull_tasks.branch_lock(rt, 999_999, "main", timeout=5):
        pass
