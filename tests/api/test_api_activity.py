"""GET /api/0/user/<username>/activity/stats and /activity/<date>."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from apihelp import API, make_project
from conftest import login_as, unique

from pagurus.core import activity
from pagurus.core import projects as core_projects
from pagurus.model import Project, utcnow


@pytest.fixture
def story(session, settings, make_user):
    """A user who created a public project today and has two commits on it at
    23:30 UTC ten days ago (already the next day in Tokyo), plus one by an
    address nobody verified."""
    owner = make_user()
    project = make_project(session, settings, owner, unique("act"))
    day = utcnow().date() - timedelta(days=10)
    when = datetime.combine(day, time(23, 30), UTC)
    shas = [unique("c").ljust(40, "0"), unique("d").ljust(40, "0")]
    activity.log_commits(session, project, [
        activity.CommitEntry(shas[0], owner.default_email, when),
        activity.CommitEntry(shas[1], owner.default_email.upper(), when + timedelta(minutes=5)),
        activity.CommitEntry(unique("e").ljust(40, "0"), "ghost@example.invalid", when),
    ])
    session.commit()
    return owner, project, day, shas


def test_stats_count_entries_per_day(client, story):
    owner, project, day, _ = story
    data = client.get(f"{API}/user/{owner.name}/activity/stats").get_json()
    assert data == {day.isoformat(): 2, utcnow().date().isoformat(): 1}


def test_stats_in_another_time_zone_and_as_timestamps(client, story):
    owner, _, day, _ = story
    url = f"{API}/user/{owner.name}/activity/stats"
    tokyo = client.get(url, query_string={"tz": "Asia/Tokyo"}).get_json()
    assert tokyo[(day + timedelta(days=1)).isoformat()] == 2
    assert day.isoformat() not in tokyo
    stamps = client.get(url, query_string={"format": "timestamp", "tz": "Asia/Tokyo"})
    noon = datetime.combine(day + timedelta(days=1), time(12), ZoneInfo("Asia/Tokyo"))
    assert stamps.get_json()[str(int(noon.timestamp()))] == 2


def test_stats_refuse_an_unknown_zone_or_format(client, story):
    owner = story[0]
    url = f"{API}/user/{owner.name}/activity/stats"
    for tz in ("Mars/Olympus_Mons", "../../etc/passwd", "x" * 300):
        resp = client.get(url, query_string={"tz": tz})
        assert resp.status_code == 400 and resp.get_json()["error_code"] == "ENOCODE"
        assert "Invalid timezone" in resp.get_json()["error"]
    resp = client.get(url, query_string={"format": "epoch"})
    assert resp.status_code == 400 and resp.get_json()["error_code"] == "EINVALIDREQ"


def test_unknown_user_is_enouser(client):
    for path in ("activity/stats", "activity/2024-01-01"):
        resp = client.get(f"{API}/user/{unique('nobody')}/{path}")
        assert resp.status_code == 404 and resp.get_json()["error_code"] == "ENOUSER"


def test_a_days_activities_with_sentences(client, story):
    owner, project, day, shas = story
    data = client.get(f"{API}/user/{owner.name}/activity/{day.isoformat()}").get_json()
    assert data["date"] == day.isoformat()
    first, second = data["activities"]
    assert first["type"] == "committed" and first["ref_id"] == shas[0]
    assert second["ref_id"] == shas[1]
    assert first["date"] == day.isoformat()
    assert first["date_created"] == str(int(datetime.combine(day, time(23, 30),
                                                             UTC).timestamp()))
    assert first["user"]["name"] == owner.name and "default_email" not in first["user"]
    assert first["description_mk"] == (
        f'<a href="http://pagurus.test/user/{owner.name}">{owner.name}</a> committed on '
        f'<a href="http://pagurus.test/{project.url_path}/c/{shas[0]}">'
        f'{project.fullname}#{shas[0][:7]}</a>')


def test_grouped_commits_collapse_per_project(client, story):
    owner, project, day, _ = story
    data = client.get(f"{API}/user/{owner.name}/activity/{day.isoformat()}",
                      query_string={"grouped": "1"}).get_json()
    assert data["activities"] == [{"description_mk": (
        f'<a href="http://pagurus.test/user/{owner.name}">{owner.name}</a> pushed 2 commits '
        f'to <a href="http://pagurus.test/{project.url_path}">{project.fullname}</a>')}]


def test_the_day_follows_the_time_zone(client, story):
    owner, _, day, _ = story
    url = f"{API}/user/{owner.name}/activity/{(day + timedelta(days=1)).isoformat()}"
    assert len(client.get(url, query_string={"tz": "Asia/Tokyo"}).get_json()["activities"]) \
        == 2
    assert client.get(url).get_json()["activities"] == []


def test_project_creation_is_in_the_activity(client, story):
    owner, project, _, _ = story
    data = client.get(f"{API}/user/{owner.name}/activity/{utcnow().date()}").get_json()
    [created] = data["activities"]
    assert created["type"] == "created" and created["ref_id"] == str(project.id)
    assert f"created Project <a href=\"http://pagurus.test/{project.url_path}\">" \
        in created["description_mk"]


def test_invalid_dates_are_enocode(client, story):
    owner = story[0]
    for bad in ("2024-13-01", "yesterday", "2024-1-1", "20240101"):
        resp = client.get(f"{API}/user/{owner.name}/activity/{bad}")
        assert resp.status_code == 400, bad
        assert resp.get_json()["error_code"] == "ENOCODE"
    resp = client.get(f"{API}/user/{owner.name}/activity/2024-01-01",
                      query_string={"tz": "Nowhere/Land"})
    assert resp.status_code == 400 and resp.get_json()["error_code"] == "ENOCODE"


def test_private_projects_are_invisible_to_others(client, session, story, make_user):
    owner, project, day, _ = story
    core_projects.update_project(session, owner, session.get(Project, project.id),
                                 private=True)
    session.commit()
    stats = f"{API}/user/{owner.name}/activity/stats"
    one_day = f"{API}/user/{owner.name}/activity/{day.isoformat()}"
    assert client.get(stats).get_json() == {}
    assert client.get(one_day).get_json()["activities"] == []
    login_as(client, make_user())
    assert client.get(stats).get_json() == {}
    login_as(client, owner)
    assert client.get(stats).get_json()[day.isoformat()] == 2
    assert len(client.get(one_day).get_json()["activities"]) == 2


def test_private_projects_are_never_logged(session, settings, make_user):
    owner = make_user()
    project = make_project(session, settings, owner, unique("priv"), private=True)
    when = utcnow()
    added = activity.log_commits(session, project, [
        activity.CommitEntry("a" * 40, owner.default_email, when)])
    session.commit()
    assert added == 0
    assert activity.stats(session, owner, owner) == {}


def test_endpoints_are_in_the_openapi_document(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    assert any(p.endswith("/activity/stats") for p in paths)
    assert any(p.endswith("/activity/{date}") for p in paths)
