"""The push rules as functions: parsing git's input, plugins, refusals (real
DB rows and a real pygit2 repository; the hooks' end-to-end tests are in
tests/integration/test_hooks_*.py)."""

from __future__ import annotations

from datetime import timedelta

import pygit2
import pytest
from conftest import unique

from pagurus.core import projects as core_projects
from pagurus.core import pushrules
from pagurus.core.gitaccess import Identity
from pagurus.core.pushrules import RefUpdate
from pagurus.model import utcnow

ZERO = "0" * 40


def commit(repo: pygit2.Repository, message: str, parents: list[pygit2.Oid],
           ref: str | None = None) -> str:
    sig = pygit2.Signature("A", "a@example.org")
    blob = repo.create_blob(message.encode())
    builder = repo.TreeBuilder()
    builder.insert("f.txt", blob, pygit2.enums.FileMode.BLOB)
    return str(repo.create_commit(ref, sig, sig, message, builder.write(), parents))


@pytest.fixture
def repo(tmp_path) -> pygit2.Repository:
    return pygit2.init_repository(str(tmp_path / "r.git"), bare=True)


@pytest.fixture
def project(session, settings, make_user):
    owner = make_user()
    p = core_projects.create_project(session, settings, owner, unique("pr"), "rules")
    session.commit()
    return p


def test_parse_updates_reads_gits_lines_and_refuses_junk():
    a, b = "a" * 40, "b" * 40
    ups = pushrules.parse_updates(f"{a} {b} refs/heads/main\n{ZERO} {b} refs/tags/v1\n\n")
    assert ups == [RefUpdate(a, b, "refs/heads/main"), RefUpdate(ZERO, b, "refs/tags/v1")]
    assert ups[1].created and ups[1].is_tag and ups[1].short == "v1"
    assert RefUpdate(a, ZERO, "refs/heads/x").deleted
    for bad in (f"{a} refs/heads/main", f"{a} xyz refs/heads/main", f"{a} {b} r extra"):
        with pytest.raises(ValueError):
            pushrules.parse_updates(bad)


def test_signed_off_lines_are_found_in_any_case():
    assert pushrules.has_signed_off("x\n\nSigned-off-by: A <a@x>")
    assert pushrules.has_signed_off("x\n\n  signed-off-by: A <a@x>\n")
    assert not pushrules.has_signed_off("x\n\nthis is not Signed-off-by: anyone")
    assert not pushrules.has_signed_off("")


def test_only_active_plugins_count(project):
    project.plugins = {pushrules.PLUGIN_FORCE_PUSH: {"active": False, "branches": "*"},
                       pushrules.PLUGIN_SIGNED_OFF: {"active": True}}
    assert pushrules.plugin(project, pushrules.PLUGIN_FORCE_PUSH) is None
    assert pushrules.plugin(project, pushrules.PLUGIN_SIGNED_OFF) == {"active": True}
    assert pushrules.protected_branches({"branches": " main, release/1 ,,"}) == \
        ["main", "release/1"]


def test_fast_forward_and_new_commits(repo):
    c1 = commit(repo, "one", [], "refs/heads/main")
    c2 = commit(repo, "two", [pygit2.Oid(hex=c1)])
    side = commit(repo, "side", [pygit2.Oid(hex=c1)])
    assert pushrules.is_fast_forward(repo, c1, c2)
    assert not pushrules.is_fast_forward(repo, c2, side)
    assert not pushrules.is_fast_forward(repo, "f" * 40, c2)  # unknown old commit
    hide = pushrules.existing_tips(repo)
    got = [str(c.id) for c in pushrules.new_commits(
        repo, RefUpdate(c1, c2, "refs/heads/main"), hide, oldest_first=True)]
    assert got == [c2]
    assert list(pushrules.new_commits(repo, RefUpdate(c1, ZERO, "refs/heads/main"), hide)) \
        == []


def test_read_only_refuses_even_internal_pushes(session, project, repo):
    project.read_only = True
    up = RefUpdate("a" * 40, "b" * 40, "refs/heads/main")
    [r] = pushrules.check_push(session, Identity(internal=True), project, "main", repo, [up])
    assert str(r) == "refs/heads/main: the project is read-only, no push is accepted"


def test_internal_pushes_skip_the_acl_but_not_the_default_branch(session, project, repo):
    keep = RefUpdate("a" * 40, ZERO, f"refs/heads/{project.default_branch}")
    other = RefUpdate("a" * 40, ZERO, "refs/heads/other")
    refusals = pushrules.check_push(session, Identity(internal=True), project, "main", repo,
                                    [keep, other])
    assert [r.ref for r in refusals] == [keep.ref]
    assert "default branch" in refusals[0].reason


def test_nobody_and_blocked_users_are_refused_for_every_ref(session, project, repo,
                                                            make_user):
    ups = [RefUpdate("a" * 40, "b" * 40, "refs/heads/main"),
           RefUpdate(ZERO, "b" * 40, "refs/tags/v1")]
    anonymous = pushrules.check_push(session, Identity(), project, "main", repo, ups)
    assert [r.reason for r in anonymous] == ["anonymous pushes are not allowed"] * 2
    owner = project.user
    owner.blocked_until = utcnow() + timedelta(hours=1)
    refusals = pushrules.check_push(session, Identity(user=owner), project, "main", repo, ups)
    assert {r.reason for r in refusals} == {"your account is blocked"}
    owner.blocked_until = None
    assert pushrules.check_push(session, Identity(user=owner), project, "main", repo, ups) == []
    stranger = make_user()
    refusals = pushrules.check_push(session, Identity(user=stranger), project, "main", repo,
                                    ups)
    assert [str(r) for r in refusals] == [
        "refs/heads/main: you are not allowed to push to this branch",
        "refs/tags/v1: you are not allowed to push to tags"]


def test_plugins_apply_to_the_main_repo_only(session, project, repo):
    c1 = commit(repo, "unsigned", [], "refs/heads/main")
    project.plugins = {pushrules.PLUGIN_NO_NEW_BRANCHES: {"active": True},
                       pushrules.PLUGIN_SIGNED_OFF: {"active": True}}
    c2 = commit(repo, "also unsigned", [pygit2.Oid(hex=c1)])
    ups = [RefUpdate(ZERO, c2, "refs/heads/new")]
    owner = Identity(user=project.user)
    refusals = pushrules.check_push(session, owner, project, "main", repo, ups)
    assert sorted(r.reason for r in refusals) == [
        f"commit {c2} is not signed off (no 'Signed-off-by:' line)",
        "creating new branches by git push is forbidden"]
    assert pushrules.check_push(session, owner, project, "docs", repo, ups) == []
