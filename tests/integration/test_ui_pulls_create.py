"""Opening a pull request from the web UI: the creation page
``{P}/diff/<to>..<from>`` (commits and diff first, the form for committers
of the source), from a branch of the same project and from a fork into its
parent, and the remote form's refusals."""

from __future__ import annotations

import re
from urllib.parse import quote

import pygit2
from conftest import login_as
from pullui_help import (
    commit,
    grant,
    make_fork,
    make_project,
    post,
    purl,
)
from sqlalchemy import select

from pagurus import paths
from pagurus.git.repos import init_bare
from pagurus.model import PullRequest


def field_value(html: str, name: str) -> str | None:
    found = re.search(rf'id="f-{name}"[^>]*value="([^"]*)"', html)
    return found.group(1) if found else None


def diff_url(project, to: str, frm: str) -> str:
    return purl(project) + "/diff/" + quote(to, safe="/") + ".." + quote(frm, safe="/")


def prs_of(session, project):
    session.expire_all()
    return list(session.scalars(select(PullRequest).where(PullRequest.project_id == project.id)))


def test_a_branch_with_slashes_and_unicode_is_compared_and_opened(client, session, settings,
                                                                  make_user):
    owner = make_user()
    project, repo = make_project(session, settings, owner)
    branch = "feature/ünï/cødé"
    commit(repo, branch, {"new.txt": "hello\n"}, "Add new", "main")
    commit(repo, branch, {"a.txt": "one\n2\nthree\nfour\nfive\n"}, "Change two")
    login_as(client, owner)
    page = client.get(diff_url(project, "main", branch))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Add new" in html and "Change two" in html  # the commits
    assert 'id="pf1-n2"' in html and "new.txt" in html  # the diff
    assert html.index("Change two") < html.index("Add new")  # newest first
    assert field_value(html, "title") == ""  # two commits: nothing to prefill from
    resp = post(client, diff_url(project, "main", branch),
                {"title": "Unicode branch", "initial_comment": "Two commits",
                 "allow_rebase": "1"})
    assert resp.status_code == 302
    [pr] = prs_of(session, project)
    assert resp.headers["Location"].endswith(f"/pull-request/{pr.number}")
    assert (pr.branch_from, pr.branch, pr.title, pr.allow_rebase) == (
        branch, "main", "Unicode branch", True)
    shown = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Unicode branch" in shown and "cødé" in shown


def test_a_one_commit_pr_starts_from_the_commit_message(client, session, settings, make_user):
    owner = make_user()
    project, repo = make_project(session, settings, owner)
    commit(repo, "fix", {"z.txt": "z\n"}, 'Add "z" <file>\n\nBecause z matters.\n', "main")
    login_as(client, owner)
    html = client.get(diff_url(project, "main", "fix")).get_data(as_text=True)
    assert field_value(html, "title") == "Add &#34;z&#34; &lt;file&gt;"
    assert re.search(r'id="f-initial_comment"[^>]*>\s*Because z matters\.', html)


def test_a_fork_proposes_to_its_parent_by_default(client, session, settings, make_user):
    owner, contributor = make_user(), make_user()
    project, _repo = make_project(session, settings, owner)
    fork, fork_repo = make_fork(session, settings, contributor, project)
    commit(fork_repo, "topic", {"a.txt": "from the fork\n"}, "Fork change", "main")
    login_as(client, contributor)
    page = client.get(diff_url(fork, "main", "topic"))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Fork change" in html and "from the fork" in html
    assert project.fullname in html  # the target named
    resp = post(client, diff_url(fork, "main", "topic"), {"title": "From my fork",
                                                           "allow_rebase": "1"})
    assert resp.status_code == 302
    [pr] = prs_of(session, project)
    assert pr.project_from_id == fork.id and pr.title == "From my fork"
    assert resp.headers["Location"] == f"/{project.url_path}/pull-request/{pr.number}"
    # the parent's branch moved on: the fork's branch is still compared with its merge base
    parent_repo = pygit2.Repository(str(paths.repo_path(settings.data_dir, "main",
                                                        project.fullname)))
    commit(parent_repo, "main", {"later.txt": "later\n"}, "Parent moves on")
    commit(fork_repo, "topic2", {"b.txt": "b\n"}, "Second fork change", "main")
    html = client.get(diff_url(fork, "main", "topic2")).get_data(as_text=True)
    assert "Second fork change" in html and "Parent moves on" not in html
    # ?project_to= the fork itself: forks start with pull requests off
    inside = diff_url(fork, "main", "topic") + "?project_to=" + fork.url_path
    assert client.get(inside).status_code == 404
    fork.settings = {**fork.settings, "pull_requests": True}
    session.commit()
    html = client.get(inside).get_data(as_text=True)
    assert "Fork change" in html and 'name="project_to"' not in html
    # a project of another family is not a target
    other, _ = make_project(session, settings, owner)
    assert client.get(diff_url(fork, "main", "topic") + "?project_to=" + other.url_path
                      ).status_code == 404


