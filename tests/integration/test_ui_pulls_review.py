"""Reviewing a pull request from its page: general comments (quick
replies, preview, votes), inline comments on a diff line (the no-JS form
page and the ``?js=1`` call), threads marked outdated after a push, and
editing, deleting and reacting to comments."""

from __future__ import annotations

import re

from conftest import csrf_of, login_as
from pullui_help import (
    BASE,
    commit,
    fresh,
    grant,
    make_project,
    open_pull,
    post,
    pr_path,
)
from sqlalchemy import select

from pagurus.core import pulls
from pagurus.model import PullRequestComment


def comments_of(session, pr):
    session.expire_all()
    return list(session.scalars(select(PullRequestComment).where(
        PullRequestComment.pull_request_id == pr.id).order_by(PullRequestComment.id)))


def thread_in_diff(html: str, row_id: str) -> str | None:
    """The thread row right after the diff row ``row_id``, if any."""
    found = re.search(rf'id="{row_id}"[^\n]*?</tr>\s*(<tr class="pr-thread-row">.*?</td></tr>)',
                      html, re.S)
    return found.group(1) if found else None


def test_general_comments_with_quick_replies_preview_and_votes(client, session, settings,
                                                               make_user):
    owner, reviewer = make_user(), make_user()
    project, repo = make_project(session, settings, owner,
                                 **{"Minimum_score_to_merge_pull-request": 1})
    project.quick_replies = ["LGTM, thanks!", "Please rebase."]
    session.commit()
    commit(repo, "topic", {"t.txt": "t\n"}, "T", "main")
    pr = open_pull(session, settings, owner, project, "topic")
    url = pr_path(pr, "/comment")
    assert client.post(url, data={"comment": "x", "csrf_token": csrf_of(client)}
                       ).status_code == 302  # to the login page
    login_as(client, reviewer)
    page = client.get(pr_path(pr)).get_data(as_text=True)
    assert "LGTM, thanks!" in page and "not reached" in page
    preview = post(client, url, {"comment": "**strong** words", "preview": "1"})
    assert "<strong>strong</strong>" in preview.get_data(as_text=True)
    assert comments_of(session, pr) == []
    resp = post(client, url, {"comment": "", "quick_reply": "0"})
    assert resp.status_code == 302 and "#comment-" in resp.headers["Location"]
    assert [c.comment for c in comments_of(session, pr)] == ["LGTM, thanks!"]
    post(client, url, {"comment": "+1 ship it"})
    html = client.get(pr_path(pr)).get_data(as_text=True)
    assert "+1 ship it" in html and ">+1<" in html and "reached" in html
    assert "not reached" not in html
    empty = post(client, url, {"comment": "   "})
    assert empty.status_code == 400 and len(comments_of(session, pr)) == 2
    # ?js=1 answers JSON with the rendered comment
    resp = post(client, url + "?js=1", {"comment": "From *JS*"})
    data = resp.get_json()
    assert data["code"] == "OK" and "<em>JS</em>" in data["html"]
    assert post(client, url + "?js=1", {"comment": ""}).get_json()["code"] == "ERROR"


