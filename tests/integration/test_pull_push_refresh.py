"""Pushes refresh pull requests (the post-receive hook): a real ``git push``
to a PR's source branch adds "N new commits added" (or "rebased onto" after a
force-push) and moves ``refs/pull/<n>/head``; pushing to a fork refreshes the
parent's PR; a push to the target forgets cached merge statuses; the hook
prints the open PR's URL instead of the "create" link. Each test runs with
the hook server and with hook processes (``hook_mode``)."""

from __future__ import annotations

from pull_fixture import (
    BASE,
    Clone,
    bare,
    clone_fixture,  # noqa: F401 - fixture
    fork,
    hook_server_fixture,  # noqa: F401 - fixture
    open_pull,
    owner_fixture,  # noqa: F401 - fixture
    project_fixture,  # noqa: F401 - fixture
    reload,
    rev,
    topics,
)
from test_hooks_common import hook_mode_fixture  # noqa: F401 - fixture

from pagurus.core import pulls as core_pulls


def test_pushing_commits_to_the_source_branch_adds_them_to_the_pr(session, settings, owner,
                                                                  project, clone):
    clone.start("feature/ünïcode")
    first = clone.write({"a.txt": "a\n"}, "Add a")
    clone.push_branch("feature/ünïcode", owner.name)
    pr = open_pull(session, settings, owner, project, "feature/ünïcode")
    clone.write({"b.txt": "b\n"}, "Add b")
    head = clone.write({"c.txt": "c\n"}, "Add c")

    proc = clone.push_branch("feature/ünïcode", owner.name)

    pr = reload(session, pr)
    assert (pr.commit_start, pr.commit_stop) == (first, head)
    note = pr.comments[-1]
    assert note.notification and note.user_id == owner.id
    assert note.comment.startswith("**2 new commits added**")
    assert "* ``Add b``" in note.comment and "* ``Add c``" in note.comment
    assert rev(bare(settings, project), f"refs/pull/{pr.number}/head") == head
    assert topics(session, project, "pull-request.updated")
    url = f"{BASE}/{project.url_path}/pull-request/{pr.number}"
    assert f"remote: View pull request #{pr.number} for 'feature/ünïcode': {url}" in proc.stderr
    assert "Create a pull request" not in proc.stderr


def test_a_force_push_marks_the_pr_rebased(session, settings, owner, project, clone):
    clone.start("topic")
    clone.write({"t.txt": "t\n"}, "Try one")
    clone.push_branch("topic", owner.name)
    pr = open_pull(session, settings, owner, project, "topic")
    clone.start("topic", "origin/main")
    again = clone.write({"t.txt": "t2\n"}, "Try two")
    clone.push_branch("topic", owner.name, force=True)
    pr = reload(session, pr)
    assert pr.commit_stop == again
    assert pr.comments[-1].comment.startswith("rebased onto ")
    assert topics(session, project, "pull-request.rebased")


def test_pushing_to_a_fork_refreshes_the_parents_pr(session, settings, owner, project,
                                                    make_user, tmp_path):
    contributor = make_user()
    forked = fork(session, settings, contributor, project)
    mine = Clone(settings, forked, tmp_path / "fork")
    mine.start("fix")
    mine.write({"fix.txt": "1\n"}, "Fix one")
    mine.push_branch("fix", contributor.name)
    pr = open_pull(session, settings, contributor, project, "fix", source=forked)
    head = mine.write({"fix.txt": "2\n"}, "Fix two")
    proc = mine.push_branch("fix", contributor.name)
    pr = reload(session, pr)
    assert pr.commit_stop == head
    assert pr.comments[-1].comment.startswith("**1 new commit added**")
    assert pr.comments[-1].user_id == contributor.id
    # the parent repo holds the new head for `git fetch origin pull/<n>/head`
    assert rev(bare(settings, project), f"refs/pull/{pr.number}/head") == head
    assert f"/{project.url_path}/pull-request/{pr.number}" in proc.stderr


def test_a_push_to_the_target_forgets_cached_merge_statuses(session, settings, owner,
                                                            project, clone):
    clone.start("feature")
    clone.write({"f.txt": "f\n"}, "F")
    clone.push_branch("feature", owner.name)
    pr = open_pull(session, settings, owner, project, "feature")
    assert core_pulls.merge_status(session, settings.data_dir, pr)[0] == "FFORWARD"
    session.commit()
    clone.start("main")
    clone.write({"m.txt": "m\n"}, "M")
    clone.push_branch("main", owner.name)
    pr = reload(session, pr)
    assert pr.merge_status is None
    assert core_pulls.merge_status(session, settings.data_dir, pr)[0] == "MERGE"


def test_closed_prs_are_left_alone_and_new_branches_get_the_create_link(session, settings,
                                                                        owner, project,
                                                                        clone):
    clone.start("feature")
    clone.write({"f.txt": "f\n"}, "F")
    clone.push_branch("feature", owner.name)
    pr = open_pull(session, settings, owner, project, "feature")
    core_pulls.close(session, owner, reload(session, pr), base_url=BASE)
    session.commit()
    before = len(reload(session, pr).comments)
    clone.write({"g.txt": "g\n"}, "G")
    proc = clone.push_branch("feature", owner.name)
    assert "View pull request" not in proc.stderr
    assert len(reload(session, pr).comments) == before
    clone.start("brand-new")
    clone.write({"n.txt": "n\n"}, "N")
    proc = clone.push_branch("brand-new", owner.name)
    assert f"Create a pull request for 'brand-new': {BASE}/{project.url_path}/diff/" \
           "main..brand-new" in proc.stderr
