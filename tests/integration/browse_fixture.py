"""A hostile repository for the browsing tests, built with pygit2 straight
into a project's bare repo (no push): odd names, encodings, sizes, links,
a submodule, branches with slashes, tags on a tree and on a blob, an orphan
branch, and a 10,000-entry folder. Built once per test run and shared.
"""

from __future__ import annotations

import struct
import subprocess
import zlib
from dataclasses import dataclass, field
from typing import Any

import pygit2
from conftest import unique

from pagurus.core import projects as core_projects
from pagurus.core import users as core_users
from pagurus.paths import repo_path

BLOB = pygit2.enums.FileMode.BLOB
EXEC = pygit2.enums.FileMode.BLOB_EXECUTABLE
LINK = pygit2.enums.FileMode.LINK
COMMIT = pygit2.enums.FileMode.COMMIT
HOSTILE = "<img src=x onerror=alert(1)>"
HOSTILE_MD = f"{HOSTILE}.md"
UNICODE_NAMES = ("naïve café.txt", "名前.txt")
QUOTED = "a\"b'c.txt"
SPACED = "name with spaces.txt"
MANY = 10_000
BIG_SIZE = 5 * 1024 * 1024 + 123
LATIN1_TEXT = "Le café est très bon. Noël à la plage, où les élèves étudient.\n" * 3
README = (
    "# Fixture project\n\n"
    "<script>alert(1)</script>\n\n"
    "See the [guide](docs/guide.md) and ![logo](img/logo.png).\n"
)
PY_LINES = [f"def f{i}(x):\n    return x + {i}\n" for i in range(5)]


