"""What a caller tells the renderer: reference resolvers, URL bases, limits.

The renderer never touches the database: whatever needs the forge's state
(does issue #12 exist and may this reader see it? is ``abc1234`` a commit of
this repository?) is asked through the callables below, so issue pages,
comments, READMEs and the preview endpoint each pass what they know.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

IssueTarget = str | tuple[str, str] | None
"""A resolver's answer: a URL, a ``(url, title)`` pair, or None (not linked)."""


@dataclass(frozen=True)
class RenderContext:
    """Options of one rendering; all optional, the default renders plain markdown.

    Resolvers return a URL (site-absolute like ``/ns/proj/issue/12`` or
    absolute ``https://...``) or None to leave the text as it was written.
    They must answer None for things the reader may not see.

    * ``resolve_issue(project_path | None, number)`` for ``#12``, ``PR#12``,
      ``proj#12``, ``ns/proj#12``, ``fork/user/[ns/]proj#12`` (None = the
      current project). May return ``(url, title)`` to set the link's title.
    * ``user_url(name)`` for ``@name``.
    * ``resolve_commit(hexsha)`` for a bare 7–40 hex word in the current repo.
    * ``resolve_project_commit(project_path, hexsha)`` for ``proj#<40 hex>``.
    * ``link_base`` / ``image_base``: relative link / image targets written in
      the text (``docs/x.md``, ``img/logo.png``) are resolved against these
      (a README passes its folder's blob URL and raw URL). Links starting with
      ``/``, ``#`` or a scheme are left alone.
    * ``image_hosts``: when set, absolute image URLs to other hosts lose their
      ``src`` (Pagure shows only same-host images; no tracking pixels).
    * ``breaks``: single newlines become ``<br>`` (Pagure's comment flavour,
      ``nl2br``); READMEs and documents pass False.
    * ``max_chars`` / ``max_cost`` / ``max_refs``: cost bounds, see ``render``.
    * ``cache_salt``: mixed into ``cache_key`` (e.g. the project id and the
      reader's visibility class) since resolver answers are not part of the text.
    """

    resolve_issue: Callable[[str | None, int], IssueTarget] | None = None
    user_url: Callable[[str], str | None] | None = None
    resolve_commit: Callable[[str], str | None] | None = None
    resolve_project_commit: Callable[[str, str], str | None] | None = None
    link_base: str | None = None
    image_base: str | None = None
    image_hosts: frozenset[str] | None = None
    breaks: bool = True
    max_chars: int = 512 * 1024
    max_cost: int = 30_000
    max_refs: int = 100
    cache_salt: str = ""


DEFAULT_CONTEXT = RenderContext()
