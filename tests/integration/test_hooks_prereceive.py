"""The pre-receive hook: who may push what, as the real git client sees it.

Every push goes through ``git push <bare path>`` with the environment HTTP
and SSH give ``git receive-pack`` (``git_env``), so the installed hooks run
exactly as they will in production."""

from __future__ import annotations

import subprocess
from datetime import timedelta

from conftest import unique
from test_hooks_common import (  # noqa: F401 - fixtures
    Work,
    git,
    hook_mode_fixture,
    make_project,
    owner_fixture,
    project_fixture,
    refused,
    work_fixture,
)

from pagurus.config import to_env
from pagurus.core import projects as core_projects
from pagurus.core import sshkeys
from pagurus.core.pushrules import PLUGIN_FORCE_PUSH, PLUGIN_NO_NEW_BRANCHES, PLUGIN_SIGNED_OFF
from pagurus.model import Project, utcnow


def set_plugins(session, project, plugins):
    row = session.get(Project, project.id)
    row.plugins = plugins
    session.commit()


def test_owner_pushes_to_main(work, owner):
    before = work.remote_rev("refs/heads/main")
    new = work.commit("a change")
    proc = work.push("HEAD:refs/heads/main", user=owner.name, check=True)
    assert proc.returncode == 0
    assert before != new and work.remote_rev("refs/heads/main") == new


def test_stranger_is_refused_and_sees_why(work, make_user):
    stranger = make_user()
    before = work.remote_rev("refs/heads/main")
    work.commit("not mine to push")
    proc = work.push("HEAD:refs/heads/main", user=stranger.name)
    assert refused(proc)
    assert "remote: Push refused: refs/heads/main: you are not allowed to push to this " \
           "branch" in proc.stderr
    assert "remote: Nothing was pushed" in proc.stderr
    assert work.remote_rev("refs/heads/main") == before


def test_anonymous_push_is_refused(work):
    work.commit("who am I")
    proc = work.push("HEAD:refs/heads/main", user=None)
    assert refused(proc) and "anonymous pushes are not allowed" in proc.stderr


def test_collaborator_pushes_feature_branches_but_not_main(session, work, owner, project,
                                                          make_user):
    collab = make_user()
    core_projects.set_user_access(session, owner, session.get(Project, project.id), collab,
                                  "collaborator", branches="feature/*")
    session.commit()
    new = work.commit("feature work")
    assert work.push("HEAD:refs/heads/feature/one", user=collab.name).returncode == 0
    assert work.remote_rev("refs/heads/feature/one") == new
    before = work.remote_rev("refs/heads/main")
    proc = work.push("HEAD:refs/heads/main", user=collab.name)
    assert refused(proc) and "refs/heads/main: you are not allowed" in proc.stderr
    assert work.remote_rev("refs/heads/main") == before
    proc = work.push(f"{new}:refs/tags/v-{unique()}", user=collab.name)
    assert refused(proc) and "not allowed to push to tags" in proc.stderr


def test_one_refused_ref_makes_the_whole_push_fail(session, work, owner, project, make_user):
    collab = make_user()
    core_projects.set_user_access(session, owner, session.get(Project, project.id), collab,
                                  "collaborator", branches="feature/*")
    session.commit()
    main_before = work.remote_rev("refs/heads/main")
    work.commit("both")
    proc = work.push("HEAD:refs/heads/feature/two", "HEAD:refs/heads/main", user=collab.name)
    assert refused(proc)
    assert "refs/heads/main" in proc.stderr
    assert work.remote_rev("refs/heads/feature/two") is None
    assert work.remote_rev("refs/heads/main") == main_before


