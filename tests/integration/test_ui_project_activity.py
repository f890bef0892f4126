"""A visitor reads a project's activity ({P}/activity): what people did,
newest first by day, page after page; entries about a private issue only for
those who may see it — there and in the user's activity of the day."""

from __future__ import annotations

from conftest import login_as, unique

from pagurus.core import issues as core_issues
from pagurus.core import projects as core_projects
from pagurus.model import utcnow

BASE = "http://pagurus.test"


def _project(session, settings, owner, private=False):
    project = core_projects.create_project(session, settings, owner, unique("act"), "d",
                                           private=private)
    core_projects.mark_ready(project)
    session.commit()
    return project


def test_the_activity_of_a_project_hides_private_issues_from_others(client, session,
                                                                     settings, make_user):
    owner, reporter, stranger = make_user(), make_user(), make_user()
    project = _project(session, settings, owner)
    public = core_issues.create_issue(session, owner, project, title="Open bug",
                                      content="x", base_url=BASE)
    core_issues.add_comment(session, reporter, public, "me too", base_url=BASE)
    # logged while public, made private later (a private issue is never logged)
    secret = core_issues.create_issue(session, reporter, project, title="Secret hole",
                                      content="x", base_url=BASE)
    secret.private = True
    session.commit()
    url = f"/{project.url_path}/activity"

    html = client.get(url).get_data(as_text=True)
    assert f'/issue/{public.number}">{project.fullname}#{public.number}</a>' in html
    assert f"{reporter.name}</a> commented on issue" in html
    assert f"#{secret.number}<" not in html
    assert f"{owner.name}</a> created Project" in html  # the project's creation
    login_as(client, stranger)
    assert f"#{secret.number}<" not in client.get(url).get_data(as_text=True)
    login_as(client, reporter)  # the private issue's author sees it
    assert f"/issue/{secret.number}\">" in client.get(url).get_data(as_text=True)

    # the reporter's day as someone else reads it: the private issue is left out too
    today = utcnow().date().isoformat()
    login_as(client, stranger)
    day = client.get(f"/api/0/user/{reporter.name}/activity/{today}").get_json()
    sentences = " ".join(a["description_mk"] for a in day["activities"])
    assert f"#{public.number}<" in sentences and f"#{secret.number}<" not in sentences


def test_the_activity_pages_back_and_refuses_bad_input(client, session, settings, make_user):
    owner = make_user()
    project = _project(session, settings, owner)
    issue = core_issues.create_issue(session, owner, project, title="Busy", content="x",
                                     base_url=BASE)
    for i in range(60):
        core_issues.add_comment(session, owner, issue, f"note {i}", base_url=BASE)
    session.commit()
    url = f"/{project.url_path}/activity"
    first = client.get(url).get_data(as_text=True)
    assert first.count("commented on issue") == 50
    older = first.split('href="?before=')[1].split('"')[0]
    second = client.get(f"{url}?before={older}").get_data(as_text=True)
    # 60 comments, the issue and the project: 12 left, and no further page
    assert second.count("commented on issue") == 10 and "?before=" not in second
    assert client.get(f"{url}?before=abc").status_code == 400


def test_a_private_projects_activity_is_not_found_by_others(client, session, settings,
                                                             make_user):
    owner = make_user()
    project = _project(session, settings, owner, private=True)
    assert client.get(f"/{project.url_path}/activity").status_code == 404
    login_as(client, owner)
    assert client.get(f"/{project.url_path}/activity").status_code == 200
