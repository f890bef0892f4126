"""A blame that takes long (a much-changed file deep in a long history) goes
on in the background: the page shows the file at once with a notice, the
blame table comes from a fragment URL (fetched by browse.js, or by a plain
"wait" link), and a blame being computed by another web worker is waited
for, not run twice.

"Takes long" is made real, without a timing race, by holding the lock file a
blame job takes while it computes (what another worker would be doing)."""

from __future__ import annotations

import fcntl
import html
import os
import re
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import unique

from pagurus.core import projects as core_projects
from pagurus.git import blame as git_blame
from pagurus.git import repos as git_repos
from pagurus.paths import repo_path
from pagurus.web.ui import browse

AUTHORS = [("Alice Doe", "alice@example.com"), ("Bob <b>", "bob@example.com")]
CHROMIUM = Path("/usr/bin/chromium")


def _git(*args, cwd, env=None):
    full = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
            **(env or {})}
    return subprocess.run(["git", *args], cwd=cwd, env=full, capture_output=True, check=True,
                          text=True).stdout


def project_with_history(session, settings, make_user, tmp_path):
    """A project whose ``app.py`` was written by two authors over three
    commits; its content is unique, so no blame of it is cached yet."""
    owner = make_user()
    project = core_projects.create_project(session, settings, owner, unique("bl"), "blame")
    bare = repo_path(settings.data_dir, "main", project.fullname)
    git_repos.init_bare(bare, "main")
    project.repo_state = "ready"
    session.commit()
    work = tmp_path / unique("w")
    _git("init", "-q", "-b", "main", str(work), cwd=tmp_path)
    marker = unique("m")
    lines = [f"value_{n} = {n}  # {marker}\n" for n in range(12)]
    for i, (name, email) in enumerate(AUTHORS + AUTHORS[:1]):
        for n in range(i, 12, 3):
            lines[n] = f"value_{n} = {n * (i + 2)}  # <{marker}> by {name}\n"
        (work / "app.py").write_text("".join(lines))
        env = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
               "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}
        _git("add", "app.py", cwd=work)
        _git("commit", "-q", "-m", f"change {i}", cwd=work, env=env)
    _git("push", "-q", str(bare), "main", cwd=work)
    head = _git("rev-parse", "HEAD", cwd=work).strip()
    return project, bare, head


def porcelain_owners(bare, head):
    out = subprocess.run(["git", "--git-dir", str(bare), "blame", "--porcelain", head, "--",
                          "app.py"], capture_output=True, check=True).stdout
    return sorted((int(m.group(2)), m.group(1).decode())
                  for m in re.finditer(rb"^([0-9a-f]{40}) \d+ (\d+)", out, re.M))


def table_owners(text):
    owners, current = [], None
    for number, row in re.findall(r'<tr id="_(\d+)"[^>]*>(.*?)</tr>', text, re.S):
        found = re.search(r'class="blame-meta"[^>]*><a class="mono" href="[^"]+/c/([0-9a-f]{40})"',
                          row)
        if found:
            current = found.group(1)
        owners.append((int(number), current))
    return owners


@contextmanager
def blame_in_progress(settings, head, path="app.py"):
    """Hold the lock a blame job of ``path`` at ``head`` takes while computing,
    as another worker computing it would: the job waits until the block ends."""
    jobs = git_blame.jobs(settings.data_dir / "cache" / "blame")
    _result, lock = jobs.paths(head, path, "utf-8")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield jobs
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture
def quick(monkeypatch):
    """Short waits so that the tests do not sit out the production ones."""
    monkeypatch.setattr(browse, "BLAME_WAIT", 0.05)
    monkeypatch.setattr(browse, "BLAME_POLL_WAIT", 0.2)


