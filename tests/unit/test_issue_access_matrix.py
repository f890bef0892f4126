"""Who may do what on an issue: every action × every role × every tracker
state, through the rules every surface calls (core.issues). Each cell runs
the real action in a savepoint and undoes it."""

from __future__ import annotations

import pytest
from conftest import unique

from pagurus.core import issues
from pagurus.core import projects as core_projects
from pagurus.core.errors import ForgeError

BASE = "http://pagurus.test"
ROLES = ("anonymous", "reporter", "unrelated", "ticket", "commit", "admin", "assignee")
STATES = ("public", "private", "read-only", "disabled")

# the roles allowed each action on a public issue of an open tracker
PUBLIC = {
    "view": set(ROLES),
    "create": set(ROLES) - {"anonymous"},
    "comment": set(ROLES) - {"anonymous"},
    "react": set(ROLES) - {"anonymous"},
    "subscribe": set(ROLES) - {"anonymous"},
    "edit": {"reporter", "ticket", "commit", "admin"},
    "status": {"assignee", "ticket", "commit", "admin"},
    "metadata": {"ticket", "commit", "admin"},
    "assign": {"assignee", "ticket", "commit", "admin"},
    "delete": {"commit", "admin"},
    "delete-others-comment": {"commit", "admin"},
    "edit-others-comment": {"ticket", "commit", "admin"},
}


def expected(action: str, state: str) -> set[str]:
    allowed = PUBLIC[action]
    if state == "disabled":
        return set()
    if state == "read-only":
        return allowed if action == "view" else set()
    if state == "private":
        seeing = {"reporter", "assignee", "ticket", "commit", "admin"}
        # creating is about the project, not this issue
        return allowed if action == "create" else allowed & seeing
    return allowed


def _act(action, session, user, issue, ctx):
    project = issue.project
    if action == "view":
        issues.require_tracker(project)
        issues.get_issue(session, user, project, issue.number)
    elif action == "create":
        issues.create_issue(session, user, project, title="t", content="c", base_url=BASE)
    elif action == "comment":
        issues.add_comment(session, user, issue, "hi", base_url=BASE)
    elif action == "react":
        issues.react(session, user, ctx["comment"], "Heart")
    elif action == "subscribe":
        issues.set_subscription(session, user, issue, True)
    elif action == "edit":
        issues.edit_issue(session, user, issue, base_url=BASE, title="new", content="new")
    elif action == "status":
        issues.update_metadata(session, user, issue, base_url=BASE, status="Closed")
    elif action == "metadata":
        issues.update_metadata(session, user, issue, base_url=BASE, tags="triaged")
    elif action == "assign":
        issues.update_metadata(session, user, issue, base_url=BASE,
                               assignee=ctx["users"]["ticket"].name)
    elif action == "delete":
        issues.drop_issue(session, user, issue, base_url=BASE)
    elif action == "delete-others-comment":
        issues.delete_comment(session, user, ctx["comment"])
    elif action == "edit-others-comment":
        issues.edit_comment(session, user, ctx["comment"], "rewritten", base_url=BASE)
    else:
        raise AssertionError(action)


@pytest.fixture(scope="module")
def world(app):
    """One project per tracker state, with a user in each role."""
    from pagurus.model import User

    factory = app.extensions["pagurus"]["sessions"]
    session = factory()

    def user():
        name = unique("m")
        u = User(name=name, default_email=f"{name}@example.com")
        session.add(u)
        return u

    owner = user()
    users = {r: user() for r in ROLES if r != "anonymous"}
    users["anonymous"] = None
    commenter = user()
    session.flush()
    out = {}
    for state in STATES:
        project = core_projects.create_project(session, app.extensions["pagurus"]["settings"],
                                               owner, unique("am"), "d")
        project.repo_state = "ready"
        for role in ("ticket", "commit", "admin"):
            core_projects.set_user_access(session, owner, project, users[role], role)
        # a third party whose comment the roles try to edit and delete
        core_projects.set_user_access(session, owner, project, commenter, "ticket")
        issue = issues.create_issue(session, users["reporter"], project, title="t",
                                    content="c", base_url=BASE, private=state == "private")
        issues.update_metadata(session, owner, issue, base_url=BASE,
                               assignee=users["assignee"].name)
        comment = issues.add_comment(session, commenter, issue, "mine", base_url=BASE)
        if state == "read-only":
            project.settings = {**project.settings, "issue_tracker_read_only": True}
        if state == "disabled":
            project.settings = {**project.settings, "issue_tracker": False}
        out[state] = (project.id, issue.id, comment.id)
    session.commit()
    ids = {r: (u.id if u else None) for r, u in users.items()}
    session.close()
    return factory, ids, out


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", sorted(PUBLIC))
def test_each_role_may_do_exactly_what_the_rules_allow(world, action, state):
    from pagurus.model import Issue, IssueComment, User

    factory, ids, states = world
    _project_id, issue_id, comment_id = states[state]
    allowed = set()
    session = factory()
    try:
        for role in ROLES:
            user = session.get(User, ids[role]) if ids[role] else None
            issue = session.get(Issue, issue_id)
            ctx = {"comment": session.get(IssueComment, comment_id),
                   "users": {r: session.get(User, i) for r, i in ids.items() if i}}
            savepoint = session.begin_nested()
            try:
                _act(action, session, user, issue, ctx)
                session.flush()
                allowed.add(role)
            except ForgeError:
                pass
            finally:
                savepoint.rollback()
                session.expire_all()
    finally:
        session.rollback()
        session.close()
    assert allowed == expected(action, state)
