"""Magic words in pushed commit messages close and link issues."""

from __future__ import annotations

from test_hooks_common import (  # noqa: F401 - fixtures
    hook_mode_fixture,
    owner_fixture,
    project_fixture,
    work_fixture,
)

from pagurus.core import issues
from pagurus.model import Project

BASE = "http://pagurus.test"


def _enable(session, project: Project, close_status=("Fixed",)) -> None:
    project.plugins = {**(project.plugins or {}), "Pagure": {"active": True}}
    project.close_status = list(close_status)
    session.commit()


def test_fixes_closes_and_relates_comments_on_the_default_branch(session, work, owner,
                                                                  project):
    _enable(session, project)
    one = issues.create_issue(session, owner, project, title="a", content="x", base_url=BASE)
    two = issues.create_issue(session, owner, project, title="b", content="x", base_url=BASE)
    session.commit()
    sha = work.commit(f"Repair the parser\n\nFixes #{one.number}, relates to #{two.number}",
                      email=owner.default_email)
    work.push("HEAD:refs/heads/main", user=owner.name, check=True)
    session.expire_all()
    assert (one.status, one.close_status) == ("Closed", "Fixed")
    assert one.comments[0].comment == (
        f"Commit [{sha[:8]}]({BASE}/{project.url_path}/c/{sha}) fixes this issue")
    assert two.status == "Open"
    assert two.comments[-1].comment.endswith("relates to this ticket")
    # the same commit on another branch, and pushed again: nothing repeats
    work.push("HEAD:refs/heads/other", user=owner.name, check=True)
    session.expire_all()
    assert len([c for c in one.comments if not c.notification]) == 1


def test_magic_words_need_the_plugin_and_the_default_branch(session, work, owner, project):
    issue = issues.create_issue(session, owner, project, title="a", content="x", base_url=BASE)
    session.commit()
    work.commit(f"Fixes #{issue.number}")
    work.push("HEAD:refs/heads/main", user=owner.name, check=True)
    session.expire_all()
    assert issue.status == "Open" and issue.comments == []
    _enable(session, project)
    work.commit(f"Closes #{issue.number}")
    work.push("HEAD:refs/heads/feature", user=owner.name, check=True)
    session.expire_all()
    assert issue.status == "Open" and issue.comments == []
