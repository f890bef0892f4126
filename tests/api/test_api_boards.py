"""Board endpoints (spec §2.4) through API v0: JSON shapes, declarative
boards and columns, issues moved (closed/reopened) on a board, error codes,
and refusals that change nothing."""

from __future__ import annotations

import pytest
from apihelp import API, error_of, grant, make_project
from conftest import auth, csrf_of, login_as, unique

from pagurus.core import issues, tags
from pagurus.model import Issue, Project

BASE = "http://pagurus.test"
COLUMNS = {
    "Backlog": {"rank": 1, "default": True, "bg_color": "#eeeeee"},
    "Doing": {"rank": 2, "default": False},
    "Done": {"rank": 3, "default": False, "close_status": "Fixed"},
}


def setup_project(session, settings, owner, **opts):
    project = make_project(session, settings, owner, unique("b"))
    project = session.get(Project, project.id)
    project.close_status = ["Fixed", "Invalid"]
    project.settings = {**(project.settings or {}), **opts}
    for name in ("bug", "ui"):
        tags.create_tag(session, owner, project, name, "", "#00ff00")
    session.commit()
    return project


def post_json(client, url, data, token):
    return client.post(url, json=data, headers=auth(token))


def boards_of(client, project):
    resp = client.get(f"{API}/{project.name}/boards")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def with_board(client, project, token, name="dev"):
    resp = post_json(client, f"{API}/{project.name}/boards",
                     {name: {"active": True, "tag": "bug"}}, token)
    assert resp.status_code == 200, resp.get_json()
    resp = post_json(client, f"{API}/{project.name}/boards/{name}/status", COLUMNS, token)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["board"]


def test_anyone_lists_boards_with_their_columns_by_rank(client, session, settings, make_user,
                                                        make_token):
    owner = make_user()
    project = setup_project(session, settings, owner)
    assert boards_of(client, project) == {"total_requests": 0, "boards": []}
    token = make_token(owner, ["modify_project"])
    board = with_board(client, project, token)
    data = boards_of(client, project)
    assert data["total_requests"] == 1 and data["boards"] == [board]
    assert board == {
        "name": "dev", "active": True,
        "status": [
            {"name": "Backlog", "bg_color": "#eeeeee", "close": False, "close_status": None,
             "default": True},
            {"name": "Doing", "bg_color": "", "close": False, "close_status": None,
             "default": False},
            {"name": "Done", "bg_color": "", "close": True, "close_status": "Fixed",
             "default": False}],
        "tag": {"tag": "bug", "tag_description": "", "tag_color": "#00ff00"},
        "full_url": f"{BASE}/{project.name}/boards/dev",
    }


def test_boards_are_declared_as_a_whole_set(client, session, settings, make_user,
                                            make_token):
    owner = make_user()
    project = setup_project(session, settings, owner)
    token = make_token(owner, ["modify_project"])
    url = f"{API}/{project.name}/boards"
    resp = post_json(client, url, {"dev": {"active": True, "tag": "bug"},
                                   "ux": {"active": False, "tag": "ui"}}, token)
    assert [(b["name"], b["active"]) for b in resp.get_json()["boards"]] == [
        ("dev", True), ("ux", False)]
    resp = post_json(client, url, {"ux": {"active": True, "tag": "bug"}}, token)
    assert [(b["name"], b["active"], b["tag"]["tag"]) for b in resp.get_json()["boards"]] == [
        ("ux", True, "bug")]
    assert boards_of(client, project)["total_requests"] == 1


@pytest.mark.parametrize("spec, expected", [
    ({"dev": {"active": True, "tag": "nosuchtag"}}, (400, "ENOCODE")),
    ({"dev": {"active": True}}, (400, "EINVALIDREQ")),
    ({"<img src=x onerror=alert(1)>": {"tag": "bug"}}, (400, "EINVALIDREQ")),
    ({}, (400, "EINVALIDREQ")),
    ([1, 2], (400, "EINVALIDREQ")),
    ({"dev": {"tag": ["bug"]}}, (400, "ENOCODE")),
])
def test_bad_board_sets_are_refused_and_change_nothing(client, session, settings, make_user,
                                                       make_token, spec, expected):
    owner = make_user()
    project = setup_project(session, settings, owner)
    token = make_token(owner, ["modify_project"])
    board = with_board(client, project, token)
    resp = post_json(client, f"{API}/{project.name}/boards", spec, token)
    assert error_of(resp) == expected
    assert boards_of(client, project)["boards"] == [board]


def test_a_form_body_is_refused_where_json_is_required(client, session, settings, make_user,
                                                       make_token):
    owner = make_user()
    project = setup_project(session, settings, owner)
    token = make_token(owner, ["modify_project"])
    resp = client.post(f"{API}/{project.name}/boards", data={"dev": "bug"},
                       headers=auth(token))
    assert error_of(resp) == (400, "EINVALIDREQ")
    assert boards_of(client, project)["total_requests"] == 0


