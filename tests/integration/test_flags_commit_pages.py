"""CI flags on the history pages: the commit page lists a commit's flags,
the commit log shows one status badge per flagged commit, an updated flag
shows at once (no stale cached page, no stale 304), and flag text or links
from a CI never become markup or a script link."""

from __future__ import annotations

import re

from conftest import auth, login_as
from pullui_help import commit, make_project, open_pull, pr_path, purl

from pagurus.model import CommitFlag

API = "/api/0"
XSS_NAME = '<img src=x onerror="alert(1)">'
XSS_COMMENT = "<script>alert(2)</script> & done"


def _flag(client, token, project, commit_hash, **fields):
    body = {"username": "CI", "comment": "Tests passed", "url": "https://ci.example/1",
            "status": "success", **fields}
    resp = client.post(f"{API}/{project.url_path}/c/{commit_hash}/flag", headers=auth(token),
                       data=body)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _history(session, settings, make_user, make_token):
    owner = make_user()
    project, repo = make_project(session, settings, owner)
    first = str(repo.lookup_reference("refs/heads/main").target)
    second = commit(repo, "main", {"b.txt": "b\n"}, "Second change")
    token = make_token(owner, ["commit_flag"], project=project)
    return owner, project, repo, first, str(second), token


def _log_row(body: str, commit_hash: str) -> str:
    """The log's row of one commit."""
    for row in re.findall(r'<li class="list-row commit-row">.*?</li>', body, re.S):
        if f'data-copy="{commit_hash}"' in row:
            return row
    raise AssertionError(f"no row for {commit_hash}")


def test_a_flag_posted_by_ci_shows_on_the_commit_page_and_as_a_log_badge(
        client, session, settings, make_user, make_token):
    _owner, project, _repo, first, second, token = _history(session, settings, make_user,
                                                            make_token)
    _flag(client, token, project, second, percent="85", comment="Build #7 green",
          url="https://ci.example/job/7")
    _flag(client, token, project, second, username="lint", status="failure",
          comment="3 warnings", url="http://lint.example/run/3")

    page = client.get(f"{purl(project)}/c/{second}").get_data(as_text=True)
    flags = page.split('id="flags"', 1)[1].split("</section>", 1)[0]
    assert "Flags <span" in flags and "(2)" in flags
    assert 'href="https://ci.example/job/7"' in flags and ">CI</a>" in flags
    assert "85%" in flags and "Build #7 green" in flags
    assert 'class="badge badge-success">Success<' in flags
    assert 'class="badge badge-danger">Failure<' in flags
    assert 'href="http://lint.example/run/3"' in flags and "3 warnings" in flags
    assert "<time datetime=" in flags
    # an unflagged commit has no flag section
    assert 'id="flags"' not in client.get(f"{purl(project)}/c/{first}").get_data(as_text=True)

    log = client.get(f"{purl(project)}/commits").get_data(as_text=True)
    row = _log_row(log, second)
    # one compact badge: the most alarming status, how many flags have it, all on hover
    badge = re.search(r'<a class="badge [^"]*commit-flags[^"]*"[^>]*>[^<]*</a>', row)
    assert badge is not None, row
    assert "flag-failure" in badge.group(0) and ">Failure 1/2</a>" in badge.group(0)
    assert 'title="lint: Failure; CI: Success"' in badge.group(0)
    assert f'href="{purl(project)}/c/{second}#flags"' in badge.group(0)
    assert "commit-flags" not in _log_row(log, first)


