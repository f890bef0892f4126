"""Markdown to safe HTML: markdown-it-py (CommonMark + GFM bits), then nh3.

Flavour: CommonMark with raw HTML (kept only through the sanitizer), GFM
tables (alignment as ``align``), strikethrough, task lists (disabled
checkboxes), bare-URL autolinks, fenced code highlighted by Pygments, heading
ids (slugified, de-duplicated, ``user-content-`` prefixed) and forge
references (see ``refs``). ``ctx.breaks`` (default True) turns single
newlines into ``<br>``, as Pagure does for issues and comments (``nl2br``);
READMEs and documents pass ``breaks=False``, as Pagure's README flavour.

Bounded cost. markdown-it-py is pure Python: its time grows with the number
of characters that can start markup (measured 15–55 µs each on the build
machine, whatever their arrangement), not with plain prose. So:

* input longer than ``ctx.max_chars`` (512 KB) is cut there, with a note
  saying how many characters are not shown;
* the *cost* of the text (markup-capable characters and lines; ``[``
  weighs 2, ``![`` 7 and ``<`` 6) is measured with ``str.translate`` before parsing; past
  ``ctx.max_cost`` (30,000) only the head is rendered as markdown and the
  rest is shown escaped in a ``<pre>``, after a note;
* nesting deeper than 20 levels is flattened by markdown-it's
  ``maxNesting``; block quotes deeper than 8 are read as 8 deep;
  highlighting is capped per block and per document; at most
  ``ctx.max_refs`` distinct reference lookups and ``refs.MAX_LINKS`` links
  are made.

The rendering never raises on any text: lone surrogates (from
``surrogateescape``) become U+FFFD, NUL becomes U+FFFD, other C0 controls are
dropped, bytes are decoded as UTF-8 with replacement.
"""

from __future__ import annotations

import hashlib
import html
import re
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import MD_TRIM_RE, mdTrim, unescapeAll
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markupsafe import Markup

from pagurus.markdown import highlight, sanitize
from pagurus.markdown.context import DEFAULT_CONTEXT, RenderContext
from pagurus.markdown.refs import RefState, references_rule

RENDERER_VERSION = "1"
"""Bump when the output for the same input changes (part of ``cache_key``)."""

# What markdown-it-py's time grows with: the characters at which its inline
# parser stops to try its rules, table pipes, and lines (each line is matched
# against every open container). Heavier: ``[`` (link labels are scanned
# ahead), ``![``, and ``<`` (raw HTML nested thousands deep is quadratic in
# the sanitizer). Measured: 15-55 µs per unit on the build machine.
_WEIGHTS = {c: 1 for c in "!#$%&*+-:=>@\\]^_`{|}~"}
_WEIGHTS.update({"\n": 3, "[": 2, "<": 6})
_IMAGE_WEIGHT = 4  # extra, per "!["
MAX_QUOTE_DEPTH = 8
# each line is checked against every open block quote, so lines starting with
# more than MAX_QUOTE_DEPTH ``>`` are read as that deep (also in code blocks:
# a known, harmless deviation for lines like ``>>>>>>>>>>``)
_QUOTE_RUN = re.compile(rf"^((?:[ \t]*>){{{MAX_QUOTE_DEPTH}}})(?:[ \t]*>)+", re.MULTILINE)
_SURROGATES = re.compile("[\ud800-\udfff]")
_CONTROLS = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TASK = re.compile(r"^\[([ xX])\](?=\s|$)\s?")
_SLUG_DROP = re.compile(r"[^\w\- ]")
_SLUG_SPACE = re.compile(r"\s+")
_CUT_NOTE = (
    "\n<p><em>This text is too large to format completely; "
    "the rest is shown as plain text.</em></p>\n"
)


def _cost(text: str) -> int:
    """Weighted count of what makes markdown-it slow (see ``_WEIGHTS``)."""
    cost = sum(weight * text.count(char) for char, weight in _WEIGHTS.items())
    return cost + _IMAGE_WEIGHT * text.count("![")


