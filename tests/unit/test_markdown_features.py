"""What a user writing an issue, a comment or a README sees rendered.

GFM features, heading anchors, forge references (issues, cross-project
issues, mentions, commits; never inside code or links; unknown ones stay
text), README-relative links and images, line-break flavours, cache keys.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pagurus.markdown import RenderContext, cache_key, render, render_inline, stylesheet

ISSUES = {
    (None, 12): "/ns/proj/issue/12",
    ("ns/proj", 13): "/ns/proj/issue/13",
    ("other", 4): "/other/pull-request/4",
    ("fork/bob/ns/proj", 5): "/fork/bob/ns/proj/issue/5",
    (None, 7): "/ns/proj/pull-request/7",
}
REL = 'rel="nofollow noopener noreferrer"'
USERS = {"alice", "bob.smith"}
COMMITS = {"deadbeef1234", "0123456789abcdef0123456789abcdef01234567"}


def forge_context(**options: object) -> tuple[RenderContext, list[tuple[object, ...]]]:
    """A context whose resolvers answer from the dicts above and log each call."""
    calls: list[tuple[object, ...]] = []

    def resolve_issue(project: str | None, number: int) -> tuple[str, str] | None:
        calls.append(("issue", project, number))
        url = ISSUES.get((project, number))
        return (url, f"[Open] issue {number}") if url else None

    def user_url(name: str) -> str | None:
        calls.append(("user", name))
        return f"/user/{name}" if name in USERS else None

    def resolve_commit(sha: str) -> str | None:
        calls.append(("commit", sha))
        return f"/ns/proj/c/{sha}" if sha in COMMITS else None

    def resolve_project_commit(project: str, sha: str) -> str | None:
        calls.append(("pcommit", project, sha))
        return f"/{project}/c/{sha}" if sha in COMMITS else None

    ctx = RenderContext(resolve_issue=resolve_issue, user_url=user_url,
                        resolve_commit=resolve_commit,
                        resolve_project_commit=resolve_project_commit, **options)
    return ctx, calls


def test_a_table_renders_with_alignment_but_no_style() -> None:
    out = render("| left | right | mid |\n|:-----|------:|:---:|\n| a | b | c |\n")
    assert "<table>" in out and "<th align=\"left\">left</th>" in out
    assert '<td align="right">b</td>' in out and '<td align="center">c</td>' in out
    assert "style" not in out


def test_task_lists_render_as_disabled_checkboxes() -> None:
    out = render("- [ ] write docs\n- [x] ship it\n- [X] also done\n- plain item\n")
    assert '<ul class="contains-task-list">' in out
    assert out.count('<li class="task-list-item">') == 3
    assert out.count('type="checkbox"') == 3 and out.count("checked") == 2
    assert out.count('disabled="disabled"') == 3
    assert "write docs" in out and "[ ]" not in out and "<li>plain item</li>" in out


def test_a_raw_html_input_becomes_a_disabled_checkbox() -> None:
    out = render('<input type="text" autofocus onfocus="alert(1)" value="x">')
    tag = re.search(r"<input[^>]*>", out)
    assert tag is not None
    assert sorted(re.findall(r'(\w+)="([^"]*)"', tag.group())) == [
        ("disabled", "disabled"), ("type", "checkbox")]


def test_strikethrough_and_emphasis() -> None:
    out = render("~~gone~~ **bold** _it_")
    assert "<s>gone</s>" in out and "<strong>bold</strong>" in out and "<em>it</em>" in out


def test_bare_urls_become_links_without_trailing_punctuation() -> None:
    out = render("See https://example.com/a_(b)). Or www.example.org, or <https://x.org>.")
    assert '<a href="https://example.com/a_(b)" rel="nofollow noopener noreferrer">' in out
    assert f'<a href="http://www.example.org" {REL}>www.example.org</a>,' in out
    assert 'href="https://x.org"' in out


def test_a_url_inside_a_link_text_is_not_linked_twice() -> None:
    out = render("[see https://a.example](https://b.example)")
    assert out.count("<a ") == 1


def test_fenced_code_is_highlighted_with_classes_only() -> None:
    out = render('```python\ndef f(x):\n    return "<b>"\n```\n')
    assert '<pre class="highlight"><code class="language-python">' in out
    assert '<span class="k">def</span>' in out and '<span class="nf">f</span>' in out
    assert "&lt;b&gt;" in out and "style" not in out


def test_an_unknown_language_is_shown_plain_and_escaped() -> None:
    out = render('```no-such-lang "onx=1\n<script>alert(1)</script>\n```\n')
    assert '<pre><code class="language-no-such-lang">' in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out and "<span" not in out


def test_code_spans_and_blocks_keep_their_text() -> None:
    out = render("`a < b` and\n\n    indented <i>code</i>\n")
    assert "<code>a &lt; b</code>" in out and "indented &lt;i&gt;code&lt;/i&gt;" in out


def test_headings_get_unique_prefixed_anchors() -> None:
    out = render("# Install\n## Install\n## Install\n### Ünïcode & Co!\n## \n",
                 ctx=RenderContext(breaks=False))
    assert '<h1 id="user-content-install">' in out
    assert '<h2 id="user-content-install-1">' in out
    assert '<h2 id="user-content-install-2">' in out
    assert '<h3 id="user-content-ünïcode-co">' in out
    assert 'id="user-content-section"' in out


def test_a_user_written_id_cannot_clobber_a_page_id() -> None:
    out = render('<h2 id="site-header">x</h2><div id="main">y</div>')
    assert 'id="user-content-site-header"' in out
    assert 'id="main"' not in out


def test_anchor_links_point_at_the_prefixed_heading_ids() -> None:
    out = render("[go](#usage) [raw](#elsewhere)\n\n## Usage\n")
    assert 'href="#user-content-usage"' in out
    assert 'href="#elsewhere"' in out


def test_issue_references_link_to_the_issue_with_its_title() -> None:
    ctx, _calls = forge_context()
    out = render("Fixes #12, see PR#7 and #99.", ctx=ctx)
    assert ('<a href="/ns/proj/issue/12" class="ref-issue" title="[Open] issue 12" '
            'rel="nofollow noopener noreferrer">#12</a>') in out
    assert 'href="/ns/proj/pull-request/7"' in out and ">PR#7</a>" in out
    assert "#99." in out and "issue/99" not in out


@pytest.mark.parametrize("text,href", [
    ("ns/proj#13", "/ns/proj/issue/13"),
    ("other#4", "/other/pull-request/4"),
    ("fork/bob/ns/proj#5", "/fork/bob/ns/proj/issue/5"),
])
def test_cross_project_references_are_resolved(text: str, href: str) -> None:
    ctx, _calls = forge_context()
    out = render(f"see {text} please", ctx=ctx)
    assert f'<a href="{href}" class="ref-issue"' in out and f">{text}</a>" in out


def test_mentions_link_known_users_only() -> None:
    ctx, _calls = forge_context()
    out = render("thanks @alice, @bob.smith. and @nobody; mail a@alice.org", ctx=ctx)
    assert f'<a href="/user/alice" class="ref-user" {REL}>@alice</a>,' in out
    assert '<a href="/user/bob.smith"' in out and "@bob.smith</a>." in out
    assert "@nobody" in out and "/user/nobody" not in out
    assert "a@alice.org" in out and out.count("/user/alice") == 1


def test_commit_ids_link_when_the_commit_exists() -> None:
    ctx, _calls = forge_context()
    sha = "0123456789abcdef0123456789abcdef01234567"
    out = render(f"in deadbeef1234 and {sha}, not cafe123 nor feedface99", ctx=ctx)
    assert '<a href="/ns/proj/c/deadbeef1234" class="ref-commit"' in out
    assert f'href="/ns/proj/c/{sha}"' in out and ">01234567</a>" in out
    assert "cafe123" in out and "feedface99" in out and out.count("<a ") == 2
    out = render(f"upstream other#{sha}", ctx=ctx)
    assert f'href="/other/c/{sha}"' in out


def test_references_inside_code_and_links_are_left_alone() -> None:
    ctx, calls = forge_context()
    out = render("`#12 @alice deadbeef1234`\n\n```\n#12 @alice\n```\n\n"
                 "[#12 @alice](https://x.example) <https://x.example/#12>\n"
                 '<a href="/y">#12 @alice</a> <code>#12</code>', ctx=ctx)
    assert calls == []
    assert "ref-issue" not in out and "ref-user" not in out and "ref-commit" not in out


def test_an_escaped_reference_is_not_linked() -> None:
    ctx, _calls = forge_context()
    assert "ref-issue" not in render(r"\#12", ctx=ctx)


def test_without_resolvers_references_stay_text() -> None:
    out = render("#12 @alice deadbeef1234")
    assert "<a " not in out and "#12 @alice deadbeef1234" in out


def test_lookups_are_memoised_and_capped() -> None:
    ctx, calls = forge_context(max_refs=3)
    render("#12 #12 #12 #1 #2 #3 #4 #5", ctx=ctx)
    assert calls == [("issue", None, 12), ("issue", None, 1), ("issue", None, 2)]


def test_readme_relative_links_and_images_resolve_against_the_folder() -> None:
    ctx = RenderContext(breaks=False, link_base="/ns/proj/blob/main/f/docs",
                        image_base="/ns/proj/raw/main/f/docs")
    out = render("[guide](guide/intro.md) [up](../README.md) [site](/about) "
                 "[ext](https://example.com/x) [mail](mailto:a@b.c) [top](#x)\n\n"
                 "![logo](img/logo.png) ![abs](https://example.com/i.png)\n\n"
                 '<a href="raw.md">raw link</a> <img src="raw.png" width="40" height="x">', ctx=ctx)
    assert 'href="/ns/proj/blob/main/f/docs/guide/intro.md"' in out
    assert 'href="/ns/proj/blob/main/f/README.md"' in out
    assert 'href="/about"' in out and 'href="https://example.com/x"' in out
    assert 'href="mailto:a@b.c"' in out and 'href="#x"' in out
    assert 'src="/ns/proj/raw/main/f/docs/img/logo.png"' in out
    assert 'src="https://example.com/i.png"' in out
    assert 'href="/ns/proj/blob/main/f/docs/raw.md"' in out
    assert 'src="/ns/proj/raw/main/f/docs/raw.png" width="40"' in out and "height" not in out


def test_images_from_other_hosts_can_be_refused() -> None:
    ctx = RenderContext(image_hosts=frozenset({"forge.example"}))
    out = render("![a](https://forge.example/a.png) ![b](https://tracker.example/p.gif) "
                 "![c](//tracker.example/p.gif) ![d](local.png)", ctx=ctx)
    assert 'src="https://forge.example/a.png"' in out and 'src="local.png"' in out
    assert "tracker.example" not in out


def test_comments_keep_single_newlines_and_readmes_do_not() -> None:
    assert render("one\ntwo") == "<p>one<br>\ntwo</p>\n"
    assert render("one\ntwo", ctx=RenderContext(breaks=False)) == "<p>one\ntwo</p>\n"


def test_inline_rendering_for_titles() -> None:
    ctx, _calls = forge_context()
    out = render_inline("Fix `x` in **#12**\n# not a heading ![img](a.png)", ctx=ctx)
    assert "<p>" not in out and "<h1" not in out and "<img" not in out
    assert "<code>x</code>" in out and 'href="/ns/proj/issue/12"' in out


def test_the_cache_key_changes_with_text_and_options_only() -> None:
    ctx, _calls = forge_context()
    assert cache_key("a", ctx) == cache_key("a", ctx)
    assert cache_key("a", ctx) != cache_key("b", ctx)
    assert cache_key("a", ctx) != cache_key("a", RenderContext())
    assert cache_key("a") != cache_key("a", RenderContext(breaks=False))
    assert cache_key("a") != cache_key("a", RenderContext(cache_salt="project-1"))


REGENERATE = (
    ".venv/bin/python -c 'import sys, pagurus.markdown as m; sys.stdout.write(m.stylesheet())'"
    " > pagurus/web/ui/static/highlight.css"
)


def test_the_static_highlight_stylesheet_is_current() -> None:
    path = Path(__file__).parents[2] / "pagurus/web/ui/static/highlight.css"
    assert path.read_text(encoding="utf-8") == stylesheet(), (
        "regenerate it: " + REGENERATE)
    assert "prefers-color-scheme: dark" in stylesheet() and ".highlight .k" in stylesheet()
