"""The last step of every rendering: nh3 with a conservative allow-list.

Whatever the markdown produced (raw HTML included), only these tags and
attributes survive. URLs keep only http, https, mailto or relative forms
(nh3 decodes entities and ignores case and control characters before it
checks the scheme, so ``&#106;avascript:`` and ``JaVaScRiPt:`` go). Links
get ``rel="nofollow noopener noreferrer"``; heading ids get the
``user-content-`` prefix so a user's ``id`` can never clobber the page's own.

The per-rendering ``attribute_filter`` also does the URL rewriting that must
apply equally to markdown links and raw HTML ones: relative README links and
images against ``link_base``/``image_base``, ``#anchor`` links to the
prefixed heading ids, and the ``image_hosts`` restriction. nh3 calls it only
for values that already passed its own checks and does not re-check what it
returns, so it returns the value, None, or a join with a caller-given base.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from urllib.parse import unquote, urljoin, urlsplit

import nh3

from pagurus.markdown.context import RenderContext
from pagurus.markdown.highlight import TOKEN_CLASSES

ID_PREFIX = "user-content-"
LINK_REL = "nofollow noopener noreferrer"
URL_SCHEMES = frozenset({"http", "https", "mailto"})

_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
BLOCK_TAGS = frozenset(
    _HEADINGS
    | {
        "p", "br", "hr", "a", "img", "ul", "ol", "li", "dl", "dt", "dd",
        "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption",
        "pre", "code", "span", "div", "blockquote", "details", "summary",
        "em", "strong", "b", "i", "del", "s", "ins", "sup", "sub", "kbd",
        "samp", "var", "cite", "abbr", "input",
    }
)
INLINE_TAGS = frozenset(
    {"a", "code", "em", "strong", "b", "i", "del", "s", "ins", "sup", "sub", "kbd", "span", "br"}
)
# removed together with their content (everything else unknown keeps its text)
CONTENT_TAGS = frozenset(
    {"script", "style", "svg", "math", "iframe", "object", "embed", "template",
     "textarea", "select", "noscript", "noembed", "noframes", "xmp", "title"}
)
ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title", "class"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "span": {"class"},
    "code": {"class"},
    "pre": {"class"},
    "div": {"class"},
    "li": {"class"},
    "ul": {"class"},
    "ol": {"start", "class"},
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
    "details": {"open"},
    "input": {"checked", "disabled"},
    **{h: {"id"} for h in _HEADINGS},
}
TAG_ATTRIBUTE_VALUES = {
    "th": {"align": {"left", "center", "right"}},
    "td": {"align": {"left", "center", "right"}},
    "input": {"type": {"checkbox"}},
}
FORCED_ATTRIBUTES = {
    "input": {"type": "checkbox", "disabled": "disabled"},
    "img": {"loading": "lazy"},
}
CLASSES: dict[str, frozenset[str]] = {
    "span": TOKEN_CLASSES,
    "pre": frozenset({"highlight"}),
    "div": frozenset({"highlight"}),
    "a": frozenset({"ref-issue", "ref-user", "ref-commit"}),
    "li": frozenset({"task-list-item"}),
    "ul": frozenset({"contains-task-list"}),
    "ol": frozenset({"contains-task-list"}),
}
_LANGUAGE_CLASS = re.compile(r"^language-[\w+#.-]{1,40}$")
_NUMBER = {"width": re.compile(r"^\d{1,4}%?$"), "height": re.compile(r"^\d{1,4}%?$"),
           "colspan": re.compile(r"^\d{1,3}$"), "rowspan": re.compile(r"^\d{1,3}$"),
           "start": re.compile(r"^-?\d{1,9}$")}
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _classes(tag: str, value: str) -> str | None:
    if tag == "code":
        kept = [c for c in value.split() if _LANGUAGE_CLASS.match(c)]
    else:
        allowed = CLASSES.get(tag, frozenset())
        kept = [c for c in value.split() if c in allowed]
    return " ".join(kept) or None


def _is_relative_path(url: str) -> bool:
    """``docs/x.md`` or ``../img.png``: not ``/abs``, ``//host``, ``#frag``, ``?q`` or a scheme."""
    return bool(url) and url[0] not in "/#?" and not _SCHEME.match(url)


def _rebase(base: str, url: str) -> str:
    return urljoin(base.rstrip("/") + "/", url)


def make_attribute_filter(
    ctx: RenderContext, slugs: Collection[str]
) -> Callable[[str, str, str], str | None]:
    """The per-rendering attribute filter (see the module docstring)."""

    def attribute_filter(tag: str, attr: str, value: str) -> str | None:
        if attr == "class":
            return _classes(tag, value)
        if attr in _NUMBER:
            return value if _NUMBER[attr].match(value.strip()) else None
        if tag == "a" and attr == "href":
            if value.startswith("#"):
                return f"#{ID_PREFIX}{value[1:]}" if unquote(value[1:]) in slugs else value
            if ctx.link_base and _is_relative_path(value):
                return _rebase(ctx.link_base, value)
            return value
        if tag == "img" and attr == "src":
            if _is_relative_path(value):
                return _rebase(ctx.image_base, value) if ctx.image_base else value
            if ctx.image_hosts is not None and _SCHEME.match(value):
                host = (urlsplit(value).hostname or "").lower()
                return value if host in ctx.image_hosts else None
            if ctx.image_hosts is not None and value.startswith("//"):
                return None
            return value
        return value

    return attribute_filter


def clean(html: str, ctx: RenderContext, slugs: Collection[str] = (), *,
          inline: bool = False) -> str:
    """Sanitize rendered HTML: the allow-list above, safe URLs, forced rel."""
    tags = INLINE_TAGS if inline else BLOCK_TAGS
    attributes = {t: set(a) for t, a in ATTRIBUTES.items() if t in tags}
    return nh3.clean(
        html,
        tags=set(tags),
        clean_content_tags=set(CONTENT_TAGS),
        attributes=attributes,
        attribute_filter=make_attribute_filter(ctx, slugs),
        strip_comments=True,
        link_rel=LINK_REL,
        tag_attribute_values={t: v for t, v in TAG_ATTRIBUTE_VALUES.items() if t in tags},
        set_tag_attribute_values={t: v for t, v in FORCED_ATTRIBUTES.items() if t in tags},
        url_schemes=set(URL_SCHEMES),
        id_prefix=ID_PREFIX,
    )