def test_only_committers_of_the_source_see_the_form(client, session, settings, make_user):
    owner, stranger, committer = make_user(), make_user(), make_user()
    project, repo = make_project(session, settings, owner)
    grant(session, project, committer, "commit")
    commit(repo, "topic", {"t.txt": "t\n"}, "T", "main")
    url = diff_url(project, "main", "topic")
    anonymous = client.get(url).get_data(as_text=True)
    assert "T</a>" in anonymous and 'name="title"' not in anonymous and "Log in" in anonymous
    login_as(client, stranger)
    html = client.get(url).get_data(as_text=True)
    assert 'name="title"' not in html and "Only those who may commit" in html
    resp = post(client, url, {"title": "Sneaky"})
    assert resp.status_code == 403 and prs_of(session, project) == []
    login_as(client, committer)
    assert 'name="title"' in client.get(url).get_data(as_text=True)


def test_refusals_say_why_and_open_nothing(client, session, settings, make_user):
    owner = make_user()
    project, repo = make_project(session, settings, owner,
                                 **{"Enforce_signed-off_commits_in_pull-request": True})
    commit(repo, "unsigned", {"u.txt": "u\n"}, "Unsigned work", "main")
    login_as(client, owner)
    url = diff_url(project, "main", "unsigned")
    html = client.get(url).get_data(as_text=True)
    assert "requires every commit of a pull request to be signed off" in html
    assert "Not signed off" in html
    resp = post(client, url, {"title": "Unsigned"})
    assert resp.status_code == 400 and "signed off" in resp.get_data(as_text=True)
    commit(repo, "signed", {"s.txt": "s\n"}, "Signed\n\nSigned-off-by: Dev <dev@example.com>",
           "main")
    resp = post(client, diff_url(project, "main", "signed"), {"title": ""})
    assert resp.status_code == 400 and "field-error" in resp.get_data(as_text=True)
    assert prs_of(session, project) == []
    # unknown branches, no ".." and the same branch
    assert client.get(diff_url(project, "main", "nope")).status_code == 404
    assert client.get(diff_url(project, "nope", "signed")).status_code == 404
    assert client.get(purl(project) + "/diff/main").status_code == 404
    empty = client.get(diff_url(project, "main", "main")).get_data(as_text=True)
    assert "No commits to merge" in empty and 'name="title"' not in empty
    # preview keeps the text and creates nothing
    resp = post(client, diff_url(project, "main", "signed"),
                {"title": "Keep me", "initial_comment": "**bold**", "preview": "1"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<strong>bold</strong>" in body and 'value="Keep me"' in body
    assert prs_of(session, project) == []
    # CSRF: refused, nothing created
    resp = client.post(diff_url(project, "main", "signed"), data={"title": "x"})
    assert resp.status_code == 400 and prs_of(session, project) == []


def test_the_contributing_page_and_disabled_or_private_projects(client, session, settings,
                                                                make_user):
    owner, stranger = make_user(), make_user()
    project, repo = make_project(session, settings, owner)
    commit(repo, "topic", {"t.txt": "t\n"}, "T", "main")
    requests = init_bare(paths.repo_path(settings.data_dir, "requests", project.fullname),
                         "master")
    commit(requests, "master",
           {"templates/contributing.md": "# Read me first\n\nSign <img src=x onerror=alert(1)>."},
           "Contributing")
    login_as(client, owner)
    html = client.get(diff_url(project, "main", "topic")).get_data(as_text=True)
    assert "Read me first</h1>" in html and "onerror" not in html
    project.settings = {**project.settings, "pull_requests": False}
    session.commit()
    assert client.get(diff_url(project, "main", "topic")).status_code == 404
    private, prepo = make_project(session, settings, owner, private=True)
    commit(prepo, "topic", {"t.txt": "t\n"}, "T", "main")
    login_as(client, stranger)
    assert client.get(diff_url(private, "main", "topic")).status_code == 404


def test_the_remote_form_refuses_local_addresses_before_fetching(client, session, settings,
                                                                 make_user):
    owner = make_user()
    project, _repo = make_project(session, settings, owner)
    url = purl(project) + "/diff/remote"
    assert client.get(url).status_code == 302  # log in first
    login_as(client, owner)
    assert 'name="git_repo"' in client.get(url).get_data(as_text=True)
    for remote in ("http://127.0.0.1/repo.git", "file:///etc", "ext::sh -c id",
                   "https://user:secret@example.com/r.git"):
        resp = post(client, url, {"git_repo": remote, "branch_from": "main",
                                  "branch_to": "main", "title": "Remote"})
        body = resp.get_data(as_text=True)
        assert resp.status_code == 400, remote
        assert "field-error" in body
    # the title may wait for the preview, but a bad one is refused at once
    resp = post(client, url, {"git_repo": "https://example.com/r.git", "branch_from": "x",
                              "branch_to": "main", "title": "two\nlines"})
    assert resp.status_code == 400
    assert prs_of(session, project) == []
