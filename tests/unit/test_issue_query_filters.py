"""Issue-list filters (core.issue_query) on a real database: every filter,
negations, ordering, counts, and bad input refused with Pagure's codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from issue_query_data import build, keys, numbers
from werkzeug.datastructures import MultiDict

from pagurus.core import issue_query
from pagurus.core.errors import InvalidInput


@pytest.fixture
def t(session, settings, make_user):
    return build(session, settings, make_user)


def found(session, t, args=None, viewer="owner"):
    who = getattr(t, viewer) if viewer else None
    return keys(t, numbers(session, who, t, args))


def test_open_issues_by_default_closed_all_and_close_status(session, t):
    assert found(session, t) == {"crash", "theme", "secret", "hostile"}
    assert found(session, t, {"status": "Closed"}) == {"typo", "slow"}
    assert found(session, t, {"status": "closed"}) == {"typo", "slow"}
    assert len(found(session, t, {"status": "all"})) == 6
    assert found(session, t, {"status": "fixed"}) == {"typo"}
    assert found(session, t, {"close_status": "Invalid"}) == {"slow"}
    with pytest.raises(InvalidInput) as err:
        found(session, t, {"status": "Bogus"})
    assert err.value.code == "EINVALIDREQ"


def test_tags_any_of_and_negation(session, t):
    assert found(session, t, {"tags": "bug", "status": "all"}) == {"crash", "slow"}
    assert found(session, t, MultiDict([("tags", "ui"), ("tags", "feature")])) == {
        "crash", "theme"}
    assert found(session, t, {"tags": "BUG"}) == {"crash"}
    assert found(session, t, {"tags": "!bug"}) == {"theme", "secret", "hostile"}
    assert found(session, t, {"tags": "bug, !ui", "status": "all"}) == {"slow"}
    assert found(session, t, {"tags": "no-such-tag"}) == set()


def test_assignee_by_name_negated_any_or_none(session, t):
    assert found(session, t, {"assignee": t.triager.name}) == {"crash"}
    assert found(session, t, {"assignee": "!" + t.triager.name}) == {
        "theme", "secret", "hostile"}
    assert found(session, t, {"assignee": "true", "status": "all"}) == {"crash", "slow"}
    assert found(session, t, {"assignee": "1", "status": "all"}) == {"crash", "slow"}
    assert found(session, t, {"assignee": "false"}) == {"theme", "secret", "hostile"}
    assert found(session, t, {"assignee": "0", "status": "Closed"}) == {"typo"}
    assert found(session, t, {"assignee": "nobody-at-all"}) == set()


def test_author(session, t):
    assert found(session, t, {"author": t.reporter.name}) == {"secret", "hostile"}
    assert found(session, t, {"author": t.reporter.name.upper()}) == {"secret", "hostile"}
    assert found(session, t, {"author": "!" + t.owner.name, "status": "all"}) == {
        "secret", "hostile", "slow"}


def test_milestones_none_and_no_stones(session, t):
    assert found(session, t, {"milestones": "v1"}) == {"crash"}
    assert found(session, t, MultiDict([("milestones", "v1"), ("milestones", "v2")])) == {
        "crash", "theme"}
    assert found(session, t, {"milestones": "none"}) == {"secret", "hostile"}
    assert found(session, t, {"milestone": "v2"}) == {"theme"}
    assert found(session, t, {"no_stones": "true"}) == {"secret", "hostile"}
    assert found(session, t, {"no_stones": "false"}) == {"crash", "theme"}
    assert found(session, t, {"no_stones": "1", "milestones": "v1"}) == {
        "crash", "secret", "hostile"}


def test_priority_by_key_or_title_and_invalid(session, t):
    assert found(session, t, {"priority": "1"}) == {"crash"}
    assert found(session, t, {"priority": "low"}) == {"theme"}
    assert found(session, t, {"priority": "Normal", "status": "all"}) == {"typo"}
    for bad in ("Urgent", "7"):
        with pytest.raises(InvalidInput) as err:
            found(session, t, {"priority": bad})
        assert err.value.code == "EINVALIDPRIORITY"


def test_since_as_epoch_or_date_and_bad_values(session, t):
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert found(session, t, {"since": str(int(tomorrow.timestamp()))}) == set()
    assert found(session, t, {"since": "2000-01-01"}) == {"crash", "theme", "secret", "hostile"}
    assert found(session, t, {"since": tomorrow.date().isoformat()}) == set()
    for bad, code in (("99999999999999999999", "ETIMESTAMP"), ("yesterday", "EDATETIME"),
                      ("2024-13-45", "EDATETIME")):
        with pytest.raises(InvalidInput) as err:
            found(session, t, {"since": bad})
        assert err.value.code == code


def test_ranges_of_dates(session, t):
    today = datetime.now(UTC).date().isoformat()
    assert len(found(session, t, {"status": "all", "created": f"{today}..{today}"})) == 6
    assert found(session, t, {"status": "all", "created": "..2000-01-01"}) == set()
    assert found(session, t, {"status": "all", "closed": f"{today}.."}) == {"typo", "slow"}
    f = issue_query.parse_filters(session, t.project, {"created": f"{today}..{today}"})
    assert f.created[0] is not None and f.created[1] > f.created[0]
    f = issue_query.parse_filters(session, t.project, {"closed": "..2000-01-01"})
    assert f.closed[0] is None and f.closed[1] is not None
    with pytest.raises(InvalidInput):
        issue_query.parse_filters(session, t.project, {"updated": "then..now"})


def test_custom_fields_with_wildcards(session, t):
    args = MultiDict([("ckeys", "os"), ("cvalue", "linux debian"), ("status", "all")])
    assert found(session, t, args) == {"slow"}
    args = MultiDict([("ckeys", "os"), ("cvalue", "Lin*"), ("status", "all")])
    assert found(session, t, args) == {"slow"}
    args = MultiDict([("ckeys", "os"), ("cvalue", "*bian"), ("status", "all")])
    assert found(session, t, args) == {"slow"}
    args = MultiDict([("ckeys", "os"), ("cvalue", "Windows"), ("status", "all")])
    assert found(session, t, args) == set()
    # an empty pair (a blank form row) is ignored; a key without a value refused
    args = MultiDict([("ckeys", ""), ("cvalue", ""), ("status", "all")])
    assert len(found(session, t, args)) == 6
    with pytest.raises(InvalidInput):
        found(session, t, MultiDict([("ckeys", "os")]))


def test_private_flag_and_query_id(session, t):
    assert found(session, t, {"private": "true"}) == {"secret"}
    assert found(session, t, {"private": "false"}) == {"crash", "theme", "hostile"}
    number = str(t.n("theme"))
    assert "theme" in found(session, t, {"query_id": number})
    with pytest.raises(InvalidInput):
        found(session, t, {"query_id": "1 OR 1=1"})


def test_search_tokens_refine_the_filters(session, t):
    assert found(session, t, {"search_pattern": "status:Closed tags:bug"}) == {"slow"}
    assert found(session, t, {"search_pattern": "priority:high"}) == {"crash"}
    assert found(session, t, {"search_pattern": f"author:{t.reporter.name}"}) == {
        "secret", "hostile"}
    assert found(session, t, {"search_pattern": f"assignee:{t.triager.name}"}) == {"crash"}
    assert found(session, t, {"search_pattern": "milestones:v2"}) == {"theme"}
    assert found(session, t, {"search_pattern": 'os:"Linux Debian" status:all'}) == {"slow"}
    assert found(session, t, {"search_pattern": "os:Lin* status:all"}) == {"slow"}
    with pytest.raises(InvalidInput) as err:
        found(session, t, {"search_pattern": "priority:urgent"})
    assert err.value.code == "EINVALIDPRIORITY"


def _order(session, t, **args):
    return numbers(session, t.owner, t, {"status": "all", **args})


def test_ordering(session, t):
    n = t.n
    assert _order(session, t) == sorted(_order(session, t), reverse=True)
    assert _order(session, t, order="asc") == sorted(_order(session, t))
    # highest priority (lowest weight) first; issues without one last
    by_priority = _order(session, t, order_key="priority")
    assert by_priority[:3] == [n("crash"), n("typo"), n("theme")]
    assert _order(session, t, order_key="priority", order="asc")[:3] == [
        n("theme"), n("typo"), n("crash")]
    titles = [t.issues[k].title.lower() for k in t.issues]
    by_title = _order(session, t, order_key="title", order="asc")
    assert by_title == [next(x.number for x in t.issues.values()
                                          if x.title.lower() == title)
                                     for title in sorted(titles)]
    by_assignee = _order(session, t, order_key="assignee", order="asc")
    assert set(by_assignee[:2]) == {n("crash"), n("slow")}
    assert _order(session, t, order_key="nonsense") == _order(session, t)
    assert _order(session, t, order_key="user", order="asc")


def test_counts_follow_the_filters_and_visibility(session, t):
    f = issue_query.parse_filters(session, t.project, {})
    assert issue_query.status_counts(session, t.owner, t.project, f) == {
        "Open": 4, "Closed": 2, "all": 6}
    assert issue_query.status_counts(session, t.stranger, t.project, f) == {
        "Open": 3, "Closed": 2, "all": 5}
    assert issue_query.status_counts(session, None, t.project, f)["Open"] == 3
    assert issue_query.count(session, t.owner, t.project, f) == 4
    assert issue_query.count(session, None, t.project, f) == 3
    tagged = issue_query.parse_filters(session, t.project, {"tags": "bug"})
    assert issue_query.status_counts(session, None, t.project, tagged) == {
        "Open": 1, "Closed": 1, "all": 2}


def test_private_issues_are_invisible_to_others_but_not_their_people(session, t):
    everything = {"status": "all"}
    assert "secret" not in found(session, t, everything, viewer=None)
    assert "secret" not in found(session, t, everything, viewer="stranger")
    assert "secret" in found(session, t, everything, viewer="reporter")
    assert "secret" in found(session, t, everything, viewer="triager")
    # a filter naming it does not reveal it either
    assert found(session, t, {"private": "true"}, viewer="stranger") == set()
    assert found(session, t, {"author": t.reporter.name}, viewer=None) == {"hostile"}


def test_pages(session, t):
    f = issue_query.parse_filters(session, t.project, {"status": "all", "order": "asc"})
    stmt = issue_query.issues_query(session, t.owner, t.project, f)
    one = issue_query.page_of(session, stmt, 1, 4)
    two = issue_query.page_of(session, stmt, 2, 4)
    assert len(one) == 4 and len(two) == 2
    assert [i.number for i in one + two] == sorted(i.number for i in t.issues.values())
    assert issue_query.page_of(session, stmt, 3, 4) == []


def test_comment_counts_leave_metadata_notes_out(session, t):
    ids = [t.issues[k].id for k in ("theme", "typo", "crash")]
    counts = issue_query.comment_counts(session, ids)
    assert counts.get(t.issues["theme"].id) == 1
    assert t.issues["typo"].id not in counts  # only its "Metadata Update" note
    assert issue_query.comment_counts(session, []) == {}


def test_roadmap_helpers(session, t):
    assert issue_query.ordered_milestones(t.project) == ["v2", "v1", "old"]
    counts = issue_query.milestone_counts(session, None, t.project)
    assert counts["v1"] == {"Open": 1, "Closed": 0}
    assert counts[None] == {"Open": 1, "Closed": 2}  # the private one is not counted
    assert issue_query.milestone_counts(session, t.owner, t.project)[None]["Open"] == 2


def test_reports_are_saved_by_admins_only_and_checked(session, t):
    args = MultiDict([("tags", "bug"), ("status", "all"), ("page", "3"), ("csrf_token", "x")])
    with pytest.raises(issue_query.core_issues.IssueNotAllowed):
        issue_query.save_report(session, t.triager, t.project, "bugs", args)
    name = issue_query.save_report(session, t.owner, t.project, " bugs ", args)
    session.commit()
    assert name == "bugs" and t.project.reports == {"bugs": {"tags": "bug", "status": "all"}}
    for bad_name in ("", "a/b", "x" * 101, "tab\there"):
        with pytest.raises(InvalidInput):
            issue_query.save_report(session, t.owner, t.project, bad_name, args)
    with pytest.raises(InvalidInput):
        issue_query.save_report(session, t.owner, t.project, "bad", {"priority": "Urgent"})
    session.rollback()
    assert list(t.project.reports) == ["bugs"]
    issue_query.delete_report(session, t.owner, t.project, "bugs")
    session.commit()
    assert t.project.reports == {}
