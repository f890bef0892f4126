"""Tracker vocabulary (core.tracker_settings): milestones, priorities, close
statuses, custom fields, quick replies — and what renames and removals do to
existing issues. Refused input changes nothing."""

from __future__ import annotations

import pytest
from conftest import unique
from sqlalchemy import select

from pagurus.core import boards, issues, tags
from pagurus.core import projects as core_projects
from pagurus.core import tracker_settings as ts
from pagurus.core.errors import ForgeError, InvalidInput, NotAllowed
from pagurus.core.serialize import project_json
from pagurus.model import Event, IssueCustomValue

BASE = "http://pagurus.test"


def new_project(session, settings, owner):
    project = core_projects.create_project(session, settings, owner, unique("p"), "desc")
    project.repo_state = "ready"
    session.commit()
    return project


def new_issue(session, owner, project, **kwargs):
    issue = issues.create_issue(session, owner, project, title="t", content="c",
                                base_url=BASE, **kwargs)
    session.commit()
    return issue


def fresh(session, obj):
    session.expire_all()
    return session.get(type(obj), obj.id)


def test_milestones_keep_their_order_and_renames_follow_on_issues(session, settings,
                                                                  make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    ts.set_milestones(session, owner, project, [
        {"name": "v2", "date": "2031-01-31", "active": True},
        {"name": "v1", "date": "", "active": False},
        {"name": "", "date": ""},  # a blank row of the form
    ])
    session.commit()
    assert project.milestones == {"v2": {"date": "2031-01-31", "active": True},
                                  "v1": {"date": None, "active": False}}
    assert project.milestones_keys == ["v2", "v1"]
    a = new_issue(session, owner, project, milestone="v2")
    b = new_issue(session, owner, project)
    issues.update_metadata(session, owner, b, base_url=BASE, milestone="v1")
    session.commit()
    # swap the two names, keeping v2's date with the renamed row
    out = ts.set_milestones(session, owner, project, [
        {"name": "v1", "date": "2031-01-31", "active": True, "orig": "v2"},
        {"name": "v2", "date": "", "active": False, "orig": "v1"},
    ])
    session.commit()
    assert out == ["Milestones updated", "2 issues updated"]
    assert (fresh(session, a).milestone, fresh(session, b).milestone) == ("v1", "v2")
    # a cleared name removes the milestone from its issues
    project = fresh(session, project)
    ts.set_milestones(session, owner, project, [{"name": "", "orig": "v1"},
                                                {"name": "v2", "orig": "v2"}])
    session.commit()
    assert fresh(session, a).milestone is None and fresh(session, b).milestone == "v2"
    assert fresh(session, project).milestones_keys == ["v2"]
    assert ts.set_milestones(session, owner, fresh(session, project),
                             [{"name": "v2", "orig": "v2", "active": True}]) == []


@pytest.mark.parametrize("rows", [
    [{"name": "v1", "date": "next week"}],
    [{"name": "v1"}, {"name": "V1"}],
    [{"name": "a\nb"}],
    [{"name": "x" * 300}],
    [{"name": "v1", "active": "maybe"}],
    "v1,v2",
])
def test_bad_milestones_change_nothing(session, settings, make_user, rows):
    owner = make_user()
    project = new_project(session, settings, owner)
    ts.set_milestones(session, owner, project, [{"name": "keep"}])
    session.commit()
    with pytest.raises(InvalidInput):
        ts.set_milestones(session, owner, project, rows)
    assert project.milestones == {"keep": {"date": None, "active": True}}


def test_priorities_are_stored_like_pagure_and_weights_move_their_issues(session, settings,
                                                                         make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    ts.set_priorities(session, owner, project, [
        {"weight": "2", "title": "Normal"}, {"weight": 1, "title": "High"},
        {"weight": "", "title": ""}])
    ts.set_default_priority(session, owner, project, "2")
    session.commit()
    assert project.priorities == {"1": "High", "2": "Normal", "": ""}
    assert project.default_priority == "Normal"
    assert project_json(project, BASE)["priorities"] == {"1": "High", "2": "Normal", "": ""}
    high = new_issue(session, owner, project, priority="High")
    normal = new_issue(session, owner, project)  # the default priority
    assert (high.priority, normal.priority) == (1, 2)
    # Normal becomes weight 5 and is renamed; High goes away
    ts.set_priorities(session, owner, project, [
        {"weight": "5", "title": "Medium", "orig": "2"}, {"weight": "", "title": "",
                                                          "orig": "1"}])
    session.commit()
    project = fresh(session, project)
    assert project.priorities == {"5": "Medium", "": ""}
    assert (fresh(session, high).priority, fresh(session, normal).priority) == (None, 5)
    assert project.default_priority == "Medium"
    ts.set_priorities(session, owner, project, [{"weight": "7", "title": "Low"}])
    session.commit()
    assert fresh(session, project).default_priority is None
    assert fresh(session, normal).priority is None
    ts.set_priorities(session, owner, fresh(session, project), [])
    assert fresh(session, project).priorities == {}


@pytest.mark.parametrize("rows", [
    [{"weight": "1", "title": "A"}, {"weight": "1", "title": "B"}],
    [{"weight": "1", "title": "A"}, {"weight": "2", "title": "a"}],
    [{"weight": "high", "title": "A"}],
    [{"weight": "1.5", "title": "A"}],
    [{"weight": "1", "title": ""}],
    [{"weight": "99999999999", "title": "A"}],
])
def test_bad_priorities_change_nothing(session, settings, make_user, rows):
    owner = make_user()
    project = new_project(session, settings, owner)
    ts.set_priorities(session, owner, project, [{"weight": 3, "title": "Keep"}])
    session.commit()
    with pytest.raises(InvalidInput):
        ts.set_priorities(session, owner, project, rows)
    assert project.priorities == {"3": "Keep", "": ""}
    with pytest.raises(InvalidInput) as err:
        ts.set_default_priority(session, owner, project, "Urgent")
    assert err.value.code == "EINVALIDPRIORITY" and project.default_priority is None


def test_close_status_renames_follow_on_issues_and_board_columns(session, settings,
                                                                 make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    ts.set_close_statuses(session, owner, project, [{"name": "Fixed"}, {"name": "Dup"},
                                                    {"name": ""}])
    session.commit()
    assert project.close_status == ["Fixed", "Dup"]
    tags.create_tag(session, owner, project, "bug")
    boards.set_boards(session, owner, project, {"dev": {"tag": "bug"}})
    board = boards.get_board(session, project, "dev")
    boards.set_statuses(session, owner, board, {
        "Todo": {"rank": 1, "default": True},
        "Done": {"rank": 2, "default": False, "close_status": "Fixed"},
        "Dropped": {"rank": 3, "default": False, "close_status": "Dup"}})
    fixed = new_issue(session, owner, project)
    dup = new_issue(session, owner, project)
    issues.update_metadata(session, owner, fixed, base_url=BASE, status="Fixed")
    issues.update_metadata(session, owner, dup, base_url=BASE, status="Dup")
    session.commit()
    ts.set_close_statuses(session, owner, project, [{"name": "Resolved", "orig": "Fixed"},
                                                    {"name": "", "orig": "Dup"}])
    session.commit()
    fixed, dup = fresh(session, fixed), fresh(session, dup)
    assert (fixed.status, fixed.close_status) == ("Closed", "Resolved")
    assert (dup.status, dup.close_status) == ("Closed", None)  # still closed
    columns = {s["name"]: s for s in boards.board_json(
        boards.get_board(session, fresh(session, project), "dev"), BASE)["status"]}
    assert (columns["Done"]["close_status"], columns["Done"]["close"]) == ("Resolved", True)
    assert (columns["Dropped"]["close_status"], columns["Dropped"]["close"]) == (None, True)


@pytest.mark.parametrize("name", ["Open", "closed", "ALL", "a\tb", ""])
def test_reserved_or_bad_close_statuses_are_refused(session, settings, make_user, name):
    owner = make_user()
    project = new_project(session, settings, owner)
    ts.set_close_statuses(session, owner, project, [{"name": "Fixed"}])
    session.commit()
    rows = [{"name": "Fixed"}, {"name": name}] if name else [{"name": "Fixed"},
                                                              {"name": "fixed"}]
    with pytest.raises(InvalidInput):
        ts.set_close_statuses(session, owner, project, rows)
    assert project.close_status == ["Fixed"]


def test_custom_fields_rename_retype_and_delete(session, settings, make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    ts.set_custom_keys(session, owner, project, [
        {"name": "Severity", "key_type": "list", "data": "low, high, low", "notify": "on"},
        {"name": "Link", "key_type": "link"},
        {"name": "Note", "key_type": "text"},
        {"name": "", "key_type": "text"}])
    session.commit()
    assert project_json(project, BASE)["custom_keys"] == [
        ["Severity", "list"], ["Link", "link"], ["Note", "text"]]
    keys = {k.name: k for k in issues.custom_keys(session, project)}
    assert keys["Severity"].data == ["low", "high"] and keys["Severity"].notify
    issue = new_issue(session, owner, project,
                      custom={"Severity": "high", "Note": "42", "Link": "https://a.example"})
    # rename Severity (its value follows), make Note a date (42 is not a date),
    # give the list new options (high goes), drop Link, add Due
    ts.set_custom_keys(session, owner, project, [
        {"name": "Due", "key_type": "date"},
        {"name": "Level", "key_type": "list", "data": "low, mid", "orig": "Severity"},
        {"name": "Note", "key_type": "date", "orig": "Note"}])
    session.commit()
    assert project_json(fresh(session, project), BASE)["custom_keys"] == [
        ["Due", "date"], ["Level", "list"], ["Note", "date"]]
    assert session.scalars(select(IssueCustomValue).where(
        IssueCustomValue.issue_id == issue.id)).all() == []
    issues.update_metadata(session, owner, fresh(session, issue), base_url=BASE,
                           custom={"Level": "mid"})
    session.commit()
    # swapping two names keeps each value with its field
    ts.set_custom_keys(session, owner, fresh(session, project), [
        {"name": "Note", "key_type": "list", "data": "low, mid", "orig": "Level"},
        {"name": "Level", "key_type": "date", "orig": "Note"}])
    session.commit()
    values = {v.key.name: v.value for v in session.scalars(select(IssueCustomValue).where(
        IssueCustomValue.issue_id == issue.id))}
    assert values == {"Note": "mid"}


@pytest.mark.parametrize("rows", [
    [{"name": "Size", "key_type": "list", "data": ""}],
    [{"name": "Size", "key_type": "number"}],
    [{"name": "a:b", "key_type": "text"}],
    [{"name": "Size", "key_type": "text"}, {"name": "size", "key_type": "text"}],
    [{"name": "Size", "key_type": "text", "notify": "sometimes"}],
])
def test_bad_custom_fields_change_nothing(session, settings, make_user, rows):
    owner = make_user()
    project = new_project(session, settings, owner)
    ts.set_custom_keys(session, owner, project, [{"name": "Keep", "key_type": "text"}])
    session.commit()
    with pytest.raises(InvalidInput):
        ts.set_custom_keys(session, owner, project, rows)
    assert [(k.name, k.key_type) for k in issues.custom_keys(session, project)] == [
        ("Keep", "text")]


def test_quick_replies_keep_order_and_drop_empty_ones(session, settings, make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    ts.set_quick_replies(session, owner, project, ["Thanks!\r\nWe'll look", "  ", "Dup?"])
    session.commit()
    assert project.quick_replies == ["Thanks!\nWe'll look", "Dup?"]
    for bad in (["x" * 20_000], [1, 2], "just text", ["ok"] * 101):
        with pytest.raises(InvalidInput):
            ts.set_quick_replies(session, owner, project, bad)
        assert project.quick_replies == ["Thanks!\nWe'll look", "Dup?"]
    topics = session.scalars(select(Event.topic).where(Event.project_id == project.id)).all()
    assert "project.edit" in topics


@pytest.mark.parametrize("level", [None, "ticket", "commit"])
def test_only_admins_change_the_tracker_vocabulary(session, settings, make_user, level):
    owner, user = make_user(), make_user()
    project = new_project(session, settings, owner)
    if level:
        core_projects.set_user_access(session, owner, project, user, level)
        session.commit()
    for call in (lambda: ts.set_milestones(session, user, project, [{"name": "v1"}]),
                 lambda: ts.set_priorities(session, user, project, [{"weight": 1,
                                                                     "title": "x"}]),
                 lambda: ts.set_default_priority(session, user, project, ""),
                 lambda: ts.set_close_statuses(session, user, project, [{"name": "Fixed"}]),
                 lambda: ts.set_custom_keys(session, user, project, [{"name": "x",
                                                                      "key_type": "text"}]),
                 lambda: ts.set_quick_replies(session, user, project, ["hi"])):
        with pytest.raises(NotAllowed):
            call()
    assert (project.milestones, project.priorities, project.close_status,
            project.quick_replies) == ({}, {}, [], [])


def test_errors_are_forge_errors_with_field_details(session, settings, make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    with pytest.raises(ForgeError) as err:
        ts.set_milestones(session, owner, project, [{"name": "v1", "date": "31/12/2030"}])
    assert err.value.status == 400 and err.value.errors == {
        "milestones": ["a date as YYYY-MM-DD"]}
