"""pulls.js in a real browser (Debian's Chromium through Playwright) on a
live ``pagurus web``: the sections become tabs, a click on a line number
opens an inline comment box that posts without reloading, and a big file's
diff loads in place — with the page's CSP on and nothing blocked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browserhelp import CHROMIUM, WATCH_VIOLATIONS
from conftest import PASSWORD
from livehelp import live_web
from pullui_help import commit, make_project, open_pull, pr_path
from sqlalchemy import select

from pagurus import config
from pagurus.git import diff as git_diff
from pagurus.model import PullRequestComment


@pytest.fixture(scope="module")
def live(settings: config.Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``pagurus web`` on the test settings (same database and data dir)."""
    with live_web(settings, tmp_path_factory.mktemp("pulls-web") / "web.log") as base:
        yield base


@pytest.mark.slow
def test_tabs_inline_comments_and_big_files_with_javascript(live: str, session: Any,
                                                            settings: config.Settings,
                                                            make_user: Any) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    owner = make_user()
    project, repo = make_project(session, settings, owner)
    big = "".join(f"row {i}\n" for i in range(git_diff.FILE_INLINE_LINES + 5))
    head = commit(repo, "topic", {"a.txt": "one\nTWO\nthree\nfour\nfive\n", "big.txt": big},
                  "Change", "main")
    pr = open_pull(session, settings, owner, project, "topic")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM),
                                     args=["--no-sandbox", "--disable-gpu"])
        try:
            context = browser.new_context()
            context.add_init_script(WATCH_VIOLATIONS)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{live}/login/")
            page.fill("#f-username", owner.name)
            page.fill("#f-password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            page.goto(live + pr_path(pr), wait_until="networkidle")
            # tabs: only the overview shows, then the files
            assert page.locator("#pr-overview").is_visible()
            assert not page.locator("#pr-files").is_visible()
            page.click("a[data-section=pr-files]")
            assert page.locator("#pr-files").is_visible()
            assert not page.locator("#pr-overview").is_visible()
            # an inline comment box on a.txt line 2, posted without leaving the page
            page.click("#pf1-n2 td.lnn")
            box = page.locator("tr.pr-inline-row textarea")
            box.fill("Why *TWO*?")
            page.click("tr.pr-inline-row button[type=submit]")
            page.wait_for_selector("tr.pr-thread-row .pr-comment em")
            assert page.url.endswith("#pr-files")
            session.expire_all()
            [c] = session.scalars(select(PullRequestComment).where(
                PullRequestComment.pull_request_id == pr.id)).all()
            assert (c.commit_id, c.filename, c.line, c.comment) == (head, "a.txt", 2,
                                                                    "Why *TWO*?")
            # the big file's diff comes in place
            page.click("a.pr-load-file")
            page.wait_for_selector(f"#pf2-n{git_diff.FILE_INLINE_LINES}")
            assert errors == []
            assert page.evaluate("window.__violations") == []
        finally:
            browser.close()