def test_protected_branch_refuses_force_push_and_deletion(session, work, owner, project):
    base = work.rev("HEAD")
    work.commit("release 1")
    assert work.push("HEAD:refs/heads/release", "HEAD:refs/heads/scratch",
                     user=owner.name).returncode == 0
    set_plugins(session, project, {PLUGIN_FORCE_PUSH: {"active": True,
                                                       "branches": "release, other"}})
    released = work.remote_rev("refs/heads/release")
    git("reset", "-q", "--hard", base, cwd=work.path)
    work.commit("rewritten history")
    proc = work.push("+HEAD:refs/heads/release", user=owner.name)
    assert refused(proc) and "refs/heads/release: non fast-forward push is forbidden" \
        in proc.stderr
    proc = work.push(":refs/heads/release", user=owner.name)
    assert refused(proc) and "refs/heads/release: deletion is forbidden" in proc.stderr
    assert work.remote_rev("refs/heads/release") == released
    # an unprotected branch still takes both
    assert work.push("+HEAD:refs/heads/scratch", user=owner.name).returncode == 0
    assert work.push(":refs/heads/scratch", user=owner.name).returncode == 0
    assert work.remote_rev("refs/heads/scratch") is None


def test_star_protects_every_branch(session, work, owner, project):
    base = work.rev("HEAD")
    set_plugins(session, project, {PLUGIN_FORCE_PUSH: {"active": True, "branches": "*"}})
    git("commit", "-q", "--amend", "-m", "amended", cwd=work.path,
        env={"GIT_AUTHOR_NAME": "x", "GIT_AUTHOR_EMAIL": "x@example.org",
             "GIT_COMMITTER_NAME": "x", "GIT_COMMITTER_EMAIL": "x@example.org"})
    proc = work.push("+HEAD:refs/heads/main", user=owner.name)
    assert refused(proc) and "non fast-forward" in proc.stderr
    assert work.remote_rev("refs/heads/main") == base


def test_an_inactive_plugin_blocks_nothing(session, work, owner, project):
    set_plugins(session, project, {PLUGIN_NO_NEW_BRANCHES: {"active": False}})
    work.commit("x")
    assert work.push("HEAD:refs/heads/newone", user=owner.name).returncode == 0


def test_new_branches_refused_when_forbidden_but_tags_allowed(session, work, owner, project):
    set_plugins(session, project, {PLUGIN_NO_NEW_BRANCHES: {"active": True}})
    new = work.commit("on a new branch")
    proc = work.push("HEAD:refs/heads/brand-new", user=owner.name)
    assert refused(proc) and \
        "refs/heads/brand-new: creating new branches by git push is forbidden" in proc.stderr
    assert work.remote_rev("refs/heads/brand-new") is None
    tag = unique("v")
    assert work.push(f"{new}:refs/tags/{tag}", user=owner.name).returncode == 0
    assert work.remote_rev(f"refs/tags/{tag}") == new
    # updating an existing branch is no creation
    assert work.push("HEAD:refs/heads/main", user=owner.name).returncode == 0


def test_unsigned_commits_refused_when_required(session, work, owner, project):
    set_plugins(session, project, {PLUGIN_SIGNED_OFF: {"active": True}})
    before = work.remote_rev("refs/heads/main")
    signed = work.commit("signed\n\nSigned-off-by: Somebody <somebody@example.org>")
    unsigned = work.commit("forgot to sign")
    work.commit("signed again\n\nsigned-off-by: Somebody <somebody@example.org>")
    proc = work.push("HEAD:refs/heads/main", user=owner.name)
    assert refused(proc)
    assert f"commit {unsigned} is not signed off" in proc.stderr
    assert signed not in proc.stderr
    assert work.remote_rev("refs/heads/main") == before
    # rewrite the unsigned one: now everything new is signed
    git("reset", "-q", "--hard", signed, cwd=work.path)
    work.commit("fixed\n\nSigned-off-by: Somebody <somebody@example.org>")
    assert work.push("HEAD:refs/heads/main", user=owner.name).returncode == 0
    # commits already in the repo are not checked again (a new branch on them)
    assert work.push(f"{before}:refs/heads/old-history", user=owner.name).returncode == 0


def test_read_only_project_refuses_everyone_even_the_forge(session, work, owner, project):
    row = session.get(Project, project.id)
    row.read_only = True
    session.commit()
    before = work.remote_rev("refs/heads/main")
    work.commit("while read-only")
    for kwargs in ({"user": owner.name}, {"internal": True}):
        proc = work.push("HEAD:refs/heads/main", **kwargs)
        assert refused(proc) and "the project is read-only" in proc.stderr
    assert work.remote_rev("refs/heads/main") == before


