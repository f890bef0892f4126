"""History reading: log pages, ranges, author filters and statistics follow
what git itself answers."""

from __future__ import annotations

import os
import subprocess

import pygit2
import pytest

from pagurus.git import branches, history

ENV = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
NOW = 1_700_000_000


@pytest.fixture
def repo(tmp_path):
    r = pygit2.init_repository(str(tmp_path / "r.git"), bare=True, initial_head="main")
    people = [("Ann", "ann@example.com"), ("Bob", "bob@example.com"),
              ("Bob Alt", "BOB@example.org"), ("Eve", "ann@example.com.evil")]
    parent: list[pygit2.Oid] = []
    ids = []
    for n in range(75):
        name, email = people[n % 4]
        # one commit a day, the last one a day before NOW
        sig = pygit2.Signature(name, email, NOW - (75 - n) * 86400, 0)
        tb = r.TreeBuilder()
        tb.insert("n.txt", r.create_blob(f"{n}\n".encode()), pygit2.enums.FileMode.BLOB)
        oid = r.create_commit("refs/heads/main", sig, sig, f"Commit {n}\n\nbody", tb.write(),
                              parent)
        parent = [oid]
        ids.append(str(oid))
    r.ids = ids
    return r


def rev_list(repo, *args):
    return subprocess.run(["git", "rev-list", *args], cwd=repo.path, env=ENV, check=True,
                          capture_output=True, text=True).stdout.split()


def test_pages_are_slices_of_rev_list(repo):
    head = repo.ids[-1]
    expected = rev_list(repo, head)
    page1, more1 = history.log_page(repo.path, head, 1, 30)
    page3, more3 = history.log_page(repo.path, head, 3, 30)
    assert [e.id for e in page1] == expected[:30] and more1
    assert [e.id for e in page3] == expected[60:] and not more3
    first = page1[0]
    assert first.subject == "Commit 74" and first.author_name == "Bob Alt"
    assert first.parents == [repo.ids[-2]] and first.short == head[:8]
    assert history.log_page(repo.path, head, 99, 30) == ([], False)


def test_the_author_filter_matches_whole_emails_case_insensitively(repo):
    head = repo.ids[-1]
    bob, _ = history.log_page(repo.path, head, 1, 100, ["bob@example.com",
                                                        "bob@example.org"])
    assert {e.author_name for e in bob} == {"Bob", "Bob Alt"} and len(bob) == 38
    ann, _ = history.log_page(repo.path, head, 1, 100, ["ann@example.com"])
    assert {e.author_email for e in ann} == {"ann@example.com"}  # not the .evil one
    assert history.log_page(repo.path, head, 1, 100, []) == ([], False)
    # a pattern is never a regex nor an option
    assert history.log_page(repo.path, head, 1, 100, [".*"])[0] == []
    assert history.log_page(repo.path, head, 1, 100, ["--all"])[0] == []


def test_ranges_are_rev_list_a_dot_dot_b(repo):
    a, b = repo.ids[10], repo.ids[40]
    entries, more = history.commit_range(repo.path, a, b)
    assert [e.id for e in entries] == rev_list(repo, f"{a}..{b}") and not more
    capped, more = history.commit_range(repo.path, a, b, limit=5)
    assert len(capped) == 5 and more


def test_only_full_ids_reach_git(repo):
    for bad in ("main", "HEAD", "--all", repo.ids[0][:8]):
        with pytest.raises(ValueError):
            history.log_page(repo.path, bad)


def test_authors_are_ranked_and_weeks_counted(repo):
    head = repo.ids[-1]
    authors = history.top_authors(repo.path, head)
    assert authors[0].commits == 19 and authors[0].name == "Ann"
    assert sum(a.commits for a in authors) == 75
    weeks = history.weekly_commits(repo.path, head, now=NOW, weeks=52)
    assert len(weeks) == 52 and sum(c for _, c in weeks) == 75
    starts = [s for s, _ in weeks]
    assert all(b - a == history.WEEK for a, b in zip(starts, starts[1:], strict=False))
    assert (starts[0] - 4 * 86400) % history.WEEK == 0  # Mondays
    # older commits fall out of a shorter window
    assert sum(c for _, c in history.weekly_commits(repo.path, head, now=NOW, weeks=2)) < 15


def test_tag_messages_lose_their_signature_block():
    message = ("v1\n\nNotes\n-----BEGIN PGP SIGNATURE-----\n\nabc\n"
               "-----END PGP SIGNATURE-----\n")
    assert branches.strip_signature(message) == "v1\n\nNotes\n"
    assert branches.split_message(branches.strip_signature(message)) == ("v1", "Notes")
    ssh = "x\n-----BEGIN SSH SIGNATURE-----\nabc\n-----END SSH SIGNATURE-----\n"
    assert branches.strip_signature(ssh) == "x\n"
