"""Visitors list branches and releases, download source archives identical
to ``git archive``, and read statistics; a private project hides all of it."""

from __future__ import annotations

import gzip
import io
import os
import re
import subprocess
import tarfile
import threading
import zipfile

import pytest
from commits_fixture import (
    GIT_ENV,
    HOSTILE_BRANCH,
    assert_escaped,
    build,
    module_session,
)
from conftest import login_as

from pagurus.git import archive as git_archive


@pytest.fixture(scope="module")
def hist(app, settings):
    s = module_session(app)
    try:
        yield build(s, settings)
    finally:
        s.close()


@pytest.fixture(scope="module")
def private_hist(app, settings):
    s = module_session(app)
    try:
        yield build(s, settings, private=True)
    finally:
        s.close()


def git_archive_bytes(hist, *args: str) -> bytes:
    return subprocess.run(["git", "archive", *args], cwd=hist.path, check=True,
                          capture_output=True, env={**os.environ, **GIT_ENV}).stdout


# -- branches -----------------------------------------------------------------

def test_branches_show_ahead_and_behind_the_default_branch(client, hist):
    resp = client.get(f"{hist.url}/branches")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    rows = re.findall(r"<tr(?: class=\"branch-default\")?>\s*<td><a href=\"[^\"]*/commits/"
                      r"([^\"]+)\"><code>.*?</tr>", body, re.S)
    assert rows[0] == "main"  # the default branch first
    assert 'badge badge-success">default</span>' in body
    for branch in ("old", "feature/x/y"):
        ahead = int(hist.git("rev-list", "--count", f"main..{branch}"))
        behind = int(hist.git("rev-list", "--count", f"{branch}..main"))
        row = re.search(rf'/commits/{re.escape(branch)}"><code>.*?</tr>', body, re.S).group(0)
        cells = re.findall(r"<td>(\d+)|>(\d+)</a>", row)
        numbers = [int(a or b) for a, b in cells]
        assert numbers == [behind, ahead], (branch, numbers)
    assert 'class="branch-pr"' in body  # the column pull requests will fill
    assert_escaped(body)
    assert "x&#34;onerror=alert(1)" in body or "x&quot;onerror=alert(1)" in body


def test_a_branch_ahead_links_to_the_comparison(client, hist):
    tree = hist.git("rev-parse", f"{hist.marks[203]}^{{tree}}").strip()
    env_commit = hist.git("-c", "user.name=T", "-c", "user.email=t@example.com",
                          "commit-tree", tree, "-p", hist.marks[203], "-m", "ahead").strip()
    hist.git("update-ref", "refs/heads/topic/ahead", env_commit)
    try:
        body = client.get(f"{hist.url}/branches").get_data(as_text=True)
    finally:
        hist.git("update-ref", "-d", "refs/heads/topic/ahead")
    main = hist.git("rev-parse", "main").strip()
    behind = int(hist.git("rev-list", "--count", f"{env_commit}..main"))
    assert re.search(rf'/commits/topic/ahead"><code>topic/ahead</code></a></td>.*?'
                     rf'<td>{behind}</td>\s*<td><a href="{hist.url}/c/{main}..{env_commit}">'
                     rf'1</a></td>', body, re.S)


# -- releases ----------------------------------------------------------------

def test_releases_are_sorted_by_commit_date_with_signatures_stripped(client, hist):
    body = client.get(f"{hist.url}/releases").get_data(as_text=True)
    names = re.findall(r'<section class="card release" id="tag-\d+">\s*<div class="card-header">'
                       r"\s*<h2>([^<]+)</h2>", body)
    assert names == ["v2.0", "light", "v1.0", "treetag"]
    assert "First release notes." in body
    assert "BEGIN PGP SIGNATURE" not in body and "fakefake" not in body
    assert "Release &lt;b&gt;2.0&lt;/b&gt;" in body
    assert_escaped(body)
    archive = f"{hist.url}/archive/v1.0/{hist.project.name}-v1.0.tar.gz"
    assert f'href="{archive}"' in body
    assert "which is not a commit" in body  # the tag on a tree has no archive


# -- archives -----------------------------------------------------------------

def test_tar_archives_are_byte_identical_to_git_archive(client, hist):
    resp = client.get(f"{hist.url}/archive/v1.0/proj-1.0.tar")
    assert resp.status_code == 200
    assert resp.mimetype == "application/x-tar"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="proj-1.0.tar"'
    assert resp.data == git_archive_bytes(hist, "--format=tar", "--prefix=proj-1.0/",
                                          hist.marks[50])
    with tarfile.open(fileobj=io.BytesIO(resp.data)) as tar:
        assert "proj-1.0/README.md" in tar.getnames()


