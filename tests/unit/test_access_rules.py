"""core.access: who may see, ticket, commit (per branch) and admin a project."""

from datetime import timedelta

import pytest

from pagurus.core import access, groups, projects
from pagurus.model import utcnow


@pytest.fixture
def world(session, settings, make_user):
    owner, ticket, collab, committer, admin, stranger, member = (
        make_user() for _ in range(7))
    site_admin = make_user(admin=True)
    project = projects.create_project(session, settings, owner, "acc" + owner.name[-8:],
                                      "access test", private=True)
    projects.set_user_access(session, owner, project, ticket, "ticket")
    projects.set_user_access(session, owner, project, collab, "collaborator",
                             branches="feature/*, docs")
    projects.set_user_access(session, owner, project, committer, "commit")
    projects.set_user_access(session, owner, project, admin, "admin")
    group = groups.create_group(session, "g" + member.name[-8:], member)
    projects.set_group_access(session, owner, project, group, "commit")
    session.commit()
    return dict(project=project, owner=owner, ticket=ticket, collab=collab,
                committer=committer, admin=admin, stranger=stranger, member=member,
                site_admin=site_admin)


def test_private_project_is_seen_only_by_those_with_access(session, world):
    p = world["project"]
    assert not access.can_see(session, None, p)
    assert not access.can_see(session, world["stranger"], p)
    for who in ("owner", "ticket", "collab", "committer", "admin", "member", "site_admin"):
        assert access.can_see(session, world[who], p), who


def test_levels_are_ordered_and_groups_count(session, world):
    p = world["project"]
    assert access.level(session, world["owner"], p) == access.Level.OWNER
    assert access.level(session, world["member"], p) == access.Level.COMMIT
    assert access.level(session, world["stranger"], p) == access.Level.NONE
    assert access.can_ticket(session, world["ticket"], p)
    assert not access.can_commit(session, world["ticket"], p, "main")
    assert access.can_commit(session, world["member"], p, "main")
    assert access.can_admin(session, world["admin"], p)
    assert not access.can_admin(session, world["committer"], p)
    assert access.can_admin(session, world["site_admin"], p)


def test_collaborators_push_only_to_their_branch_patterns(session, world):
    p, c = world["project"], world["collab"]
    assert access.can_commit(session, c, p, "feature/x")
    assert access.can_commit(session, c, p, "docs")
    assert not access.can_commit(session, c, p, "main")
    assert not access.can_commit(session, c, p, "docs-old")
    assert access.can_commit(session, c, p, None)  # "somewhere", for UI buttons


def test_blocked_users_lose_everything(session, world):
    p, committer = world["project"], world["committer"]
    committer.blocked_until = utcnow() + timedelta(days=1)
    assert not access.can_see(session, committer, p)
    assert not access.can_commit(session, committer, p, "main")
    committer.blocked_until = utcnow() - timedelta(seconds=1)
    assert access.can_commit(session, committer, p, "main")
    session.rollback()


def test_project_blocklist_stops_commits_but_not_reading(session, world):
    p, committer = world["project"], world["committer"]
    p.block_users = [committer.name]
    assert access.can_see(session, committer, p)
    assert not access.can_commit(session, committer, p, "main")
    assert not access.can_ticket(session, committer, p)
    session.rollback()


def test_read_only_project_refuses_commits(session, world):
    p = world["project"]
    p.read_only = True
    assert not access.can_commit(session, world["owner"], p, "main")
    session.rollback()


def test_branch_patterns_are_globs_on_refs_heads():
    assert access.branch_matches("feature/*", "feature/a/b")
    assert access.branch_matches("a, b", "refs/heads/b")
    assert not access.branch_matches("", "main")
    assert not access.branch_matches("ma", "main")