def normalize(text: str | bytes | None) -> str:
    """Text markdown-it and nh3 both accept, whatever the caller had."""
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = _SURROGATES.sub("\ufffd", text)
    text = text.replace("\x00", "\ufffd")
    return _CONTROLS.sub("", text)


def split_budget(text: str, max_cost: int, step: int = 4096) -> tuple[str, str]:
    """(head to render as markdown, rest to show as plain text).

    The head ends at a line end when it can; a single huge line is cut inside.
    """
    if _cost(text) <= max_cost:
        return text, ""
    spent = 0
    pos = 0
    while pos < len(text):
        cost = _cost(text[pos:pos + step])
        if spent + cost > max_cost:
            break
        spent += cost
        pos += step
    for line in text[pos:pos + step].splitlines(keepends=True):
        cost = _cost(line)
        if spent + cost > max_cost:
            break
        spent += cost
        pos += len(line)
    cut = text.rfind("\n", 0, pos) + 1 or pos
    return text[:cut], text[cut:]


def _inline_text(children: list[Token] | None) -> str:
    parts = []
    for child in children or ():
        if child.type in ("text", "code_inline", "text_special"):
            parts.append(child.content)
        elif child.type == "image":
            parts.append(_inline_text(child.children))
    return "".join(parts)


def slugify(text: str) -> str:
    """Lower-case words joined by ``-`` (GitHub-like), never empty."""
    slug = _SLUG_SPACE.sub("-", _SLUG_DROP.sub("", text.lower()).strip())[:80]
    return slug or "section"


def structure_rule(state: StateCore) -> None:
    """Core rule: heading ids, task lists, table alignment without ``style``."""
    slugs: set[str] = state.env.setdefault("pagurus_slugs", set())
    next_suffix: dict[str, int] = {}
    lists: list[Token] = []
    tokens = state.tokens
    for i, token in enumerate(tokens):
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            lists.append(token)
        elif kind in ("bullet_list_close", "ordered_list_close"):
            if lists:
                lists.pop()
        elif kind == "heading_open" and i + 1 < len(tokens):
            base = slugify(_inline_text(tokens[i + 1].children))
            slug = base
            while slug in slugs:
                next_suffix[base] = next_suffix.get(base, 0) + 1
                slug = f"{base}-{next_suffix[base]}"
            slugs.add(slug)
            token.attrSet("id", slug)
        elif kind in ("th_open", "td_open"):
            style = str(token.attrs.pop("style", ""))
            for align in ("left", "center", "right"):
                if style.endswith(align):
                    token.attrSet("align", align)
        elif (
            kind == "inline"
            and i >= 2
            and tokens[i - 1].type == "paragraph_open"
            and tokens[i - 2].type == "list_item_open"
            and token.children
            and token.children[0].type == "text"
        ):
            first = token.children[0]
            match = _TASK.match(first.content)
            if match is None:
                continue
            first.content = first.content[match.end():]
            checked = " checked" if match.group(1) != " " else ""
            box = Token("html_inline", "", 0,
                        content=f'<input type="checkbox" disabled{checked}> ')
            token.children.insert(0, box)
            tokens[i - 2].attrSet("class", "task-list-item")
            if lists:
                lists[-1].attrSet("class", "contains-task-list")


def _fence(self: RendererHTML, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    """Highlight fences whose language Pygments knows; the rest as markdown-it does."""
    token = tokens[idx]
    info = mdTrim(unescapeAll(token.info)) if token.info else ""
    lang = MD_TRIM_RE.split(info, maxsplit=1)[0] if info else ""
    budget = env.setdefault("pagurus_highlight", [highlight.MAX_TOTAL_CHARS])
    html_out = highlight.highlight_block(token.content, lang, budget)
    if html_out is not None:
        return html_out
    return RendererHTML.fence(self, tokens, idx, options, env)


@lru_cache(maxsize=2)
def _parser(breaks: bool) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"breaks": breaks, "html": True, "xhtmlOut": False})
    md.enable(["table", "strikethrough"])
    md.core.ruler.before("text_join", "pagurus_refs", references_rule)
    md.core.ruler.push("pagurus_structure", structure_rule)
    md.add_render_rule("fence", _fence)
    return md