def test_tar_gz_and_zip_archives_hold_what_git_archive_holds(client, hist):
    gz = client.get(f"{hist.url}/archive/main/snap.tar.gz")
    assert gz.status_code == 200 and gz.mimetype == "application/x-gzip"
    main = hist.git("rev-parse", "main").strip()
    assert gzip.decompress(gz.data) == git_archive_bytes(hist, "--format=tar",
                                                         "--prefix=snap/", main)
    zipped = client.get(f"{hist.url}/archive/feature/x/y/snap.zip")
    assert zipped.mimetype == "application/zip"
    expected = git_archive_bytes(hist, "--format=zip", "--prefix=snap/", hist.marks[203])
    with zipfile.ZipFile(io.BytesIO(zipped.data)) as ours, \
            zipfile.ZipFile(io.BytesIO(expected)) as theirs:
        assert ours.namelist() == theirs.namelist()
        assert ours.read("snap/feature/f3.txt") == b"feature 3\n"


def test_archives_are_cached_by_commit_id_and_served_from_the_cache(client, hist, settings):
    cid = hist.marks[60]
    target = git_archive.cache_path(settings.data_dir, hist.project.fullname, cid, "c60",
                                    "tar")
    assert not target.exists()
    first = client.get(f"{hist.url}/archive/{cid}/c60.tar").data  # streamed while read
    assert target.is_file() and target.read_bytes() == first
    # the second request reads the file: prove it by changing the file
    target.write_bytes(b"from the cache")
    second = client.get(f"{hist.url}/archive/{cid[:12]}/c60.tar")
    assert second.data == b"from the cache"
    assert second.headers["Content-Length"] == str(len(b"from the cache"))
    assert [p.name for p in target.parent.iterdir()] == ["c60.tar"]  # no temp file left


def test_concurrent_first_requests_build_one_good_archive(app, hist, settings):
    cid = hist.marks[70]
    url = f"{hist.url}/archive/{cid}/race.tar.gz"
    results: list[bytes] = []

    def fetch():
        with app.test_client() as c:
            results.append(c.get(url).data)

    threads = [threading.Thread(target=fetch) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = git_archive_bytes(hist, "--format=tar", "--prefix=race/", cid)
    assert len(results) == 6
    assert all(gzip.decompress(r) == expected for r in results)
    target = git_archive.cache_path(settings.data_dir, hist.project.fullname, cid, "race",
                                    "tar.gz")
    assert gzip.decompress(target.read_bytes()) == expected
    assert [p.name for p in target.parent.iterdir()] == ["race.tar.gz"]


@pytest.mark.parametrize("name", ["-x.tar", ".hidden.tar", "a..b.tar", "x.rar", "x",
                                  "a%2Fb.tar", "<img>.tar", "x.tar.bz2"])
def test_unsafe_or_unknown_archive_names_are_not_found(client, hist, name):
    assert client.get(f"{hist.url}/archive/main/{name}").status_code == 404


def test_unknown_refs_have_no_archive(client, hist):
    for ref in ("nope", "treetag", "main~1"):
        assert client.get(f"{hist.url}/archive/{ref}/x.tar").status_code == 404


# -- stats ----------------------------------------------------------------------

def test_stats_rank_authors_and_count_commits_per_week(client, hist):
    resp = client.get(f"{hist.url}/stats")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    shortlog = hist.git("shortlog", "-sne", "--no-merges", "main").splitlines()
    top_count, top_who = shortlog[0].strip().split("\t")
    assert f"<td>{top_count}</td>" in body
    assert f'href="/user/{hist.owner.name}"' in body  # an author linked to the user
    total = len(hist.rev_list("main"))  # every fixture commit is within the last year
    assert f"{total} in the last 52 weeks" in body
    assert body.count("<meter") >= 52


# -- privacy -----------------------------------------------------------------------

def test_every_history_page_of_a_private_project_is_hidden(client, private_hist, make_user):
    h = private_hist
    cid = h.marks[122]
    urls = ["/commits", "/commits/main", f"/c/{cid}", f"/c/{cid}.patch", f"/c/{cid}.diff",
            f"/c/{h.marks[1]}..{cid}", f"/c/{cid}/f/docs/renamed.txt", "/branches",
            "/releases", "/stats", "/archive/main/x.tar", "/archive/v1.0/x.zip",
            f"/commits/{HOSTILE_BRANCH}"]
    outsider = make_user()
    for who in (None, outsider):
        if who is not None:
            login_as(client, who)
        for url in urls:
            assert client.get(h.url + url).status_code == 404, (who, url)
    login_as(client, h.owner)
    for url in urls:
        assert client.get(h.url + url).status_code == 200, url
