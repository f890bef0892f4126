"""Raw files: exact bytes, safe headers, caching; and the raw patch of a commit."""

from __future__ import annotations

import subprocess
from urllib.parse import quote

import browse_fixture as bf
import pytest


@pytest.fixture(scope="module")
def fx(app, worker):
    return bf.shared(app)


def raw(client, fx, path, ref="main", **kw):
    return client.get(f"{fx.url}/raw/{ref}/f/{quote(path)}", **kw)


def assert_sandboxed(resp):
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"


@pytest.mark.parametrize("path", ["README.md", "src/app.py", "crlf.txt", "latin1.txt",
                                  "binary.bin", "img/logo.png", "big.txt", bf.HOSTILE_MD,
                                  bf.QUOTED, *bf.UNICODE_NAMES, bf.SPACED, "page.html",
                                  "pic.svg"])
def test_raw_returns_the_exact_bytes(client, fx, path):
    resp = raw(client, fx, path)
    assert resp.status_code == 200
    assert resp.data == fx.files[path]
    assert resp.headers["Content-Length"] == str(len(fx.files[path]))
    assert_sandboxed(resp)


def test_text_is_plain_with_its_charset(client, fx):
    assert raw(client, fx, "src/app.py").headers["Content-Type"] == "text/plain; charset=utf-8"
    assert raw(client, fx, "latin1.txt").headers["Content-Type"] == \
        "text/plain; charset=cp1252"
    assert raw(client, fx, bf.HOSTILE_MD).headers["Content-Type"].startswith("text/plain")


def test_active_content_is_downloaded_not_rendered(client, fx):
    for path in ("page.html", "pic.svg", "binary.bin"):
        resp = raw(client, fx, path)
        assert resp.headers["Content-Type"] == "application/octet-stream", path
        assert resp.headers["Content-Disposition"].startswith("attachment;"), path
    resp = raw(client, fx, "img/logo.png")
    assert resp.headers["Content-Type"] == "image/png"
    assert "Content-Disposition" not in resp.headers


def test_raw_at_a_commit_id_is_immutable_elsewhere_revalidated(client, fx):
    resp = raw(client, fx, "README.md", ref=fx.commits[2])
    assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    resp = raw(client, fx, "README.md")
    assert "immutable" not in resp.headers["Cache-Control"]
    etag = resp.headers["ETag"]
    blob_id = subprocess.run(["git", "--git-dir", fx.git_dir, "rev-parse", "main:README.md"],
                             capture_output=True, check=True).stdout.decode().strip()
    assert etag == f'"{blob_id}"'
    again = raw(client, fx, "README.md", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""


def test_symlinks_give_their_target_text_never_the_file(client, fx):
    resp = raw(client, fx, "link-out")
    assert resp.status_code == 200 and resp.data == b"/etc/passwd"


def test_folders_missing_files_and_bad_refs_are_404(client, fx):
    for url in (f"{fx.url}/raw/main/f/docs", f"{fx.url}/raw/main/f/nope",
                f"{fx.url}/raw/nope/f/README.md", f"{fx.url}/raw/main/f/vendor/lib",
                f"{fx.url}/raw/main/f/..%2fREADME.md", f"{fx.url}/raw/main~1/f/README.md"):
        assert client.get(url).status_code == 404, url


def test_raw_of_a_commit_is_its_patch(client, fx):
    resp = client.get(f"{fx.url}/raw/{fx.commits[2]}")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    expected = subprocess.run(["git", "--git-dir", fx.git_dir, "format-patch", "--stdout",
                               "--binary", "-1", fx.commits[2]],
                              capture_output=True, check=True).stdout.decode()
    assert body == expected
    assert "Subject: [PATCH] Third commit" in body and "+def f4(x):" in body
    assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert_sandboxed(resp)
    root = client.get(f"{fx.url}/raw/{fx.commits[0]}").get_data(as_text=True)
    assert "First commit" in root and "+# Fixture project" in root


def test_raw_of_a_branch_with_f_in_its_name(client, fx):
    resp = client.get(f"{fx.url}/raw/feature/f/x/f/ff.txt")
    assert resp.data == b"on feature/f/x\n"
    resp = client.get(f"{fx.url}/raw/feature/f/x")
    assert "F branch" in resp.get_data(as_text=True)
