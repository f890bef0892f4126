"""Forge references and bare-URL autolinks, as a markdown-it core rule.

Runs after inline parsing, on the ``text`` tokens only, so code spans, code
blocks, raw HTML and the text of existing links are never rewritten (text
inside ``<a>``/``<code>`` written as raw HTML is skipped too). One regular
expression finds, left to right: bare URLs (``http(s)://``, ``www.``), issue
references (``#12``, ``PR#12``, ``proj#12``, ``ns/proj#12``,
``fork(s)/user/[ns/]proj#12``, ``proj#<40 hex>``), mentions (``@name``) and
bare commit ids (7–40 lowercase hex with at least one digit). Each lookup
goes through the ``RenderContext`` resolvers, memoised per rendering and
capped at ``max_refs`` distinct lookups so a comment full of ``#1 #2 …``
costs a bounded number of queries; past ``MAX_LINKS`` links made here in one
rendering the rest stays text (each link is a few tokens and sanitizer calls).
"""

from __future__ import annotations

import re
from typing import Any

from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from pagurus.markdown.context import RenderContext

_NAME = r"[A-Za-z0-9_][\w.+-]*"
_REF_RE = re.compile(
    r"""
    (?P<url>(?<![\w/@.+-])(?:https?://[\w\[]|www\.[\w-])[^\s<>"'`]*)
    | (?P<iref>(?<![\w.+/&#@-])
        (?P<proj>(?:forks?/[A-Za-z0-9_][\w.-]*/)?(?:""" + _NAME + r"""/)?""" + _NAME + r""")?
        \#(?:(?P<num>[0-9]{1,9})|(?P<sha>[0-9a-f]{40}))(?![\w-]))
    | (?P<mention>(?<![\w"'`$!*+\#%&/=^{}|~@.-])@(?P<user>[A-Za-z0-9_][\w.-]*))
    | (?P<commit>(?<![\w\#<@/.:-])[0-9a-f]{7,40}(?![\w-]))
    """,
    re.VERBOSE,
)
MAX_LINKS = 2000
_URL_TRAILING = "?!.,:;*_~'\""
_NO_REF_TAGS = re.compile(r"<(/?)(a|code|pre|kbd|samp)(?=[\s>/])", re.IGNORECASE)
_HAS_DIGIT = re.compile(r"[0-9]")


def _trim_url(url: str) -> str:
    """Drop trailing punctuation and unbalanced closing parentheses (GFM rule)."""
    while url:
        if url[-1] in _URL_TRAILING:
            url = url[:-1]
        elif url[-1] == ")" and url.count("(") < url.count(")"):
            url = url[:-1]
        else:
            break
    return url


class RefState:
    """Per-rendering memo of resolver answers, capped at ``ctx.max_refs`` lookups."""

    def __init__(self, ctx: RenderContext) -> None:
        self.ctx = ctx
        self.memo: dict[tuple[Any, ...], Any] = {}
        self.links = 0

    def _ask(self, key: tuple[Any, ...], call: Any, *args: Any) -> Any:
        if key in self.memo:
            return self.memo[key]
        if call is None or len(self.memo) >= self.ctx.max_refs:
            return None
        answer = call(*args)
        self.memo[key] = answer
        return answer

    def issue(self, project: str | None, number: int) -> tuple[str, str | None] | None:
        answer = self._ask(("issue", project, number), self.ctx.resolve_issue, project, number)
        if isinstance(answer, tuple):
            return (answer[0], answer[1]) if answer and answer[0] else None
        return (answer, None) if answer else None

    def user(self, name: str) -> str | None:
        return self._ask(("user", name), self.ctx.user_url, name) or None

    def commit(self, sha: str) -> str | None:
        return self._ask(("commit", sha), self.ctx.resolve_commit, sha) or None

    def project_commit(self, project: str, sha: str) -> str | None:
        return (
            self._ask(("pcommit", project, sha), self.ctx.resolve_project_commit, project, sha)
            or None
        )