def test_an_inline_comment_from_the_no_js_form_lands_next_to_its_line(client, session,
                                                                       settings, make_user):
    owner, reviewer = make_user(), make_user()
    project, repo = make_project(session, settings, owner)
    head = commit(repo, "feature/x", {"a.txt": "one\nTWO\nthree\nfour\nfive\n",
                                      "dir/b.txt": "b1\nb2\n"}, "Change", "main")
    pr = open_pull(session, settings, owner, project, "feature/x")
    login_as(client, reviewer)
    html = client.get(pr_path(pr)).get_data(as_text=True)
    # without JavaScript each line number links to the form (on the PR page and the
    # file's own page); pulls.js opens a box from the table's URL prefix instead
    link = f"{pr_path(pr)}/comment/{head}/dir/b.txt/2"
    assert f'href="{link}"' in html
    assert f'href="{link}"' in client.get(pr_path(pr, "/file/dir/b.txt")).get_data(as_text=True)
    assert f'data-comment-base="{pr_path(pr)}/comment/{head}/dir/b.txt/"' in html
    form = client.get(link)
    body = form.get_data(as_text=True)
    assert form.status_code == 200 and "b2" in body and 'name="comment"' in body
    resp = post(client, link, {"comment": "Why *b2*?"})
    assert resp.status_code == 302
    [c] = comments_of(session, pr)
    assert (c.commit_id, c.filename, c.line) == (head, "dir/b.txt", 2)
    html = client.get(pr_path(pr)).get_data(as_text=True)
    thread = thread_in_diff(html, "pf2-n2")  # dir/b.txt is the second file
    assert thread is not None and "Why <em>b2</em>?" in thread and "outdated" not in thread
    assert 'class="pr-timeline-thread"' in html and "view in the diff" in html
    split = client.get(pr_path(pr) + "?splitview=1").get_data(as_text=True)
    assert re.search(r'id="pf2-n2">.*?</tr>\s*<tr class="pr-thread-row"><td colspan="4">', split,
                     re.S)
    # the JS box posts the same URL with ?js=1 and gets the comment back
    resp = post(client, f"{pr_path(pr)}/comment/{head}/a.txt/2?js=1", {"comment": "TWO?"})
    assert resp.get_json()["code"] == "OK" and "TWO?" in resp.get_json()["html"]
    assert thread_in_diff(client.get(pr_path(pr)).get_data(as_text=True), "pf1-n2")
    # a file that is not at that commit, or a bad commit: 404, nothing stored
    assert post(client, f"{pr_path(pr)}/comment/{head}/nope.txt/1", {"comment": "x"}
                ).status_code == 404
    assert post(client, f"{pr_path(pr)}/comment/zzz/a.txt/1", {"comment": "x"}
                ).status_code == 404
    assert len(comments_of(session, pr)) == 2


def test_threads_become_outdated_when_a_push_changes_their_line(client, session, settings,
                                                                 make_user):
    owner = make_user()
    project, repo = make_project(session, settings, owner)
    head = commit(repo, "topic", {"a.txt": "one\nTWO\nthree\nfour\nfive\n",
                                  "gone.txt": "bye\n", "keep.txt": "k1\nk2\n"}, "First", "main")
    pr = open_pull(session, settings, owner, project, "topic")
    for filename, row, text in (("a.txt", 2, "on TWO"), ("a.txt", 4, "on four"),
                                ("gone.txt", 1, "on gone"), ("keep.txt", 1, "on k1")):
        pulls.add_comment(session, owner, pr, text, base_url=BASE, commit=head,
                          filename=filename, row=row)
    session.commit()
    # the author pushes: line 2 of a.txt changes, gone.txt leaves the diff, keep.txt stays
    commit(repo, "topic", {"a.txt": "one\nTWO again\nthree\nfour\nfive\n", "gone.txt": None},
           "Second")
    assert pulls.refresh_from_push(session, settings.data_dir, fresh(session, pr), agent=owner,
                                   base_url=BASE) == "pull-request.updated"
    session.commit()
    login_as(client, owner)
    html = client.get(pr_path(pr)).get_data(as_text=True)
    threads = re.findall(r'<div class="pr-thread[^"]*" id="thread-\d+".*?</p>', html, re.S)
    by_text = {}
    for block in threads:
        name = re.search(r"<code>([^<]+)</code>, line (\d+)", block)
        by_text[(name.group(1), int(name.group(2)))] = "outdated" in block
    assert by_text == {("a.txt", 2): True, ("a.txt", 4): False, ("gone.txt", 1): True,
                       ("keep.txt", 1): False}
    assert "1 new commit added" in html
    # current threads sit in the diff; outdated ones only in the timeline
    assert thread_in_diff(html, "pf1-n4") is not None
    assert thread_in_diff(html, "pf1-n2") is None
    # the outdated thread still shows the line as it was commented
    assert re.search(r"<span class=\"muted\">2</span> TWO</pre>", html)


