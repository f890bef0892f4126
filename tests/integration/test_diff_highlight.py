"""A visitor reads a commit that changes Python files: both sides of the diff
are syntax-highlighted (a line inside a multi-line string is coloured as a
string), hostile content stays escaped, and big or unknown files stay plain."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from commits_fixture import GIT_ENV, module_session, new_project

from pagurus.core import users as core_users
from pagurus.paths import repo_path
from pagurus.web.ui import diff_highlight

APP_OLD = '''"""Module doc."""


def compute(a, b):
    """Add two numbers.

    old wording of the doc
    """
    return a + b
'''
APP_NEW = '''"""Module doc."""


def compute(a, b, c=0):
    """Add numbers.

    new wording of the doc
    """
    return a + b + c
'''
TRIM_OLD = "import os\nimport sys\nimport re\n\nDEBUG = True\n"
TRIM_NEW = "import os\nimport re\n\nDEBUG = True\n"
HOSTILE = 'payload = "</span><script>alert(1)</script>"  # <img src=x onerror=alert(2)>\n'
BIG_LINES = 1500  # inlined (under git.diff's 3,000-line cap) but over the highlight limit


def _data(payload: bytes) -> bytes:
    return f"data {len(payload)}\n".encode() + payload + b"\n"


def _commit(mark: int, message: str, files: dict[str, bytes], parent: int | None) -> bytes:
    out = f"commit refs/heads/main\nmark :{mark}\n".encode()
    out += b"author A U Thor <author@example.com> 1700000000 +0000\n"
    out += b"committer A U Thor <author@example.com> 1700000000 +0000\n"
    out += _data(message.encode())
    if parent is not None:
        out += f"from :{parent}\n".encode()
    for path, content in files.items():
        out += f'M 100644 inline "{path}"\n'.encode() + _data(content)
    return out + b"\n"


@pytest.fixture(scope="module")
def repo(app, settings):
    s = module_session(app)
    try:
        owner = core_users.create_user(s, "hl" + os.urandom(4).hex(), "hl@example.com",
                                       password="correct horse battery")
        s.commit()
        project = new_project(s, settings, owner)
        path = repo_path(settings.data_dir, "main", project.fullname)
        big = "".join(f"value_{i:05d} = 'padding {'x' * 130}'\n" for i in range(BIG_LINES))
        stream = (
            _commit(1, "Start\n", {"app.py": APP_OLD.encode(), "notes.unknownext": b"a\n",
                                    "trim.py": TRIM_OLD.encode()}, None)
            + _commit(2, "Change things\n", {
                "app.py": APP_NEW.encode(), "hostile.py": HOSTILE.encode(),
                "big.py": big.encode(), "notes.unknownext": b"def x(): pass\n",
                "trim.py": TRIM_NEW.encode()}, 1)
            + b"done\n")
        marks = path / "hl-marks"
        subprocess.run(["git", "fast-import", "--quiet", "--done", f"--export-marks={marks}"],
                       input=stream, check=True, env={**os.environ, **GIT_ENV,
                                                      "GIT_DIR": str(path)})
        ids = dict(line.split() for line in marks.read_text().splitlines())
        marks.unlink()
        yield "/" + project.url_path, ids[":1"], ids[":2"]
    finally:
        s.close()


def sections(body: str) -> dict[str, str]:
    """The HTML of each file of the diff, by path."""
    out = {}
    for chunk in body.split('<details class="diff-file"')[1:]:
        m = re.search(r"<code>([^<]+)</code>", chunk)
        assert m
        out[m.group(1)] = chunk
    return out


def test_a_python_change_is_highlighted_on_both_sides(client, repo):
    url, _first, second = repo
    resp = client.get(f"{url}/c/{second}")
    assert resp.status_code == 200
    app_py = sections(resp.get_data(as_text=True))["app.py"]
    # removed and added lines carry Pygments token spans
    assert re.search(r'<tr class="l-del">.*?<span class="mk">-</span>\s*'
                     r'<span class="k">def</span>', app_py)
    assert re.search(r'<tr class="l-add">.*?<span class="mk">\+</span>\s*'
                     r'<span class="k">def</span><span class="w"> </span>'
                     r'<span class="nf">compute</span>', app_py)
    # a line in the middle of a docstring is a string on both sides
    assert re.search(r'<span class="mk">-</span><span class="sd">    old wording of the doc'
                     r'</span>', app_py)
    assert re.search(r'<span class="mk">\+</span><span class="sd">    new wording of the doc'
                     r'</span>', app_py)
    # the token colours apply inside the diff
    assert '<div class="table-wrap highlight">' in app_py


def test_a_hunk_that_only_removes_lines_is_highlighted(client, repo):
    url, _first, second = repo
    trim = sections(client.get(f"{url}/c/{second}").get_data(as_text=True))["trim.py"]
    assert re.search(r'<tr class="l-del">.*?<span class="mk">-</span>'
                     r'<span class="kn">import</span><span class="w"> </span>'
                     r'<span class="nn">sys</span>', trim)
    assert re.search(r'<tr class="l-ctx">.*?<span class="mk"> </span>'
                     r'<span class="n">DEBUG</span>', trim)


def test_split_view_highlights_both_columns(client, repo):
    url, _first, second = repo
    body = client.get(f"{url}/c/{second}?splitview=1").get_data(as_text=True)
    app_py = sections(body)["app.py"]
    assert re.search(r'<td class="code l-del"><span class="mk">-</span>\s*'
                     r'<span class="k">return</span>', app_py)
    assert re.search(r'<td class="code l-add"><span class="mk">\+</span>\s*'
                     r'<span class="k">return</span>', app_py)


def test_hostile_content_stays_escaped(client, repo):
    url, _first, second = repo
    body = client.get(f"{url}/c/{second}").get_data(as_text=True)
    hostile = sections(body)["hostile.py"]
    assert "&lt;/span&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in hostile
    assert "&lt;img src=x onerror=alert(2)&gt;" in hostile
    assert "<script>alert" not in body and "<img src=x" not in body
    assert '<span class="n">payload</span>' in hostile


def test_big_and_unknown_files_are_shown_plain(client, repo):
    url, _first, second = repo
    files = sections(client.get(f"{url}/c/{second}").get_data(as_text=True))
    big = files["big.py"]
    assert f"+{BIG_LINES}" in big and "value_01499 = &#39;padding" in big
    assert 'class="n"' not in big and 'class="s1"' not in big
    unknown = files["notes.unknownext"]
    assert "def x(): pass" in unknown and 'class="k"' not in unknown


def test_compare_and_per_file_pages_are_highlighted(client, repo):
    url, first, second = repo
    compare = client.get(f"{url}/c/{first}..{second}").get_data(as_text=True)
    assert re.search(r'<span class="mk">\+</span><span class="sd">    new wording',
                     sections(compare)["app.py"])
    one = client.get(f"{url}/c/{second}/f/app.py").get_data(as_text=True)
    assert re.search(r'<span class="mk">\+</span><span class="sd">    new wording', one)


def test_limits_are_what_the_big_file_exceeds():
    """The fixture's big file is over the per-file limit, under the inline cap."""
    chars = BIG_LINES * len(f"value_00000 = 'padding {'x' * 130}'")
    assert chars > diff_highlight.MAX_FILE_CHARS
    assert BIG_LINES < 3000


def test_a_big_diff_is_highlighted_only_up_to_its_budget():
    from pagurus.git.diff import DiffResult, FileDiff, Hunk, Line

    def python_file(i):
        lines = [Line("add", None, n, f"value_{n} = {n}  # line {n}") for n in range(1, 6)]
        return FileDiff(i, f"m{i}.py", f"m{i}.py", "A", hunks=[Hunk("@@ -0,0 +1,5 @@", lines)])

    files = [python_file(i) for i in range(3)]
    per_file = sum(len(line.text) for line in files[0].hunks[0].lines)
    diff_highlight.highlight_diff(DiffResult(files), budget=2 * per_file)
    coloured = [all(line.html is not None for line in f.hunks[0].lines) for f in files]
    assert coloured == [True, True, False]
    late = [python_file(i) for i in range(2)]
    diff_highlight.highlight_diff(DiffResult(late), seconds=0.0)
    assert all(line.html is None for f in late for line in f.hunks[0].lines)
