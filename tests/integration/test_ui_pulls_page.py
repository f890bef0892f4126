"""The pull-request page as users read it: header, description, commits
with their flags, the diff (unified/split, file list/tree, big files loaded
on their own), the merge status with conflicting files, and the raw
``.patch``/``.diff``; hidden and disabled the same 404."""

from __future__ import annotations

import re
import subprocess
from html import unescape

import pygit2
from conftest import login_as
from pullui_help import (
    BASE,
    commit,
    grant,
    make_fork,
    make_project,
    open_pull,
    pr_path,
)

from pagurus.core import flags as core_flags
from pagurus.core import issues as core_issues
from pagurus.git import diff as git_diff
from pagurus.git.repos import remove
from pagurus.paths import repo_path


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_the_page_shows_branches_description_commits_diff_and_merge_status(
        client, session, settings, make_user):
    owner, author = make_user(), make_user()
    project, repo = make_project(session, settings, owner)
    grant(session, project, author, "commit")
    issue = core_issues.create_issue(session, owner, project, title="A bug", content="x",
                                     base_url=BASE)
    session.commit()
    first = commit(repo, "feature/one", {"b.txt": "b\n"}, "Add b", "main")
    second = commit(repo, "feature/one", {"a.txt": "one\nTWO\nthree\nfour\nfive\n"},
                    f"Change two\n\nFixes #{issue.number}")
    pr = open_pull(session, settings, author, project, "feature/one", title="Two changes",
                   initial_comment="Makes **things** better")
    core_flags.add_or_update(session, owner, None, project, second, username="ci-bot",
                             comment="all green", url="https://ci.example.com/1",
                             status="success", base_url=BASE)
    session.commit()
    page = client.get(pr_path(pr))
    html = page.get_data(as_text=True)
    text = text_of(html)
    assert page.status_code == 200
    assert f"PR#{pr.number} Two changes" in text and "Open" in text
    assert "feature/one → main" in text
    assert "<strong>things</strong>" in html
    assert "Add b" in html and "Change two" in html
    assert first[:8] in html and second[:8] in html
    assert "2 files changed" in text and 'id="pf1-n2"' in html  # a.txt line 2 row
    assert "FFORWARD" in html and "fast-forward" in text
    assert "ci-bot" in html and "Success" in html  # the flag of the head, with its status
    assert f'href="/{project.url_path}/issue/{issue.number}"' in html  # related issue
    # anonymous readers get no forms but the same content
    assert 'action="' + pr_path(pr, "/merge") + '"' not in html
    login_as(client, owner)
    html = client.get(pr_path(pr)).get_data(as_text=True)
    assert 'action="' + pr_path(pr, "/merge") + '"' in html
    assert "Delete the branch feature/one after merging" in html


def test_conflicts_are_listed_and_fast_forward_only_projects_ask_for_a_rebase(
        client, session, settings, make_user):
    owner = make_user()
    project, repo = make_project(session, settings, owner)
    commit(repo, "clash", {"a.txt": "one\nBRANCH\nthree\nfour\nfive\n"}, "Branch", "main")
    commit(repo, "clean", {"c.txt": "c\n"}, "Clean", "main")
    clash = open_pull(session, settings, owner, project, "clash", title="Clash")
    clean = open_pull(session, settings, owner, project, "clean", title="Clean")
    commit(repo, "main", {"a.txt": "one\nMAIN\nthree\nfour\nfive\n"}, "Main moves")
    login_as(client, owner)
    html = client.get(pr_path(clash)).get_data(as_text=True)
    assert "CONFLICTS" in html and "<li><code>a.txt</code></li>" in html
    assert re.search(r'<button class="btn btn-primary" type="submit" disabled>Merge', html)
    html = client.get(pr_path(clean)).get_data(as_text=True)
    assert ">MERGE<" in html and "merge commit" in html
    project.settings = {**project.settings, "disable_non_fast-forward_merges": True}
    session.commit()
    html = client.get(pr_path(clean)).get_data(as_text=True)
    assert "NEEDSREBASE" in html and "rebased first" in html
    assert "Rebase onto main" in html


def test_split_view_file_tree_and_big_files_on_their_own(client, session, settings,
                                                         make_user):
    owner = make_user()
    project, repo = make_project(session, settings, owner)
    big = "".join(f"line {i}\n" for i in range(git_diff.FILE_INLINE_LINES + 10))
    commit(repo, "topic", {"docs/guide/intro.md": "hi\n", "a.txt": "one\n2\nthree\nfour\nfive\n",
                           "big/huge.txt": big}, "Several files", "main")
    pr = open_pull(session, settings, owner, project, "topic")
    split = client.get(pr_path(pr) + "?splitview=1").get_data(as_text=True)
    assert "diff-split" in split and "diff-unified" not in split
    tree = client.get(pr_path(pr) + "?files=tree").get_data(as_text=True)
    assert 'class="pr-file-tree"' in tree and '<span class="pr-folder">guide/</span>' in tree
    html = client.get(pr_path(pr)).get_data(as_text=True)
    assert "This file&#39;s diff is large" in html or "This file's diff is large" in html
    link = re.search(r'class="pr-load-file" href="([^"]+)"', html).group(1)
    assert link == pr_path(pr, "/file/big/huge.txt")
    one = client.get(link)
    assert one.status_code == 200 and "line 3009" in one.get_data(as_text=True)
    fragment = client.get(link + "?fragment=1").get_data(as_text=True)
    assert fragment.lstrip().startswith("<details") and "line 3009" in fragment
    assert client.get(pr_path(pr, "/file/not/there.txt")).status_code == 404


