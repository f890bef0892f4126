"""Remote pull requests: a branch of a project on another forge (a second
project of a live ``pagurus web`` on a local port, fetched over smart HTTP),
behind the outgoing-address guard — refused by default on a local address,
allowed when the admin says so; the fetch pinned to the checked address and
never following redirects."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from githttp_support import live_server
from pull_fixture import (
    BASE,
    Clone,
    bare,
    hook_server_fixture,  # noqa: F401 - fixture
    new_project,
    reload,
    rev,
)
from sqlalchemy import func, select
from test_hooks_common import git

from pagurus.core import netguard, remote_pulls
from pagurus.core import pulls as core_pulls
from pagurus.git import pulls as git_pulls
from pagurus.model import PullRequest
from pagurus.tasks.pulls import fetch_remote_pull, merge_pull


@pytest.fixture(scope="module")
def forge(app: Any, worker: Any) -> Iterator[str]:
    with live_server(app) as base:
        yield base


@pytest.fixture(name="target")
def target_fixture(session: Any, settings: Any, make_user: Any) -> Any:
    return new_project(session, settings, make_user())


@pytest.fixture(name="elsewhere")
def elsewhere_fixture(session: Any, settings: Any, make_user: Any, tmp_path: Any,
                      target: Any) -> Any:
    """The remote side: someone's own project holding the target's history
    and a ``feature`` branch on top."""
    someone = make_user()
    project = new_project(session, settings, someone, readme=False)
    clone = Clone(settings, project, tmp_path / "remote")
    git("fetch", "-q", str(bare(settings, target)), "main", cwd=clone.path)
    git("checkout", "-q", "-B", "main", "FETCH_HEAD", cwd=clone.path)
    clone.push_branch("main", someone.name)
    clone.start("feature")
    clone.write({"remote.txt": "from afar\n"}, "Remote work")
    clone.push_branch("feature", someone.name)
    return project, clone, someone


def pr_count(session: Any, project: Any) -> int:
    return session.scalar(select(func.count()).select_from(PullRequest).where(
        PullRequest.project_id == project.id))


def test_a_remote_branch_is_fetched_when_local_remotes_are_allowed(forge, session, settings,
                                                                   make_user, target,
                                                                   elsewhere):
    owner, contributor = target.user, make_user()
    source, clone, someone = elsewhere
    head = rev(bare(settings, source), "refs/heads/feature")
    url = f"{forge}/{source.url_path}.git"
    allowing = settings.replace(allow_local_remotes=True)

    pr = remote_pulls.open_remote_pull(session, allowing, contributor, target,
                                       remote_git=url, branch_from="feature",
                                       branch_to="main", title="From afar", base_url=BASE)
    session.commit()
    assert pr.remote_git == url and pr.project_from_id is None
    assert pr.commit_stop == head
    assert rev(bare(settings, target), f"refs/pull/{pr.number}/head") == head

    # the remote moves on: "Refresh" fetches again
    newer = clone.write({"remote.txt": "from afar, again\n"}, "More remote work")
    clone.push_branch("feature", someone.name)
    topic = remote_pulls.refresh_remote_pull(session, allowing, contributor, reload(session, pr),
                                             base_url=BASE)
    session.commit()
    assert topic == "pull-request.updated"
    pr = reload(session, pr)
    assert pr.commit_stop == newer
    assert pr.comments[-1].comment.startswith("**1 new commit added**")
    # a stranger may not refresh it
    with pytest.raises(core_pulls.PullNotAllowed):
        remote_pulls.refresh_remote_pull(session, allowing, make_user(), pr, base_url=BASE)
    session.rollback()

    result = merge_pull(pr.id, owner.id, BASE)
    assert result["merged"] is True
    assert rev(bare(settings, target), "refs/heads/main") == newer


def test_local_addresses_are_refused_by_default_and_nothing_is_made(forge, session, settings,
                                                                    target, elsewhere):
    owner = target.user
    source = elsewhere[0]
    before = set(core_pulls.repo_of(settings.data_dir, target).references)
    for url in (f"{forge}/{source.url_path}.git",
                f"http://localhost:{urlsplit(forge).port}/{source.url_path}.git",
                f"http://[::1]:{urlsplit(forge).port}/{source.url_path}.git"):
        with pytest.raises(netguard.RemoteRefused) as err:
            remote_pulls.open_remote_pull(session, settings, owner, target, remote_git=url,
                                          branch_from="feature", branch_to="main",
                                          title="t", base_url=BASE)
        assert "local or private" in err.value.message
        session.rollback()
    assert pr_count(session, target) == 0
    assert set(core_pulls.repo_of(settings.data_dir, target).references) == before


def test_the_fetch_task_applies_the_instance_guard(forge, session, settings, target,
                                                   elsewhere):
    owner = target.user
    url = f"{forge}/{elsewhere[0].url_path}.git"
    result = fetch_remote_pull.delay(target.id, owner.id, BASE, url, "feature", "main",
                                     "Remote").get(timeout=120)
    assert result["created"] is False and result["code"] == "EINVALIDREMOTE"
    assert pr_count(session, target) == 0
    # bad input from the form comes back as a message too
    result = fetch_remote_pull.delay(target.id, owner.id, BASE, "file:///etc", "feature",
                                     "main", "Remote").get(timeout=120)
    assert result["created"] is False and "http://" in result["message"]


def test_git_connects_to_the_pinned_address_not_a_new_lookup(forge, session, settings,
                                                             target, elsewhere):
    source = elsewhere[0]
    head = rev(bare(settings, source), "refs/heads/feature")
    port = urlsplit(forge).port
    # a name no DNS server knows, pinned to the address "checked" for it
    url = f"http://pinned.invalid:{port}/{source.url_path}.git"
    remote = netguard.Remote(url, "http", "pinned.invalid", port, ("127.0.0.1",),
                             f"pinned.invalid:{port}")
    repo = core_pulls.repo_of(settings.data_dir, target)
    with pytest.raises(git_pulls.PullGitError):
        git_pulls.fetch_remote_head(repo, 4242, url, "feature")  # git resolves: nothing
    assert git_pulls.fetch_remote_head(repo, 4242, url, "feature", remote.git_config()) == head
    git_pulls.drop_head(repo, 4242)


class Redirect(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(302)
        self.send_header("Location", self.target + self.path)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_redirects_are_not_followed(forge, session, settings, target, elsewhere):
    source = elsewhere[0]
    handler = type("ToForge", (Redirect,), {"target": forge})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/{source.url_path}.git"
        remote = netguard.check_url(url, allow_local=True)
        repo = core_pulls.repo_of(settings.data_dir, target)
        # plain git would follow the redirect to another address…
        assert git_pulls.fetch_remote_head(repo, 4243, url, "feature")
        git_pulls.drop_head(repo, 4243)
        # …the guarded fetch does not
        with pytest.raises(git_pulls.PullGitError):
            git_pulls.fetch_remote_head(repo, 4243, url, "feature", remote.git_config())
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