@pytest.mark.parametrize("level", [None, "ticket", "commit"])
def test_a_modify_project_token_is_not_enough_without_admin_rights(
        client, session, settings, make_user, make_token, level):
    owner, user = make_user(), make_user()
    project = setup_project(session, settings, owner)
    if level:
        grant(session, project, user, level)
    board = with_board(client, project, make_token(owner, ["modify_project"]))
    token = make_token(user, ["modify_project"])
    issue = issues.create_issue(session, owner, session.get(Project, project.id), title="t",
                                content="c", base_url=BASE)
    session.commit()
    base = f"{API}/{project.name}/boards"
    for url, body in ((base, {"x": {"tag": "ui"}}), (base + "/delete", {"name": ["dev"]}),
                      (base + "/dev/status", {"A": {"rank": 1, "default": True}}),
                      (base + "/dev/add_issue", {str(issue.number): {"status": "Done"}})):
        assert error_of(post_json(client, url, body, token)) == (401,
                                                                 "EMODIFYPROJECTNOTALLOWED")
    assert boards_of(client, project)["boards"] == [board]
    session.expire_all()
    assert session.get(Issue, issue.id).status == "Open"


def test_tokens_without_the_acl_and_anonymous_callers_are_refused(client, session, settings,
                                                                  make_user, make_token):
    owner = make_user()
    project = setup_project(session, settings, owner)
    url = f"{API}/{project.name}/boards"
    resp = post_json(client, url, {"dev": {"tag": "bug"}}, make_token(owner, ["issue_create"]))
    assert error_of(resp) == (401, "EINVALIDTOK")
    assert resp.get_json()["errors"] == "Missing ACLs: modify_project"
    assert error_of(client.post(url, json={"dev": {"tag": "bug"}})) == (401, "EINVALIDTOK")
    assert boards_of(client, project)["total_requests"] == 0


def test_deleting_boards_by_name_as_json_list_or_repeated_form_keys(client, session, settings,
                                                                   make_user, make_token):
    owner = make_user()
    project = setup_project(session, settings, owner)
    token = make_token(owner, ["modify_project"])
    url = f"{API}/{project.name}/boards"
    post_json(client, url, {n: {"tag": "bug"} for n in ("a1", "b2", "c3", "d4")}, token)
    resp = post_json(client, url + "/delete", {"name": ["a1", "ghost"]}, token)
    assert error_of(resp) == (400, "EINVALIDREQ")
    resp = post_json(client, url + "/delete", {"name": ["a1"]}, token)
    assert [b["name"] for b in resp.get_json()["boards"]] == ["b2", "c3", "d4"]
    resp = client.post(url + "/delete", data={"name": ["b2", "c3"]},
                       headers=auth(token))
    assert [b["name"] for b in resp.get_json()["boards"]] == ["d4"]
    assert error_of(post_json(client, url + "/delete", {}, token)) == (400, "EINVALIDREQ")


@pytest.mark.parametrize("spec", [
    {"A": {"rank": 1, "default": True}, "B": {"rank": 2, "default": True}},
    {"A": {"rank": 1}},
    {"A": {"default": True}},
    {"<script>alert(1)</script>": {"rank": 1, "default": True}},
    {"A": {"rank": 1, "default": True, "bg_color": "red;}body{display:none"}},
    {"A": {"rank": 1, "default": True, "bg_color": "url(javascript:alert(1))"}},
])
def test_bad_column_sets_are_refused_and_change_nothing(client, session, settings, make_user,
                                                        make_token, spec):
    owner = make_user()
    project = setup_project(session, settings, owner)
    token = make_token(owner, ["modify_project"])
    board = with_board(client, project, token)
    resp = post_json(client, f"{API}/{project.name}/boards/dev/status", spec, token)
    assert error_of(resp) == (400, "EINVALIDREQ")
    assert boards_of(client, project)["boards"] == [board]


def test_an_unknown_board_is_404_einvalidreq(client, session, settings, make_user,
                                            make_token):
    owner = make_user()
    project = setup_project(session, settings, owner)
    token = make_token(owner, ["modify_project"])
    for suffix, body in (("status", COLUMNS), ("update_issue", {"0" * 32: {}}),
                         ("add_issue", {"1": {}})):
        resp = post_json(client, f"{API}/{project.name}/boards/ghost/{suffix}", body, token)
        assert error_of(resp) == (404, "EINVALIDREQ")


def test_moving_issues_closes_and_reopens_them_with_a_comment(client, session, settings,
                                                             make_user, make_token):
    owner = make_user()
    project = setup_project(session, settings, owner)
    token = make_token(owner, ["modify_project"])
    with_board(client, project, token)
    issue = issues.create_issue(session, owner, session.get(Project, project.id), title="t",
                                content="c", base_url=BASE)
    session.commit()
    url = f"{API}/{project.name}/boards/dev"
    resp = post_json(client, url + "/add_issue", {str(issue.number): {"status": "Done",
                                                                      "rank": 3}}, token)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["board"]["name"] == "dev"
    data = client.get(f"{API}/{project.name}/issue/{issue.number}").get_json()
    assert (data["status"], data["close_status"], data["tags"]) == ("Closed", "Fixed", ["bug"])
    assert data["boards"] == [{"board": resp.get_json()["board"],
                               "status": COLUMNS_JSON["Done"], "rank": 3}]
    assert data["comments"][-1]["notification"] is True
    assert "Issue close_status updated to: Fixed" in data["comments"][-1]["comment"]
    resp = post_json(client, url + "/update_issue", {issue.uid: {"status": "Doing"}}, token)
    assert resp.status_code == 200, resp.get_json()
    data = client.get(f"{API}/{project.name}/issue/{issue.number}").get_json()
    assert (data["status"], data["close_status"]) == ("Open", None)
    assert data["boards"][0]["status"]["name"] == "Doing"


