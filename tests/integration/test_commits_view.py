"""Visitors read one commit (unified and split), its raw patch and diff,
large diffs file by file, and comparisons of two commits."""

from __future__ import annotations

import re
import threading

import pytest
from commits_fixture import HOSTILE_FILE, assert_escaped, build, module_session

from pagurus.git import diff as git_diff


@pytest.fixture(scope="module")
def hist(app, settings):
    s = module_session(app)
    try:
        yield build(s, settings)
    finally:
        s.close()


def page(client, hist, suffix, **kw):
    resp = client.get(hist.url + suffix, **kw)
    return resp, resp.get_data(as_text=True)


def test_the_commit_page_shows_metadata_parents_and_the_full_message(client, hist):
    cid = hist.marks[121]
    resp, body = page(client, hist, f"/c/{cid}")
    assert resp.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt; fix" in body
    assert "Body with &lt;img src=x onerror=alert(1)&gt;" in body
    assert f'href="{hist.url}/c/{hist.marks[120]}"' in body  # its parent
    assert "Stranger" in body and "stranger@example.net" in body
    assert cid in body and f'data-copy="{cid}"' in body
    assert_escaped(body)
    # the hostile file name is listed, escaped
    assert "&lt;img src=x onerror=alert(1)&gt;.md" in body


def test_a_merge_lists_both_parents_and_diffs_against_the_first(client, hist):
    _, body = page(client, hist, f"/c/{hist.marks[126]}")
    assert f'/c/{hist.marks[125]}"' in body and f'/c/{hist.marks[203]}"' in body
    assert "3 files changed" in body and "feature/f1.txt" in body


def test_the_first_commit_is_shown_against_the_empty_tree(client, hist):
    _, body = page(client, hist, f"/c/{hist.marks[1]}")
    assert "none (first commit)" in body and "3 files changed" in body
    assert "<code>README.md</code>" in body


def test_renames_are_detected_and_binary_files_are_noted(client, hist):
    _, renamed = page(client, hist, f"/c/{hist.marks[122]}")
    assert "<code>a.txt</code> &rarr; <code>docs/renamed.txt</code>" in renamed
    assert "1 addition" in renamed and "1 deletion" in renamed
    assert '<span class="mk">+</span>line five' in renamed
    _, binary = page(client, hist, f"/c/{hist.marks[123]}")
    assert "Binary file changed; no text diff." in binary


def test_split_view_pairs_removed_and_added_lines(client, hist):
    _, body = page(client, hist, f"/c/{hist.marks[122]}?splitview=1")
    assert 'class="diff diff-split"' in body
    assert re.search(r'<td class="ln">6</td><td class="code l-del"><span class="mk">-</span>'
                     r'line 5</td><td class="ln">6</td><td class="code l-add">'
                     r'<span class="mk">\+</span>line five</td>', body)
    _, unified = page(client, hist, f"/c/{hist.marks[122]}")
    assert 'class="diff diff-unified"' in unified and "diff-split" not in unified


def test_files_are_collapsible_without_javascript(client, hist):
    _, body = page(client, hist, f"/c/{hist.marks[122]}")
    assert '<details class="diff-file" id="f-1" open>' in body


def test_a_huge_file_is_not_inlined_but_loads_on_its_own_page(client, hist):
    cid = hist.marks[124]
    resp, body = page(client, hist, f"/c/{cid}")
    assert resp.status_code == 200 and len(resp.data) < 100_000
    link = f"{hist.url}/c/{cid}/f/big/huge.txt"
    assert f'href="{link}"' in body and "This file's diff is large" in body
    assert "+3072" in body  # the counts are still there
    one, one_body = page(client, hist, f"/c/{cid}/f/big/huge.txt")
    assert one.status_code == 200 and "0003071 xxx" in one_body
    assert client.get(f"{hist.url}/c/{cid}/f/no/such/file").status_code == 404


def test_a_diff_of_many_files_stops_inlining_at_the_cap(client, hist):
    _, body = page(client, hist, f"/c/{hist.marks[125]}")
    assert "450 files changed" in body
    inlined = body.count('class="diff diff-unified"')
    assert inlined == git_diff.TOTAL_INLINE_FILES
    assert body.count("The diff is long") == 450 - git_diff.TOTAL_INLINE_FILES
    assert f'href="{hist.url}/c/{hist.marks[125]}/f/many/file0449.txt"' in body
    _, last = page(client, hist, f"/c/{hist.marks[125]}/f/many/file0449.txt")
    assert "file 449" in last


