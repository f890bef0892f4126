"""A real third-party client, ``libpagure`` (unmodified, from PyPI), drives
pull requests on a live ``pagurus web`` (gunicorn) with a ``pagurus worker``
beside it: it opens pull requests from a branch and from a fork, lists them,
comments (general and inline), flags, merges and closes them, and reads a
user's filed and actionable lists, the way it does against pagure.io."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pygit2
import pytest
from commithelp import commit
from conftest import unique
from libpagure import Pagure
from libpagure.exceptions import APIError
from livehelp import live_web, pagurus_process

from pagurus import config
from pagurus.core import projects as core_projects
from pagurus.core import tokens as core_tokens
from pagurus.core import users as core_users
from pagurus.git import pulls as git_pulls
from pagurus.model import Project
from pagurus.paths import repo_path
from pagurus.tasks import projects as project_tasks

pytestmark = pytest.mark.slow

OWNER_ACLS = ["pull_request_create", "pull_request_comment", "pull_request_flag",
              "pull_request_merge", "pull_request_close"]


@pytest.fixture(scope="module")
def web(settings: config.Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``pagurus web`` and ``pagurus worker`` on the test settings (same
    database, data dir and broker): merges queued by the web are done."""
    logs = tmp_path_factory.mktemp("libpagure-pulls")
    worker_args = ["worker", "--concurrency", "1", "--pool", "threads"]
    with (pagurus_process(worker_args, settings, logs / "worker.log") as worker_proc,
          live_web(settings, logs / "web.log") as base):
        if worker_proc.poll() is not None:
            raise AssertionError(f"pagurus worker died:\n{(logs / 'worker.log').read_text()}")
        yield base


@pytest.fixture
def forge(app: Any, settings: config.Settings, worker: Any) -> dict[str, Any]:
    """A project (repos made by the worker, hooks installed) with branches,
    a contributor's fork with a fix, and user-level tokens."""
    session = app.extensions["pagurus"]["sessions"]()
    try:
        people = {role: core_users.create_user(session, unique(role[:3]),
                                               f"{unique('m')}@example.com",
                                               password="correct horse battery")
                  for role in ("owner", "contributor", "stranger")}
        session.commit()
        project = core_projects.create_project(session, settings, people["owner"],
                                               unique("lp"), "libpagure PRs")
        session.commit()
        project_tasks.create_project_repos.delay(project.id, False).get(timeout=60)
        repo = pygit2.Repository(str(repo_path(settings.data_dir, "main", project.fullname)))
        commit(repo, "main", {"README": "hello\n", "a.txt": "one\ntwo\nthree\n"}, "Initial")
        commit(repo, "feature", {"feature.txt": "f\n"}, "Add a feature", "main")
        commit(repo, "clash", {"a.txt": "one\nTWO (clash)\nthree\n"}, "Clash", "main")
        session.expire_all()
        project = session.get(Project, project.id)
        fork = core_projects.fork_project(session, people["contributor"], project)
        session.commit()
        project_tasks.fork_project.delay(fork.id).get(timeout=60)
        fork_repo = pygit2.Repository(str(repo_path(settings.data_dir, "main",
                                                    fork.fullname)))
        fix = commit(fork_repo, "fix", {"b.txt": "b\n"}, "Add b", "main")
        tokens = {
            "owner": core_tokens.create_token(session, people["owner"], OWNER_ACLS)[0],
            "contributor": core_tokens.create_token(
                session, people["contributor"], ["pull_request_create",
                                                 "pull_request_comment"])[0],
            "stranger": core_tokens.create_token(session, people["stranger"], OWNER_ACLS)[0],
        }
        session.commit()
        return {"project": project.name, "repo": repo, "fix": fix,
                "names": {k: u.name for k, u in people.items()}, "tokens": tokens}
    finally:
        session.close()


