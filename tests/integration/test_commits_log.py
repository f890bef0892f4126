"""Visitors page through a project's history: pages follow ``git rev-list``
exactly, filter by author, see branch badges, and hostile commit text stays
inert."""

from __future__ import annotations

import re

import pytest
from commits_fixture import HOSTILE_BRANCH, assert_escaped, build, module_session, new_project
from conftest import login_as, unique

PER_PAGE = 50


@pytest.fixture(scope="module")
def hist(app, settings):
    s = module_session(app)
    try:
        yield build(s, settings)
    finally:
        s.close()


def listed(body: str) -> list[str]:
    return re.findall(r'class="commit-subject" href="[^"]*/c/([0-9a-f]{40})"', body)


def test_each_log_page_is_the_matching_slice_of_git_rev_list(client, hist):
    expected = hist.rev_list("main")
    assert len(expected) == 129  # 126 on main + 3 merged from the feature branch
    for page in (1, 2, 3):
        resp = client.get(f"{hist.url}/commits?page={page}")
        assert resp.status_code == 200
        assert listed(resp.get_data(as_text=True)) == expected[(page - 1) * PER_PAGE:
                                                               page * PER_PAGE]
    first = client.get(f"{hist.url}/commits").get_data(as_text=True)
    assert 'rel="next"' in first and 'rel="prev"' not in first
    last = client.get(f"{hist.url}/commits?page=3").get_data(as_text=True)
    assert 'rel="prev"' in last and 'rel="next"' not in last
    beyond = client.get(f"{hist.url}/commits?page=9").get_data(as_text=True)
    assert listed(beyond) == [] and "No commits on this page" in beyond


def test_a_branch_with_slashes_a_tag_and_a_commit_id_have_their_own_log(client, hist):
    for ref, rev in (("feature/x/y", "feature/x/y"), ("v1.0", "v1.0"),
                     (hist.marks[60][:10], hist.marks[60])):
        body = client.get(f"{hist.url}/commits/{ref}").get_data(as_text=True)
        assert listed(body) == hist.rev_list(rev)[:PER_PAGE], ref


def test_rows_show_subject_author_date_short_id_and_branch_badges(client, hist):
    body = client.get(f"{hist.url}/commits/feature/x/y").get_data(as_text=True)
    head = hist.marks[203]
    assert "Feature work 3" in body
    assert f'title="{head}">{head[:8]}</a>' in body
    assert f'data-copy="{head}"' in body
    # the branch whose head this is gets a badge linking to its log
    assert f'href="{hist.url}/commits/feature/x/y">feature/x/y</a>' in body
    # author linked to the user owning the email; exact time on hover
    assert f'href="/user/{hist.alice.name}"' in body
    assert re.search(r'<time datetime="[^"]+" title="\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC">',
                     body)


def test_the_author_filter_uses_every_confirmed_email_of_the_user(client, hist):
    expected = hist.rev_list("main", f"--author=<{hist.alice.default_email}>",
                             f"--author=<{hist.alt_email}>")
    assert len(expected) > PER_PAGE  # two pages
    page1 = client.get(f"{hist.url}/commits?author={hist.alice.name}").get_data(as_text=True)
    page2 = client.get(f"{hist.url}/commits?author={hist.alice.name}&page=2").get_data(
        as_text=True)
    assert listed(page1) + listed(page2) == expected
    assert f"author={hist.alice.name}" in page1  # the "older" link keeps the filter
    owner_only = client.get(f"{hist.url}/commits?author={hist.owner.name}").get_data(
        as_text=True)
    assert listed(owner_only) == hist.rev_list(
        "main", f"--author=<{hist.owner.default_email}>")[:PER_PAGE]
    nobody = client.get(f"{hist.url}/commits?author=nosuchuser{unique()}").get_data(
        as_text=True)
    assert listed(nobody) == [] and "There is no user named" in nobody


def test_hostile_commit_text_and_branch_names_are_escaped(client, hist):
    body = client.get(f"{hist.url}/commits").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; fix" in body
    assert_escaped(body)
    hostile_log = client.get(f"{hist.url}/commits/{HOSTILE_BRANCH}")
    assert hostile_log.status_code == 200
    assert_escaped(hostile_log.get_data(as_text=True))
    assert_escaped(client.get(f"{hist.url}/commits?author=<script>alert(1)</script>")
                   .get_data(as_text=True))


def test_unknown_refs_and_revision_syntax_are_not_found(client, hist):
    for ref in ("nope", "main~1", "main^", "HEAD@{1}", "treetag", "-x", "../main"):
        assert client.get(f"{hist.url}/commits/{ref}").status_code == 404, ref


def test_the_page_carries_an_etag_and_answers_304_when_unchanged(client, hist):
    first = client.get(f"{hist.url}/commits")
    etag = first.headers["ETag"]
    again = client.get(f"{hist.url}/commits", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    other_page = client.get(f"{hist.url}/commits?page=2", headers={"If-None-Match": etag})
    assert other_page.status_code == 200
    # a new branch head on the page changes its badges, hence its ETag
    hist.git("update-ref", "refs/heads/badge/new", hist.marks[125])
    try:
        changed = client.get(f"{hist.url}/commits", headers={"If-None-Match": etag})
        assert changed.status_code == 200 and "badge/new" in changed.get_data(as_text=True)
    finally:
        hist.git("update-ref", "-d", "refs/heads/badge/new")


def test_an_empty_repository_says_so(client, session, settings, make_user):
    project = new_project(session, settings, make_user())
    resp = client.get(f"/{project.name}/commits")
    assert resp.status_code == 200 and "No commits yet" in resp.get_data(as_text=True)
    assert client.get(f"/{project.name}/commits/main").status_code == 404


def test_the_commits_tab_is_marked_in_the_project_header(client, hist):
    body = client.get(f"{hist.url}/commits").get_data(as_text=True)
    assert f'class="tab active" href="{hist.url}/commits" aria-current="page"' in body
    assert f'href="{hist.url}/branches"' in body and f'href="{hist.url}/releases"' in body


def test_a_private_projects_log_is_hidden_from_outsiders(client, app, settings, make_user):
    s = module_session(app)
    try:
        private = build(s, settings, private=True)
    finally:
        s.close()
    assert client.get(f"{private.url}/commits").status_code == 404
    login_as(client, make_user())
    assert client.get(f"{private.url}/commits").status_code == 404
    login_as(client, private.owner)
    assert client.get(f"{private.url}/commits").status_code == 200
