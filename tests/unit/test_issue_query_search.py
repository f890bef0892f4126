"""Free-text search of issue lists: titles, descriptions and comments through
the full-text index (SQLite FTS5 or PostgreSQL), with hostile input searched
for rather than obeyed, and private issues never found by those who may not
see them."""

from __future__ import annotations

import pytest
from issue_query_data import BASE, build, keys, numbers

from pagurus.core import issue_query, issues


@pytest.fixture
def t(session, settings, make_user):
    return build(session, settings, make_user)


def search(session, t, pattern, viewer="owner", status="all"):
    who = getattr(t, viewer) if viewer else None
    return keys(t, numbers(session, who, t, {"search_pattern": pattern, "status": status}))


def test_words_of_titles_descriptions_and_comments_are_found(session, t):
    assert search(session, t, "crash") == {"crash"}          # title
    assert search(session, t, "crashes") == {"crash"}        # description
    assert search(session, t, "zebra") == {"theme"}          # a comment
    assert search(session, t, "CRASH saving") == {"crash"}   # case, several words
    assert search(session, t, "crash theme") == set()        # every word must match
    assert search(session, t, "nothing-like-this") == set()


def test_the_last_word_matches_as_a_prefix(session, t):
    assert search(session, t, "sav") == {"crash"}
    assert search(session, t, "startu") == {"slow"}
    assert search(session, t, "ages star") == {"slow"}


def test_quoted_phrases(session, t):
    assert search(session, t, '"dark theme"') == {"theme"}
    assert search(session, t, '"theme dark"') == set()


def test_unicode_words(session, t):
    assert search(session, t, "façade") == {"theme"}
    assert search(session, t, "日本語") == {"theme"}
    assert search(session, t, "naïve zebra") == {"theme"}


def test_content_token_searches_descriptions_and_comments(session, t):
    assert search(session, t, "content:zebra") == {"theme"}
    assert search(session, t, 'content:"the editor"') == {"crash"}


@pytest.mark.parametrize("pattern", [
    '"', '""', '"""', "*", "**", "NEAR(", "NEAR(crash", "-", "-crash", "AND OR", "OR",
    "NOT", "crash AND", "a:b:c", "^", "{title}:x", "title:crash", "'; DROP TABLE issues; --",
    "(", ")", "\\", "%", "_", "col:", ":", "\u202e", "crash*", '"crash',
    "crash\"", "+", "~1", "@", "#", "#x",
])
def test_syntax_of_the_search_engines_is_searched_for_not_obeyed(session, t, pattern):
    found = search(session, t, pattern, viewer="stranger")  # never an error
    assert "secret" not in found
    every = search(session, t, "", viewer="stranger")
    assert found <= every


def test_hostile_title_is_found_by_its_words(session, t):
    assert search(session, t, "NEAR(") == {"hostile"} | search(session, t, "near")
    assert "hostile" in search(session, t, "AND OR")
    assert search(session, t, "star *") >= {"hostile"}
    assert "hostile" in search(session, t, '"')  # the title holds a quote


def test_whole_words_prefixes_and_issue_numbers(session, t):
    assert search(session, t, "dark them") == {"theme"}
    assert search(session, t, "heme") == set()  # words, not any substring
    number = t.n("typo")
    assert "typo" in search(session, t, f"#{number}")
    assert "typo" in search(session, t, str(number))


def test_private_issues_are_not_found_by_others(session, t):
    for word in ("security", "leaks", "walrus", "login"):
        assert search(session, t, word, viewer=None) == set()
        assert search(session, t, word, viewer="stranger") == set()
        assert search(session, t, word, viewer="reporter") == {"secret"}
        assert search(session, t, word, viewer="triager") == {"secret"}
    f = issue_query.parse_filters(session, t.project, {"search_pattern": "walrus"})
    assert issue_query.count(session, t.stranger, t.project, f) == 0
    assert issue_query.status_counts(session, t.stranger, t.project, f)["all"] == 0
    assert issue_query.status_counts(session, t.reporter, t.project, f)["all"] == 1


def test_metadata_notes_are_not_searched_and_edits_are(session, t):
    # every closed issue has a "Metadata Update" note
    assert search(session, t, "Metadata") == set()
    comment = issues.add_comment(session, t.owner, t.issues["typo"], "platypus here",
                                 base_url=BASE)
    session.commit()
    assert search(session, t, "platypus") == {"typo"}
    issues.edit_comment(session, t.owner, comment, "echidna now", base_url=BASE)
    session.commit()
    assert search(session, t, "platypus") == set()
    assert search(session, t, "echidna") == {"typo"}
    issues.edit_issue(session, t.owner, t.issues["slow"], base_url=BASE,
                      title="Slow startup", content="Wombat")
    session.commit()
    assert search(session, t, "wombat") == {"slow"}


def test_search_is_limited_in_length_and_refuses_nul(session, t):
    with pytest.raises(issue_query.InvalidInput):
        search(session, t, "x" * 501)
    for args in ({"search_pattern": "a\x00b"}, {"assignee": "\x00"}, {"tags": "x\x00"}):
        with pytest.raises(issue_query.InvalidInput):
            numbers(session, None, t, args)


def test_fts5_strings_quote_every_word():
    terms = [issue_query.Term('a"b'), issue_query.Term("NEAR("), issue_query.Term("wor")]
    assert issue_query.fts5_query(terms) == '"a""b" "NEAR(" "wor"*'
    assert issue_query.fts5_query([issue_query.Term("x y", phrase=True)]) == '"x y"'
    # a prefix of one or two letters would expand to much of the dictionary
    assert issue_query.fts5_query([issue_query.Term("ab")]) == '"ab"'
