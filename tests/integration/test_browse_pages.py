"""Browsing a repository: overview README, tree, blob, on a hostile fixture."""

from __future__ import annotations

import time
from urllib.parse import quote

import browse_fixture as bf
import pytest


@pytest.fixture(scope="module")
def fx(app, worker):
    return bf.shared(app)


def get_ok(client, url):
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code, resp.get_data(as_text=True)[:500])
    return bf.assert_escaped(resp)


def test_overview_shows_the_readme_rendered_and_safe(client, fx):
    html = get_ok(client, fx.url)
    readme = html.split('class="card readme"')[1]
    assert "<h1" in readme and "Fixture project" in readme
    assert "<script" not in readme
    assert f'href="{fx.url}/blob/main/f/docs/guide.md"' in readme
    assert f'src="{fx.url}/raw/main/f/img/logo.png"' in readme
    assert f"{fx.url}/tree/main" in html


def test_tree_root_lists_folders_first_with_sizes(client, fx):
    html = get_ok(client, f"{fx.url}/tree/main")
    folders = [html.index(f'>{name}/</a>') for name in ("deep", "docs", "img", "many")]
    files = [html.index(f">{name}</a>") for name in ("README.md", "crlf.txt")]
    assert max(folders) < min(files)
    assert 'data-bytes="17">17 Bytes' in html  # crlf.txt
    for name in bf.UNICODE_NAMES + (bf.SPACED,):
        assert name in html
        assert f'{fx.url}/blob/main/f/{quote(name)}"' in html
    assert "a&#34;b&#39;c.txt" in html or "a&quot;b&#39;c.txt" in html
    assert "&lt;img src=x onerror=alert(1)&gt;.md" in html
    # the root README rendered under the listing
    assert "Fixture project" in html
    assert ">link-out</a> <span class=\"badge\">link</span>" in html
    html = get_ok(client, f"{fx.url}/tree/main/f/vendor")
    assert ">lib</a> <span class=\"badge\">submodule</span>" in html


def test_tree_without_ref_shows_the_default_branch(client, fx):
    html = get_ok(client, f"{fx.url}/tree")
    assert "README.md" in html and 'aria-current="page">' in html


def test_tree_of_a_subfolder_has_breadcrumbs_and_its_readme(client, fx):
    html = get_ok(client, f"{fx.url}/tree/main/f/docs")
    assert f'<a href="{fx.url}/tree/main">' in html
    assert "<strong aria-current=\"page\">docs</strong>" in html
    assert "guide.md" in html
    assert "Docs" in html and "<script>alert(1)</script>" not in html  # the rst README
    html = get_ok(client, f"{fx.url}/tree/main/f/deep/a/b/c")
    assert "d.txt" in html


def test_branch_names_with_slashes_and_f_work(client, fx):
    html = get_ok(client, f"{fx.url}/tree/feature/a/b")
    assert "feature.txt" in html
    html = get_ok(client, f"{fx.url}/tree/feature/f/x")
    assert "ff.txt" in html
    html = get_ok(client, f"{fx.url}/blob/feature/f/x/f/ff.txt")
    assert "on feature/f/x" in html
    html = get_ok(client, f"{fx.url}/tree/feature/f/x/f/deep/a")
    assert "b/</a>" in html


def test_tags_commits_and_orphan_branches_browse(client, fx):
    html = get_ok(client, f"{fx.url}/tree/v1.0")
    assert "README.md" in html and "many/" not in html
    html = get_ok(client, f"{fx.url}/tree/{fx.commits[1][:10]}")
    assert "many/" in html
    html = get_ok(client, f"{fx.url}/tree/orphan")
    assert "orphan.txt" in html and "README.md" not in html.split("tree-list")[1]


def test_unknown_refs_paths_and_tags_on_trees_are_404(client, fx):
    for url in (f"{fx.url}/tree/nope", f"{fx.url}/tree/main/f/nope",
                f"{fx.url}/blob/main/f/nope.txt", f"{fx.url}/tree/treetag",
                f"{fx.url}/blob/blobtag/f/README.md", f"{fx.url}/tree/main/f/../README.md",
                f"{fx.url}/tree/main~1", f"{fx.url}/blob/nope/f/README.md"):
        resp = client.get(url)
        assert resp.status_code == 404, url
    resp = client.get(f"{fx.url}/tree/nope")
    assert "No branch, tag or commit named" in resp.get_data(as_text=True)


