"""Parsing commit messages for magic words."""

from pagurus.core.magic_words import Reference, parse

BASE = "https://forge.example"


def test_fix_words_and_relate_words_are_recognised():
    text = ("Fixes #1\nfixed: #2, Merges #3 and closes #4; resolve #5\n"
            "Relates to #6 and related #7")
    assert parse(text, BASE) == [Reference(True, None, n) for n in (1, 2, 3, 4, 5)] + [
        Reference(False, None, 6), Reference(False, None, 7)]


def test_issue_urls_name_other_projects():
    text = f"fixes {BASE}/ns/other/issue/12 and fixes {BASE}/fork/bob/tool/issue/3"
    assert parse(text, BASE) == [Reference(True, "ns/other", 12),
                                 Reference(True, "fork/bob/tool", 3)]


def test_look_alikes_do_not_count():
    for text in ("prefixes #1", "fixes#1", "fixes #1a", "fixes https://evil.example/x/issue/1",
                 "unfixed #2", f"fixes {BASE}/x/issue/1/extra", "fixes # 3"):
        assert parse(text, BASE) == [], text