def test_edit_delete_and_react_follow_the_rules(client, session, settings, make_user):
    owner, author, other = make_user(), make_user(), make_user()
    project, repo = make_project(session, settings, owner)
    grant(session, project, author, "commit")
    commit(repo, "topic", {"t.txt": "t\n"}, "T", "main")
    pr = open_pull(session, settings, author, project, "topic")
    mine = pulls.add_comment(session, other, pr, "typo in here", base_url=BASE)
    session.commit()
    edit_url = pr_path(pr, f"/comment/{mine.id}/edit")
    login_as(client, make_user())
    stranger_page = client.get(edit_url)
    assert stranger_page.status_code == 403
    assert post(client, edit_url, {"update_comment": "hacked"}).status_code == 403
    assert fresh(session, mine).comment == "typo in here"
    login_as(client, other)
    form = client.get(edit_url).get_data(as_text=True)
    assert "typo in here" in form
    resp = post(client, edit_url, {"update_comment": "no typo here"})
    assert resp.status_code == 302
    edited = fresh(session, mine)
    assert edited.comment == "no typo here" and edited.edited_on is not None
    html = client.get(pr_path(pr)).get_data(as_text=True)
    assert "edited by " + other.name in html
    # reactions: give, refuse twice, take back
    react = pr_path(pr, f"/comment/{mine.id}/react")
    assert post(client, react + "?js=1", {"reaction": "Heart"}).get_data(as_text=True) == "ok"
    again = post(client, react + "?js=1", {"reaction": "Heart"})
    assert again.status_code == 409 and "already" in again.get_data(as_text=True)
    assert fresh(session, mine).reactions == {"Heart": [other.name]}
    post(client, react, {"unreact": "Heart"})
    assert not fresh(session, mine).reactions.get("Heart")
    # delete: the author of the comment may, a stranger may not
    login_as(client, make_user())
    resp = post(client, pr_path(pr, "/comment/drop"), {"drop_comment": str(mine.id)})
    assert resp.status_code == 302 and fresh(session, mine) is not None
    login_as(client, other)
    post(client, pr_path(pr, "/comment/drop"), {"drop_comment": str(mine.id)})
    assert mine.id not in [c.id for c in comments_of(session, pr)]
    # CSRF missing: refused, nothing changed
    note = pulls.add_comment(session, other, pr, "keep me", base_url=BASE)
    session.commit()
    assert client.post(pr_path(pr, "/comment/drop"), data={"drop_comment": str(note.id)}
                       ).status_code == 400
    assert fresh(session, note) is not None


def test_a_long_diff_keeps_line_numbers_plain_and_links_each_file(client, session, settings,
                                                                  make_user):
    """Thousands of links would weigh on the page: above the threshold the
    numbers stay plain and each file's "Comment on a line" page has them."""
    from pagurus.web.ui.pulls import LINE_LINKS_MAX

    owner = make_user()
    project, repo = make_project(session, settings, owner)
    half = "".join(f"l{i}\n" for i in range(LINE_LINKS_MAX // 2 + 1))
    head = commit(repo, "topic", {"long1.txt": half, "long2.txt": half, "short.txt": "s\n"},
                  "Long", "main")
    pr = open_pull(session, settings, owner, project, "topic")
    login_as(client, owner)
    html = client.get(pr_path(pr)).get_data(as_text=True)
    assert 'class="pr-ln-link"' not in html
    file_page = pr_path(pr, "/file/short.txt")
    assert f'class="pr-file-comment" href="{file_page}"' in html
    assert f'href="{pr_path(pr)}/comment/{head}/short.txt/1"' in client.get(
        file_page).get_data(as_text=True)
