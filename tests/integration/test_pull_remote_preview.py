"""Opening a remote pull request in two steps, without JavaScript: the
worker fetches the branch of a project on another forge (a second project
of a live server, over smart HTTP, local remotes allowed by the admin) into
a preview; its author reviews the commits and diff, and only the
confirmation opens the pull request. Unconfirmed previews are discarded or
swept after a day; nothing reaches the target repository before."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import login_as
from githttp_support import live_server
from pull_fixture import (
    Clone,
    bare,
    hook_server_fixture,  # noqa: F401 - fixture
    new_project,
    rev,
)
from pullui_help import post
from sqlalchemy import func, select
from test_hooks_common import git

from pagurus.core import pulls as core_pulls
from pagurus.core import remote_pulls
from pagurus.model import PullRequest
from pagurus.tasks import app as task_app
from pagurus.tasks.pulls import fetch_remote_preview
from pagurus.tasks.status import wait_for


@pytest.fixture(scope="module")
def forge(app: Any, worker: Any) -> Iterator[str]:
    with live_server(app) as base:
        yield base


@pytest.fixture(name="allowing")
def allowing_fixture(app: Any, settings: Any) -> Iterator[Any]:
    """The instance allows local remotes (web and worker) for this test."""
    allowing = settings.replace(allow_local_remotes=True)
    before_app = app.extensions["pagurus"]["settings"]
    before_rt = task_app.runtime()
    app.extensions["pagurus"]["settings"] = allowing
    task_app._runtime = dataclasses.replace(before_rt, settings=allowing)
    try:
        yield allowing
    finally:
        app.extensions["pagurus"]["settings"] = before_app
        task_app._runtime = before_rt


@pytest.fixture(name="target")
def target_fixture(session: Any, settings: Any, make_user: Any) -> Any:
    return new_project(session, settings, make_user())


@pytest.fixture(name="remote")
def remote_fixture(session: Any, settings: Any, make_user: Any, tmp_path: Any, forge: str,
                   target: Any) -> Any:
    """Someone's project elsewhere with the target's history and a one-commit
    ``feature`` branch; yields (url, head of feature)."""
    someone = make_user()
    project = new_project(session, settings, someone, readme=False)
    clone = Clone(settings, project, tmp_path / "remote")
    git("fetch", "-q", str(bare(settings, target)), "main", cwd=clone.path)
    git("checkout", "-q", "-B", "main", "FETCH_HEAD", cwd=clone.path)
    clone.push_branch("main", someone.name)
    clone.start("feature")
    head = clone.write({"remote.txt": "from afar\n"},
                       "Remote work\n\nWhy it matters, at length.")
    clone.push_branch("feature", someone.name)
    return f"{forge}/{project.url_path}.git", head


def pr_count(session: Any, project: Any) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(PullRequest).where(
        PullRequest.project_id == project.id))


def previews(settings: Any) -> set[str]:
    root = remote_pulls.preview_root(settings)
    return {p.name for p in root.iterdir()} if root.is_dir() else set()


def fetch_through_the_form(client: Any, target: Any, url: str, **fields: str) -> Any:
    """Post the form, wait for the worker, follow the waiting page."""
    form = {"git_repo": url, "branch_from": "feature", "branch_to": "main", "title": "",
            "initial_comment": "", **fields}
    resp = post(client, f"/{target.url_path}/diff/remote", form)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    waiting = resp.headers["Location"]
    assert "/diff/remote/task/" in waiting
    wait_for(urlsplit(waiting).path.rsplit("/", 1)[1], 120)
    return client.get(waiting)


def test_the_fetched_branch_is_reviewed_and_opened_only_on_confirmation(
        client, session, settings, make_user, target, remote, allowing):
    url, head = remote
    contributor = make_user()
    refs_before = set(core_pulls.repo_of(settings.data_dir, target).references)
    login_as(client, contributor)
    back = fetch_through_the_form(client, target, url)
    assert back.status_code == 302
    location = back.headers["Location"]
    token = parse_qs(urlsplit(location).query)["fetched"][0]
    assert token in previews(settings)
    # nothing opened, nothing written to the target repository yet
    assert pr_count(session, target) == 0
    assert set(core_pulls.repo_of(settings.data_dir, target).references) == refs_before

    page = client.get(location)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Remote work" in html and head[:8] in html  # the commit list
    assert "remote.txt" in html and "from afar" in html  # the diff
    # a one-commit branch: title and description from its message
    assert re.search(r'name="title"[^>]*value="Remote work"', html)
    assert "Why it matters, at length." in html
    assert 'name="confirm"' in html and 'name="discard"' in html
    split = client.get(location + "&splitview=1").get_data(as_text=True)
    assert "diff-split" in split and "from afar" in split
    # the description preview re-renders the page, still nothing opened
    shown = post(client, location, {"title": "From afar", "initial_comment": "**bold**",
                                    "preview": "1"})
    assert shown.status_code == 200 and "<strong>bold</strong>" in shown.get_data(
        as_text=True)
    assert pr_count(session, target) == 0

    # someone else cannot see or confirm it
    login_as(client, make_user())
    assert client.get(location).status_code == 302
    assert post(client, location, {"title": "Stolen", "confirm": "1"}).status_code == 302
    assert pr_count(session, target) == 0 and token in previews(settings)

    login_as(client, contributor)
    resp = post(client, location, {"title": "From afar", "initial_comment": "Please",
                                   "confirm": "1"})
    assert resp.status_code == 302 and "/pull-request/" in resp.headers["Location"]
    session.expire_all()
    [pr] = session.scalars(select(PullRequest).where(PullRequest.project_id == target.id))
    assert (pr.title, pr.initial_comment, pr.remote_git, pr.project_from_id) == (
        "From afar", "Please", url, None)
    assert pr.commit_stop == head and pr.user_id == contributor.id
    assert rev(bare(settings, target), f"refs/pull/{pr.number}/head") == head
    assert not {token, token + ".claimed"} & previews(settings)
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "from afar" in page
    # confirming twice opens nothing more
    again = post(client, location, {"title": "Twice", "confirm": "1"})
    assert again.status_code == 302 and "fetched" not in again.headers["Location"]
    assert pr_count(session, target) == 1


def test_a_refused_confirmation_keeps_the_preview_and_discarding_drops_it(
        client, session, settings, make_user, target, remote, allowing):
    url, _head = remote
    contributor = make_user()
    login_as(client, contributor)
    location = fetch_through_the_form(client, target, url).headers["Location"]
    token = parse_qs(urlsplit(location).query)["fetched"][0]
    resp = post(client, location, {"title": "  ", "confirm": "1"})
    assert resp.status_code == 400 and "field-error" in resp.get_data(as_text=True)
    assert token in previews(settings) and pr_count(session, target) == 0
    resp = post(client, location, {"discard": "1"})
    assert resp.status_code == 302
    assert parse_qs(urlsplit(resp.headers["Location"]).query)["git_repo"] == [url]
    assert not {token, token + ".claimed"} & previews(settings)
    assert client.get(location).status_code == 302  # gone
    assert pr_count(session, target) == 0


def test_unconfirmed_previews_are_swept_after_a_day(session, settings, make_user, target,
                                                    remote, allowing):
    url, _head = remote
    contributor = make_user()
    old = remote_pulls.fetch_preview(session, allowing, contributor, target, remote_git=url,
                                     branch_from="feature", branch_to="main")
    folder = remote_pulls.preview_root(settings) / old.token
    day_ago = time.time() - remote_pulls.PREVIEW_TTL - 60
    os.utime(folder, (day_ago, day_ago))
    fresh = remote_pulls.fetch_preview(session, allowing, contributor, target, remote_git=url,
                                       branch_from="feature", branch_to="main")
    assert old.token not in previews(settings)  # swept by the next fetch
    assert fresh.token in previews(settings)
    with pytest.raises(remote_pulls.PreviewGone):
        remote_pulls.load_preview(settings, contributor, target, old.token)
    # one kept past its day is refused when opened, and removed
    data = dataclasses.replace(fresh, created=fresh.created - remote_pulls.PREVIEW_TTL - 60)
    (remote_pulls.preview_root(settings) / fresh.token / "preview.json").write_text(
        json.dumps(dataclasses.asdict(data)))
    with pytest.raises(remote_pulls.PreviewGone):
        remote_pulls.load_preview(settings, contributor, target, fresh.token)
    assert fresh.token not in previews(settings)
    # the sweep on its own, a day from now
    third = remote_pulls.fetch_preview(session, allowing, contributor, target,
                                       remote_git=url, branch_from="feature",
                                       branch_to="main")
    later = time.time() + remote_pulls.PREVIEW_TTL + 60
    assert remote_pulls.sweep_previews(settings, now=later) >= 1
    assert third.token not in previews(settings)
    session.rollback()


def test_the_preview_task_applies_the_guard_and_keeps_nothing_on_refusal(
        session, settings, make_user, target, remote):
    url, _head = remote
    owner = target.user
    before = previews(settings)
    result = fetch_remote_preview.delay(target.id, owner.id, url, "feature",
                                        "main").get(timeout=120)
    assert result["fetched"] is False and result["code"] == "EINVALIDREMOTE"
    assert previews(settings) == before


def test_a_branch_with_nothing_new_is_refused_after_the_fetch(session, settings, target,
                                                              remote, allowing):
    url, _head = remote
    before = previews(settings)
    with pytest.raises(remote_pulls.InvalidInput) as err:
        remote_pulls.fetch_preview(session, allowing, target.user, target, remote_git=url,
                                   branch_from="main", branch_to="main")
    assert "No commits" in err.value.message
    assert previews(settings) == before
    session.rollback()