def test_blocked_user_is_refused(session, work, owner, project, make_user):
    committer = make_user()
    core_projects.set_user_access(session, owner, session.get(Project, project.id), committer,
                                  "commit")
    session.commit()
    work.commit("by a committer")
    committer.blocked_until = utcnow() + timedelta(days=1)
    session.commit()
    proc = work.push("HEAD:refs/heads/main", user=committer.name)
    assert refused(proc) and "your account is blocked" in proc.stderr
    committer.blocked_until = None
    core_projects.block_users(session, owner, session.get(Project, project.id),
                              [committer.name])
    session.commit()
    proc = work.push("HEAD:refs/heads/main", user=committer.name)
    assert refused(proc) and "you have been blocked from this project" in proc.stderr
    session.get(Project, project.id).block_users = []
    session.commit()
    assert work.push("HEAD:refs/heads/main", user=committer.name).returncode == 0


def test_deleting_the_default_branch_is_refused(work, owner):
    before = work.remote_rev("refs/heads/main")
    for kwargs in ({"user": owner.name}, {"internal": True}):
        proc = work.push(":refs/heads/main", **kwargs)
        assert refused(proc)
        assert "refs/heads/main: deleting the default branch is forbidden" in proc.stderr
    assert work.remote_rev("refs/heads/main") == before


def test_push_on_the_server_without_identity_is_refused(work):
    work.commit("from the server's shell")
    env = to_env(work.settings)  # the instance's settings, but nobody named
    before = work.remote_rev("refs/heads/main")
    proc = git("push", str(work.bare), "HEAD:refs/heads/main", cwd=work.path, env=env,
               check=False)
    assert refused(proc) and "did not come through Pagurus" in proc.stderr
    assert "PAGURUS_INTERNAL=1" in proc.stderr
    assert work.remote_rev("refs/heads/main") == before
    # the same from the server's shell, saying it is the forge, and without even
    # PAGURUS_DATA (found from the repository's path)
    env = {k: v for k, v in env.items() if k != "PAGURUS_DATA"}
    env["PAGURUS_INTERNAL"] = "1"
    git("push", str(work.bare), "HEAD:refs/heads/main", cwd=work.path, env=env)
    assert work.remote_rev("refs/heads/main") != before


def test_internal_push_skips_the_acl_and_the_plugins(session, work, project):
    set_plugins(session, project, {PLUGIN_SIGNED_OFF: {"active": True}})
    new = work.commit("a merge made by the forge")
    assert work.push("HEAD:refs/heads/main", internal=True).returncode == 0
    assert work.remote_rev("refs/heads/main") == new


def test_deploy_key_with_push_access_may_push(session, settings, work, owner, project,
                                              tmp_path):
    def key(name: str) -> str:
        path = tmp_path / name
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
                       check=True)
        return (tmp_path / f"{name}.pub").read_text()

    row = session.get(Project, project.id)
    pushing = sshkeys.add_deploy_key(session, owner, row, key("rw"), push_access=True)
    reading = sshkeys.add_deploy_key(session, owner, row, key("ro"), push_access=False)
    session.commit()
    new = work.commit("deployed")
    proc = work.push("HEAD:refs/heads/main", deploy_key=reading.id)
    assert refused(proc) and "not allowed" in proc.stderr
    assert work.push("HEAD:refs/heads/main", deploy_key=pushing.id).returncode == 0
    assert work.remote_rev("refs/heads/main") == new


def test_pushing_to_the_tickets_repo_needs_commit_rights(session, settings, owner, project,
                                                         make_user, tmp_path):
    from pagurus.paths import repo_path

    ticketer = make_user()
    core_projects.set_user_access(session, owner, session.get(Project, project.id), ticketer,
                                  "ticket")
    session.commit()
    bare = repo_path(settings.data_dir, "tickets", project.fullname)
    w = Work.__new__(Work)
    w.settings, w.bare, w.path = settings, bare, tmp_path / "tickets"
    w.author = ("T", "t@example.org")
    git("init", "-q", "-b", "main", str(w.path))
    w.commit("a ticket")
    proc = w.push("HEAD:refs/heads/main", user=ticketer.name)
    assert refused(proc) and "not allowed" in proc.stderr
    assert w.push("HEAD:refs/heads/main", user=owner.name).returncode == 0