def test_patch_and_diff_come_from_the_target_repo(client, session, settings, make_user,
                                                  tmp_path):
    owner, contributor = make_user(), make_user()
    project, _repo = make_project(session, settings, owner)
    fork, fork_repo = make_fork(session, settings, contributor, project)
    commit(fork_repo, "fix", {"a.txt": "fixed\n"}, "Fix a", "main")
    commit(fork_repo, "fix", {"n.txt": "new\n"}, "Add n")
    pr = open_pull(session, settings, contributor, project, "fix", source=fork)
    patch = client.get(pr_path(pr) + ".patch")
    body = patch.get_data(as_text=True)
    assert patch.status_code == 200 and patch.mimetype == "text/plain"
    assert body.count("\nSubject: [PATCH ") == 2 and "Fix a" in body and "Add n" in body
    diff = client.get(pr_path(pr) + ".diff").get_data(as_text=True)
    assert diff.startswith("diff --git") and "+fixed" in diff and "+new" in diff
    # the patch applies with git am on a clone of the target
    work = tmp_path / "work"
    target = repo_path(settings.data_dir, "main", project.fullname)
    subprocess.run(["git", "clone", "-q", str(target), str(work)], check=True)
    (tmp_path / "pr.patch").write_text(body)
    env = {"GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "T",
           "GIT_COMMITTER_EMAIL": "t@e", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", "am", "-q", str(tmp_path / "pr.patch")], cwd=work, check=True,
                   env=env)
    assert (work / "n.txt").read_text() == "new\n"
    # the fork goes away: the PR stays readable from refs/pull/<n>/head
    remove(repo_path(settings.data_dir, "main", fork.fullname))
    session.delete(fork)
    session.commit()
    html = client.get(pr_path(pr)).get_data(as_text=True)
    assert "deleted fork" in html and "Add n" in html and 'id="pf2-n1"' in html
    assert client.get(pr_path(pr) + ".patch").status_code == 200


def test_a_merged_pr_keeps_showing_its_recorded_range(client, session, settings, make_user):
    owner = make_user()
    project, repo = make_project(session, settings, owner)
    head = commit(repo, "topic", {"t.txt": "t\n"}, "Topic work", "main")
    pr = open_pull(session, settings, owner, project, "topic")
    repo.references.create("refs/heads/main", pygit2.Oid(hex=head), force=True)
    from pagurus.core import pulls

    pulls.mark_merged(session, owner, pr, base_url=BASE, merge_commit=head)
    session.commit()
    html = client.get(pr_path(pr)).get_data(as_text=True)
    assert "pr-status-merged" in html and "Topic work" in html and "t.txt" in html
    assert 'action="' + pr_path(pr, "/merge") + '"' not in html


def test_private_hidden_and_disabled_answer_404(client, session, settings, make_user):
    owner, stranger = make_user(), make_user()
    project, repo = make_project(session, settings, owner, private=True)
    commit(repo, "topic", {"t.txt": "t\n"}, "T", "main")
    pr = open_pull(session, settings, owner, project, "topic")
    for suffix in ("", ".patch", ".diff", "/file/t.txt", "/edit"):
        assert client.get(pr_path(pr) + suffix).status_code == 404
    login_as(client, stranger)
    assert client.get(pr_path(pr)).status_code == 404
    assert client.get(f"/{project.url_path}/pull-requests").status_code == 404
    login_as(client, owner)
    assert client.get(pr_path(pr)).status_code == 200
    assert client.get(f"/{project.url_path}/pull-request/{pr.number + 50}").status_code == 404
    project.settings = {**project.settings, "pull_requests": False}
    session.commit()
    assert client.get(pr_path(pr)).status_code == 404
    assert client.get(pr_path(pr) + ".patch").status_code == 404


def test_bidirectional_control_characters_are_warned_about(client, session, settings,
                                                           make_user):
    owner = make_user()
    project, repo = make_project(session, settings, owner)
    commit(repo, "trojan", {"check.py": "if access != \"user\u202e \u2066// admin\u2069\":\n",
                            "plain.txt": "nothing odd\n"}, "Innocent", "main")
    pr = open_pull(session, settings, owner, project, "trojan")
    html = client.get(pr_path(pr)).get_data(as_text=True)
    assert "bidirectional control characters" in html and "<code>check.py</code>" in html
    assert "<code>plain.txt</code>," not in html
