"""Blame and file history agree with git itself."""

from __future__ import annotations

import re
import subprocess

import browse_fixture as bf
import pytest


@pytest.fixture(scope="module")
def fx(app, worker):
    return bf.shared(app)


def git(fx, *args):
    return subprocess.run(["git", "--git-dir", fx.git_dir, *args], capture_output=True,
                          check=True).stdout


def porcelain_owners(fx, ref, path):
    owners = []
    for line in git(fx, "blame", "--porcelain", ref, "--", path).split(b"\n"):
        m = re.match(rb"^([0-9a-f]{40}) \d+ (\d+)", line)
        if m:
            owners.append((int(m.group(2)), m.group(1).decode()[:8]))
    return owners


def page_owners(html):
    """(line number, short id) of every line of the blame table."""
    owners, current = [], None
    for row in re.findall(r'<tr id="_(\d+)"[^>]*>(.*?)</tr>', html, re.S):
        m = re.search(r'<td class="blame-meta"[^>]*><a class="mono" href="[^"]+/c/([0-9a-f]{40})"',
                      row[1])
        if m:
            current = m.group(1)[:8]
        owners.append((int(row[0]), current))
    return owners


def test_blame_matches_git_blame_line_by_line(client, fx):
    resp = client.get(f"{fx.url}/blame/src/app.py?identifier=main")
    assert resp.status_code == 200
    html = bf.assert_escaped(resp)
    owners = page_owners(html)
    assert len(owners) == 10 and len({o for _, o in owners}) == 3
    assert owners == sorted(porcelain_owners(fx, "main", "src/app.py"))
    assert "Alice" in html and "Bob" in html and "Carol" in html
    assert '<span class="k">def</span>' in html


def test_blame_by_ref_path_url_and_default_branch(client, fx):
    a = client.get(f"{fx.url}/blame/main/f/src/app.py")
    b = client.get(f"{fx.url}/blame/src/app.py")
    assert a.status_code == b.status_code == 200
    assert page_owners(a.get_data(as_text=True)) == page_owners(b.get_data(as_text=True))
    old = client.get(f"{fx.url}/blame/src/app.py?identifier={fx.commits[0]}")
    assert page_owners(old.get_data(as_text=True)) == sorted(
        porcelain_owners(fx, fx.commits[0], "src/app.py"))
    tagged = client.get(f"{fx.url}/blame/feature/f/x/f/ff.txt")
    assert tagged.status_code == 200 and "on feature/f/x" in tagged.get_data(as_text=True)


def test_blame_of_binary_is_400_and_of_missing_404(client, fx):
    assert client.get(f"{fx.url}/blame/binary.bin?identifier=main").status_code == 400
    assert client.get(f"{fx.url}/blame/docs?identifier=main").status_code == 400
    assert client.get(f"{fx.url}/blame/nope.txt?identifier=main").status_code == 404
    assert client.get(f"{fx.url}/blame/README.md?identifier=nope").status_code == 404


def test_blame_of_hostile_names_and_encodings(client, fx):
    for path in (bf.HOSTILE_MD, "latin1.txt", "crlf.txt", bf.UNICODE_NAMES[1]):
        resp = client.get(f"{fx.url}/blame/{path}?identifier=main")
        assert resp.status_code == 200, path
        bf.assert_escaped(resp)
    html = client.get(f"{fx.url}/blame/latin1.txt").get_data(as_text=True)
    assert "Le café est très bon" in html


def listed_ids(html):
    return re.findall(r'<a class="mono" href="[^"]+/c/([0-9a-f]{40})"', html)


def test_history_lists_exactly_git_log_of_the_path(client, fx):
    for path in ("src/app.py", "README.md", "docs", "many/file00001.txt", bf.HOSTILE_MD):
        resp = client.get(f"{fx.url}/history/{path}?identifier=main")
        assert resp.status_code == 200, path
        html = bf.assert_escaped(resp)
        expected = git(fx, "log", "--format=%H", "main", "--", path).decode().split()
        assert expected and listed_ids(html) == expected, path


def test_history_pages_through_long_histories(app, client, fx, session, make_user, worker):
    """A path changed by 120 commits, with a merge on the way: page 1 and 2
    and 3 together are git log's list."""
    import pygit2

    from pagurus.paths import repo_path

    owner = make_user()
    project = bf._make_project(session, app.extensions["pagurus"]["settings"], owner)
    path = repo_path(app.extensions["pagurus"]["settings"].data_dir, "main", project.fullname)
    repo = pygit2.Repository(str(path))
    b = bf.Builder(repo)
    parent, ids = [], []
    for i in range(120):
        sig = pygit2.Signature("A", "a@example.com", 1_600_000_000 + i, 0)
        files = {"f.txt": (f"v{i}\n".encode(), bf.BLOB), "other.txt": (b"same\n", bf.BLOB)}
        if i % 7 == 0:
            files["g.txt"] = (f"g{i}\n".encode(), bf.BLOB)
        oid = repo.create_commit(None, sig, sig, f"c{i}", b.tree(files), parent)
        parent = [oid]
        ids.append(oid)
    side_sig = pygit2.Signature("B", "b@example.com", 1_600_000_500, 0)
    side = repo.create_commit(None, side_sig, side_sig, "side", b.tree(
        {"f.txt": (b"side\n", bf.BLOB), "other.txt": (b"same\n", bf.BLOB)}), [ids[50]])
    merge = repo.create_commit("refs/heads/main", side_sig, side_sig, "merge",
                               repo[ids[-1]].tree_id, [ids[-1], side])
    url = f"/{project.url_path}/history/f.txt?identifier=main"
    got = []
    for page in (1, 2, 3):
        html = client.get(f"{url}&page={page}").get_data(as_text=True)
        got += listed_ids(html)
    expected = subprocess.run(["git", "--git-dir", str(path), "log", "--format=%H", "main",
                               "--", "f.txt"], capture_output=True, check=True
                              ).stdout.decode().split()
    assert got == expected and len(expected) > 100
    assert str(merge) not in got or str(merge) in expected
    first = client.get(url).get_data(as_text=True)
    assert 'rel="next"' in first
    # linear first page (fast path) equals git on a file changed every 7 commits
    html = client.get(f"/{project.url_path}/history/g.txt?identifier={ids[-1]}"
                      ).get_data(as_text=True)
    expected = subprocess.run(["git", "--git-dir", str(path), "log", "--format=%H",
                               str(ids[-1]), "--", "g.txt"], capture_output=True, check=True
                              ).stdout.decode().split()
    assert listed_ids(html) == expected


def test_history_of_nothing_is_404(client, fx):
    assert client.get(f"{fx.url}/history/nope.txt?identifier=main").status_code == 404
    assert client.get(f"{fx.url}/history/README.md?identifier=nope").status_code == 404
