"""Board rules (core.boards) on a real database: declaring boards and their
columns, putting issues on them, closing/reopening through moves, private
issues kept hidden, and refusals that change nothing."""

from __future__ import annotations

import pytest
from conftest import unique
from sqlalchemy import select

from pagurus.core import boards, issues, tags
from pagurus.core import projects as core_projects
from pagurus.core.errors import ForgeError, InvalidInput, NotAllowed
from pagurus.core.issue_json import issue_json
from pagurus.core.serialize import project_json
from pagurus.model import Board, BoardIssue, IssueComment

BASE = "http://pagurus.test"


def new_project(session, settings, owner, **settings_values):
    project = core_projects.create_project(session, settings, owner, unique("p"), "desc")
    project.repo_state = "ready"
    project.close_status = ["Fixed", "Invalid"]
    project.settings = {**(project.settings or {}), **settings_values}
    session.commit()
    for name in ("bug", "ui"):
        tags.create_tag(session, owner, project, name, "", "#ff0000")
    session.commit()
    return project


COLUMNS = {
    "Backlog": {"rank": 1, "default": True},
    "Doing": {"rank": 2, "default": False, "bg_color": "#fbca04"},
    "Done": {"rank": 3, "default": False, "close_status": "Fixed"},
}


def board_with_columns(session, owner, project, name="dev", tag="bug"):
    boards.set_boards(session, owner, project, {name: {"active": True, "tag": tag}})
    board = boards.get_board(session, project, name)
    boards.set_statuses(session, owner, board, COLUMNS)
    session.commit()
    return board


def column_of(session, board, issue):
    row = session.get(BoardIssue, (board.id, issue.id))
    return None if row is None else row.status.name


def new_issue(session, owner, project, title="t", **kwargs):
    issue = issues.create_issue(session, owner, project, title=title, content="c",
                                base_url=BASE, **kwargs)
    session.commit()
    return issue


