"""Turning blob text into HTML for the repository pages.

Syntax highlighting (Pygments, one table row per line so every line has an
anchor), README/markup rendering (the forge's markdown renderer when it is
available, docutils for reST, escaped text otherwise) and the caches that
keep each result under the object id it was computed from.
"""

from __future__ import annotations

import fnmatch
import io
import posixpath
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urljoin

import nh3
from markupsafe import Markup, escape
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, find_lexer_class, guess_lexer
from pygments.lexers._mapping import LEXERS
from pygments.plugin import find_plugin_lexers
from pygments.util import ClassNotFound

from pagurus.cache import object_cache
from pagurus.web.context import settings

HIGHLIGHT_LIMIT = 1_000_000  # bytes of text highlighted; larger files are shown plain
MARKDOWN_EXT = (".md", ".markdown", ".mdown", ".mkd")
RST_EXT = (".rst", ".rest")
RENDER_VERSION = "1"  # bump when the HTML produced here changes shape

_FORMATTER = HtmlFormatter(nowrap=True)


def cache() -> Any:
    return object_cache(settings().redis_url)


# -- syntax highlighting -----------------------------------------------------------

_WILD = re.compile(r"[*?\[]")


class _FilenameIndex:
    """Pygments' file name patterns, indexed. ``find_lexer_class_for_filename``
    compiles ~930 glob patterns into regexes on its first call in a process
    (~0.3 s, more on a busy machine: a cold page paid it); nearly all of them
    are ``*<suffix>`` or a literal name, looked up here in dicts, and only the
    few others are matched as globs. The choice among matches is Pygments'
    own: highest ``priority`` (+0.5 for a pattern without ``*``), then name."""

    def __init__(self) -> None:
        self.suffixes: dict[str, list[tuple[Any, str]]] = {}
        self.names: dict[str, list[tuple[Any, str]]] = {}
        self.globs: list[tuple[re.Pattern[str], Any, str]] = []
        for _module, name, _aliases, patterns, _mimes in LEXERS.values():
            for pattern in patterns:
                self._add(name, pattern)
        for cls in find_plugin_lexers():
            for pattern in cls.filenames:
                self._add(cls, pattern)

    def _add(self, lexer: Any, pattern: str) -> None:
        if not _WILD.search(pattern):
            self.names.setdefault(pattern, []).append((lexer, pattern))
        elif pattern.startswith("*") and not _WILD.search(pattern, 1):
            self.suffixes.setdefault(pattern[1:], []).append((lexer, pattern))
        else:
            self.globs.append((re.compile(fnmatch.translate(pattern)), lexer, pattern))

    def find(self, filename: str) -> type[Lexer] | None:
        matches = list(self.names.get(filename, ()))
        for i in range(len(filename) + 1):
            matches += self.suffixes.get(filename[i:], ())
        matches += [(lexer, pattern) for regex, lexer, pattern in self.globs
                    if regex.match(filename)]
        best: tuple[float, str] | None = None
        found: type[Lexer] | None = None
        for lexer, pattern in matches:
            cls = find_lexer_class(lexer) if isinstance(lexer, str) else lexer
            if cls is None:
                continue
            rating = (cls.priority + (0.5 if "*" not in pattern else 0), cls.__name__)
            if best is None or rating >= best:
                best, found = rating, cls
        return found


@lru_cache(maxsize=1)
def _filename_index() -> _FilenameIndex:
    return _FilenameIndex()


@lru_cache(maxsize=2048)
def _lexer_class(name: str) -> type[Lexer] | None:
    """The lexer class Pygments picks for this file name, remembered by name."""
    return _filename_index().find(name)


def lexer_for(filename: str, text: str) -> Lexer:
    """By file name; a shebang line lets Pygments guess; plain text otherwise."""
    options = {"stripnl": False, "ensurenl": True}
    cls = _lexer_class(posixpath.basename(filename))
    if cls is not None:
        return cls(**options)
    if text.startswith("#!"):
        try:
            return guess_lexer(text[:2000], **options)
        except ClassNotFound:
            pass
    return TextLexer(**options)