COLUMNS_JSON = {"Done": {"name": "Done", "bg_color": "", "close": True,
                         "close_status": "Fixed", "default": False}}


def test_bad_moves_are_refused_and_change_nothing(client, session, settings, make_user,
                                                  make_token):
    owner = make_user()
    project = setup_project(session, settings, owner)
    token = make_token(owner, ["modify_project"])
    with_board(client, project, token)
    row = session.get(Project, project.id)
    parent = issues.create_issue(session, owner, row, title="p", content="c", base_url=BASE)
    child = issues.create_issue(session, owner, row, title="c", content="c", base_url=BASE)
    issues.update_metadata(session, owner, child, base_url=BASE, depends=str(parent.number))
    session.commit()
    url = f"{API}/{project.name}/boards/dev"
    cases = [
        ("/add_issue", {str(child.number): {"status": "Done"}}, (400, "ENOCODE")),
        ("/add_issue", {"9999": {}}, (404, "ENOISSUE")),
        ("/add_issue", {"abc": {}}, (400, "EINVALIDREQ")),
        ("/add_issue", {str(parent.number): {"rank": "first"}}, (400, "EINVALIDREQ")),
        ("/update_issue", {"f" * 32: {}}, (404, "ENOISSUE")),
        ("/update_issue", {str(parent.number): {}}, (404, "ENOISSUE")),
    ]
    for suffix, body, expected in cases:
        assert error_of(post_json(client, url + suffix, body, token)) == expected, body
    for number in (parent.number, child.number):
        data = client.get(f"{API}/{project.name}/issue/{number}").get_json()
        assert (data["status"], data["tags"], data.get("boards")) == ("Open", [], None)
        assert [c for c in data["comments"] if "board" in c["comment"]] == []


def test_the_tracker_switches_apply(client, session, settings, make_user, make_token):
    owner = make_user()
    project = setup_project(session, settings, owner)
    token = make_token(owner, ["modify_project"])
    with_board(client, project, token)
    issue = issues.create_issue(session, owner, session.get(Project, project.id), title="t",
                                content="c", base_url=BASE)
    row = session.get(Project, project.id)
    row.settings = {**row.settings, "issue_tracker_read_only": True}
    session.commit()
    resp = post_json(client, f"{API}/{project.name}/boards/dev/add_issue",
                     {str(issue.number): {"status": "Done"}}, token)
    assert error_of(resp) == (401, "ETRACKERREADONLY")
    row.settings = {**row.settings, "issue_tracker": False}
    session.commit()
    assert error_of(client.get(f"{API}/{project.name}/boards")) == (404, "ETRACKERDISABLED")
    resp = post_json(client, f"{API}/{project.name}/boards", {"x": {"tag": "ui"}}, token)
    assert error_of(resp) == (404, "ETRACKERDISABLED")


def test_private_projects_hide_their_boards(client, session, settings, make_user, make_token):
    owner, outsider = make_user(), make_user()
    project = make_project(session, settings, owner, unique("b"), private=True)
    url = f"{API}/{project.name}/boards"
    assert error_of(client.get(url)) == (404, "ENOPROJECT")
    assert error_of(client.get(url, headers=auth(make_token(outsider, ["modify_project"])))) \
        == (404, "ENOPROJECT")
    assert client.get(url, headers=auth(make_token(owner, ["modify_project"]))).status_code \
        == 200


def test_the_web_page_session_may_call_with_its_csrf_header(client, session, settings,
                                                            make_user):
    owner = make_user()
    project = setup_project(session, settings, owner)
    login_as(client, owner)
    url = f"{API}/{project.name}/boards"
    assert error_of(client.post(url, json={"dev": {"tag": "bug"}})) == (401, "EINVALIDTOK")
    resp = client.post(url, json={"dev": {"tag": "bug"}},
                       headers={"X-CSRFToken": csrf_of(client)})
    assert resp.status_code == 200 and resp.get_json()["boards"][0]["name"] == "dev"


def test_the_openapi_document_describes_the_board_endpoints(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    for suffix, method in (("/boards", "get"), ("/boards", "post"), ("/boards/delete", "post"),
                           ("/boards/{board_name}/status", "post"),
                           ("/boards/{board_name}/update_issue", "post"),
                           ("/boards/{board_name}/add_issue", "post")):
        op = paths["/{namespace}/{repo}" + suffix][method]
        assert op["tags"] == ["boards"]
    assert "total_requests" in paths["/{repo}/boards"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]["properties"]
