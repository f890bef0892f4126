"""Keyboard shortcuts (keys.js) in a real browser on a live ``pagurus web``:
j/k walk a list and o opens the item, g + a letter goes to a project tab,
/ focuses the page's search, ? lists the shortcuts — never while typing in
a field, with the page's CSP on and nothing blocked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browserhelp import CHROMIUM, WATCH_VIOLATIONS
from conftest import unique
from livehelp import live_web

from pagurus import config
from pagurus.core import issues as core_issues
from pagurus.core import projects as core_projects


@pytest.fixture(scope="module")
def live(settings: config.Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_web(settings, tmp_path_factory.mktemp("keys-web") / "web.log") as base:
        yield base


@pytest.mark.slow
def test_a_visitor_walks_lists_and_tabs_with_the_keyboard(live: str, session: Any,
                                                          settings: config.Settings,
                                                          make_user: Any) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    owner = make_user()
    project = core_projects.create_project(session, settings, owner, unique("kb"), "d")
    core_projects.mark_ready(project)
    for title in ("First issue", "Second issue", "Third issue"):
        core_issues.create_issue(session, owner, project, title=title, content="text",
                                 base_url="http://pagurus.test")
    session.commit()
    purl = f"{live}/{project.url_path}"
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM),
                                     args=["--no-sandbox", "--disable-gpu"])
        try:
            context = browser.new_context()
            context.add_init_script(WATCH_VIOLATIONS)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{purl}/issues", wait_until="networkidle")

            def selected() -> list[str]:
                return page.eval_on_selector_all(
                    ".kb-current .il-title", "els => els.map(e => e.textContent)")

            page.keyboard.press("j")
            assert selected() == ["Third issue"]  # newest first
            page.keyboard.press("j")
            page.keyboard.press("j")
            page.keyboard.press("j")  # stays on the last one
            assert selected() == ["First issue"]
            page.keyboard.press("k")
            assert selected() == ["Second issue"]
            # "/" goes to the list's search box; letters typed there stay text
            page.keyboard.press("/")
            assert page.evaluate("document.activeElement.id") == "il-search"
            page.keyboard.type("jk")
            assert page.input_value("#il-search") == "jk"
            assert selected() == ["Second issue"]
            page.evaluate("document.activeElement.blur()")
            with page.expect_navigation():
                page.keyboard.press("o")
            assert page.url.endswith("/issue/2")
            # "g" then a letter: the project's tabs
            with page.expect_navigation():
                page.keyboard.press("g")
                page.keyboard.press("p")
            assert page.url.endswith(f"/{project.url_path}/pull-requests")
            with page.expect_navigation():
                page.keyboard.press("g")
                page.keyboard.press("m")
            assert page.url.endswith(f"/{project.url_path}/commits")
            # "?" lists the shortcuts; Escape closes the list
            page.keyboard.press("?")
            assert page.locator("#kb-help").is_visible()
            assert "Next / previous item" in page.inner_text("#kb-help")
            page.keyboard.press("Escape")
            assert not page.locator("#kb-help").is_visible()
            # shortcuts with Ctrl are the browser's: nothing happens here
            page.keyboard.press("Control+j")
            assert page.url.endswith(f"/{project.url_path}/commits")
            assert errors == []
            assert page.evaluate("window.__violations") == []
        finally:
            browser.close()
