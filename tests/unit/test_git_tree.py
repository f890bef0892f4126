"""Reading trees and blobs: listing order, README choice, decoding, links."""

from __future__ import annotations

import pygit2
import pytest

from pagurus.git import tree as t

BLOB = pygit2.enums.FileMode.BLOB


@pytest.fixture
def repo(tmp_path):
    return pygit2.init_repository(str(tmp_path / "r.git"), bare=True, initial_head="main")


def make_tree(repo, names):
    tb = repo.TreeBuilder()
    sub = repo.TreeBuilder().write()
    for name, kind in names:
        if kind == "dir":
            inner = repo.TreeBuilder()
            inner.insert("x", repo.create_blob(b"x"), BLOB)
            tb.insert(name, inner.write(), pygit2.enums.FileMode.TREE)
        elif kind == "link":
            tb.insert(name, repo.create_blob(b"target"), pygit2.enums.FileMode.LINK)
        elif kind == "sub":
            tb.insert(name, pygit2.Oid(hex="ab" * 20), pygit2.enums.FileMode.COMMIT)
        else:
            tb.insert(name, repo.create_blob(kind.encode()), BLOB)
    del sub
    return repo[tb.write()]


def test_listing_puts_folders_first_then_names_without_case(repo):
    tree = make_tree(repo, [("b.txt", "bb"), ("Zdir", "dir"), ("A.txt", "a"),
                            ("adir", "dir"), ("link", "link"), ("mod", "sub")])
    listing = t.list_tree(repo, tree, "base")
    assert [e.name for e in listing.entries] == ["adir", "Zdir", "A.txt", "b.txt", "link",
                                                 "mod"]
    kinds = {e.name: (e.type, e.size) for e in listing.entries}
    assert kinds == {"adir": ("folder", None), "Zdir": ("folder", None), "A.txt": ("file", 1),
                     "b.txt": ("file", 2), "link": ("link", 6), "mod": ("submodule", None)}
    assert listing.entries[0].path == "base/adir"
    short = t.list_tree(repo, tree, "", limit=2)
    assert short.total == 6 and short.truncated and len(short.entries) == 2


@pytest.mark.parametrize("names, expected", [
    (["README.txt", "README", "README.rst", "README.md"], "README.md"),
    (["README.txt", "README", "README.rst"], "README.rst"),
    (["README.txt", "README"], "README"),
    (["readme.TXT", "README.fr"], "readme.TXT"),
    (["README.fr", "README.de", "other.md"], "README.de"),
    (["other.md"], None),
])
def test_readme_preference(repo, names, expected):
    tree = make_tree(repo, [(n, "text") for n in names])
    found = t.find_readme(tree)
    assert (found[0] if found else None) == expected


def test_a_readme_folder_or_link_is_not_a_readme(repo):
    tree = make_tree(repo, [("README.md", "dir"), ("README", "link")])
    assert t.find_readme(tree) is None


@pytest.mark.parametrize("data, encoding, text", [
    (b"plain\n", "utf-8", "plain\n"),
    ("naïve café\n".encode(), "utf-8", "naïve café\n"),
    ("naïve café\n".encode("latin-1"), "cp1252", "naïve café\n"),
    ("Привет, как дела? Это тестовый файл. ".encode("cp1251") * 30, "cp1251", None),
    ("これは日本語のテストです。".encode("shift_jis") * 30, None, "これは日本語のテストです。"),
    ("bom".encode("utf-16"), "utf-16", "bom"),
])
def test_text_is_decoded_by_detection(data, encoding, text):
    got = t.decode(data)
    assert not got.binary
    if encoding:
        assert got.encoding == encoding
    if text:
        assert got.text.startswith(text)
    else:
        assert "Привет" in got.text


def test_binary_crlf_and_truncation():
    assert t.decode(b"\x89PNG\x00\x01").binary
    got = t.decode(b"a\r\nb\r\n")
    assert got.crlf and got.text == "a\r\nb\r\n"
    got = t.decode(b"x" * 100, limit=10)
    assert got.truncated and got.text == "x" * 10 and got.size == 100


@pytest.mark.parametrize("link, target, resolved", [
    ("l", "/etc/passwd", None),
    ("l", "../etc/passwd", None),
    ("a/b/l", "../../../etc/passwd", None),
    ("a/b/l", "../c.txt", "a/c.txt"),
    ("l", "src/app.py", "src/app.py"),
    ("a/l", "./x/../y", "a/y"),
    ("l", "", None),
    ("l", ".", None),
])
def test_links_resolve_only_inside_the_repo(link, target, resolved):
    got = t.link_target(link, target.encode())
    assert got.target == target and got.path == resolved


@pytest.mark.parametrize("path", ["..", "a/../b", "./a", "a//b", "a\x00b", "x" * 5000])
def test_odd_paths_are_refused(path):
    with pytest.raises(t.PathNotFound):
        t.normalize_path(path)


def test_paths_are_trimmed():
    assert t.normalize_path("/a/b/") == "a/b" and t.normalize_path(None) == ""


def test_submodule_url_from_gitmodules(repo):
    tb = repo.TreeBuilder()
    tb.insert(".gitmodules", repo.create_blob(
        b'[submodule "x"]\n\tpath = lib/x\n\turl = https://example.com/x.git\n'
        b'[submodule "y"]\n\turl = ssh://h/y\n\tpath = y\n'), BLOB)
    sig = pygit2.Signature("a", "a@x")
    commit = repo[repo.create_commit("refs/heads/main", sig, sig, "m", tb.write(), [])]
    assert t.submodule_url(commit, "lib/x") == "https://example.com/x.git"
    assert t.submodule_url(commit, "y") == "ssh://h/y"
    assert t.submodule_url(commit, "z") is None
