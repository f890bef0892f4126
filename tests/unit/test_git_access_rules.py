"""core.gitaccess: repository paths and who may read or update which ref."""

import pytest

from pagurus.core import gitaccess, projects
from pagurus.core.errors import InvalidInput, NotFound
from pagurus.core.gitaccess import Identity, RepoRef, parse_repo_path


@pytest.mark.parametrize("path,ref", [
    ("demo.git", RepoRef("main", "demo")),
    ("/ns/demo.git", RepoRef("main", "demo", "ns")),
    ("forks/bob/ns/demo.git", RepoRef("main", "demo", "ns", "bob")),
    ("fork/bob/demo", RepoRef("main", "demo", None, "bob")),
    ("tickets/ns/demo.git", RepoRef("tickets", "demo", "ns")),
    ("docs/forks/bob/demo.git", RepoRef("docs", "demo", None, "bob")),
])
def test_repo_paths_name_their_kind_and_project(path, ref):
    assert parse_repo_path(path) == ref


@pytest.mark.parametrize("path", [
    "", "../etc/passwd", "ns/../x.git", "-x.git", "--upload-pack=touch x", ".git/config",
    "a/b/c/d.git", "forks/bob", "ns/.hidden.git", "a\nb.git", "a b.git", "x" * 500,
    "%2e%2e%2f", "forks/-bob/x.git",
])
def test_hostile_repo_paths_are_refused(path):
    with pytest.raises(InvalidInput):
        parse_repo_path(path)


def test_ref_updates_follow_project_roles(session, settings, make_user):
    owner, collab, ticket, stranger = (make_user() for _ in range(4))
    p = projects.create_project(session, settings, owner, "ga" + owner.name[-8:], "d")
    projects.set_user_access(session, owner, p, collab, "collaborator", "feature/*")
    projects.set_user_access(session, owner, p, ticket, "ticket")
    p.repo_state = "ready"
    session.flush()

    def may(user, ref, kind="main"):
        return gitaccess.can_update_ref(session, Identity(user=user), p, kind, ref)

    assert may(owner, "refs/heads/main") and may(owner, "refs/tags/v1")
    assert may(collab, "refs/heads/feature/x") and not may(collab, "refs/heads/main")
    assert not may(collab, "refs/tags/v1") and not may(collab, "refs/heads/x", "tickets")
    assert not may(ticket, "refs/heads/main") and not may(stranger, "refs/heads/main")
    assert not may(None, "refs/heads/main")
    assert gitaccess.can_read(session, Identity(user=ticket), p, "tickets")
    assert not gitaccess.can_read(session, Identity(user=stranger), p, "tickets")
    projects.update_settings(session, owner, p, {"pull_request_access_only": True})
    assert not may(owner, "refs/heads/main")
    assert gitaccess.can_update_ref(session, Identity(internal=True), p, "main",
                                    "refs/heads/main")
    session.rollback()


def test_hidden_and_missing_repos_look_the_same(session, settings, make_user):
    owner = make_user()
    p = projects.create_project(session, settings, owner, "gh" + owner.name[-8:], "d",
                                private=True)
    p.repo_state = "ready"
    session.flush()
    errors = []
    for path in (p.name + ".git", "nope-" + p.name + ".git", "../x"):
        with pytest.raises(NotFound) as exc:
            gitaccess.resolve(session, Identity(user=make_user()), path)
        errors.append((exc.value.code, exc.value.message))
    assert len(set(errors)) == 1
    assert gitaccess.resolve(session, Identity(user=owner), p.name)[0].id == p.id
    session.rollback()
