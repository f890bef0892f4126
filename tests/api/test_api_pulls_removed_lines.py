"""Inline comments on removed lines through API v0: ``side=old`` with the
diff's base as ``commit`` (an extra field; ``line`` keeps Pagure's
meaning of a line number), shown in the JSON and under the removed line on
the pull request's page."""

from __future__ import annotations

import re

from apihelp import error_of
from conftest import auth
from pullhelp import git_project, open_pr, pr_url
from sqlalchemy import select

from pagurus.model import PullRequestComment


def test_a_comment_on_a_removed_line_is_posted_read_and_shown_in_place(client, session,
                                                                       settings, make_user,
                                                                       make_token):
    owner, reviewer = make_user(), make_user()
    project, repo = git_project(session, settings, owner)  # a.txt: one two three
    base = str(repo.lookup_reference("refs/heads/main").target)
    pr = open_pr(session, settings, owner, project, repo, files={"a.txt": "one\nthree\n"})
    token = make_token(reviewer, ["pull_request_comment"])
    url = pr_url(project, pr, "/comment")
    resp = client.post(url, headers=auth(token),
                       json={"comment": "Keep *two*", "commit": base, "filename": "a.txt",
                             "row": 2, "side": "old"})
    assert resp.status_code == 200, resp.get_json()
    resp = client.post(url, headers=auth(token),
                       json={"comment": "New line 2", "commit": pr.commit_stop,
                             "filename": "a.txt", "row": 2})
    assert resp.status_code == 200, resp.get_json()
    data = client.get(pr_url(project, pr)).get_json()
    old, new = data["comments"]
    assert (old["commit"], old["filename"], old["line"], old["side"]) == (base, "a.txt", 2,
                                                                          "old")
    assert (new["line"], new["side"]) == (2, "new")
    one = client.get(pr_url(project, pr, f"/comment/{old['id']}")).get_json()
    assert one["side"] == "old" and one["line"] == 2
    # refused: an unknown side, a side on a general comment; nothing stored
    for bad in ({"comment": "x", "commit": base, "filename": "a.txt", "row": 2,
                 "side": "left"},
                {"comment": "x", "side": "old"}):
        assert error_of(client.post(url, headers=auth(token), json=bad)) == (
            400, "EINVALIDREQ"), bad
    session.expire_all()
    assert len(session.scalars(select(PullRequestComment).where(
        PullRequestComment.pull_request_id == pr.id)).all()) == 2
    # the page shows each under its own line: the removed "two", the new "three"
    html = client.get(f"/{project.url_path}/pull-request/{pr.number}").get_data(as_text=True)
    under_old = re.search(r'data-old="pf1-o2"[^\n]*?</tr>\s*<tr class="pr-thread-row">(.*?)'
                          r'</td></tr>', html, re.S)
    under_new = re.search(r'id="pf1-n2"[^\n]*?</tr>\s*<tr class="pr-thread-row">(.*?)'
                          r'</td></tr>', html, re.S)
    assert under_old and "Keep <em>two</em>" in under_old.group(1)
    assert under_new and "New line 2" in under_new.group(1)
    assert "New line 2" not in under_old.group(1)