def test_ten_thousand_entries_render_a_page_then_all(client, fx):
    start = time.perf_counter()
    html = get_ok(client, f"{fx.url}/tree/main/f/many")
    first = time.perf_counter() - start
    assert "file00000.txt" in html and "file00999.txt" in html
    assert "file01000.txt" not in html
    assert "Show all 10000" in html
    start = time.perf_counter()
    html = get_ok(client, f"{fx.url}/tree/main/f/many?all=1")
    full = time.perf_counter() - start
    assert "file09999.txt" in html
    print(f"\n10,000-entry tree: first page {first * 1000:.0f} ms, all {full * 1000:.0f} ms")


def test_empty_repository_pages_explain_how_to_push(client, fx):
    for url in (fx.empty_url + "/tree", fx.empty_url + "/tree/main"):
        resp = client.get(url)
        assert resp.status_code == 200
        assert "This repository is empty" in resp.get_data(as_text=True)
    assert client.get(fx.empty_url).status_code == 200
    for url in (fx.empty_url + "/raw/main/f/x", fx.empty_url + "/blame/x",
                fx.empty_url + "/history/x"):
        assert client.get(url).status_code == 404


def test_blob_is_highlighted_with_linkable_lines(client, fx):
    html = get_ok(client, f"{fx.url}/blob/main/f/src/app.py")
    assert 'id="_1"' in html and 'href="#_10"' in html
    assert '<span class="k">def</span>' in html
    assert "browse.js" in html
    assert f"{fx.url}/raw/main/f/src/app.py" in html
    assert f"{fx.url}/blame/src/app.py?identifier=main" in html
    assert f"{fx.url}/history/src/app.py?identifier=main" in html


def test_hostile_names_are_escaped_in_blob_pages(client, fx):
    for name in (bf.HOSTILE_MD, bf.QUOTED, *bf.UNICODE_NAMES, bf.SPACED):
        html = get_ok(client, f"{fx.url}/blob/main/f/{quote(name)}")
        assert "&lt;img src=x" in html or name in html or "&#34;" in html


def test_markdown_is_rendered_with_a_source_toggle(client, fx):
    html = get_ok(client, f"{fx.url}/blob/main/f/README.md")
    assert 'href="?text=1"' in html
    html = get_ok(client, f"{fx.url}/blob/main/f/README.md?text=1")
    assert 'id="_3"' in html and "Rendered" in html


def test_rest_readme_never_passes_raw_html(client, fx):
    html = get_ok(client, f"{fx.url}/blob/main/f/docs/README.rst")
    assert "Docs" in html
    assert "<b>tags</b>" not in html


def test_images_svg_binary_big_and_encodings(client, fx):
    html = get_ok(client, f"{fx.url}/blob/main/f/img/logo.png")
    assert f'<img src="{fx.url}/raw/main/f/img/logo.png"' in html
    html = get_ok(client, f"{fx.url}/blob/main/f/pic.svg")
    assert "<svg" not in html.split("card blob")[1] and "Download it" in html
    html = get_ok(client, f"{fx.url}/blob/main/f/binary.bin")
    assert "Binary file, 1024 bytes" in html
    html = get_ok(client, f"{fx.url}/blob/main/f/big.txt")
    assert "only its beginning is shown" in html
    assert "5.2 MB" in html
    html = get_ok(client, f"{fx.url}/blob/main/f/latin1.txt")
    assert "Le café est très bon" in html and "decoded as cp1252" in html
    html = get_ok(client, f"{fx.url}/blob/main/f/crlf.txt")
    assert "CRLF line ends" in html and 'id="_3"' in html and 'id="_4"' not in html


def test_symlinks_are_shown_never_followed(client, fx):
    html = get_ok(client, f"{fx.url}/blob/main/f/link-out")
    assert "/etc/passwd" in html and "not followed" in html
    assert "root:" not in html
    html = get_ok(client, f"{fx.url}/blob/main/f/link-up")
    assert "not followed" in html
    html = get_ok(client, f"{fx.url}/blob/main/f/link-in")
    assert f'<a href="{fx.url}/blob/main/f/src/app.py">' in html


def test_submodules_are_shown_as_such(client, fx):
    html = get_ok(client, f"{fx.url}/blob/main/f/vendor/lib")
    assert "Submodule" in html and "1234567890abcdef" in html
    assert "https://example.com/lib.git" in html


def test_a_blob_url_on_a_folder_shows_the_folder(client, fx):
    html = get_ok(client, f"{fx.url}/blob/main/f/docs")
    assert "guide.md" in html


def test_pages_answer_304_to_their_etag(client, fx):
    url = f"{fx.url}/blob/main/f/src/app.py"
    resp = client.get(url)
    etag = resp.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    other = client.get(f"{fx.url}/blob/main/f/README.md", headers={"If-None-Match": etag})
    assert other.status_code == 200