def _link(state: StateCore, href: str, text: str, level: int,
          cls: str | None = None, title: str | None = None) -> list[Token]:
    attrs: dict[str, str | int | float] = {"href": href}
    if cls:
        attrs["class"] = cls
    if title:
        attrs["title"] = title
    opening = Token("link_open", "a", 1, attrs=attrs, level=level, markup="pagurus")
    inner = Token("text", "", 0, content=text, level=level + 1)
    closing = Token("link_close", "a", -1, level=level, markup="pagurus")
    return [opening, inner, closing]


def _resolve(state: StateCore, refs: RefState, match: re.Match[str]) -> tuple[int, str, Any]:
    """Return (end, kind, payload) for one match; payload None means plain text."""
    end = match.end()
    if match.group("url"):
        raw = _trim_url(match.group("url"))
        end = match.start() + len(raw)
        href = raw if "://" in raw else "http://" + raw
        href = state.md.normalizeLink(href)
        ok = state.md.validateLink(href) and len(raw) > len("www.")
        return end, "url", (href, raw) if ok else None
    if match.group("iref"):
        project = match.group("proj")
        if project == "PR":  # Pagure's PR#12 is the current project's PR 12
            project = None
        if match.group("num"):
            target = refs.issue(project, int(match.group("num")))
            return end, "issue", target
        if project is None:
            return end, "issue", None
        url = refs.project_commit(project, match.group("sha"))
        return end, "commit", (url, None) if url else None
    if match.group("mention"):
        name = match.group("user").rstrip(".-")
        end = match.start("user") + len(name)
        url = refs.user(name) if name else None
        return end, "user", (url, None) if url else None
    sha = match.group("commit")
    url = refs.commit(sha) if _HAS_DIGIT.search(sha) else None
    return end, "commit", (url, None) if url else None


_CLASSES = {"issue": "ref-issue", "user": "ref-user", "commit": "ref-commit", "url": None}


def _split_text(state: StateCore, refs: RefState, token: Token) -> list[Token] | None:
    """New tokens for one text token, or None when nothing in it is linked."""
    text = token.content
    out: list[Token] = []
    pos = 0
    last = 0
    while refs.links < MAX_LINKS:
        match = _REF_RE.search(text, pos)
        if match is None:
            break
        end, kind, payload = _resolve(state, refs, match)
        if payload is None:
            pos = max(end, match.start() + 1)
            continue
        if match.start() > last:
            out.append(Token("text", "", 0, content=text[last:match.start()], level=token.level))
        shown = text[match.start():end]
        if kind == "url":
            href, shown = payload
            out.extend(_link(state, href, shown, token.level))
        else:
            href, title = payload
            if kind == "commit" and len(shown) > 8 and "#" not in shown:
                shown = shown[:8]
            out.extend(_link(state, href, shown, token.level, _CLASSES[kind], title))
        refs.links += 1
        pos = last = end
    if not out:
        return None
    if last < len(text):
        out.append(Token("text", "", 0, content=text[last:], level=token.level))
    return out


def references_rule(state: StateCore) -> None:
    """Core rule: link references and bare URLs in text outside links and code."""
    refs: RefState | None = state.env.get("pagurus_refs")
    if refs is None:
        return
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        changed = False
        depth = 0
        for child in block.children:
            if child.type == "link_open":
                depth += 1
            elif child.type == "link_close":
                depth = max(0, depth - 1)
            elif child.type == "html_inline":
                for tag in _NO_REF_TAGS.finditer(child.content):
                    depth = max(0, depth - 1) if tag.group(1) else depth + 1
            elif child.type == "text" and depth == 0 and child.content:
                replaced = _split_text(state, refs, child)
                if replaced is not None:
                    children.extend(replaced)
                    changed = True
                    continue
            children.append(child)
        if changed:
            block.children = children