def png_bytes() -> bytes:
    """A valid 1x1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def big_text() -> bytes:
    line = b"0123456789 the quick brown fox jumps over the lazy dog %08d\n"
    out = bytearray()
    n = 0
    while len(out) < BIG_SIZE:
        out += line % n
        n += 1
    return bytes(out[:BIG_SIZE])


class Builder:
    """Nested trees from a flat {path: (bytes or Oid, mode)} mapping."""

    def __init__(self, repo: pygit2.Repository) -> None:
        self.repo = repo

    def tree(self, files: dict[str, tuple[Any, int]]) -> pygit2.Oid:
        top: dict[str, Any] = {}
        for path, (content, mode) in files.items():
            parts = path.split("/")
            node = top
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = (content, mode)
        return self._write(top)

    def _write(self, node: dict[str, Any]) -> pygit2.Oid:
        tb = self.repo.TreeBuilder()
        for name, value in node.items():
            if isinstance(value, dict):
                tb.insert(name, self._write(value), pygit2.enums.FileMode.TREE)
            else:
                content, mode = value
                oid = content if isinstance(content, pygit2.Oid) else \
                    self.repo.create_blob(content)
                tb.insert(name, oid, mode)
        return tb.write()


@dataclass
class Fixture:
    owner: str
    fullname: str
    url: str  # "/<fullname>"
    git_dir: str
    commits: list[str] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    private_url: str = ""
    private_owner: str = ""
    empty_url: str = ""


def _sig(name: str, when: int) -> pygit2.Signature:
    return pygit2.Signature(name, f"{name.lower()}@example.com", when, 0)


def build(repo: pygit2.Repository, fx: Fixture) -> None:
    b = Builder(repo)
    t0 = 1_600_000_000
    png = png_bytes()
    files: dict[str, tuple[Any, int]] = {
        "README.md": (README.encode(), BLOB),
        "src/app.py": ("".join(PY_LINES[:2]).encode(), BLOB),
        "docs/guide.md": (b"# Guide\n\nRead [the app](../src/app.py).\n", BLOB),
        "docs/README.rst": (b"Docs\n====\n\nSome *reST* text with <b>tags</b>.\n\n"
                            b".. raw:: html\n\n   <script>alert(1)</script>\n", BLOB),
        "img/logo.png": (png, BLOB),
    }
    c1 = repo.create_commit("refs/heads/main", _sig("Alice", t0), _sig("Alice", t0),
                            "First commit\n", b.tree(files), [])
    many = repo.create_blob(b"x\n")
    files.update({
        "src/app.py": ("".join(PY_LINES[:4]).encode(), BLOB),
        HOSTILE_MD: (f"# {HOSTILE}\n\n<script>alert(1)</script>\n".encode(), BLOB),
        UNICODE_NAMES[0]: ("café\n".encode(), BLOB),
        UNICODE_NAMES[1]: ("名前\n".encode(), BLOB),
        QUOTED: (b"quotes\n", BLOB),
        SPACED: (b"spaces\n", BLOB),
        "crlf.txt": (b"one\r\ntwo\r\nthree\r\n", BLOB),
        "latin1.txt": (LATIN1_TEXT.encode("latin-1"), BLOB),
        "binary.bin": (bytes(range(256)) * 4, BLOB),
        "big.txt": (big_text(), BLOB),
        "page.html": (b"<html><script>alert(1)</script></html>\n", BLOB),
        "pic.svg": (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>\n', BLOB),
        "run.sh": (b"#!/bin/sh\necho hi\n", EXEC),
        "link-out": (b"/etc/passwd", LINK),
        "link-up": (b"../../etc/passwd", LINK),
        "link-in": (b"src/app.py", LINK),
        "deep/a/b/c/d.txt": (b"deep\n", BLOB),
        ".gitmodules": (b'[submodule "vendor/lib"]\n\tpath = vendor/lib\n'
                        b"\turl = https://example.com/lib.git\n", BLOB),
        "vendor/lib": (pygit2.Oid(hex="1234567890abcdef1234567890abcdef12345678"), COMMIT),
    })
    for i in range(MANY):
        files[f"many/file{i:05d}.txt"] = (many, BLOB)
    c2 = repo.create_commit("refs/heads/main", _sig("Bob", t0 + 100), _sig("Bob", t0 + 100),
                            f"Second commit {HOSTILE}\n", b.tree(files), [c1])
    files["src/app.py"] = ("".join(PY_LINES).encode(), BLOB)
    c3 = repo.create_commit("refs/heads/main", _sig("Carol", t0 + 200), _sig("Carol", t0 + 200),
                            "Third commit\n", b.tree(files), [c2])
    fx.commits = [str(c1), str(c2), str(c3)]
    # branches with slashes, one holding "/f/"
    fa = dict(files)
    fa["feature.txt"] = (b"on feature/a/b\n", BLOB)
    repo.create_commit("refs/heads/feature/a/b", _sig("Dan", t0 + 300),
                       _sig("Dan", t0 + 300), "Feature\n", b.tree(fa), [c3])
    ff = dict(files)
    ff["ff.txt"] = (b"on feature/f/x\n", BLOB)
    repo.create_commit("refs/heads/feature/f/x", _sig("Eve", t0 + 400), _sig("Eve", t0 + 400),
                       "F branch\n", b.tree(ff), [c3])
    repo.create_commit("refs/heads/orphan", _sig("Finn", t0 + 500), _sig("Finn", t0 + 500),
                       "Orphan root\n", b.tree({"orphan.txt": (b"alone\n", BLOB)}), [])
    # tags: annotated on a commit, and lightweight ones on a tree and a blob
    repo.create_tag("v1.0", c1, pygit2.enums.ObjectType.COMMIT, _sig("Alice", t0),
                    "Release 1.0\n")
    repo.create_reference("refs/tags/treetag", repo[c3].tree_id)
    repo.create_reference("refs/tags/blobtag", repo[c3].tree["README.md"].id)
    fx.files = {k: v[0] for k, v in files.items() if isinstance(v[0], bytes)}


_shared: dict[str, Fixture] = {}


def _make_project(session: Any, settings: Any, owner: Any, private: bool = False) -> Any:
    from pagurus.tasks import projects as project_tasks

    project = core_projects.create_project(session, settings, owner, unique("browse"),
                                           "Browsing fixture", private=private)
    session.commit()
    project_tasks.create_project_repos.delay(project.id, False).get(timeout=60)
    session.expire_all()
    return project


def shared(app: Any) -> Fixture:
    """The fixture project (plus a private and an empty one), built once."""
    if "fx" in _shared:
        return _shared["fx"]
    settings = app.extensions["pagurus"]["settings"]
    session = app.extensions["pagurus"]["sessions"]()
    try:
        owner = core_users.create_user(session, unique("bo"), f"{unique('bo')}@example.com",
                                       password="correct horse battery")
        session.commit()
        project = _make_project(session, settings, owner)
        path = repo_path(settings.data_dir, "main", project.fullname)
        repo = pygit2.Repository(str(path))
        fx = Fixture(owner=owner.name, fullname=project.fullname, url="/" + project.url_path,
                     git_dir=str(path))
        build(repo, fx)
        subprocess.run(["git", "--git-dir", str(path), "symbolic-ref", "HEAD",
                        "refs/heads/main"], check=True)
        private = _make_project(session, settings, owner, private=True)
        ppath = repo_path(settings.data_dir, "main", private.fullname)
        prepo = pygit2.Repository(str(ppath))
        Builder(prepo)
        pfiles = {"README.md": b"secret readme\n", "secret.txt": b"secret\n"}
        tree = Builder(prepo).tree({k: (v, BLOB) for k, v in pfiles.items()})
        prepo.create_commit("refs/heads/main", _sig("Alice", 1_600_000_000),
                            _sig("Alice", 1_600_000_000), "Secret\n", tree, [])
        subprocess.run(["git", "--git-dir", str(ppath), "symbolic-ref", "HEAD",
                        "refs/heads/main"], check=True)
        fx.private_url = "/" + private.url_path
        fx.private_owner = owner.name
        empty = _make_project(session, settings, owner)
        fx.empty_url = "/" + empty.url_path
    finally:
        session.close()
    _shared["fx"] = fx
    return fx


def assert_escaped(resp: Any) -> str:
    """The page's HTML, after checking no hostile markup came through raw."""
    html = resp.get_data(as_text=True)
    assert "<img src=x onerror" not in html
    assert "<script>alert(1)</script>" not in html
    assert "onload=\"alert(1)\"" not in html
    return html
