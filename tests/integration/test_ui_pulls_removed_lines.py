"""Inline comments on removed lines (the old side of a pull request's
diff): the old line number of a removed line links to the comment form
(anchored to the diff's base), the thread is shown under that line in the
unified and split views, and it becomes outdated when the PR is rebased
onto a base where that line reads differently."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PASSWORD, login_as
from livehelp import live_web
from pullui_help import BASE, commit, fresh, make_project, open_pull, post, pr_path
from sqlalchemy import select

from pagurus.core import pulls
from pagurus.model import PullRequestComment

CHROMIUM = Path("/usr/bin/chromium")


def comments_of(session, pr):
    session.expire_all()
    return list(session.scalars(select(PullRequestComment).where(
        PullRequestComment.pull_request_id == pr.id).order_by(PullRequestComment.id)))


def thread_after_old_row(html: str, row: str) -> str | None:
    """The thread row right after the diff row showing removed line ``row``."""
    found = re.search(rf'data-old="{row}"[^\n]*?</tr>\s*(<tr class="pr-thread-row">.*?</td></tr>)',
                      html, re.S)
    return found.group(1) if found else None


def rebase_topic(repo, files, message):
    """Recreate ``topic`` as one commit on top of ``main`` (a force-push)."""
    repo.references.delete("refs/heads/topic")
    return commit(repo, "topic", files, message, "main")


def test_a_removed_line_is_commented_from_its_old_number_and_shown_under_it(
        client, session, settings, make_user):
    owner, reviewer = make_user(), make_user()
    project, repo = make_project(session, settings, owner)
    base = str(repo.lookup_reference("refs/heads/main").target)
    head = commit(repo, "topic", {"a.txt": "one\nthree\nfour\nfive\n", "README": None},
                  "Drop two and the README", "main")
    pr = open_pull(session, settings, owner, project, "topic")
    login_as(client, reviewer)
    html = client.get(pr_path(pr)).get_data(as_text=True)
    # README is the first file (deleted), a.txt the second
    link = f"{pr_path(pr)}/comment/{base}/a.txt/2?side=old"
    assert f'href="{link}"' in html
    assert f'href="{pr_path(pr)}/comment/{base}/README/1?side=old"' in html
    assert f'data-comment-base-old="{pr_path(pr)}/comment/{base}/a.txt/"' in html
    assert 'data-old="pf2-o2"' in html
    # context lines have no old-side link
    assert f"/comment/{base}/a.txt/1?side=old" not in html
    # the deleted file's own page links its lines too
    assert f'href="{pr_path(pr)}/comment/{base}/README/1?side=old"' in client.get(
        pr_path(pr, "/file/README")).get_data(as_text=True)

    form = client.get(link)
    body = form.get_data(as_text=True)
    assert form.status_code == 200 and "removed line 2" in body
    assert re.search(r'<span class="muted">2</span> <span class="mk">-</span>two</pre>', body)
    assert f'action="{link}"' in body
    assert post(client, link, {"comment": "Why drop *two*?"}).status_code == 302
    [c] = comments_of(session, pr)
    assert (c.commit_id, c.filename, c.line, c.side) == (base, "a.txt", 2, "old")

    html = client.get(pr_path(pr)).get_data(as_text=True)
    thread = thread_after_old_row(html, "pf2-o2")
    assert thread is not None and "Why drop <em>two</em>?" in thread
    assert "outdated" not in thread and "removed line" in thread
    assert f'href="{link}"' in thread  # the reply goes to the same old line
    # line 2 of the new version ("three") has no thread
    assert not re.search(r'id="pf2-n2"[^\n]*?</tr>\s*<tr class="pr-thread-row">', html)
    # the timeline lists it, with the removed line as it read
    assert re.search(r'<code>a.txt</code>, line 2 <span class="badge pr-side-old"', html)
    assert '<span class="muted">2</span> two</pre>' in html
    split = client.get(pr_path(pr) + "?splitview=1").get_data(as_text=True)
    assert re.search(r'data-old="pf2-o2">.*?</tr>\s*<tr class="pr-thread-row"><td colspan="4">'
                     r'.*?Why drop', split, re.S)

    # the JS box posts the same URL with &js=1 (a removed file's line here)
    resp = post(client, f"{pr_path(pr)}/comment/{base}/README/1?side=old&js=1",
                {"comment": "Keep the README"})
    assert resp.get_json()["code"] == "OK"
    assert "Keep the README" in thread_after_old_row(
        client.get(pr_path(pr)).get_data(as_text=True), "pf1-o1")
    # a new-side comment on the same number is another thread
    post(client, f"{pr_path(pr)}/comment/{head}/a.txt/2", {"comment": "three it is"})
    html = client.get(pr_path(pr)).get_data(as_text=True)
    assert "three it is" not in thread_after_old_row(html, "pf2-o2")
    assert "Why drop" not in re.search(r'id="pf2-n2"[^\n]*?</tr>\s*(<tr class="pr-thread-row">'
                                       r'.*?</td></tr>)', html, re.S).group(1)
    # a side that is neither: refused, nothing stored
    resp = post(client, f"{pr_path(pr)}/comment/{base}/a.txt/2?side=sideways",
                {"comment": "x"})
    assert resp.status_code == 400
    assert len(comments_of(session, pr)) == 3


def test_a_removed_line_thread_is_outdated_once_its_line_changed_on_the_new_base(
        client, session, settings, make_user):
    owner = make_user()
    project, repo = make_project(session, settings, owner)
    base = str(repo.lookup_reference("refs/heads/main").target)
    commit(repo, "topic", {"a.txt": "one\nthree\nfour\nfive\n"}, "Drop two", "main")
    pr = open_pull(session, settings, owner, project, "topic")
    pulls.add_comment(session, owner, pr, "on removed two", base_url=BASE, commit=base,
                      filename="a.txt", row=2, side="old")
    session.commit()
    login_as(client, owner)

    def refresh():
        pulls.refresh_from_push(session, settings.data_dir, fresh(session, pr), agent=owner,
                                base_url=BASE)
        session.commit()
        return client.get(pr_path(pr)).get_data(as_text=True)

    # main moves without touching a.txt and the PR is rebased on it: still current
    commit(repo, "main", {"other.txt": "o\n"}, "Elsewhere")
    rebase_topic(repo, {"a.txt": "one\nthree\nfour\nfive\n"}, "Drop two again")
    html = refresh()
    thread = thread_after_old_row(html, "pf1-o2")
    assert thread is not None and "on removed two" in thread and "outdated" not in thread
    # main rewrites line 2, the PR is rebased again: the commented line is gone
    commit(repo, "main", {"a.txt": "one\nTWO\nthree\nfour\nfive\n"}, "Shout two")
    rebase_topic(repo, {"a.txt": "one\nthree\nfour\nfive\n"}, "Drop TWO")
    html = refresh()
    assert thread_after_old_row(html, "pf1-o2") is None
    head = re.search(r'<div class="pr-thread pr-thread-outdated" id="thread-\d+".*?</p>', html,
                     re.S)
    assert head is not None and "removed line" in head.group(0)
    assert "on removed two" in html and '<span class="muted">2</span> two</pre>' in html


@pytest.fixture(scope="module")
def live(settings, tmp_path_factory) -> Iterator[str]:
    """``pagurus web`` on the test settings (same database and data dir)."""
    with live_web(settings, tmp_path_factory.mktemp("removed-lines-web") / "web.log") as base:
        yield base


@pytest.mark.slow
def test_pulls_js_opens_the_box_on_a_removed_lines_number(live, session, settings,
                                                          make_user):
    """A long diff keeps numbers plain (pulls.js turns a click on a removed
    line's old number into the old-side box); the per-file page has links,
    which pulls.js opens in place too (posting to ``…?side=old&js=1``)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from pagurus.web.ui.pulls import LINE_LINKS_MAX

    owner = make_user()
    project, repo = make_project(session, settings, owner)
    base = str(repo.lookup_reference("refs/heads/main").target)
    half = "".join(f"l{i}\n" for i in range(LINE_LINKS_MAX // 2 + 1))
    commit(repo, "topic", {"a.txt": "one\nthree\nfour\nfive\n", "long1.txt": half,
                           "long2.txt": half}, "Long", "main")
    pr = open_pull(session, settings, owner, project, "topic")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM),
                                     args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_context().new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{live}/login/")
            page.fill("#f-username", owner.name)
            page.fill("#f-password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            page.goto(live + pr_path(pr) + "#pr-files", wait_until="networkidle")
            assert page.locator("a.pr-ln-link").count() == 0  # plain numbers
            page.click('tr[data-old="pf1-o2"] td.lno')
            page.fill("tr.pr-inline-row textarea", "Keep *two*")
            page.click("tr.pr-inline-row button[type=submit]")
            page.wait_for_selector("tr.pr-thread-row .pr-comment em")
            # the per-file page: the old number is a link, opened in place
            page.goto(live + pr_path(pr, "/file/a.txt"), wait_until="networkidle")
            page.click(f'a.pr-ln-link[href$="/comment/{base}/a.txt/2?side=old"]')
            page.fill("tr.pr-inline-row textarea", "Really")
            page.click("tr.pr-inline-row button[type=submit]")
            page.wait_for_selector("tr.pr-thread-row .pr-comment >> text=Really")
            assert page.url.endswith("/file/a.txt")
            assert errors == []
        finally:
            browser.close()
    rows = [(c.commit_id, c.filename, c.line, c.side, c.comment) for c in comments_of(session, pr)]
    assert rows == [(base, "a.txt", 2, "old", "Keep *two*"), (base, "a.txt", 2, "old", "Really")]