def test_a_slow_blame_shows_the_file_at_once_then_the_blame(client, session, settings,
                                                           make_user, tmp_path, quick):
    project, bare, head = project_with_history(session, settings, make_user, tmp_path)
    page_url = f"/{project.url_path}/blame/app.py?identifier=main"
    with blame_in_progress(settings, head):
        resp = client.get(page_url)
        assert resp.status_code == 200
        page = resp.get_data(as_text=True)
        assert resp.headers["Cache-Control"] == "no-store" and "ETag" not in resp.headers
        # the file is there (escaped), the blame is not yet
        assert "by Bob &lt;b&gt;" in page and "by Bob <b>" not in page
        assert 'id="_12"' in page and "blame-meta" not in page
        assert "Computing the blame" in page and "Wait for the blame" in page
        fragment = html.unescape(re.search(r'data-blame-fragment="([^"]+)"', page).group(1))
        assert fragment.endswith(f"?identifier={head}&fragment=1")
        # asked while git is still at work: come back later
        busy = client.get(fragment)
        assert busy.status_code == 202 and busy.headers["Retry-After"] == "1"
    ready = client.get(fragment)
    assert ready.status_code == 200 and ready.mimetype == "text/html"
    table = ready.get_data(as_text=True)
    assert table.startswith('<table class="code blame">')
    assert table_owners(table) == porcelain_owners(bare, head)
    assert "Bob &lt;b&gt;" in table and "Bob <b>" not in table
    # from now on the page has it all, with an ETag
    full = client.get(page_url)
    assert full.status_code == 200 and "ETag" in full.headers
    assert "data-blame-fragment" not in full.get_data(as_text=True)
    assert table_owners(full.get_data(as_text=True)) == porcelain_owners(bare, head)


def test_without_javascript_the_wait_link_brings_the_whole_blame(client, session, settings,
                                                                make_user, tmp_path, quick):
    project, bare, head = project_with_history(session, settings, make_user, tmp_path)
    with blame_in_progress(settings, head):
        page = client.get(f"/{project.url_path}/blame/app.py?identifier=main")
        link = html.unescape(re.search(r'<a href="([^"]+)">Wait for the blame</a>',
                                       page.get_data(as_text=True)).group(1))
    assert link == f"/{project.url_path}/blame/app.py?identifier=main&wait=1"
    resp = client.get(link)  # waits for the job, then shows the page
    assert resp.status_code == 200
    assert table_owners(resp.get_data(as_text=True)) == porcelain_owners(bare, head)


def test_a_blame_another_worker_computes_is_waited_for_not_run_twice(settings, session,
                                                                    make_user, tmp_path):
    project, bare, head = project_with_history(session, settings, make_user, tmp_path)
    cache_dir = settings.data_dir / "cache" / "blame"
    expected = git_blame.blame(bare, head, "app.py").to_json()
    # this worker's jobs, next to the other worker (the test) that holds the lock
    mine = git_blame.BlameJobs(cache_dir)
    result, _lock = mine.paths(head, "app.py")
    with blame_in_progress(settings, head):
        # a wrong repository path: running git here would fail, so a success
        # proves the result came from the other worker
        job = mine.submit(tmp_path / "not-a-repo.git", head, "app.py")
        assert not job.done()
        result.parent.mkdir(parents=True, exist_ok=True)
        result.write_text(expected)  # the other worker finishes
    assert job.result(timeout=30) == expected
    assert mine.read(head, "app.py") == expected
    assert mine.pending() == 0


def test_one_job_per_blame_and_a_bounded_queue(settings, session, make_user, tmp_path):
    project, bare, head = project_with_history(session, settings, make_user, tmp_path)
    jobs = git_blame.BlameJobs(settings.data_dir / "cache" / "blame", max_pending=2)
    with blame_in_progress(settings, head):
        first = jobs.submit(bare, head, "app.py")
        assert jobs.submit(bare, head, "app.py") is first  # joined, not started again
        jobs.submit(bare, head, "missing.py")
        with pytest.raises(git_blame.BlameBusy):
            jobs.submit(bare, head, "other.py")
    assert table_owners_json(first.result(timeout=30)) == porcelain_owners(bare, head)


def table_owners_json(raw):
    result = git_blame.Blame.from_json(raw)
    return sorted((h.start + i, h.commit) for h in result.hunks for i in range(len(h.lines)))


def test_the_blame_arrives_in_the_browser(app, session, settings, make_user, tmp_path, quick):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from githttp_support import live_server

    project, bare, head = project_with_history(session, settings, make_user, tmp_path)
    with live_server(app) as base, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM),
                                     args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
                    if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
            with blame_in_progress(settings, head):
                page.goto(f"{base}/{project.url_path}/blame/app.py?identifier=main#_5")
                assert page.locator(".blame-pending").is_visible()
                assert page.locator("td.blame-meta").count() == 0
            page.wait_for_selector("td.blame-meta", timeout=30_000)
            assert page.locator(".blame-pending").count() == 0
            assert page.locator("tr#_5.hl").count() == 1  # the linked line, highlighted
            shown = table_owners(page.inner_html(".code-wrap"))
            assert shown == porcelain_owners(bare, head)
            assert errors == []
        finally:
            browser.close()
