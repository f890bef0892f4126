"""Who may do what on a pull request: every action × every role × every
state, through the rules every surface calls (core.pulls, core.flags). Each
cell runs the real action in a savepoint and undoes it.

The expectations are the spec's (features §c, API v0 §2.5). Where the two
specs disagree, or core departs from Pagure on purpose (its module docstring
says so), the choice is named next to the rule below."""

from __future__ import annotations

import pygit2
import pytest
from commithelp import commit
from conftest import unique

from pagurus.core import flags as core_flags
from pagurus.core import projects as core_projects
from pagurus.core import pulls
from pagurus.core.errors import ForgeError
from pagurus.git.repos import fork_bare, init_bare
from pagurus.paths import repo_path

BASE = "http://pagurus.test"
ROLES = ("anonymous", "author", "unrelated", "ticket", "commit", "admin", "owner", "assignee")
STATES = ("open", "closed", "merged", "disabled", "pr-access-only")
SEEING = set(ROLES) - {"anonymous"}  # anyone logged in, on a public project
COMMITTERS = {"commit", "admin", "owner"}
TICKET_UP = {"ticket"} | COMMITTERS

# the roles allowed each action on an open pull request of a public project
OPEN = {
    "view": set(ROLES),
    "comment": SEEING,
    "inline-comment": SEEING,
    "react": SEEING,
    "vote-counted": SEEING,
    "subscribe": SEEING,
    "edit-own-comment": SEEING,  # the author of a comment, while the PR is open
    # spec §c.5 says committers; core gives it to ticket access on purpose
    "edit-others-comment": TICKET_UP,
    "delete-own-comment": SEEING,
    "delete-others-comment": COMMITTERS,
    # API §2.5: ticket access, author or assignee (features §c.4 says "committers
    # or author" for the UI page; core follows the API rule on both surfaces)
    "edit": {"author", "assignee"} | TICKET_UP,
    "assign": {"assignee"} | TICKET_UP,  # API §2.5: ticket access or the assignee
    "tag": {"author"} | TICKET_UP,  # §c.4: repo users or the author
    "close": {"author"} | COMMITTERS,
    "reopen": {"author"} | COMMITTERS,
    "merge": COMMITTERS,
    # the author allowed rebasing: target committers, and the author who
    # commits to the source fork
    "rebase": {"author"} | COMMITTERS,
    "flag": COMMITTERS,  # commit flags need commit access (core.flags)
}


def expected(action: str, state: str) -> set[str]:
    allowed = OPEN[action]
    if state == "disabled":
        return set()
    if state in ("closed", "merged"):
        # open pull requests only; a merged one is never reopened
        if action in ("edit", "merge", "rebase") or (state, action) == ("merged", "reopen"):
            return set()
        if action == "edit-own-comment":  # the comment's author while open; then ticket up
            return TICKET_UP
    # pull_request_access_only is about pushes to the main repo: no effect here
    return allowed


def _act(action, session, user, pr, ctx):
    """The action as a surface would run it; a ForgeError is a refusal."""
    if action == "view":
        pulls.require_pulls(pr.project)
        pulls.get_pull(session, user, pr.project, pr.number)
    elif action == "comment":
        pulls.add_comment(session, user, pr, "hi", base_url=BASE)
    elif action == "inline-comment":
        pulls.add_comment(session, user, pr, "here", base_url=BASE, commit=pr.commit_stop,
                          filename="a.txt", row=2)
    elif action == "react":
        pulls.react(session, user, ctx["other"], "Heart")
    elif action == "vote-counted":
        before = pulls.score(pr)
        pulls.add_comment(session, user, pr, "+1", base_url=BASE)
        session.flush()
        assert pulls.score(pr) == before + 1
    elif action == "subscribe":
        pulls.set_subscription(session, user, pr, True)
    elif action == "edit-own-comment":
        pulls.edit_comment(session, user, ctx["own"] or ctx["other"], "mine, better",
                           base_url=BASE)
    elif action == "edit-others-comment":
        pulls.edit_comment(session, user, ctx["other"], "rewritten", base_url=BASE)
    elif action == "delete-own-comment":
        pulls.delete_comment(session, user, ctx["own"] or ctx["other"])
    elif action == "delete-others-comment":
        pulls.delete_comment(session, user, ctx["other"])
    elif action == "edit":
        pulls.edit_pull(session, user, pr, base_url=BASE, title="new", initial_comment="new")
    elif action == "assign":
        pulls.update_metadata(session, user, pr, base_url=BASE,
                              assignee=ctx["users"]["ticket"].name)
    elif action == "tag":
        pulls.update_metadata(session, user, pr, base_url=BASE, tags="review")
    elif action == "close":
        pulls.close(session, user, pr, base_url=BASE)
    elif action == "reopen":
        pulls.reopen(session, user, pr, base_url=BASE)
    elif action == "merge":
        refusal = pulls.merge_refusal(session, user, pr)
        if refusal is not None:
            raise refusal
    elif action == "rebase":
        # what the rebase task checks before touching git (tasks.pulls._rebase)
        pulls.require_pulls(pr.project)
        if pr.status != pulls.OPEN or not pulls.can_rebase(session, user, pr):
            raise pulls.PullNotAllowed("no rebase")
    elif action == "flag":
        if user is None:
            raise pulls.PullNotAllowed("anonymous")
        core_flags.add_pull_flag(session, user, None, pr, username="ci", comment="ok",
                                 url="https://ci.example/1", base_url=BASE)
    else:
        raise AssertionError(action)


