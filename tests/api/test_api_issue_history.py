"""Issue history statistics: week by week counts of a project's issues."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from conftest import unique

from pagurus.core import issue_stats, issues
from pagurus.core import projects as core_projects

BASE = "http://pagurus.test"


def _project(session, settings, owner):
    project = core_projects.create_project(session, settings, owner, unique("hs"), "d")
    project.repo_state = "ready"
    session.commit()
    return project


def test_weekly_counts_follow_creation_and_closing(session, settings, make_user):
    owner = make_user()
    project = _project(session, settings, owner)
    now = datetime(2026, 11, 28, 15, tzinfo=UTC)
    made = []
    for weeks_ago in (10, 5, 2, 0):
        issue = issues.create_issue(session, owner, project, title="t", content="c",
                                    base_url=BASE)
        issue.date_created = now - timedelta(weeks=weeks_ago, hours=1)
        made.append(issue)
    made[0].status, made[0].closed_at = "Closed", now - timedelta(weeks=3, hours=1)
    session.commit()
    rows = issue_stats.weekly(session, project, 12, now=now)
    assert len(rows) == 12
    by_weeks_ago = {11 - i: row for i, row in enumerate(rows)}
    assert by_weeks_ago[11][1] == 0
    assert by_weeks_ago[10][1:] == (1, 1, 0)  # the first issue opened that week
    assert by_weeks_ago[5][1] == 2
    assert by_weeks_ago[3][1:] == (1, 0, 1)  # the first closed
    assert by_weeks_ago[0][1] == 3


def test_history_endpoints_answer_and_validate(client, session, settings, make_user):
    owner = make_user()
    project = _project(session, settings, owner)
    issues.create_issue(session, owner, project, title="t", content="c", base_url=BASE)
    session.commit()
    resp = client.get(f"/api/0/{project.name}/issues/history/stats")
    assert resp.status_code == 200
    stats = resp.get_json()["stats"]
    assert len(stats) == 53 and list(stats.values())[-1] == 1
    resp = client.get(f"/api/0/{project.name}/issues/history/detailed_stats?weeks_range=4")
    detailed = resp.get_json()["stats"]
    assert len(detailed) == 4
    assert list(detailed.values())[-1] == {"open_ticket": 1, "closed_ticket": 0, "count": 1}
    for bad in ("0", "x", "9999"):
        resp = client.get(f"/api/0/{project.name}/issues/history/detailed_stats"
                          f"?weeks_range={bad}")
        assert resp.status_code == 400 and resp.get_json()["error_code"] == "EINVALIDREQ"
    project.settings = {**project.settings, "issue_tracker": False}
    session.commit()
    resp = client.get(f"/api/0/{project.name}/issues/history/stats")
    assert resp.status_code == 404 and resp.get_json()["error_code"] == "ETRACKERDISABLED"
