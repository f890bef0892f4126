"""GET /api/0/{P}/issues and GET /api/0/user/<username>/issues: filters,
pagination with the real total, the args echo, private issues and projects
left out for those who may not see them, and bad input refused."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from apihelp import API, error_of, make_project
from conftest import auth, unique

from pagurus.core import issues as core_issues
from pagurus.core import projects as core_projects
from pagurus.model import IssueCustomKey

BASE = "http://pagurus.test"


@pytest.fixture
def world(session, settings, make_user):
    owner, triager, reporter, stranger = (make_user(), make_user(), make_user(), make_user())
    project = make_project(session, settings, owner, unique("il"))
    project.priorities = {"1": "High", "2": "Normal"}
    project.milestones = {"v1": {"date": None, "active": True}}
    project.close_status = ["Fixed", "Duplicate"]
    core_projects.set_user_access(session, owner, project, triager, "ticket")
    session.add(IssueCustomKey(project_id=project.id, name="os", key_type="text"))
    session.flush()

    def new(actor, title, **kw):
        return core_issues.create_issue(session, actor, project, title=title,
                                        content=kw.pop("content", "text"), base_url=BASE, **kw)

    made = SimpleNamespace(
        bug=new(owner, "Login crash", tags="bug", priority="High", milestone="v1",
                assignee=triager.name, custom={"os": "Fedora 40"}),
        feat=new(owner, "Dark mode", tags="feature", content="please add pelican"),
        secret=new(reporter, "Hidden hole", private=True, content="sensitive"),
        done=new(triager, "Old bug", tags="bug"),
    )
    core_issues.update_metadata(session, owner, made.done, base_url=BASE, status="Fixed")
    core_issues.add_comment(session, reporter, made.feat, "I want a narwhal too",
                            base_url=BASE)
    session.commit()
    return SimpleNamespace(project=project, owner=owner, triager=triager, reporter=reporter,
                           stranger=stranger, i=made, url=f"{API}/{project.url_path}/issues")


def titles(resp):
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return {i["title"] for i in resp.get_json()["issues"]}


def test_open_issues_with_the_real_total_and_pagination(client, world):
    data = client.get(world.url).get_json()
    assert {i["title"] for i in data["issues"]} == {"Login crash", "Dark mode"}
    assert data["total_issues"] == 2
    page = client.get(world.url, query_string={"per_page": 1, "status": "all"}).get_json()
    assert len(page["issues"]) == 1
    assert page["total_issues"] == 3  # the real total, not the page size (Pagure's)
    pag = page["pagination"]
    assert pag["page"] == 1 and pag["pages"] == 3 and pag["per_page"] == 1
    assert pag["prev"] is None and "status=all" in pag["next"] and "page=2" in pag["next"]
    last = client.get(pag["last"].replace("http://pagurus.test", "")).get_json()
    assert last["pagination"]["next"] is None and len(last["issues"]) == 1
    newest_first = client.get(world.url, query_string={"status": "all"}).get_json()["issues"]
    assert [i["id"] for i in newest_first] == sorted((i["id"] for i in newest_first),
                                                      reverse=True)


def test_the_issue_json_is_complete(client, world):
    data = client.get(world.url, query_string={"tags": "bug"}).get_json()
    (bug,) = data["issues"]
    assert bug["id"] == world.i.bug.number and bug["tags"] == ["bug"]
    assert bug["assignee"]["name"] == world.triager.name and bug["priority"] == 1
    assert bug["milestone"] == "v1" and bug["comments"] == []
    assert bug["custom_fields"][0]["value"] == "Fedora 40"
    assert bug["full_url"].endswith(f"/{world.project.url_path}/issue/{bug['id']}")


def test_filters(client, world):
    get = lambda **q: titles(client.get(world.url, query_string=q))  # noqa: E731
    assert get(status="Closed") == {"Old bug"}
    assert get(status="Fixed") == {"Old bug"}
    assert get(status="all", tags="bug") == {"Login crash", "Old bug"}
    assert get(tags="!bug") == {"Dark mode"}
    assert get(assignee=world.triager.name) == {"Login crash"}
    assert get(assignee="!" + world.triager.name) == {"Dark mode"}
    assert get(assignee="false") == {"Dark mode"}
    assert get(assignee="true") == {"Login crash"}
    assert get(author=world.triager.name, status="all") == {"Old bug"}
    assert get(milestones="v1") == {"Login crash"}
    assert get(milestones="none") == {"Dark mode"}
    assert get(no_stones="true") == {"Dark mode"}
    assert get(no_stones="false") == {"Login crash"}
    assert get(priority="high") == {"Login crash"}
    assert get(priority="1") == {"Login crash"}
    assert get(since="2000-01-01") == {"Login crash", "Dark mode"}
    assert get(since="4102444800") == set()
    assert get(search_pattern="pelican") == {"Dark mode"}
    assert get(search_pattern="narwhal") == {"Dark mode"}
    assert get(search_pattern="status:all tags:bug") == {"Login crash", "Old bug"}
    assert get(ckeys="os", cvalue="fedora*") == {"Login crash"}
    assert get(private="false") == {"Login crash", "Dark mode"}
    assert get(query_id=str(world.i.feat.number)) >= {"Dark mode"}
    repeated = client.get(f"{world.url}?tags=bug&tags=feature")
    assert titles(repeated) == {"Login crash", "Dark mode"}


def test_sorting(client, world):
    data = client.get(world.url, query_string={"order": "asc", "status": "all"}).get_json()
    ids = [i["id"] for i in data["issues"]]
    assert ids == sorted(ids)
    data = client.get(world.url, query_string={"order_key": "priority"}).get_json()
    assert data["issues"][0]["title"] == "Login crash"
    data = client.get(world.url, query_string={"order_key": "title", "order": "asc"})
    assert [i["title"] for i in data.get_json()["issues"]] == ["Dark mode", "Login crash"]


def test_args_are_echoed(client, world):
    resp = client.get(f"{world.url}?tags=bug&tags=!x&status=all&assignee=false&no_stones=0"
                      "&order=asc&priority=High&since=2000-01-01&milestones=v1")
    args = resp.get_json()["args"]
    assert args["tags"] == ["bug", "!x"] and args["status"] == "all"
    assert args["assignee"] == "false" and args["no_stones"] is False
    assert args["order"] == "asc" and args["priority"] == "High"
    assert args["since"] == "2000-01-01" and args["milestones"] == ["v1"]
    assert args["author"] is None and args["page"] == 1 and args["per_page"] == 20
    assert client.get(world.url).get_json()["args"]["no_stones"] is None


@pytest.mark.parametrize(("query", "status", "code"), [
    ({"priority": "Urgent"}, 400, "EINVALIDPRIORITY"),
    ({"since": "99999999999999999999"}, 400, "ETIMESTAMP"),
    ({"since": "last tuesday"}, 400, "EDATETIME"),
    ({"status": "Bogus"}, 400, "EINVALIDREQ"),
    ({"per_page": "500"}, 400, "EINVALIDPERPAGEVALUE"),
    ({"per_page": "x"}, 400, "EINVALIDREQ"),
    ({"page": "0"}, 400, "EINVALIDREQ"),
    ({"no_stones": "maybe"}, 400, "EINVALIDREQ"),
    ({"ckeys": "os"}, 400, "EINVALIDREQ"),
    ({"search_pattern": "x" * 600}, 400, "EINVALIDREQ"),
    ({"search_pattern": "a\x00"}, 400, "EINVALIDREQ"),
])
def test_bad_arguments_are_refused(client, world, query, status, code):
    assert error_of(client.get(world.url, query_string=query)) == (status, code)


@pytest.mark.parametrize("pattern", ['"', "NEAR(", "*", "AND OR", "-x", "(a", "' OR 1=1 --"])
def test_search_syntax_never_breaks_the_call(client, world, pattern):
    resp = client.get(world.url, query_string={"search_pattern": pattern})
    assert resp.status_code == 200
    assert "Hidden hole" not in titles(resp)


def test_private_issues_are_listed_only_to_those_who_may_see_them(client, world, make_token,
                                                                  session, settings):
    everything = {"status": "all"}
    assert "Hidden hole" not in titles(client.get(world.url, query_string=everything))
    for user in (world.stranger,):
        token = make_token(user, ["issue_create"])
        resp = client.get(world.url, query_string=everything, headers=auth(token))
        assert "Hidden hole" not in titles(resp)
        assert resp.get_json()["total_issues"] == 3
    for user in (world.reporter, world.triager, world.owner):
        token = make_token(user, ["issue_create"])
        resp = client.get(world.url, query_string=everything, headers=auth(token))
        assert "Hidden hole" in titles(resp) and resp.get_json()["total_issues"] == 4
    # a token bound to another project reads like an anonymous visitor
    other = make_project(session, settings, world.owner, unique("other"))
    token = make_token(world.owner, ["issue_create"], project=other)
    assert "Hidden hole" not in titles(client.get(world.url, query_string=everything,
                                                  headers=auth(token)))
    # searching for its words finds nothing either
    resp = client.get(world.url, query_string={"search_pattern": "sensitive"})
    assert resp.get_json()["total_issues"] == 0


def test_invalid_token_is_refused(client, world):
    resp = client.get(world.url, headers=auth("not-a-token"))
    assert error_of(resp) == (401, "EINVALIDTOK")


def test_disabled_tracker_and_hidden_project(client, world, session, settings):
    world.project.settings = {**world.project.settings, "issue_tracker": False}
    session.commit()
    assert error_of(client.get(world.url)) == (404, "ETRACKERDISABLED")
    hidden = make_project(session, settings, world.owner, unique("priv"), private=True)
    assert error_of(client.get(f"{API}/{hidden.url_path}/issues")) == (404, "ENOPROJECT")


# -- a user's issues ---------------------------------------------------------------

def test_user_issues_created_and_assigned(client, world):
    url = f"{API}/user/{world.triager.name}/issues"
    data = client.get(url).get_json()
    assert [i["title"] for i in data["issues_assigned"]] == ["Login crash"]
    assert data["issues_created"] == [] and data["total_issues_created"] == 0
    assert data["total_issues_assigned"] == 1
    assert data["issues_assigned"][0]["project"]["fullname"] == world.project.fullname
    assert data["total_issues_created_pages"] == 1 == data["total_issues_assigned_pages"]
    for key in ("pagination_issues_created", "pagination_issues_assigned"):
        assert set(data[key]) == {"page", "pages", "per_page", "prev", "next", "first",
                                  "last"}
    data = client.get(url, query_string={"status": "all"}).get_json()
    assert [i["title"] for i in data["issues_created"]] == ["Old bug"]
    data = client.get(url, query_string={"status": "Fixed"}).get_json()
    assert [i["title"] for i in data["issues_created"]] == ["Old bug"]
    data = client.get(url, query_string={"assignee": "false", "status": "all"}).get_json()
    assert data["issues_assigned"] == [] and data["total_issues_created"] == 1
    assert data["args"]["assignee"] is False and data["args"]["author"] is True


def test_user_issues_filters_and_ranges(client, world):
    url = f"{API}/user/{world.owner.name}/issues"
    get = lambda **q: {i["title"] for i in client.get(url, query_string=q)  # noqa: E731
                       .get_json()["issues_created"]}
    assert get() == {"Login crash", "Dark mode"}
    assert get(tags="feature") == {"Dark mode"}
    assert get(tags="!feature") == {"Login crash"}
    assert get(milestones="v1") == {"Login crash"}
    assert get(no_stones="true") == {"Dark mode"}
    assert get(created="2000-01-01..") == {"Login crash", "Dark mode"}
    assert get(created="..2000-01-01") == set()
    assert get(updated="2000-01-01..2999-01-01") == {"Login crash", "Dark mode"}
    assert get(closed="2000-01-01..", status="all") == set()
    assert get(order="asc") == {"Login crash", "Dark mode"}
    first = client.get(url, query_string={"order": "asc"}).get_json()["issues_created"]
    assert first[0]["title"] == "Login crash"
    page = client.get(url, query_string={"per_page": 1}).get_json()
    assert len(page["issues_created"]) == 1
    assert page["pagination_issues_created"]["pages"] == 2
    for query, code in (({"created": "soon.."}, "EDATETIME"),
                        ({"closed": "..99999999999999999999"}, "ETIMESTAMP"),
                        ({"per_page": 0}, "EINVALIDPERPAGEVALUE")):
        assert error_of(client.get(url, query_string=query)) == (400, code)


def test_user_issues_hide_what_the_caller_may_not_see(client, world, make_token, session,
                                                      settings):
    url = f"{API}/user/{world.reporter.name}/issues"
    assert client.get(url).get_json()["total_issues_created"] == 0
    stranger = make_token(world.stranger, ["issue_create"])
    assert client.get(url, headers=auth(stranger)).get_json()["total_issues_created"] == 0
    for user in (world.reporter, world.triager):
        token = make_token(user, ["issue_create"])
        data = client.get(url, headers=auth(token)).get_json()
        assert [i["title"] for i in data["issues_created"]] == ["Hidden hole"]
    # issues of a private project, or of a project whose tracker is off
    hidden = make_project(session, settings, world.owner, unique("priv"), private=True)
    off = make_project(session, settings, world.owner, unique("off"))
    for project in (hidden, off):
        core_issues.create_issue(session, world.reporter, project, title="Elsewhere",
                                 content="x", base_url=BASE)
    session.commit()
    off.settings = {**off.settings, "issue_tracker": False}
    session.commit()
    owner = make_token(world.owner, ["issue_create"])
    titles_seen = [i["title"] for i in client.get(url, headers=auth(owner)).get_json()
                   ["issues_created"]]
    assert titles_seen.count("Elsewhere") == 1  # the private project's, not the disabled one
    assert "Elsewhere" not in [i["title"] for i in client.get(url).get_json()["issues_created"]]


def test_unknown_user(client):
    assert error_of(client.get(f"{API}/user/{unique('nobody')}/issues")) == (404, "ENOUSER")


def test_the_endpoints_are_documented(client):
    doc = client.get(f"{API}/openapi.json").get_json()
    listing = doc["paths"]["/{repo}/issues"]["get"]
    assert "real total" in listing["description"]
    assert "/user/{username}/issues" in doc["paths"]
    assert "Unlike Pagure" in doc["paths"]["/user/{username}/issues"]["get"]["description"]
