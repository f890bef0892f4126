"""Hostile strings (fixtures/hostile-input.md) typed into project, group and user
fields come back escaped on every page that shows them."""

from __future__ import annotations

import pytest
from conftest import csrf_of, login_as, unique

from pagurus.core import groups as core_groups
from pagurus.core import projects as core_projects
from pagurus.core import social
from pagurus.core import users as core_users

HOSTILE = [
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;", "<script>alert"),
    ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;", "<img src=x"),
    ('"><script>alert(1)</script>', "&#34;&gt;&lt;script&gt;", '"><script>'),
    ("'><img src=x onerror=alert(1)>", "&#39;&gt;&lt;img src=x onerror", "'><img"),
    ("<svg onload=alert(1)>", "&lt;svg onload=alert(1)&gt;", "<svg onload"),
    ("</title><script>alert(1)</script>", "&lt;/title&gt;&lt;script&gt;", "</title><script>"),
    # shown as typed: never evaluated as a template
    ("{{7*7}} {% raw %}{{config}}{% endraw %}", "{{7*7}} {% raw %}{{config}}{% endraw %}",
     "&lt;Config"),
]


def post(client, target, **data):
    return client.post(target, data={"csrf_token": csrf_of(client), **data})


def assert_escaped(body: str, escaped: str, raw: str) -> None:
    assert escaped in body
    assert raw not in body


@pytest.mark.parametrize("value,escaped,raw", HOSTILE)
def test_a_hostile_project_description_is_escaped(client, make_user, session, settings,
                                                  value, escaped, raw):
    owner = make_user()
    project = core_projects.create_project(session, settings, owner, unique("p"), value)
    project.repo_state = "ready"
    # a second match so the search lists instead of jumping to the one project
    core_projects.create_project(session, settings, owner, project.name + "-2", "d")
    session.commit()
    for url in (f"/{project.name}", f"/projects/{project.name}*",
                f"/user/{owner.name}", "/?sorting=latest"):
        assert_escaped(client.get(url).get_data(as_text=True), escaped, raw)
    login_as(client, owner)
    assert_escaped(client.get(f"/{project.name}/settings").get_data(as_text=True),
                   escaped, raw)


@pytest.mark.parametrize("value,escaped,raw", HOSTILE[:4])
def test_hostile_tags_are_escaped(client, make_user, session, settings, value, escaped, raw):
    owner = make_user()
    project = core_projects.create_project(session, settings, owner, unique("p"), "d")
    project.repo_state = "ready"
    session.commit()
    login_as(client, owner)
    assert post(client, f"/{project.name}/update", description="d",
                tags=value.replace(",", "")).status_code == 302
    assert_escaped(client.get(f"/{project.name}").get_data(as_text=True), escaped, raw)
    assert_escaped(client.get(f"/{project.name}/settings").get_data(as_text=True),
                   escaped, raw)


@pytest.mark.parametrize("value,escaped,raw", HOSTILE)
def test_a_hostile_group_display_name_and_description_are_escaped(client, make_user, session,
                                                                  value, escaped, raw):
    creator = make_user()
    login_as(client, creator)
    name = unique("g")
    resp = post(client, "/group/add", group_name=name, display_name=value + unique(" "),
                description=value)
    assert resp.status_code == 302
    for url in (f"/group/{name}", f"/groups?pattern={name}", f"/user/{creator.name}",
                f"/user/{creator.name}/groups", f"/group/{name}/edit"):
        assert_escaped(client.get(url).get_data(as_text=True), escaped, raw)


@pytest.mark.parametrize("value,escaped,raw", HOSTILE)
def test_a_hostile_full_name_is_escaped(client, session, settings, value, escaped, raw):
    name = unique("u")
    user = core_users.create_user(session, name, f"{name}@example.com", fullname=value,
                                  password="correct horse battery")
    group = core_groups.create_group(session, unique("g"), user)
    project = core_projects.create_project(session, settings, user, unique("p"), "d")
    project.repo_state = "ready"
    core_users.create_user(session, name + "x", f"{name}x@example.com")
    session.commit()

    social.star(session, user, project, True)
    session.commit()
    for url in (f"/user/{name}", f"/users/{name}", f"/group/{group.name}",
                f"/{project.name}/stargazers/"):
        assert_escaped(client.get(url).get_data(as_text=True), escaped, raw)


def test_a_hostile_search_term_is_escaped(client):
    term = "<script>alert(1)</script>"
    body = client.get("/search", query_string={"term": term},
                      follow_redirects=True).get_data(as_text=True)
    assert "<script>alert(1)" not in body


def test_a_hostile_value_sent_back_to_the_new_form_is_escaped(client, make_user):
    login_as(client, make_user())
    value = '"><script>alert(1)</script>'
    resp = post(client, "/new", name=value, description=value)
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert "&#34;&gt;&lt;script&gt;" in body and '"><script>' not in body
