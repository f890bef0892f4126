"""The one markdown renderer: READMEs, issues, pull requests, comments, previews.

``render(text, ctx=RenderContext(...))`` returns sanitized HTML as a
``markupsafe.Markup``; ``render_inline`` does one line (titles);
``cache_key`` names a rendering for caches. See ``render`` for the flavour
and the cost bounds, ``sanitize`` for the allow-list, ``refs`` for forge
references.
"""

from pagurus.markdown.context import RenderContext
from pagurus.markdown.highlight import stylesheet
from pagurus.markdown.render import cache_key, render, render_inline

__all__ = ["RenderContext", "cache_key", "render", "render_inline", "stylesheet"]