def test_an_updated_flag_shows_at_once_on_the_log_and_commit_pages(
        client, session, settings, make_user, make_token):
    _owner, project, _repo, _first, second, token = _history(session, settings, make_user,
                                                             make_token)
    uid = _flag(client, token, project, second, status="pending", percent="10")["uid"]
    log_url, commit_url = f"{purl(project)}/commits", f"{purl(project)}/c/{second}"
    log = client.get(log_url)
    page = client.get(commit_url)
    assert ">Pending</a>" in _log_row(log.get_data(as_text=True), second)
    assert ">Pending<" in page.get_data(as_text=True)
    # the browser revalidates: nothing changed, so 304
    assert client.get(log_url, headers={"If-None-Match": log.headers["ETag"]}
                      ).status_code == 304
    assert client.get(commit_url, headers={"If-None-Match": page.headers["ETag"]}
                      ).status_code == 304

    _flag(client, token, project, second, uid=uid, status="failure", percent="100",
          comment="Broke on step 3")
    log2 = client.get(log_url, headers={"If-None-Match": log.headers["ETag"]})
    assert log2.status_code == 200 and log2.headers["ETag"] != log.headers["ETag"]
    row = _log_row(log2.get_data(as_text=True), second)
    assert ">Failure</a>" in row and "Pending" not in row
    page2 = client.get(commit_url, headers={"If-None-Match": page.headers["ETag"]})
    assert page2.status_code == 200
    body = page2.get_data(as_text=True)
    assert "Broke on step 3" in body and "Pending" not in body and "100%" in body
    # an update that only changes the comment changes the pages too
    _flag(client, token, project, second, uid=uid, status="failure", percent="100",
          comment="Broke on step 4")
    page3 = client.get(commit_url, headers={"If-None-Match": page2.headers["ETag"]})
    assert page3.status_code == 200 and "Broke on step 4" in page3.get_data(as_text=True)


def test_a_flag_link_that_is_not_http_is_never_rendered_as_a_link(
        client, session, settings, make_user, make_token):
    owner, project, repo, _first, second, token = _history(session, settings, make_user,
                                                           make_token)
    # the API refuses such links ...
    resp = client.post(f"{API}/{project.url_path}/c/{second}/flag", headers=auth(token),
                       data={"username": "CI", "comment": "c", "url": "javascript:alert(1)",
                             "status": "success"})
    assert resp.status_code == 400
    # ... but rows written before that check (or imported) may hold them
    commit(repo, "topic", {"t.txt": "t\n"}, "Topic work", "main")
    pr = open_pull(session, settings, owner, project, "topic")
    hostile = ["javascript:alert(1)", " JavaScript:alert(2)", "data:text/html,<b>x</b>",
               "vbscript:msgbox(3)", "//evil.example/x"]
    for i, url in enumerate(hostile):
        for target in (second, pr.commit_stop):
            session.add(CommitFlag(project_id=project.id, commit_hash=target, uid=f"old-{i}",
                                   username=f"legacy-{i}", comment="old row", url=url,
                                   status="success", user_id=owner.id))
    session.commit()
    login_as(client, owner)
    for page_url in (f"{purl(project)}/c/{second}", pr_path(pr)):
        body = client.get(page_url).get_data(as_text=True)
        for i in range(len(hostile)):
            assert f"legacy-{i}" in body, (page_url, i)
        for scheme in ("javascript:", "data:", "vbscript:", "//evil.example"):
            assert not re.search(r'href="\s*' + re.escape(scheme), body, re.I), (page_url,
                                                                                 scheme)


def test_hostile_flag_names_and_comments_stay_text_on_commit_and_log_pages(
        client, session, settings, make_user, make_token):
    _owner, project, _repo, _first, second, token = _history(session, settings, make_user,
                                                             make_token)
    _flag(client, token, project, second, username=XSS_NAME, comment=XSS_COMMENT,
          status="error")
    page = client.get(f"{purl(project)}/c/{second}").get_data(as_text=True)
    log = client.get(f"{purl(project)}/commits").get_data(as_text=True)
    for body in (page, log):
        assert XSS_NAME not in body and "<script>alert(2)" not in body
        assert "&lt;img src=x onerror=" in body
    assert "&lt;script&gt;alert(2)&lt;/script&gt; &amp; done" in page
    assert ">Error</a>" in _log_row(log, second)