def _env(ctx: RenderContext) -> dict[str, Any]:
    return {"pagurus_refs": RefState(ctx)}


def _prepare(text: str | bytes | None, ctx: RenderContext) -> tuple[str, str, int]:
    """(markdown head, plain-text rest, number of characters dropped)."""
    text = normalize(text)
    dropped = max(0, len(text) - ctx.max_chars)
    if dropped:
        text = text[: ctx.max_chars]
    head, rest = split_budget(text, ctx.max_cost)
    return _QUOTE_RUN.sub(r"\1", head), rest, dropped


def render(text: str | bytes | None, *, ctx: RenderContext | None = None) -> Markup:
    """Render markdown to sanitized HTML (a ``Markup``, safe in templates).

    Pure given ``text`` and ``ctx`` (and the resolvers' answers): callers may
    cache by ``cache_key(text, ctx)``. Templates wrap it in
    ``<div class="markdown">``.
    """
    ctx = ctx or DEFAULT_CONTEXT
    head, rest, dropped = _prepare(text, ctx)
    env = _env(ctx)
    out = _parser(ctx.breaks).render(head, env) if head else ""
    out = sanitize.clean(out, ctx, env.get("pagurus_slugs", ()))
    # the remainder is escaped here, so it needs no sanitizer pass (nh3 is slow
    # on text with hundreds of thousands of ampersands)
    if rest:
        out += _CUT_NOTE + "<pre>" + html.escape(rest, quote=False) + "</pre>\n"
    if dropped:
        out += f"<p><em>{dropped} more characters are not shown.</em></p>\n"
    return Markup(out)  # noqa: S704 - sanitized above; the rest escaped


def render_inline(text: str | bytes | None, *, ctx: RenderContext | None = None) -> Markup:
    """One line of inline markdown (titles): code, emphasis, links, references.

    No block structure, no images, no headings; newlines are kept as spaces.
    """
    ctx = ctx or DEFAULT_CONTEXT
    head, rest, dropped = _prepare(text, ctx)
    head = head.replace("\r", " ").replace("\n", " ")
    env = _env(ctx)
    out = _parser(False).renderInline(head, env) if head else ""
    out = sanitize.clean(out, ctx, (), inline=True)
    if rest:
        out += html.escape(rest, quote=False)
    if dropped:
        out += "\u2026"
    return Markup(out)  # noqa: S704 - sanitized above; the rest escaped


def cache_key(text: str | bytes | None, ctx: RenderContext | None = None) -> str:
    """A key for caching ``render(text, ctx=ctx)``.

    Covers the text, every option and which resolvers are present, but not
    the resolvers' answers: put whatever they depend on (project id, the
    reader's access) in ``ctx.cache_salt``, or cache only text whose
    references don't matter.
    """
    ctx = ctx or DEFAULT_CONTEXT
    options = (
        RENDERER_VERSION,
        ctx.breaks,
        ctx.link_base,
        ctx.image_base,
        tuple(sorted(ctx.image_hosts)) if ctx.image_hosts is not None else None,
        ctx.max_chars,
        ctx.max_cost,
        ctx.max_refs,
        ctx.cache_salt,
        ctx.resolve_issue is not None,
        ctx.user_url is not None,
        ctx.resolve_commit is not None,
        ctx.resolve_project_commit is not None,
    )
    digest = _options_digest(options).copy()
    # the raw text names the input as well as its normalized form does (normalize is
    # a function of it), and skips a regex pass over every comment of a page
    if isinstance(text, str):
        digest.update(text.encode("utf-8", "surrogatepass"))
    elif text is not None:
        digest.update(b"\1" + text)
    return digest.hexdigest()


@lru_cache(maxsize=256)
def _options_digest(options: tuple[Any, ...]) -> Any:
    digest = hashlib.sha256(repr(options).encode("utf-8"))
    digest.update(b"\0")
    return digest
