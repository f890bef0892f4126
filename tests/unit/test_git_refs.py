"""Resolving URL identifiers to commits: branches with slashes, tags, ids."""

import pygit2
import pytest

from pagurus.git import refs


@pytest.fixture
def repo(tmp_path):
    r = pygit2.init_repository(str(tmp_path / "r.git"), bare=True, initial_head="main")
    sig = pygit2.Signature("A", "a@example.com")

    def commit(ref, name, parents):
        blob = r.create_blob(name.encode())
        tb = r.TreeBuilder()
        tb.insert(name, blob, pygit2.enums.FileMode.BLOB)
        return r.create_commit(ref, sig, sig, name, tb.write(), parents)

    first = commit("refs/heads/main", "one", [])
    second = commit("refs/heads/feature/f/x", "two", [first])
    r.create_tag("v1", first, pygit2.enums.ObjectType.COMMIT, sig, "release")
    r.create_reference("refs/tags/treetag", r[first].tree_id)
    r.first, r.second = first, second
    return r


def test_names_resolve_branch_then_tag_then_id(repo):
    assert refs.resolve_commit(repo, None).id == repo.first
    assert refs.resolve_commit(repo, "main").id == repo.first
    assert refs.resolve_commit(repo, "feature/f/x").id == repo.second
    assert refs.resolve_commit(repo, "v1").id == repo.first
    assert refs.resolve_commit(repo, str(repo.second)[:8]).id == repo.second
    assert refs.resolve_commit(repo, str(repo.second)).id == repo.second


@pytest.mark.parametrize("bad", ["nope", "main~1", "main^", "HEAD@{1}", "main:one", "treetag",
                                 "-x", "../main", "a" * 2000, "abcd\n"])
def test_anything_else_is_not_found(repo, bad):
    with pytest.raises(refs.RefNotFound):
        refs.resolve_commit(repo, bad)


def test_ref_and_path_split_on_the_longest_ref(repo):
    assert refs.split_ref_and_path(repo, "feature/f/x/f/dir/f/file") == (
        "feature/f/x", "dir/f/file")
    assert refs.split_ref_and_path(repo, "main/f/one") == ("main", "one")
    assert refs.head_branch(repo) == "main" and not refs.is_empty(repo)
