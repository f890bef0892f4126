"""Project admins set up the tracker at {P}/settings/tracker: tags with
colours, milestones, priorities, close statuses, custom fields and quick
replies — admins only, CSRF-protected, hostile text escaped, refusals that
change nothing."""

from __future__ import annotations

import pytest
from conftest import csrf_of, login_as, unique

from pagurus.core import issues, tags
from pagurus.core import projects as core_projects
from pagurus.model import Issue, Project, utcnow

BASE = "http://pagurus.test"
XSS = '<script>alert(1)</script><img src=x onerror=alert(2)>'


def new_project(session, settings, owner):
    project = core_projects.create_project(session, settings, owner, unique("p"), "desc")
    project.repo_state = "ready"
    session.commit()
    return project


def post(client, target, **data):
    return client.post(target, data={"csrf_token": csrf_of(client), **data})


def fresh(session, project):
    session.expire_all()
    return session.get(Project, project.id)


def page_of(client, project):
    resp = client.get(f"/{project.name}/settings/tracker")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_the_settings_page_links_to_the_tracker_settings(client, session, settings,
                                                        make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    login_as(client, owner)
    settings_page = client.get(f"/{project.name}/settings").get_data(as_text=True)
    assert f'href="/{project.name}/settings/tracker"' in settings_page
    page = page_of(client, project)
    for action in ("/update/tags", "/update/milestones", "/update/priorities",
                   "/update/close_status", "/update/custom_keys", "/update/quick_replies"):
        assert f'action="/{project.name}{action}"' in page, action
    # the on/off switches live on the main settings page, once
    assert f'href="/{project.name}/settings#options"' in page
    assert 'name="issue_tracker"' not in page
    assert 'name="issue_tracker"' in settings_page


@pytest.mark.parametrize("level", [None, "ticket", "commit", "anonymous"])
def test_non_admins_get_404_and_change_nothing(client, session, settings, make_user, level):
    owner, user = make_user(), make_user()
    project = new_project(session, settings, owner)
    tags.create_tag(session, owner, project, "bug")
    session.commit()
    if level not in (None, "anonymous"):
        core_projects.set_user_access(session, owner, project, user, level)
        session.commit()
    if level != "anonymous":
        login_as(client, user)
    assert client.get(f"/{project.name}/settings/tracker").status_code == 404
    for path, data in (("/update/milestones", {"milestones": "0", "milestone_0_name": "v1"}),
                       ("/update/close_status", {"close_status": "Fixed"}),
                       ("/update/tags", {"tag": "new"}), ("/droptag/", {"tag": "bug"}),
                       ("/tag/bug/edit", {"tag": "renamed"}),
                       ("/update/quick_replies", {"quick_reply": "hi"})):
        assert post(client, f"/{project.name}{path}", **data).status_code == 404, path
    project = fresh(session, project)
    assert (project.milestones, project.close_status, project.quick_replies) == ({}, [], [])
    assert [t.name for t in tags.project_tags(session, project)] == ["bug"]


def test_an_old_login_must_log_in_again(client, session, settings, make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    login_as(client, owner)
    with client.session_transaction() as sess:
        sess["login_at"] = utcnow().timestamp() - (settings.admin_session_minutes + 5) * 60
    resp = client.get(f"/{project.name}/settings/tracker")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login/")


def test_forms_without_the_csrf_token_change_nothing(client, session, settings, make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    login_as(client, owner)
    resp = client.post(f"/{project.name}/update/close_status", data={"close_status": "Fixed"})
    assert resp.status_code == 400
    assert fresh(session, project).close_status == []


def test_tags_are_created_recoloured_renamed_and_deleted(client, session, settings,
                                                         make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    login_as(client, owner)
    # the picker gives the colour when the text is left empty
    assert post(client, f"/{project.name}/update/tags", tag="bug", tag_description="Bugs",
                tag_color="", tag_color_pick="#aa0000").status_code == 302
    assert post(client, f"/{project.name}/update/tags", tag="ui", tag_color="Teal",
                tag_color_pick="#00bfff").status_code == 302
    bug = tags.find_tag(session, project, "bug")
    assert (bug.description, bug.color) == ("Bugs", "#aa0000")
    assert tags.find_tag(session, project, "ui").color == "Teal"
    page = page_of(client, project)
    assert f'action="/{project.name}/tag/bug/edit"' in page
    css = client.get(f"/{project.name}/settings/tracker/colors.css").get_data(as_text=True)
    assert f".tagc-{bug.id} {{ background: #aa0000; color: #fff; }}" in css
    issue = issues.create_issue(session, owner, project, title="t", content="c",
                                base_url=BASE, tags="bug")
    session.commit()
    # only the picker moved: it wins over the unchanged text
    resp = post(client, f"/{project.name}/tag/bug/edit", tag="defect", tag_description="Bugs",
                tag_color="#aa0000", **{"tag_color-orig": "#aa0000",
                                        "tag_color_pick": "#00aa00",
                                        "tag_color_pick-orig": "#aa0000"})
    assert resp.status_code == 302
    session.expire_all()
    bug = session.get(type(bug), bug.id)
    assert (bug.name, bug.color) == ("defect", "#00aa00")
    assert [t.name for t in session.get(Issue, issue.id).tags] == ["defect"]
    # renaming onto another tag is refused
    resp = post(client, f"/{project.name}/tag/defect/edit", tag="ui", tag_color="#00aa00")
    assert resp.status_code == 400 and "already exists" in resp.get_data(as_text=True)
    assert post(client, f"/{project.name}/droptag/", tag="defect").status_code == 302
    session.expire_all()
    assert session.get(Issue, issue.id).tags == []
    assert [t.name for t in tags.project_tags(session, project)] == ["ui"]


@pytest.mark.parametrize("data", [
    {"tag": XSS},
    {"tag": "ok", "tag_color": "red;}body{display:none"},
    {"tag": "ok", "tag_color": "javascript:alert(1)"},
    {"tag": ""},
])
def test_bad_tags_are_refused_with_the_reason_escaped(client, session, settings, make_user,
                                                      data):
    owner = make_user()
    project = new_project(session, settings, owner)
    login_as(client, owner)
    resp = post(client, f"/{project.name}/update/tags", **data)
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert "<script>alert(1)" not in body and "<img src=x" not in body
    assert 'id="tags-errors"' in body
    assert tags.project_tags(session, project) == []


def test_milestones_are_ordered_renamed_and_their_issues_follow(client, session, settings,
                                                                make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    login_as(client, owner)
    resp = post(client, f"/{project.name}/update/milestones", milestones=["0", "1", "2"],
                milestone_0_name="v1", milestone_0_date="2030-01-01", milestone_0_active="1",
                milestone_0_order="2", milestone_1_name="v2", milestone_1_order="1",
                milestone_2_name="")
    assert resp.status_code == 302
    assert resp.headers["Location"] == f"/{project.name}/settings/tracker#milestones"
    project = fresh(session, project)
    assert project.milestones_keys == ["v2", "v1"]
    assert project.milestones == {"v1": {"date": "2030-01-01", "active": True},
                                  "v2": {"date": None, "active": False}}
    issue = issues.create_issue(session, owner, project, title="t", content="c",
                                base_url=BASE, milestone="v1")
    session.commit()
    post(client, f"/{project.name}/update/milestones", milestones=["0", "1"],
         milestone_0_name="v2", milestone_0_orig="v2",
         milestone_1_name="1.0", milestone_1_orig="v1", milestone_1_active="1")
    session.expire_all()
    assert session.get(Issue, issue.id).milestone == "1.0"
    resp = post(client, f"/{project.name}/update/milestones", milestones=["0"],
                milestone_0_name="v3", milestone_0_date="soon")
    assert resp.status_code == 400 and "YYYY-MM-DD" in resp.get_data(as_text=True)
    assert fresh(session, project).milestones_keys == ["v2", "1.0"]


def test_priorities_and_the_default_priority(client, session, settings, make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    login_as(client, owner)
    resp = post(client, f"/{project.name}/update/priorities",
                priority_weigth=["1", "2", ""], priority_title=["High", "Low", ""],
                priority_orig=["", "", ""])
    assert resp.status_code == 302
    assert fresh(session, project).priorities == {"1": "High", "2": "Low", "": ""}
    assert post(client, f"/{project.name}/update/default_priority",
                priority="2").status_code == 302
    assert fresh(session, project).default_priority == "Low"
    page = page_of(client, project)
    assert '<option value="2" selected>Low</option>' in page
    resp = post(client, f"/{project.name}/update/priorities", priority_weigth=["1", "1"],
                priority_title=["High", "Higher"], priority_orig=["1", "2"])
    assert resp.status_code == 400 and "given twice" in resp.get_data(as_text=True)
    assert fresh(session, project).priorities == {"1": "High", "2": "Low", "": ""}


def test_close_statuses_custom_fields_and_quick_replies(client, session, settings,
                                                        make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    login_as(client, owner)
    assert post(client, f"/{project.name}/update/close_status",
                close_status=["Fixed", "Won't fix", ""],
                close_status_orig=["", "", ""]).status_code == 302
    assert fresh(session, project).close_status == ["Fixed", "Won't fix"]
    resp = post(client, f"/{project.name}/update/close_status", close_status=["Open"],
                close_status_orig=[""])
    assert resp.status_code == 400
    resp = post(client, f"/{project.name}/update/custom_keys",
                custom_keys=["Severity", "Due", ""],
                custom_keys_type=["list", "date", "text"],
                custom_keys_data=["low, high", "", ""], custom_keys_orig=["", "", ""],
                **{"custom_keys_notify-0": "on"})
    assert resp.status_code == 302
    keys = issues.custom_keys(session, fresh(session, project))
    assert [(k.name, k.key_type, k.data, k.notify) for k in keys] == [
        ("Severity", "list", ["low", "high"], True), ("Due", "date", None, False)]
    from pagurus.core.serialize import project_json

    assert project_json(fresh(session, project), BASE)["custom_keys"] == [
        ["Severity", "list"], ["Due", "date"]]
    assert post(client, f"/{project.name}/update/quick_replies",
                quick_reply=["Thanks!", "", "Duplicate of #1"]).status_code == 302
    assert fresh(session, project).quick_replies == ["Thanks!", "Duplicate of #1"]


def test_hostile_names_are_shown_escaped(client, session, settings, make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    login_as(client, owner)
    post(client, f"/{project.name}/update/milestones", milestones=["0"],
         milestone_0_name=XSS)
    post(client, f"/{project.name}/update/close_status", close_status=[XSS],
         close_status_orig=[""])
    post(client, f"/{project.name}/update/quick_replies", quick_reply=[XSS])
    post(client, f"/{project.name}/update/priorities", priority_weigth=["1"],
         priority_title=[XSS], priority_orig=[""])
    project = fresh(session, project)
    assert project.milestones_keys == [XSS] and project.close_status == [XSS]
    page = page_of(client, project)
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4