def test_patch_is_git_format_patch_and_diff_is_git_diff(client, hist):
    for mark in (1, 122, 123):
        cid = hist.marks[mark]
        resp = client.get(f"{hist.url}/c/{cid}.patch")
        assert resp.status_code == 200 and resp.mimetype == "text/plain"
        args = ["format-patch", "--stdout", "-1", cid] + (["--root"] if mark == 1 else [])
        assert resp.data.decode() == hist.git(*args)
        raw = client.get(f"{hist.url}/c/{cid}.diff")
        assert raw.mimetype == "text/plain"
        base = hist.marks[mark - 1] if mark > 1 else git_diff.EMPTY_TREE_SHA1
        assert raw.data.decode() == hist.git("diff", "--find-renames", base, cid)
    merge = client.get(f"{hist.url}/c/{hist.marks[126]}.patch").get_data(as_text=True)
    assert "Subject: [PATCH] Merge branch 'feature/x/y'" in merge
    assert "+++ b/feature/f2.txt" in merge


def test_raw_diff_of_one_file_and_the_per_file_json(client, hist):
    cid = hist.marks[124]
    one = client.get(f"{hist.url}/c/{cid}.diff?file=big/huge.txt").data.decode()
    assert one == hist.git("diff", hist.marks[123], cid, "--", "big/huge.txt")
    js = client.get(f"{hist.url}/c/{hist.marks[122]}.diff?js=1").get_json()
    assert list(js) == ["1"] and "+line five" in js["1"]


def test_a_tag_id_redirects_to_its_commit(client, hist):
    tag_id = hist.git("rev-parse", "v1.0").strip()
    resp = client.get(f"{hist.url}/c/{tag_id}")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"{hist.url}/c/{hist.marks[50]}")


def test_unknown_commits_are_not_found(client, hist):
    for cid in ("0" * 40, "zzzz", "main~1", f"{hist.marks[1]}..nope", "..x", "x.patch"):
        assert client.get(f"{hist.url}/c/{cid}").status_code == 404, cid


def test_compare_lists_exactly_git_rev_list_and_the_combined_diff(client, hist):
    a, b = hist.marks[100], hist.marks[126]
    resp, body = page(client, hist, f"/c/{a}..{b}")
    assert resp.status_code == 200
    shown = re.findall(r'class="commit-subject" href="[^"]*/c/([0-9a-f]{40})"', body)
    assert shown == hist.rev_list(f"{a}..{b}")
    assert len(shown) == 29  # 26 on main + 3 from the feature branch
    stat = hist.git("diff", "--shortstat", a, b)
    files = int(re.search(r"(\d+) files? changed", stat).group(1))
    assert f"{files} files changed" in body
    assert_escaped(body)
    raw = client.get(f"{hist.url}/c/{a}..{b}.diff").data.decode()
    assert raw == hist.git("diff", "--find-renames", a, b)


def test_commit_pages_answer_304_to_a_matching_etag(client, hist):
    url = f"{hist.url}/c/{hist.marks[122]}"
    resp = client.get(url)
    etag = resp.headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(url + "?splitview=1", headers={"If-None-Match": etag}).status_code == 200
    patch = client.get(url + ".patch")
    assert client.get(url + ".patch", headers={"If-None-Match": patch.headers["ETag"]}
                      ).status_code == 304


def test_the_hostile_file_diff_is_escaped_everywhere(client, hist):
    cid = hist.marks[121]
    resp = client.get(f"{hist.url}/c/{cid}/f/{HOSTILE_FILE}")
    assert resp.status_code == 200
    assert_escaped(resp.get_data(as_text=True))
    raw = client.get(f"{hist.url}/c/{cid}.diff")
    assert raw.mimetype == "text/plain" and raw.headers["X-Content-Type-Options"] == "nosniff"


def test_concurrent_views_of_a_large_commit_agree(client, app, hist):
    url = f"{hist.url}/c/{hist.marks[125]}"
    results = []

    def fetch():
        with app.test_client() as c:
            results.append(c.get(url).data)

    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and len(set(results)) == 1
