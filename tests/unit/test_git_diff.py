"""Diffs as pages need them: statuses, renames, binary files, size caps,
split rows, and raw output streamed from git."""

from __future__ import annotations

import pygit2
import pytest

from pagurus.git import archive, diff


@pytest.fixture
def repo(tmp_path):
    return pygit2.init_repository(str(tmp_path / "r.git"), bare=True, initial_head="main")


def commit(repo, files, parents=(), msg="c"):
    tb = repo.TreeBuilder()
    folders: dict[str, dict[str, bytes]] = {}
    for path, data in files.items():
        if "/" in path:
            folder, name = path.split("/", 1)
            folders.setdefault(folder, {})[name] = data
        else:
            tb.insert(path, repo.create_blob(data), pygit2.enums.FileMode.BLOB)
    for folder, content in folders.items():
        sub = repo.TreeBuilder()
        for name, data in content.items():
            sub.insert(name, repo.create_blob(data), pygit2.enums.FileMode.BLOB)
        tb.insert(folder, sub.write(), pygit2.enums.FileMode.TREE)
    sig = pygit2.Signature("A", "a@example.com", 1_700_000_000, 0)
    oid = repo.create_commit(None, sig, sig, msg, tb.write(), list(parents))
    return repo[oid]


TEXT = b"".join(b"line %d\n" % i for i in range(50))


def test_statuses_renames_and_binary_files(repo):
    c1 = commit(repo, {"a.txt": TEXT, "gone.txt": b"x\n", "b.bin": b"\x00\x01" * 50})
    c2 = commit(repo, {"dir/a.txt": TEXT.replace(b"line 7\n", b"line seven\n"),
                       "new.txt": b"n\n", "b.bin": b"\x00\x02" * 50}, [c1.id])
    result = diff.commit_diff(repo, c2)
    by_path = {f.path: f for f in result.files}
    renamed = by_path["dir/a.txt"]
    assert renamed.status == "R" and renamed.old_path == "a.txt" and renamed.similarity > 90
    assert (renamed.additions, renamed.deletions) == (1, 1)
    assert [line.kind for line in renamed.hunks[0].lines].count("add") == 1
    assert by_path["gone.txt"].status == "D" and by_path["new.txt"].status == "A"
    assert by_path["b.bin"].binary and by_path["b.bin"].hunks == []
    assert (result.additions, result.deletions) == (2, 2)
    root = diff.commit_diff(repo, c1)
    assert {f.status for f in root.files} == {"A"} and root.additions == 51


def test_large_files_and_long_diffs_are_listed_not_inlined(repo, monkeypatch):
    big = b"".join(b"%06d\n" % i for i in range(diff.FILE_INLINE_LINES + 10))
    c1 = commit(repo, {"keep.txt": b"k\n"})
    files = {"big.txt": big, **{f"f{i}.txt": b"x\n" for i in range(12)}}
    c2 = commit(repo, files, [c1.id])
    monkeypatch.setattr(diff, "TOTAL_INLINE_FILES", 5)
    result = diff.commit_diff(repo, c2)
    big_f = next(f for f in result.files if f.path == "big.txt")
    assert not big_f.inlined and big_f.reason == "large" and big_f.hunks == []
    assert big_f.additions == diff.FILE_INLINE_LINES + 10
    small = [f for f in result.files if f.path != "big.txt"]
    assert sum(f.inlined for f in small) == 5
    assert {f.reason for f in small if not f.inlined} == {"cap"}
    assert result.truncated
    alone = diff.one_file(repo, c1.tree, c2.tree, "big.txt")
    assert alone.inlined and alone.lines_count == diff.FILE_INLINE_LINES + 10
    assert diff.one_file(repo, c1.tree, c2.tree, "nope") is None


def test_split_rows_pair_deletions_with_following_additions():
    L = diff.Line
    hunk = diff.Hunk("@@", [L("ctx", 1, 1, "a"), L("del", 2, None, "b"), L("del", 3, None, "c"),
                            L("add", None, 2, "B"), L("ctx", 4, 3, "d"),
                            L("add", None, 4, "e")])
    rows = diff.split_rows(hunk)
    assert [(left and left.text, right and right.text) for left, right in rows] == [
        ("a", "a"), ("b", "B"), ("c", None), ("d", "d"), (None, "e")]


def test_raw_output_is_streamed_and_the_child_stopped_early(repo):
    c1 = commit(repo, {"a.txt": TEXT})
    c2 = commit(repo, {"a.txt": TEXT + b"more\n"}, [c1.id])
    text = b"".join(diff.stream_git(repo.path, diff.raw_diff_args(c2)))
    assert text.startswith(b"diff --git a/a.txt b/a.txt") and b"+more" in text
    gen = diff.stream_git(repo.path, diff.raw_diff_args(c2), chunk=8)
    assert next(gen)
    gen.close()  # the git child is killed and reaped, no error
    patch = b"".join(diff.stream_git(repo.path, diff.patch_args(c1)))
    assert b"Subject: [PATCH] c" in patch
    with pytest.raises(ValueError):
        diff.raw_diff_args(type("C", (), {"id": "--output=x", "parents": []})())


@pytest.mark.parametrize("filename,expected", [
    ("p-1.0.tar.gz", ("p-1.0", "tar.gz")), ("p.zip", ("p", "zip")), ("p.tar", ("p", "tar")),
    ("-p.tar", None), (".p.tar", None), ("a..b.zip", None), ("a/b.tar", None),
    ("p.rar", None), ("p .tar", None), ("p\n.tar", None)])
def test_archive_names(filename, expected):
    assert archive.split_filename(filename) == expected


def test_a_failed_archive_leaves_no_file(repo, tmp_path):
    target = tmp_path / "out" / "x.tar"
    chunks = list(archive.stream_archive(repo.path, target, "0" * 40, "x", "tar"))
    assert chunks == [] and not target.exists() and list(target.parent.iterdir()) == []
