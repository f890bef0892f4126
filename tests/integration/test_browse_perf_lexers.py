"""Files are highlighted with the lexer Pygments itself would pick for their
name: the page's own index of Pygments' file name patterns (built to spare a
cold page the compilation of ~930 glob patterns) must agree with
``find_lexer_class_for_filename`` on every pattern Pygments knows."""

from __future__ import annotations

from pygments.lexers import find_lexer_class_for_filename
from pygments.lexers._mapping import LEXERS

from pagurus.web.ui import browse_render


def sample_names() -> set[str]:
    """A file name matching each pattern, plus names matching none or several."""
    names = set()
    for _module, _name, _aliases, patterns, _mimes in LEXERS.values():
        for pattern in patterns:
            names.add(pattern.replace("*", "x").replace("?", "a").replace("[", "")
                      .replace("]", ""))
            names.add(pattern.replace("*", "").replace("?", "b"))
    names |= {"Makefile", "Makefile.am", "CMakeLists.txt", "Dockerfile", "README", "x.PY",
              ".bashrc", "bash_profile", "man.1", "Kconfig.debug", "x.php5", "a.tar.gz",
              "x.html.mako", "noextension", "x.unknownext", "x.h", "x.m", "x.inc", "x.v"}
    return names


def test_highlighting_picks_the_lexer_pygments_would(app):
    index = browse_render._FilenameIndex()
    mismatches = [(name, find_lexer_class_for_filename(name), index.find(name))
                  for name in sorted(sample_names())
                  if find_lexer_class_for_filename(name) is not index.find(name)]
    assert mismatches == []


def test_a_python_file_is_highlighted_as_python(client, app):
    lines = browse_render.highlighted_lines("def f(x):\n    return x\n", "src/app.py")
    assert lines[0].startswith('<span class="k">def</span>')
    assert browse_render.lexer_for("weird.unknownext", "plain words").name == "Text only"
