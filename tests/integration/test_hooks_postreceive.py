"""The post-receive hook: what a push records (events, activity), what the
pusher is told, and `pagurus admin ensure-hooks`."""

from __future__ import annotations

import subprocess
import sys

from conftest import unique
from sqlalchemy import select
from test_hooks_common import (  # noqa: F401 - fixtures
    Work,
    git,
    hook_mode_fixture,
    make_project,
    owner_fixture,
    project_fixture,
    work_fixture,
)

from pagurus.config import to_env
from pagurus.core import users as core_users
from pagurus.git import hooks as git_hooks
from pagurus.model import ActivityLog, Event, Project
from pagurus.paths import repo_path


def events(session, project, topic=None):
    session.expire_all()
    stmt = select(Event).where(Event.project_id == project.id).order_by(Event.id)
    if topic:
        stmt = stmt.where(Event.topic == topic)
    return list(session.scalars(stmt))


def commit_logs(session, project):
    session.expire_all()
    return list(session.scalars(select(ActivityLog).where(
        ActivityLog.project_id == project.id, ActivityLog.log_type == "committed")
        .order_by(ActivityLog.id)))


def test_push_records_git_receive_with_pagures_payload(session, work, owner, project):
    old = work.remote_rev("refs/heads/main")
    first = work.commit("one", filename="docs/a.txt", email=owner.default_email)
    second = work.commit("two", filename="b.txt")
    git("rm", "-q", "README.md", cwd=work.path)
    third = work.commit("three", filename="c.txt")
    work.push("HEAD:refs/heads/main", user=owner.name, check=True)
    [event] = events(session, project, "git.receive")
    p = event.payload
    assert p["total_commits"] == 3
    assert (p["start_commit"], p["end_commit"], p["old_commit"]) == (first, third, old)
    assert second not in (p["start_commit"], p["end_commit"])
    assert p["branch"] == "main" and p["forced"] is False
    assert p["agent"] == owner.name
    assert p["repo"]["fullname"] == project.fullname
    assert p["pull_request_id"] is None
    assert p["changed_files"] == {"docs/a.txt": "A", "b.txt": "A", "c.txt": "A",
                                  "README.md": "D"}
    # the owner's verified email maps to the account, the other one stays an email
    assert {"name": owner.name, "fullname": owner.fullname, "url_path": f"user/{owner.name}",
            "full_url": f"http://pagurus.test/user/{owner.name}"} in p["authors"]
    assert {"name": "Somebody", "email": "somebody@example.org"} in p["authors"]
    assert len(p["authors"]) == 2
    assert event.private is False


def test_branch_and_tag_creation_and_deletion_are_events(session, work, owner, project):
    new = work.commit("feature", email=owner.default_email)
    tag = unique("v")
    work.push("HEAD:refs/heads/feature", f"HEAD:refs/tags/{tag}", user=owner.name, check=True)
    work.push(":refs/heads/feature", f":refs/tags/{tag}", user=owner.name, check=True)
    by_topic = {e.topic: e.payload for e in events(session, project)}
    created = by_topic["git.branch.creation"]
    assert created["branch"] == "feature" and created["rev"] == new
    assert created["agent"] == owner.name and created["repo"]["id"] == project.id
    assert [a["name"] for a in created["authors"]] == [owner.name]
    deleted = by_topic["git.branch.deletion"]
    assert deleted["branch"] == "feature" and deleted["rev"] == new
    assert by_topic["git.tag.creation"]["tag"] == tag
    assert by_topic["git.tag.creation"]["rev"] == new
    assert by_topic["git.tag.deletion"]["tag"] == tag
    receive = by_topic["git.receive"]
    assert receive["branch"] == "feature" and receive["total_commits"] == 1


def test_forced_push_is_flagged_and_the_pr_id_passed(session, work, owner, project):
    base = work.rev("HEAD")
    work.commit("first try")
    work.push("HEAD:refs/heads/topic", user=owner.name, check=True)
    git("reset", "-q", "--hard", base, cwd=work.path)
    again = work.commit("second try")
    work.push("+HEAD:refs/heads/topic", user=owner.name,
              extra={"PAGURUS_PULL_REQUEST": "abc123"}, check=True)
    last = events(session, project, "git.receive")[-1].payload
    assert last["forced"] is True and last["branch"] == "topic"
    assert last["total_commits"] == 1 and last["end_commit"] == again
    assert last["pull_request_id"] == "abc123"


def test_private_project_events_are_flagged_private(session, settings, owner, worker,
                                                    tmp_path):
    private = make_project(session, settings, owner, private=True)
    w = Work(settings, private, tmp_path / "w")
    w.commit("secret", email=owner.default_email)
    w.push("HEAD:refs/heads/main", user=owner.name, check=True)
    [event] = events(session, private, "git.receive")
    assert event.private is True
    assert commit_logs(session, private) == []  # and nothing for the heatmap


def test_default_branch_commits_are_logged_per_author(session, work, owner, project):
    mine = work.commit("mine", email=owner.default_email, when="2024-03-04T12:00:00+00:00")
    stranger_email = f"{unique('nobody')}@example.net"
    theirs = work.commit("theirs", email=stranger_email)
    work.push("HEAD:refs/heads/main", user=owner.name, check=True)
    logs = {log.ref_id: log for log in commit_logs(session, project)}
    assert set(logs) == {mine, theirs}  # the README commit came without the hook
    assert logs[mine].user_id == owner.id and logs[mine].user_email is None
    assert str(logs[mine].date) == "2024-03-04"
    assert logs[theirs].user_id is None and logs[theirs].user_email == stranger_email