def split_lines(text: str) -> list[str]:
    """Lines as Pygments and git count them (CRLF and lone CR end a line)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def highlighted_lines(text: str, filename: str, plain: bool = False) -> list[str]:
    """One HTML fragment per line, each with its spans closed (Pygments'
    HTML formatter never lets a token span cross a newline)."""
    if plain or len(text) > HIGHLIGHT_LIMIT:
        return [str(escape(line)) for line in split_lines(text)]
    html = highlight(text, lexer_for(filename, text), _FORMATTER)
    lines = html.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def code_table(lines: list[str]) -> str:
    """Numbered lines; row ``_N`` is the anchor of line N."""
    out = ['<table class="code"><tbody>']
    append = out.append
    for n, line in enumerate(lines, 1):
        append(f'<tr id="_{n}"><td class="ln"><a href="#_{n}">{n}</a></td>'
               f'<td class="lc">{line}</td></tr>')
    out.append("</tbody></table>")
    return "\n".join(out)


def code_table_markup(lines: list[str]) -> Markup:
    """:func:`code_table` of already highlighted (or escaped) lines."""
    return Markup(code_table(lines))  # noqa: S704 - built from escaped/highlighted fragments


def cached_lines(blob_id: str, text: str, filename: str, plain: bool = False) -> list[str]:
    """Highlighted lines of a blob, kept under its id + lexer."""
    name = "plain" if plain or len(text) > HIGHLIGHT_LIMIT else \
        lexer_for(filename, text[:2000]).name
    key = f"{blob_id}:{name}:{RENDER_VERSION}"
    joined = cache().get_or_compute(
        "blob-lines", key,
        lambda: "\x00".join(highlighted_lines(text, filename, plain)))
    return joined.split("\x00") if joined else []


def cached_code_table(blob_id: str, text: str, filename: str, plain: bool = False) -> Markup:
    name = "plain" if plain or len(text) > HIGHLIGHT_LIMIT else \
        lexer_for(filename, text[:2000]).name
    key = f"{blob_id}:{name}:{len(text)}:{RENDER_VERSION}"
    html = cache().get_or_compute(
        "blob-html", key,
        lambda: code_table(cached_lines(blob_id, text, filename, plain)))
    return Markup(html)  # noqa: S704 - built from escaped/highlighted fragments


# -- markup (README, .md, .rst) ---------------------------------------------------

def markup_kind(filename: str) -> str | None:
    low = filename.lower()
    if low.endswith(MARKDOWN_EXT):
        return "md"
    if low.endswith(RST_EXT):
        return "rst"
    return None


def _forge_markdown() -> tuple[Callable[..., str], Any] | None:
    """``pagurus.markdown.render`` and its ``RenderContext`` once they exist."""
    try:
        import pagurus.markdown as md
    except ImportError:
        return None
    render = getattr(md, "render", None)
    ctx_class = getattr(md, "RenderContext", None)
    if render is None or ctx_class is None:
        return None
    return render, ctx_class


_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def relative_url(value: str, base: str) -> str:
    """Resolve a relative link against ``base`` (a folder URL ending with /);
    absolute URLs, fragments and scheme URLs are left to the sanitizer."""
    value = value.strip()
    if not value or value.startswith(("#", "/", "?")) or _SCHEME.match(value):
        return value
    return urljoin(base, quote(value, safe="/%#?=&;:@!$'()*+,~"))


def sanitize_with_bases(html: str, link_base: str, image_base: str) -> str:
    """nh3 with relative ``href``/``src`` rewritten to the blob/raw views."""
    def rewrite(tag: str, attr: str, value: str) -> str | None:
        if tag == "a" and attr == "href":
            return relative_url(value, link_base)
        if tag == "img" and attr == "src":
            return relative_url(value, image_base)
        return value

    return nh3.clean(html, attribute_filter=rewrite)


def _pre(text: str) -> str:
    return f'<pre class="markup-source">{escape(text)}</pre>'


def _render_rst(text: str, link_base: str, image_base: str) -> str:
    try:
        from docutils.core import publish_parts
        from docutils.writers.html5_polyglot import Writer
    except ImportError:
        return _pre(text)
    try:
        parts = publish_parts(source=text, writer=Writer(), settings_overrides={
            "file_insertion_enabled": False, "raw_enabled": False, "_disable_config": True,
            "report_level": 5, "halt_level": 5, "warning_stream": io.StringIO(),
            "syntax_highlight": "none", "embed_stylesheet": False, "input_encoding": "unicode",
            "traceback": True, "math_output": "html",
        })
    except Exception:  # docutils on hostile input: show the text instead
        return _pre(text)
    html = parts["html_body"]
    try:  # the forge's allow-list when the markdown package provides it
        from pagurus.markdown.context import RenderContext
        from pagurus.markdown.sanitize import clean
    except ImportError:
        return sanitize_with_bases(html, link_base, image_base)
    return clean(html, RenderContext(link_base=link_base, image_base=image_base,
                                     breaks=False))


def render_markup(text: str, filename: str, link_base: str, image_base: str) -> str:
    """Sanitized HTML of a markdown/reST file (escaped text for anything else).

    ``link_base``/``image_base`` are folder URLs (ending with ``/``) that
    relative links and images resolve against: the blob and raw views."""
    kind = markup_kind(filename)
    if kind == "md":
        forge = _forge_markdown()
        if forge is None:
            return _pre(text)
        render, ctx_class = forge
        return str(render(text, ctx=ctx_class(link_base=link_base, image_base=image_base,
                                              breaks=False)))
    if kind == "rst":
        return _render_rst(text, link_base, image_base)
    return _pre(text)


def renderer_id(filename: str) -> str:
    kind = markup_kind(filename)
    if kind == "md":
        return "md-forge" if _forge_markdown() is not None else "md-text"
    return kind or "text"


def cached_markup(blob_id: str, text: str, filename: str, link_base: str,
                  image_base: str) -> Markup:
    key = f"{blob_id}:{renderer_id(filename)}:{link_base}:{image_base}:{RENDER_VERSION}"
    html = cache().get_or_compute(
        "readme", key, lambda: render_markup(text, filename, link_base, image_base))
    return Markup(html)  # noqa: S704 - sanitized by the renderer
