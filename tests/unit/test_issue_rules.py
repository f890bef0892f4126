"""The tracker's rules (core.issues) on a real database: numbering, who may
see and change what, metadata comments, closing rules, nothing changed on
refusal."""

from __future__ import annotations

import pytest
from conftest import unique
from sqlalchemy import select

from pagurus.core import issues, tags
from pagurus.core import projects as core_projects
from pagurus.core.errors import ForgeError, InvalidInput
from pagurus.core.issue_json import issue_json
from pagurus.model import Event, IssueCustomKey

BASE = "http://pagurus.test"


def new_project(session, settings, owner, **settings_values):
    project = core_projects.create_project(session, settings, owner, unique("p"), "desc")
    project.repo_state = "ready"
    project.priorities = {"1": "High", "2": "Normal", "3": "Low"}
    project.milestones = {"v1": {"date": None, "active": True},
                          "old": {"date": None, "active": False}}
    project.close_status = ["Fixed", "Invalid"]
    project.settings = {**(project.settings or {}), **settings_values}
    session.commit()
    return project


def test_issue_numbers_follow_one_sequence_per_project(session, settings, make_user):
    owner = make_user()
    first, second = new_project(session, settings, owner), new_project(session, settings, owner)
    a = issues.create_issue(session, owner, first, title="a", content="x", base_url=BASE)
    b = issues.create_issue(session, owner, first, title="b", content="x", base_url=BASE)
    c = issues.create_issue(session, owner, second, title="c", content="x", base_url=BASE)
    session.commit()
    assert (a.number, b.number, c.number) == (1, 2, 1)
    assert first.last_number == 2


def test_a_reporter_metadata_is_ignored_but_a_triager_metadata_kept(session, settings,
                                                                     make_user):
    owner, reporter = make_user(), make_user()
    project = new_project(session, settings, owner)
    mine = issues.create_issue(session, reporter, project, title="t", content="c",
                               base_url=BASE, priority="High", tags="bug", assignee=owner.name)
    theirs = issues.create_issue(session, owner, project, title="t", content="c",
                                 base_url=BASE, priority="high", tags="bug, ui",
                                 milestone="v1", assignee=reporter.name)
    session.commit()
    assert (mine.priority, mine.tags, mine.assignee_id) == (None, [], None)
    assert theirs.priority == 1 and theirs.milestone == "v1"
    assert [t.name for t in theirs.tags] == ["bug", "ui"]
    assert theirs.assignee_id == reporter.id
    topics = session.scalars(select(Event.topic).where(Event.project_id == project.id)).all()
    assert topics.count("issue.new") == 2


def test_metadata_changes_leave_one_notification_comment(session, settings, make_user):
    owner, other = make_user(), make_user()
    project = new_project(session, settings, owner)
    issue = issues.create_issue(session, owner, project, title="t", content="c", base_url=BASE)
    messages = issues.update_metadata(session, owner, issue, base_url=BASE, priority="Low",
                                      milestone="v1", tags="a,b", assignee=other.name,
                                      status="Fixed")
    session.commit()
    assert messages == [
        "Issue status updated to: Closed (was: Open)",
        "Issue close_status updated to: Fixed",
        "Issue assigned to " + other.name,
        "Issue priority set to: Low",
        "Issue set to the milestone: v1",
        "Issue tagged with: a, b",
    ]
    note = issue.comments[-1]
    assert note.notification and note.comment.startswith(f"**Metadata Update from @{owner.name}**:")
    assert issue.closed_by_id == owner.id and issue.closed_at is not None
    # nothing to change: no comment
    assert issues.update_metadata(session, owner, issue, base_url=BASE, tags="b, a") == []
    issues.update_metadata(session, owner, issue, base_url=BASE, status="Open")
    session.commit()
    assert (issue.status, issue.close_status, issue.closed_at) == ("Open", None, None)