def test_unverified_email_gets_the_commits_only_once_confirmed(session, work, owner,
                                                               project, make_user):
    claimer = make_user()
    address = f"{unique('alt')}@example.net"
    row = core_users.add_email(session, claimer, address)
    session.commit()
    sha = work.commit("by the alt address", email=address)
    work.push("HEAD:refs/heads/main", user=owner.name, check=True)
    [log] = [x for x in commit_logs(session, project) if x.ref_id == sha]
    assert log.user_id is None and log.user_email == address
    core_users.confirm_email(session, row.confirm_token)
    session.commit()
    [log] = [x for x in commit_logs(session, project) if x.ref_id == sha]
    assert log.user_id == claimer.id and log.user_email is None


def test_commits_of_a_future_user_are_theirs_once_they_register(session, work, owner,
                                                                project, make_user):
    name = unique("late")
    sha = work.commit("before registering", email=f"{name}@example.com")
    work.push("HEAD:refs/heads/main", user=owner.name, check=True)
    late = make_user(name)  # active: the email is verified at creation
    [log] = [x for x in commit_logs(session, project) if x.ref_id == sha]
    assert log.user_id == late.id


def test_other_branches_are_not_logged_until_merged_and_never_twice(session, work, owner,
                                                                    project):
    base = work.rev("HEAD")
    f1 = work.commit("feature 1")
    f2 = work.commit("feature 2")
    work.push("HEAD:refs/heads/feature", user=owner.name, check=True)
    assert commit_logs(session, project) == []
    work.push("HEAD:refs/heads/main", user=owner.name, check=True)  # merged (fast-forward)
    assert sorted(x.ref_id for x in commit_logs(session, project)) == sorted([f1, f2])
    # main moved back and forth: the same commits reach it again
    work.push(f"+{base}:refs/heads/main", user=owner.name, check=True)
    work.push("HEAD:refs/heads/main", user=owner.name, check=True)
    work.push("HEAD:refs/heads/main", user=owner.name, check=True)  # nothing new
    assert sorted(x.ref_id for x in commit_logs(session, project)) == sorted([f1, f2])


def test_new_branch_push_prints_a_pull_request_link(work, owner, project):
    work.commit("on a branch")
    proc = work.push("HEAD:refs/heads/feature/x", user=owner.name, check=True)
    url = f"http://pagurus.test/{project.url_path}/diff/main..feature/x"
    assert f"remote: Create a pull request for 'feature/x': {url}" in proc.stderr
    work.commit("more on it")
    proc = work.push("HEAD:refs/heads/feature/x", user=owner.name, check=True)
    assert "Create a pull request" not in proc.stderr  # only when the branch is new
    proc = work.push("HEAD:refs/heads/main", user=owner.name, check=True)
    assert "Create a pull request" not in proc.stderr


def test_push_writes_a_commit_graph(work, owner):
    work.commit("graph me")
    work.push("HEAD:refs/heads/main", user=owner.name, check=True)
    info = work.bare / "objects" / "info"
    assert (info / "commit-graphs" / "commit-graph-chain").is_file() or \
        (info / "commit-graph").is_file()
    out = git("log", "--oneline", "-1", "--", "README.md", cwd=work.bare).stdout
    assert out.strip()


def test_ensure_hooks_repairs_a_deleted_hook(settings, project):
    main = repo_path(settings.data_dir, "main", project.fullname)
    docs = repo_path(settings.data_dir, "docs", project.fullname)
    (main / "hooks" / "pre-receive").unlink()
    (docs / "hooks" / "post-receive").write_text("#!/bin/sh\nexit 0\n")
    env = {k: v for k, v in __import__("os").environ.items()
           if not k.startswith("PAGURUS_")}
    env.update(to_env(settings))
    proc = subprocess.run([sys.executable, "-m", "pagurus.cli", "admin", "ensure-hooks",
                           "-v"], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert f"repaired main {project.fullname}" in proc.stderr
    assert f"repaired docs {project.fullname}" in proc.stderr
    assert git_hooks.is_current(main, "pre-receive")
    assert git_hooks.is_current(docs, "post-receive")
    again = subprocess.run([sys.executable, "-m", "pagurus.cli", "admin", "ensure-hooks"],
                           env=env, capture_output=True, text=True, timeout=300)
    assert ", 0 repaired" in again.stderr


def test_a_project_with_pull_requests_off_gets_no_link(session, work, owner, project):
    row = session.get(Project, project.id)
    row.settings = {**row.settings, "pull_requests": False}
    session.commit()
    work.commit("x")
    proc = work.push("HEAD:refs/heads/other", user=owner.name, check=True)
    assert "Create a pull request" not in proc.stderr


def test_user_page_shows_the_pushed_commits_on_the_heatmap(client, session, work, owner,
                                                           project):
    from datetime import timedelta

    from pagurus.model import utcnow

    day = utcnow().date() - timedelta(days=3)
    for n in range(2):
        work.commit(f"commit {n}", email=owner.default_email, when=f"{day}T10:0{n}:00+00:00")
    work.push("HEAD:refs/heads/main", user=owner.name, check=True)
    page = client.get(f"/user/{owner.name}").get_data(as_text=True)
    assert '<svg class="heatmap"' in page and 'role="img"' in page
    assert f"<title>2 contributions on {day.isoformat()}</title>" in page
    assert f'href="?date={day.isoformat()}#activity-day"' in page
    # today: the project's creation
    assert "3 contributions in the last year on 2 days" in page
    listed = client.get(f"/user/{owner.name}?date={day.isoformat()}").get_data(as_text=True)
    assert f"Activity on {day.isoformat()}" in listed
    assert listed.count(f"committed on <a href=\"http://pagurus.test/{project.url_path}/c/") \
        == 2
    bad = client.get(f"/user/{owner.name}?date=2024-02-30")
    assert bad.status_code == 200 and "Invalid date" in bad.get_data(as_text=True)