def client_for(web: str, forge: dict[str, Any], who: str | None) -> Pagure:
    token = forge["tokens"][who] if who else None
    return Pagure(pagure_token=token, pagure_repository=forge["project"], instance_url=web,
                  insecure=True)


def test_libpagure_opens_lists_comments_flags_merges_and_closes(web, forge) -> None:
    owner = client_for(web, forge, "owner")
    contributor = client_for(web, forge, "contributor")
    anonymous = client_for(web, forge, None)
    names = forge["names"]
    here = {"repo": forge["project"], "username": None, "namespace": None}

    from_fork = contributor.create_pull_request(
        "Add b", "main", "fix",
        {"repo": forge["project"], "username": names["contributor"], "namespace": None},
        initial_comment="Adds the b file")
    assert from_fork["repo_from"]["fullname"] == f"forks/{names['contributor']}/" \
                                                 f"{forge['project']}"
    assert from_fork["commit_stop"] == forge["fix"]
    feature = owner.create_pull_request("Add a feature", "main", "feature", here)
    clash = owner.create_pull_request("Clash", "main", "clash", here)
    assert [r["id"] for r in anonymous.list_requests()] == [clash["id"], feature["id"],
                                                            from_fork["id"]]
    assert [r["id"] for r in anonymous.list_requests(author=names["contributor"])] == [
        from_fork["id"]]
    actionable = anonymous.list_prs_actionable_by_user(names["owner"], 1)
    assert [r["id"] for r in actionable] == [from_fork["id"]]

    owner.comment_request(from_fork["id"], "+1 thanks")
    contributor.comment_request(from_fork["id"], "typo here?", commit=forge["fix"],
                                filename="b.txt", row=1)
    flagged = owner.flag_request(from_fork["id"], "CI", "50", "Running",
                                 "https://ci.example/1", uid="ci-run-1")
    assert flagged["message"] == "Flag added" and flagged["uid"] == "ci-run-1"
    assert flagged["flag"]["status"] == "success"
    flagged = owner.flag_request(from_fork["id"], "CI", "0", "Failed",
                                 "https://ci.example/1", uid="ci-run-1")
    assert flagged["message"] == "Flag updated" and flagged["flag"]["status"] == "failure"
    info = anonymous.request_info(from_fork["id"])
    general, inline = info["comments"]
    assert general["comment"] == "+1 thanks" and general["line"] is None
    assert (inline["commit"], inline["filename"], inline["line"]) == (forge["fix"], "b.txt",
                                                                      1)
    with pytest.raises(APIError, match="javascript|http"):
        owner.flag_request(from_fork["id"], "CI", "1", "x", "javascript:alert(1)")

    with pytest.raises(APIError, match="not allowed"):
        client_for(web, forge, "stranger").merge_request(from_fork["id"])
    owner.merge_request(from_fork["id"])
    assert anonymous.request_info(from_fork["id"])["status"] == "Merged"
    assert str(git_pulls.branch_head(forge["repo"], "main").id) == forge["fix"]
    owner.merge_request(feature["id"])  # main moved on: a merge commit
    merge = git_pulls.branch_head(forge["repo"], "main")
    assert len(merge.parent_ids) == 2
    assert merge.message.startswith(f"Merge #{feature['id']} `Add a feature`")
    commit(forge["repo"], "main", {"a.txt": "one\ntwo (main)\nthree\n"}, "Main edits a")
    with pytest.raises(APIError, match="conflicts"):
        owner.merge_request(clash["id"])
    assert anonymous.request_info(clash["id"])["status"] == "Open"

    owner.close_request(clash["id"])
    assert anonymous.list_requests() == []
    assert [r["id"] for r in anonymous.list_requests(status="Merged")] == [feature["id"],
                                                                          from_fork["id"]]
    filed = anonymous.list_pull_requests(names["contributor"], 1, status="Merged")
    assert [r["id"] for r in filed] == [from_fork["id"]]
    assert anonymous.list_pull_requests(names["owner"], 1, status="Closed")[0]["id"] == \
        clash["id"]