def test_bad_metadata_changes_nothing(session, settings, make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    issue = issues.create_issue(session, owner, project, title="t", content="c", base_url=BASE)
    session.commit()
    for kwargs in ({"priority": "Urgent"}, {"milestone": "v9"}, {"status": "Bogus"},
                   {"assignee": "nobody-" + unique()}, {"tags": "<script>"},
                   {"depends": "999"}, {"depends": str(issue.number)},
                   {"custom": {"nope": "1"}}):
        with pytest.raises(InvalidInput):
            # a valid change alongside: it must not be applied either
            issues.update_metadata(session, owner, issue, base_url=BASE,
                                   **{"assignee": owner.name, **kwargs})
        session.rollback()
        assert issue.assignee_id is None and issue.priority is None
        assert issue.comments == []


def test_an_issue_blocked_by_an_open_one_cannot_close(session, settings, make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    parent = issues.create_issue(session, owner, project, title="p", content="c", base_url=BASE)
    child = issues.create_issue(session, owner, project, title="c", content="c", base_url=BASE)
    issues.update_metadata(session, owner, child, base_url=BASE, depends=str(parent.number))
    session.commit()
    data = issue_json(session, child, BASE)
    assert data["depends"] == [str(parent.number)]
    assert issue_json(session, parent, BASE)["blocks"] == [str(child.number)]
    with pytest.raises(InvalidInput, match="cannot close"):
        issues.update_metadata(session, owner, child, base_url=BASE, status="Closed")
    session.rollback()
    issues.update_metadata(session, owner, parent, base_url=BASE, status="Closed")
    issues.update_metadata(session, owner, child, base_url=BASE, status="Closed")
    session.commit()
    assert child.status == "Closed"


def test_private_issues_exist_only_for_author_assignee_and_ticket_access(session, settings,
                                                                         make_user):
    owner, author, assignee, triager, stranger = (make_user() for _ in range(5))
    project = new_project(session, settings, owner)
    core_projects.set_user_access(session, owner, project, triager, "ticket")
    issue = issues.create_issue(session, author, project, title="secret", content="c",
                                base_url=BASE, private=True)
    issues.update_metadata(session, owner, issue, base_url=BASE, assignee=assignee.name)
    session.commit()
    for who in (owner, author, assignee, triager):
        assert issues.get_issue(session, who, project, issue.number) is issue
    for who in (stranger, None):
        with pytest.raises(issues.IssueNotFound):
            issues.get_issue(session, who, project, issue.number)
        with pytest.raises(issues.IssueNotFound):
            issues.get_issue(session, who, project, issue.uid)


def test_only_the_comment_author_or_committers_delete_a_comment(session, settings, make_user):
    owner, author, commenter = make_user(), make_user(), make_user()
    project = new_project(session, settings, owner)
    issue = issues.create_issue(session, author, project, title="t", content="c", base_url=BASE)
    comment = issues.add_comment(session, commenter, issue, "hello", base_url=BASE)
    session.commit()
    # the issue author may not delete someone else's comment (Pagure's bug)
    with pytest.raises(issues.IssueNotAllowed):
        issues.delete_comment(session, author, comment)
    with pytest.raises(issues.IssueNotAllowed):
        issues.edit_comment(session, author, comment, "changed", base_url=BASE)
    issues.edit_comment(session, commenter, comment, "hello again", base_url=BASE)
    assert comment.editor_id == commenter.id and comment.edited_on is not None
    issues.delete_comment(session, owner, comment)
    session.commit()
    assert issue.comments == []


def test_reactions_are_kept_per_user_and_twice_is_a_conflict(session, settings, make_user):
    owner, fan = make_user(), make_user()
    project = new_project(session, settings, owner)
    issue = issues.create_issue(session, owner, project, title="t", content="c", base_url=BASE)
    comment = issues.add_comment(session, owner, issue, "hello", base_url=BASE)
    issues.react(session, fan, comment, "Heart")
    with pytest.raises(ForgeError) as err:
        issues.react(session, fan, comment, "Heart")
    assert err.value.status == 409
    session.commit()
    assert comment.reactions == {"Heart": [fan.name]}


def test_custom_fields_are_validated_by_type(session, settings, make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    for i, (name, kind, data) in enumerate((("due", "date", None), ("ci", "link", None),
                                            ("os", "list", ["linux", "bsd"]),
                                            ("easy", "boolean", None))):
        session.add(IssueCustomKey(project_id=project.id, name=name, key_type=kind, data=data,
                                   position=i))
    issue = issues.create_issue(session, owner, project, title="t", content="c", base_url=BASE)
    session.commit()
    for name, bad in (("due", "tomorrow"), ("ci", "javascript:alert(1)"), ("os", "windows"),
                      ("easy", "maybe")):
        with pytest.raises(InvalidInput):
            issues.update_metadata(session, owner, issue, base_url=BASE, custom={name: bad})
        session.rollback()
    messages = issues.update_metadata(session, owner, issue, base_url=BASE, custom={
        "due": "2027-01-31", "ci": "https://ci.example/1", "os": "bsd", "easy": "yes"})
    session.commit()
    assert messages[0] == "Custom field due adjusted to 2027-01-31"
    fields = {f["name"]: f["value"] for f in issue_json(session, issue, BASE)["custom_fields"]}
    assert fields == {"due": "2027-01-31", "ci": "https://ci.example/1", "os": "bsd",
                      "easy": "true"}
    issues.update_metadata(session, owner, issue, base_url=BASE, custom={"os": ""})
    session.commit()
    assert "os" not in {f["name"] for f in issue_json(session, issue, BASE)["custom_fields"]}


def test_a_read_only_or_disabled_tracker_refuses_changes(session, settings, make_user):
    owner = make_user()
    project = new_project(session, settings, owner, issue_tracker_read_only=True)
    with pytest.raises(issues.TrackerReadOnly):
        issues.create_issue(session, owner, project, title="t", content="c", base_url=BASE)
    project.settings = {**project.settings, "issue_tracker": False}
    session.commit()
    with pytest.raises(issues.TrackerDisabled):
        issues.require_tracker(project)


def test_renaming_a_tag_keeps_it_on_its_issues(session, settings, make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    issue = issues.create_issue(session, owner, project, title="t", content="c", base_url=BASE,
                                tags="bug")
    tag = tags.find_tag(session, project, "bug")
    tags.edit_tag(session, owner, project, tag, name="defect", color="#f00")
    session.commit()
    session.refresh(issue)
    assert [t.name for t in issue.tags] == ["defect"]
    tags.delete_tag(session, owner, project, tag)
    session.commit()
    session.refresh(issue)
    assert issue.tags == []