def test_an_admin_declares_boards_and_those_left_out_are_deleted(session, settings,
                                                                  make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    made = boards.set_boards(session, owner, project, {
        "dev": {"active": True, "tag": "bug"}, "Design 2": {"tag": "ui"}})
    session.commit()
    assert [(b.name, b.active, b.tag.name) for b in made] == [
        ("Design 2", True, "ui"), ("dev", True, "bug")]
    data = boards.board_json(boards.get_board(session, project, "dev"), BASE)
    assert data["full_url"] == f"{BASE}/{project.url_path}/boards/dev"
    assert data["tag"]["tag"] == "bug" and data["status"] == []
    # the full (non-api, non-public) project JSON carries the boards
    full = project_json(project, BASE, public=False, api=False)
    assert [b["name"] for b in full["boards"]] == ["Design 2", "dev"]
    assert "boards" not in project_json(project, BASE)
    left = boards.set_boards(session, owner, project, {"dev": {"active": False, "tag": "ui"}})
    session.commit()
    assert [(b.name, b.active, b.tag.name) for b in left] == [("dev", False, "ui")]


@pytest.mark.parametrize("spec, code", [
    ({"dev": {"active": True, "tag": "nope"}}, "ENOCODE"),
    ({"dev": {"active": True}}, "EINVALIDREQ"),
    ({"dev": {"active": True, "tag": ""}}, "EINVALIDREQ"),
    ({"<script>": {"tag": "bug"}}, "EINVALIDREQ"),
    ({"dev": "bug"}, "EINVALIDREQ"),
    ({"dev": {"tag": "bug", "active": "perhaps"}}, "EINVALIDREQ"),
    ({}, "EINVALIDREQ"),
    (["dev"], "EINVALIDREQ"),
])
def test_bad_board_declarations_change_nothing(session, settings, make_user, spec, code):
    owner = make_user()
    project = new_project(session, settings, owner)
    board = board_with_columns(session, owner, project)
    with pytest.raises(InvalidInput) as err:
        # the valid board alongside must not be touched either
        boards.set_boards(session, owner, project,
                          {**spec, "other": {"tag": "ui"}} if isinstance(spec, dict) and spec
                          else spec)
    assert err.value.code == code
    # checked before anything was applied: no rollback needed to see it unchanged
    assert [b.name for b in boards.project_boards(session, project)] == ["dev"]
    assert board.active and board.tag.name == "bug" and len(board.statuses) == 3


@pytest.mark.parametrize("level", [None, "ticket", "commit"])
def test_only_project_admins_configure_boards(session, settings, make_user, level):
    owner, user = make_user(), make_user()
    project = new_project(session, settings, owner)
    board = board_with_columns(session, owner, project)
    if level:
        core_projects.set_user_access(session, owner, project, user, level)
        session.commit()
    issue = new_issue(session, owner, project)
    calls = [
        lambda: boards.set_boards(session, user, project, {"x": {"tag": "ui"}}),
        lambda: boards.delete_boards(session, user, project, ["dev"]),
        lambda: boards.set_statuses(session, user, board, {"A": {"rank": 1, "default": True}}),
        lambda: boards.update_issues(session, user, board, {issue.uid: {"status": "Done"}},
                                     base_url=BASE),
    ]
    for call in calls:
        with pytest.raises(NotAllowed) as err:
            call()
        assert err.value.code == "EMODIFYPROJECTNOTALLOWED"
    assert not boards.can_manage(session, user, project)
    assert [b.name for b in boards.project_boards(session, project)] == ["dev"]
    assert column_of(session, board, issue) is None and issue.status == "Open"


def test_columns_follow_the_rules_of_the_spec(session, settings, make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    board = board_with_columns(session, owner, project)
    data = boards.board_json(board, BASE)
    assert [s["name"] for s in data["status"]] == ["Backlog", "Doing", "Done"]
    done = data["status"][2]
    # a close status implies a closing column
    assert (done["close"], done["close_status"], done["default"]) == (True, "Fixed", False)
    assert data["status"][1]["bg_color"] == "#fbca04"
    boards.set_statuses(session, owner, board, {
        "Todo": {"rank": 2, "default": "true"},
        "Nope": {"rank": "1", "default": False, "close_status": "Not a close status"}})
    session.commit()
    data = boards.board_json(board, BASE)
    # ordered by rank; an unknown close status is dropped, and does not close
    assert [(s["name"], s["close"], s["close_status"]) for s in data["status"]] == [
        ("Nope", False, None), ("Todo", False, None)]


@pytest.mark.parametrize("spec", [
    {"A": {"rank": 1, "default": True}, "B": {"rank": 2, "default": True}},
    {"A": {"rank": 1, "default": False}},
    {"A": {"default": True}},
    {"A": {"rank": 1}},
    {"A": {"rank": "one", "default": True}},
    {"A": {"rank": True, "default": True}},
    {"<b>x</b>": {"rank": 1, "default": True}},
    {"A": {"rank": 1, "default": True, "bg_color": "red;background:url(x)"}},
    {"A": {"rank": 1, "default": True, "bg_color": "#12345g"}},
    {"A": [1, True]},
    {},
])
def test_bad_column_sets_change_nothing(session, settings, make_user, spec):
    owner = make_user()
    project = new_project(session, settings, owner)
    board = board_with_columns(session, owner, project)
    with pytest.raises(InvalidInput) as err:
        boards.set_statuses(session, owner, board, spec)
    assert err.value.code == "EINVALIDREQ"
    assert [(s.name, s.default) for s in board.statuses] == [
        ("Backlog", True), ("Doing", False), ("Done", False)]


def test_tagged_issues_fill_the_default_column_and_untagged_ones_leave(session, settings,
                                                                       make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    before = new_issue(session, owner, project, tags="bug")
    board = board_with_columns(session, owner, project)
    after = new_issue(session, owner, project, tags="bug, ui")
    other = new_issue(session, owner, project, tags="ui")
    assert column_of(session, board, before) == "Backlog"
    assert column_of(session, board, after) == "Backlog"
    assert column_of(session, board, other) is None
    issues.update_metadata(session, owner, after, base_url=BASE, tags="ui")
    session.commit()
    assert column_of(session, board, after) is None


def test_moving_to_a_closing_column_closes_and_moving_out_reopens(session, settings,
                                                                  make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    board = board_with_columns(session, owner, project)
    issue = new_issue(session, owner, project, tags="bug")
    boards.update_issues(session, owner, board, {issue.uid: {"status": "Done", "rank": 7}},
                         base_url=BASE)
    session.commit()
    assert (issue.status, issue.close_status, issue.closed_by_id) == ("Closed", "Fixed",
                                                                      owner.id)
    row = session.get(BoardIssue, (board.id, issue.id))
    assert (row.status.name, row.rank) == ("Done", 7)
    note = issue.comments[-1]
    assert note.notification
    assert note.comment.splitlines() == [
        f"**Metadata Update from @{owner.name}**:",
        "- Issue status updated to: Closed (was: Open)",
        "- Issue close_status updated to: Fixed",
        "- Issue moved on the board dev to: Done (was: Backlog)",
    ]
    boards.update_issues(session, owner, board, {issue.uid: {"status": "Doing"}},
                         base_url=BASE)
    session.commit()
    assert (issue.status, issue.close_status) == ("Open", None)
    assert "Issue status updated to: Open (was: Closed)" in issue.comments[-1].comment
    # the same place again: nothing to say
    count = len(issue.comments)
    boards.update_issues(session, owner, board, {issue.uid: {"status": "Doing"}},
                         base_url=BASE)
    session.commit()
    assert len(issue.comments) == count
    on = issue_json(session, issue, BASE, comments=False)["boards"]
    assert [(b["board"]["name"], b["status"]["name"]) for b in on] == [("dev", "Doing")]


def test_adding_by_number_tags_the_issue_and_unknown_status_means_default(session, settings,
                                                                         make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    board = board_with_columns(session, owner, project)
    issue = new_issue(session, owner, project)
    boards.update_issues(session, owner, board, {str(issue.number): {"status": "Whatever"}},
                         base_url=BASE, by="number")
    session.commit()
    assert [t.name for t in issue.tags] == ["bug"]
    assert column_of(session, board, issue) == "Backlog"
    assert issue.comments[-1].comment.splitlines()[1:] == [
        "- Issue tagged with: bug", "- Issue added to the board dev in: Backlog"]


def test_a_blocked_issue_cannot_go_to_done_and_the_batch_changes_nothing(session, settings,
                                                                         make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    board = board_with_columns(session, owner, project)
    parent = new_issue(session, owner, project, title="parent")
    child = new_issue(session, owner, project, title="child", tags="bug")
    free = new_issue(session, owner, project, title="free")
    issues.update_metadata(session, owner, child, base_url=BASE, depends=str(parent.number))
    session.commit()
    comments_before = session.scalars(select(IssueComment.id)).all()
    with pytest.raises(ForgeError) as err:
        boards.update_issues(session, owner, board, {
            str(free.number): {"status": "Doing"},
            str(child.number): {"status": "Done"}}, base_url=BASE, by="number")
    assert err.value.code == "ENOCODE" and "cannot close" in err.value.message
    # refused before any move: nothing to roll back
    assert free.tags == [] and column_of(session, board, free) is None
    assert child.status == "Open" and column_of(session, board, child) == "Backlog"
    assert session.scalars(select(IssueComment.id)).all() == comments_before


@pytest.mark.parametrize("spec, by, code", [
    ({"0" * 32: {"status": "Done"}}, "uid", "ENOISSUE"),
    ({"12": {"status": "Done"}}, "uid", "ENOISSUE"),
    ({"999": {}}, "number", "ENOISSUE"),
    ({"abc": {}}, "number", "EINVALIDREQ"),
    ({"1": {"status": "Done", "rank": "high"}}, "number", "EINVALIDREQ"),
    ({"1": "Done"}, "number", "EINVALIDREQ"),
    ({}, "number", "EINVALIDREQ"),
])
def test_bad_issue_placements_change_nothing(session, settings, make_user, spec, by, code):
    owner = make_user()
    project = new_project(session, settings, owner)
    board = board_with_columns(session, owner, project)
    issue = new_issue(session, owner, project)
    assert issue.number == 1
    with pytest.raises(ForgeError) as err:
        boards.update_issues(session, owner, board, spec, base_url=BASE, by=by)
    assert err.value.code == code
    assert issue.tags == [] and issue.status == "Open" and issue.comments == []


def test_removing_a_column_sends_its_issues_to_the_default_one(session, settings, make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    board = board_with_columns(session, owner, project)
    first = new_issue(session, owner, project, tags="bug")
    second = new_issue(session, owner, project, tags="bug")
    boards.update_issues(session, owner, board, {first.uid: {"status": "Doing"},
                                                 second.uid: {"status": "Doing"}},
                         base_url=BASE)
    session.commit()
    boards.set_statuses(session, owner, board, {
        "Backlog": {"rank": 1, "default": True}, "Done": {"rank": 2, "default": False}})
    session.commit()
    assert [s.name for s in board.statuses] == ["Backlog", "Done"]
    assert column_of(session, board, first) == column_of(session, board, second) == "Backlog"
    columns = boards.column_issues(session, owner, board)
    backlog = board.statuses[0]
    assert [i.number for i in columns[backlog.id]] == [first.number, second.number]


def test_moving_a_card_to_a_place_renumbers_the_column(session, settings, make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    board = board_with_columns(session, owner, project)
    a, b, c = (new_issue(session, owner, project, title=t, tags="bug") for t in "abc")
    boards.move_issue(session, owner, board, c, "Backlog", base_url=BASE, position=0)
    session.commit()
    backlog = board.statuses[0]
    assert [i.title for i in boards.column_issues(session, owner, board)[backlog.id]] == [
        "c", "a", "b"]
    assert c.comments == []  # reordering within a column is not a move
    boards.move_issue(session, owner, board, a, "doing", base_url=BASE)
    session.commit()
    assert column_of(session, board, a) == "Doing"
    with pytest.raises(InvalidInput):
        boards.move_issue(session, owner, board, b, "Nowhere", base_url=BASE)
    assert column_of(session, board, b) == "Backlog"


def test_private_issues_on_a_board_stay_hidden_from_those_who_may_not_see_them(
        session, settings, make_user):
    owner, reporter, triager, outsider = make_user(), make_user(), make_user(), make_user()
    project = new_project(session, settings, owner)
    core_projects.set_user_access(session, owner, project, triager, "ticket")
    session.commit()
    board = board_with_columns(session, owner, project)
    public = new_issue(session, owner, project, title="public", tags="bug")
    secret = issues.create_issue(session, reporter, project, title="secret", content="c",
                                 base_url=BASE, private=True)
    session.commit()
    boards.update_issues(session, owner, board, {secret.uid: {}}, base_url=BASE)
    session.commit()
    backlog = board.statuses[0].id

    def titles(viewer):
        return [i.title for i in boards.column_issues(session, viewer, board)[backlog]]

    assert titles(owner) == titles(triager) == titles(reporter) == ["public", "secret"]
    assert titles(outsider) == titles(None) == ["public"]
    assert public.private is False


def test_the_tracker_switches_apply_to_boards(session, settings, make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    board = board_with_columns(session, owner, project)
    issue = new_issue(session, owner, project, tags="bug")
    project.settings = {**project.settings, "issue_tracker_read_only": True}
    session.commit()
    with pytest.raises(ForgeError) as err:
        boards.update_issues(session, owner, board, {issue.uid: {"status": "Done"}},
                             base_url=BASE)
    assert err.value.code == "ETRACKERREADONLY" and issue.status == "Open"
    project.settings = {**project.settings, "issue_tracker": False}
    session.commit()
    with pytest.raises(ForgeError) as err:
        boards.set_boards(session, owner, project, {"x": {"tag": "ui"}})
    assert (err.value.code, err.value.status) == ("ETRACKERDISABLED", 404)


def test_deleting_boards_by_name(session, settings, make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    board = board_with_columns(session, owner, project)
    boards.set_boards(session, owner, project, {"dev": {"tag": "bug"}, "other": {"tag": "ui"}})
    session.commit()
    issue = new_issue(session, owner, project, tags="bug")
    assert column_of(session, board, issue) == "Backlog"
    with pytest.raises(InvalidInput):
        boards.delete_boards(session, owner, project, ["dev", "ghost"])
    assert len(boards.project_boards(session, project)) == 2
    left = boards.delete_boards(session, owner, project, ["dev"])
    session.commit()
    assert [b.name for b in left] == ["other"]
    assert session.get(Board, board.id) is None
    assert [t.name for t in issue.tags] == ["bug"]  # the issue keeps its tag
    with pytest.raises(boards.BoardNotFound) as err:
        boards.get_board(session, project, "dev")
    assert (err.value.code, err.value.status) == ("EINVALIDREQ", 404)


def test_deleting_a_tag_deletes_its_boards_and_default_columns_can_be_reused(
        session, settings, make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    board_with_columns(session, owner, project)
    boards.set_boards(session, owner, project, {"dev": {"tag": "bug"}, "ux": {"tag": "ui"}})
    ux = boards.get_board(session, project, "ux")
    boards.set_statuses(session, owner, ux, boards.default_statuses_spec(project))
    session.commit()
    data = boards.board_json(ux, BASE)["status"]
    assert [s["name"] for s in data] == ["Backlog", "Triaged", "In Progress", "In Review",
                                         "Done", "Blocked"]
    assert [s["name"] for s in data if s["close"]] == ["Done"]
    assert data[4]["close_status"] == "Fixed"
    tags.delete_tag(session, owner, project, tags.find_tag(session, project, "bug"))
    session.commit()
    session.expire_all()
    assert [b.name for b in boards.project_boards(session, project)] == ["ux"]
