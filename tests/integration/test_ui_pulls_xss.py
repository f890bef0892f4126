"""Hostile input on every pull-request page: titles, descriptions,
comments (general and inline), branch names, file names, commit messages,
tags and CI flags full of markup come out as text — no element gains an
event handler, no script runs from the page, no link turns into
``javascript:``."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from conftest import login_as
from pullui_help import BASE, commit, make_project, open_pull, pr_path, purl

from pagurus.core import flags as core_flags
from pagurus.core import pulls
from pagurus.core.errors import InvalidInput

PAYLOADS = [
    '<script>alert("t")</script>',
    '"><img src=x onerror=alert(1)>',
    "<svg/onload=alert(2)>",
    "[click](javascript:alert(3))",
    "<a href=\"javascript:alert(4)\">x</a>",
    "';alert(5)//<iframe src=//evil.example>",
]
TEXT = "\n\n".join(PAYLOADS)
BRANCH = 'evil"><svg/onload=alert(6)>'
FILE = '<img src=x onerror=alert(7)>.md'


class Audit(HTMLParser):
    """Collects what could run: handlers, scripts without our src, bad URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action", "formaction") and value and \
                    value.strip().lower().startswith(("javascript:", "data:text", "vbscript:")):
                self.problems.append(f"<{tag} {name}={value}>")
        if tag == "script" and not (names.get("src") or "").startswith("/static/"):
            self.problems.append("inline <script>")
        if tag in ("iframe", "object", "embed", "svg") and tag != "svg":
            self.problems.append(f"<{tag}>")
        if tag == "svg" and "avatar" not in (names.get("class") or "") and \
                "tag-dot" not in (names.get("class") or ""):
            self.problems.append("<svg> from user input")


def audit(html: str) -> list[str]:
    parser = Audit()
    parser.feed(html)
    return parser.problems


def test_every_page_of_a_hostile_pull_request_is_inert(client, session, settings, make_user):
    owner = make_user()
    project, repo = make_project(session, settings, owner)
    project.quick_replies = PAYLOADS[:2]
    session.commit()
    head = commit(repo, BRANCH, {FILE: "<script>alert(8)</script>\n" + TEXT + "\n",
                                 "a.txt": "one\n" + PAYLOADS[1] + "\nthree\nfour\nfive\n"},
                  PAYLOADS[0] + " subject\n\n" + TEXT, "main")
    pr = open_pull(session, settings, owner, project, BRANCH, title=PAYLOADS[1] + " title",
                   initial_comment=TEXT)
    pulls.add_comment(session, owner, pr, TEXT, base_url=BASE)
    pulls.add_comment(session, owner, pr, TEXT, base_url=BASE, commit=head, filename=FILE,
                      row=1)
    pulls.add_comment(session, owner, pr, PAYLOADS[2], base_url=BASE, commit=head,
                      filename="a.txt", row=2)
    pulls.update_metadata(session, owner, pr, base_url=BASE, tags="x-onclick")
    core_flags.add_or_update(session, owner, None, project, head, username=PAYLOADS[0],
                             comment=PAYLOADS[1], url='https://ci.example.com/"onmouseover=x',
                             status="failure", base_url=BASE)
    session.commit()
    login_as(client, owner)
    pages = [pr_path(pr), pr_path(pr) + "?splitview=1", pr_path(pr) + "?files=tree",
             pr_path(pr, "/edit"), pr_path(pr, "/file/" + quote(FILE)),
             pr_path(pr, f"/comment/{head}/{quote(FILE)}/1"),
             pr_path(pr, f"/comment/{pr.comments[0].id}/edit"),
             f"{purl(project)}/pull-requests", f"/user/{owner.name}/requests",
             f"{purl(project)}/diff/main..{quote(BRANCH, safe='/')}"]
    for url in pages:
        resp = client.get(url)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200, url
        assert audit(html) == [], url
    html = client.get(pr_path(pr)).get_data(as_text=True)
    # the text is there, as text
    assert "&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt; subject" in html
    assert "evil&#34;&gt;&lt;svg/onload=alert(6)&gt;" in html
    assert "&lt;img src=x onerror=alert(7)&gt;.md" in html
    assert 'href="https://ci.example.com/&#34;onmouseover=x"' in html
    # the raw views stay plain text
    patch = client.get(pr_path(pr) + ".patch")
    assert patch.mimetype == "text/plain" and patch.headers["X-Content-Type-Options"] == "nosniff"


def test_the_auditor_finds_what_it_looks_for():
    assert audit('<img src=x onerror="alert(1)">') == ["<img onerror=...>"]
    assert audit('<a href="javascript:alert(1)">x</a>') == ['<a href=javascript:alert(1)>']
    assert audit("<script>alert(1)</script>") == ["inline <script>"]
    assert audit("<svg><circle/></svg>") == ["<svg> from user input"]
    assert audit('<script src="/static/pulls.js"></script>') == []


def test_a_javascript_flag_url_never_reaches_the_page(session, settings, make_user):
    owner = make_user()
    project, repo = make_project(session, settings, owner)
    head = commit(repo, "topic", {"t.txt": "t\n"}, "T", "main")
    with pytest.raises(InvalidInput):
        core_flags.add_or_update(session, owner, None, project, head, username="ci",
                                 comment="x", url="javascript:alert(1)", status="success",
                                 base_url=BASE)
    session.rollback()