@pytest.fixture(scope="module")
def world(app):
    """One project per state, each with a pull request from the author's
    fork, a user in each role and a comment of each role's own."""
    from pagurus.model import User

    conf = app.extensions["pagurus"]["settings"]
    factory = app.extensions["pagurus"]["sessions"]
    session = factory()

    def user():
        name = unique("pm")
        u = User(name=name, default_email=f"{name}@example.com")
        session.add(u)
        return u

    owner = user()
    users = {r: user() for r in ROLES if r not in ("anonymous", "owner")}
    users["owner"] = owner
    users["anonymous"] = None
    commenter = user()
    session.flush()
    out = {}
    for state in STATES:
        project = core_projects.create_project(session, conf, owner, unique("pam"), "d")
        core_projects.mark_ready(project)
        for role in ("ticket", "commit", "admin"):
            core_projects.set_user_access(session, owner, project, users[role], role)
        core_projects.set_user_access(session, owner, project, commenter, "ticket")
        session.commit()
        repo = init_bare(repo_path(conf.data_dir, "main", project.fullname), "main")
        commit(repo, "main", {"a.txt": "one\ntwo\nthree\n"}, "Initial")
        fork = core_projects.fork_project(session, users["author"], project)
        core_projects.mark_ready(fork)
        session.commit()
        fork_path = repo_path(conf.data_dir, "main", fork.fullname)
        fork_bare(repo_path(conf.data_dir, "main", project.fullname), fork_path)
        commit(pygit2.Repository(str(fork_path)), "topic", {"a.txt": "one\nTWO\nthree\n"},
               "Change", "main")
        pr = pulls.create_pull(session, conf.data_dir, users["author"], project,
                               branch_to="main", branch_from="topic", title="t",
                               base_url=BASE, source=fork, allow_rebase=True)
        pulls.update_metadata(session, owner, pr, base_url=BASE,
                              assignee=users["assignee"].name)
        own = {r: pulls.add_comment(session, u, pr, f"by {r}", base_url=BASE).id
               for r, u in users.items() if u is not None}
        other = pulls.add_comment(session, commenter, pr, "someone else's", base_url=BASE)
        if state == "closed":
            pulls.close(session, owner, pr, base_url=BASE)
        if state == "merged":  # what the merge task records once the branch moved
            pulls.mark_merged(session, owner, pr, base_url=BASE)
        if state == "disabled":
            project.settings = {**project.settings, "pull_requests": False}
        if state == "pr-access-only":
            project.settings = {**project.settings, "pull_request_access_only": True}
        session.commit()
        out[state] = (pr.id, own, other.id)
    ids = {r: (u.id if u else None) for r, u in users.items()}
    session.close()
    return factory, ids, out


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", sorted(OPEN))
def test_each_role_may_do_exactly_what_the_pull_request_rules_allow(world, action, state):
    from pagurus.model import PullRequest, PullRequestComment, User

    factory, ids, states = world
    pr_id, own_ids, other_id = states[state]
    allowed = set()
    session = factory()
    try:
        for role in ROLES:
            user = session.get(User, ids[role]) if ids[role] else None
            pr = session.get(PullRequest, pr_id)
            ctx = {"other": session.get(PullRequestComment, other_id),
                   "own": session.get(PullRequestComment, own_ids[role])
                   if role in own_ids else None,
                   "users": {r: session.get(User, i) for r, i in ids.items() if i}}
            savepoint = session.begin_nested()
            try:
                _act(action, session, user, pr, ctx)
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
