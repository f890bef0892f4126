"""Syntax highlighting of the lines of a diff (commit, compare, per-file pages).

Each hunk is highlighted as two whole texts, its old side (context and
removed lines) and its new side (context and added lines), so a string or a
comment spanning several lines of the hunk comes out right; the HTML is then
split back into lines (Pygments closes every span at the end of a line) and
set on each ``Line.html``. Context lines take their new-side HTML.

The lexer comes from the file name only, through ``browse_render``'s index
(no content guessing: a diff is rarely the start of a file). Files with no
known lexer, plain-text files and files whose shown lines are over
``MAX_FILE_LINES`` / ``MAX_FILE_CHARS`` stay plain. One diff gets at most
``MAX_DIFF_CHARS`` characters or ``MAX_DIFF_SECONDS`` of highlighting
(Pygments manages only some 0.1-0.3 MB of Python a second), files in order;
the rest of a big diff is shown plain, so the cold render of a big commit
stays bounded. Everything is Pygments ``HtmlFormatter`` output (escaped) or
the text escaped by the template. The result is cached with the rest of
the diff HTML (``commits._diff_html``), by object ids.
"""

from __future__ import annotations

import posixpath
import time

from markupsafe import Markup
from pygments import highlight
from pygments.lexer import Lexer
from pygments.lexers import TextLexer

from pagurus.git.diff import DiffResult, FileDiff, Hunk, Line
from pagurus.web.ui.browse_render import _FORMATTER, _filename_index, _lexer_class

MAX_FILE_LINES = 2000  # lines shown for one file (its hunks' lines)
MAX_FILE_CHARS = 80_000  # characters shown for one file
MAX_DIFF_CHARS = 300_000  # characters highlighted in one diff, all files together
MAX_DIFF_SECONDS = 0.25  # time spent in Pygments for one diff (checked between files)
_LEXER_OPTIONS = {"stripnl": False, "stripall": False, "ensurenl": True}


def lexer_for_path(path: str) -> Lexer | None:
    """The lexer for this file name, or None when there is nothing to colour
    (unknown type or plain text)."""
    cls = _lexer_class(posixpath.basename(path))
    if cls is None or cls is TextLexer or getattr(cls, "name", "") == "Text only":
        return None
    return cls(**_LEXER_OPTIONS)


def _side_html(lexer: Lexer, lines: list[Line]) -> list[str] | None:
    """One HTML fragment per line of ``lines`` highlighted as one text, or None
    when the result cannot be mapped back line for line."""
    if not lines:
        return []
    # a lone CR would end a line for Pygments and shift every line after it
    text = "\n".join(line.text.replace("\r", "") for line in lines) + "\n"
    html = highlight(text, lexer, _FORMATTER).split("\n")
    if html and html[-1] == "":
        html.pop()
    if len(html) != len(lines):
        return None
    return html


def highlight_hunk(lexer: Lexer, hunk: Hunk) -> None:
    """Set ``html`` on every code line of ``hunk`` (a side that cannot be
    mapped back is left plain)."""
    old = [line for line in hunk.lines if line.kind in ("ctx", "del")]
    new = [line for line in hunk.lines if line.kind in ("ctx", "add")]
    removes = any(line.kind == "del" for line in old)
    adds = any(line.kind == "add" for line in new)
    # a side of context lines only is skipped (the other side colours them);
    # new last, so context lines keep the new side's HTML
    sides = ([old] if removes else []) + ([new] if adds or not removes else [])
    for side in sides:
        html = _side_html(lexer, side)
        if html is None:
            continue
        for line, fragment in zip(side, html, strict=True):
            line.html = Markup(fragment)  # noqa: S704 - Pygments HtmlFormatter output


def _chars(f: FileDiff) -> int:
    return sum(len(line.text) for h in f.hunks for line in h.lines)


def highlight_file(f: FileDiff) -> float:
    """Highlight one file's hunks when its type and size allow; returns the
    seconds spent in Pygments (0 when left plain; finding and building the
    lexer, paid once per process, is not counted)."""
    if f.binary or not f.inlined or not f.hunks:
        return 0.0
    if f.lines_count > MAX_FILE_LINES or _chars(f) > MAX_FILE_CHARS:
        return 0.0
    lexer = lexer_for_path(f.path)
    if lexer is None:
        return 0.0
    started = time.perf_counter()
    for hunk in f.hunks:
        highlight_hunk(lexer, hunk)
    return time.perf_counter() - started


def highlight_diff(result: DiffResult, budget: int = MAX_DIFF_CHARS,
                   seconds: float = MAX_DIFF_SECONDS) -> DiffResult:
    """Highlight the files of ``result`` in place, in order, while under
    ``budget`` characters and ``seconds`` of highlighting; returns ``result``."""
    used = 0
    spent = 0.0
    for f in result.files:
        if used >= budget or spent >= seconds:
            break
        chars = _chars(f)
        if used + chars > budget:
            continue
        took = highlight_file(f)
        if took:
            used += chars
            spent += took
    return result


# Pygments' file-name index (browse_render) costs ~0.1-0.2 s to build, most of
# it scanning installed packages for plugin lexers; built here, when the web
# app is imported, instead of during the first commit page a process serves.
_filename_index()
