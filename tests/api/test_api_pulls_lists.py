"""Pull-request lists through API v0: a project's list with every filter,
counts per status, and a user's filed and actionable lists (spec §2.5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apihelp import error_of, grant, make_group
from conftest import auth, unique
from pullhelp import API, git_project, open_pr
from werkzeug.datastructures import MultiDict

from pagurus.core import groups as core_groups
from pagurus.core import projects as core_projects
from pagurus.core import pull_query as pq
from pagurus.core import pulls as core_pulls
from pagurus.model import PullRequest

BASE = "http://pagurus.test"


def titles(resp):
    assert resp.status_code == 200, resp.get_json()
    return [r["title"] for r in resp.get_json()["requests"]]


def listing(client, project, query="", token=None):
    headers = auth(token) if token else {}
    return client.get(f"{API}/{project.url_path}/pull-requests{query}", headers=headers)


def setup_prs(session, settings, make_user):
    """alpha (open, by author, assigned to reviewer, tags bug+ui), beta (open,
    by owner, tag docs), gamma (merged), delta (closed, by author)."""
    owner, author, reviewer = make_user(), make_user(), make_user()
    project, repo = git_project(session, settings, owner)
    grant(session, project, author, "commit")
    grant(session, project, reviewer, "ticket")
    prs = {}
    for title, who in (("alpha fix", author), ("beta docs", owner), ("gamma feature", owner),
                       ("delta cleanup", author)):
        prs[title.split()[0]] = open_pr(session, settings, who, project, repo, title=title)
    core_pulls.update_metadata(session, owner, prs["alpha"], base_url=BASE,
                               assignee=reviewer.name, tags="bug,ui")
    core_pulls.update_metadata(session, owner, prs["beta"], base_url=BASE, tags="docs")
    core_pulls.mark_merged(session, owner, prs["gamma"], base_url=BASE)
    core_pulls.close(session, author, prs["delta"], base_url=BASE)
    session.commit()
    return project, prs, (owner, author, reviewer)


def test_the_list_filters_by_status_people_tags_and_title(client, session, settings,
                                                          make_user):
    project, prs, (owner, author, reviewer) = setup_prs(session, settings, make_user)
    assert titles(listing(client, project)) == ["beta docs", "alpha fix"]
    assert titles(listing(client, project, "?status=Merged")) == ["gamma feature"]
    assert titles(listing(client, project, "?status=closed")) == ["delta cleanup"]
    assert titles(listing(client, project, "?status=false")) == ["delta cleanup",
                                                                 "gamma feature"]
    assert titles(listing(client, project, "?status=0")) == ["delta cleanup", "gamma feature"]
    assert titles(listing(client, project, "?status=true")) == ["beta docs", "alpha fix"]
    assert len(titles(listing(client, project, "?status=all"))) == 4
    assert error_of(listing(client, project, "?status=weird")) == (400, "EINVALIDREQ")
    assert titles(listing(client, project, f"?assignee={reviewer.name}")) == ["alpha fix"]
    assert titles(listing(client, project, f"?assignee=!{reviewer.name}")) == ["beta docs"]
    assert titles(listing(client, project, "?assignee=true")) == ["alpha fix"]
    assert titles(listing(client, project, "?assignee=0")) == ["beta docs"]
    assert titles(listing(client, project, f"?author={author.name}&status=all")) == [
        "delta cleanup", "alpha fix"]
    assert titles(listing(client, project, f"?author=!{author.name}")) == ["beta docs"]
    assert titles(listing(client, project, "?author=nobody-at-all")) == []
    assert titles(listing(client, project, "?tags=bug")) == ["alpha fix"]
    assert titles(listing(client, project, "?tags=docs&tags=ui")) == ["beta docs", "alpha fix"]
    assert titles(listing(client, project, "?tags=!bug")) == ["beta docs"]
    assert titles(listing(client, project, "?search_pattern=FIX")) == ["alpha fix"]
    assert titles(listing(client, project, "?search_pattern=b*s&status=all")) == ["beta docs"]
    assert titles(listing(client, project, "?search_pattern=b*")) == ["beta docs"]
    assert titles(listing(client, project, "?search_pattern=*o*")) == ["beta docs"]
    assert titles(listing(client, project, "?search_pattern=100%25")) == []
    assert titles(listing(client, project, "?order=asc")) == ["alpha fix", "beta docs"]
    data = listing(client, project, "?tags=bug&status=open").get_json()
    assert data["args"]["tags"] == ["bug"] and data["args"]["status"] == "open"
    assert data["total_requests"] == 1 and data["requests"][0]["tags"] == ["bug", "ui"]
    assert data["requests"][0]["assignee"]["name"] == reviewer.name


def test_the_list_sorts_by_update_and_pages_with_a_true_total(client, session, settings,
                                                              make_user):
    project, prs, _people = setup_prs(session, settings, make_user)
    alpha = session.get(PullRequest, prs["alpha"].id)
    alpha.updated_on = datetime.now(UTC) + timedelta(hours=1)
    session.commit()
    assert titles(listing(client, project, "?order_key=last_updated")) == ["alpha fix",
                                                                           "beta docs"]
    assert titles(listing(client, project, "?order_key=last_updated&order=asc")) == [
        "beta docs", "alpha fix"]
    data = listing(client, project, "?status=all&per_page=3&page=2").get_json()
    assert data["total_requests"] == 4 and len(data["requests"]) == 1
    assert data["pagination"]["pages"] == 2 and data["pagination"]["next"] is None
    assert "status=all" in data["pagination"]["prev"]
    assert error_of(listing(client, project, "?per_page=101")) == (400, "EINVALIDPERPAGEVALUE")
    assert error_of(listing(client, project, "?page=0")) == (400, "EINVALIDREQ")


def test_counts_per_status_follow_the_other_filters(session, settings, make_user):
    project, _prs, (owner, author, _reviewer) = setup_prs(session, settings, make_user)
    counts = pq.status_counts(session, None, project, pq.parse_filters({}))
    assert counts == {"Open": 2, "Merged": 1, "Closed": 1, "all": 4}
    by_author = pq.parse_filters(MultiDict([("author", author.name)]))
    assert pq.status_counts(session, None, project, by_author) == {
        "Open": 1, "Merged": 0, "Closed": 1, "all": 2}
    assert pq.count(session, None, project, by_author) == 1


def test_a_users_filed_and_actionable_lists(client, session, settings, make_user,
                                            make_token):
    owner, contributor = make_user(), make_user()
    mine, mine_repo = git_project(session, settings, owner)
    theirs, theirs_repo = git_project(session, settings, contributor)
    secret, secret_repo = git_project(session, settings, owner, private=True)
    grant(session, mine, contributor, "commit")
    grant(session, secret, contributor, "commit")
    open_pr(session, settings, contributor, mine, mine_repo, title="contrib to mine")
    open_pr(session, settings, owner, mine, mine_repo, title="owner's own")
    open_pr(session, settings, contributor, secret, secret_repo, title="secret contrib")
    closed = open_pr(session, settings, contributor, theirs, theirs_repo, title="closed one")
    core_pulls.close(session, contributor, closed, base_url=BASE)
    session.commit()

    filed = client.get(f"{API}/user/{contributor.name}/requests/filed")
    assert titles(filed) == ["contrib to mine"]  # the private project is not shown
    data = filed.get_json()
    assert data["total_requests"] == 1 and data["args"]["username"] == contributor.name
    assert data["requests"][0]["project"]["fullname"] == mine.fullname
    assert titles(client.get(f"{API}/user/{contributor.name}/requests/filed?status=all")) == [
        "closed one", "contrib to mine"]
    assert titles(client.get(f"{API}/user/{contributor.name}/requests/filed"
                             "?status=closed")) == ["closed one"]
    # the owner sees their own private project's PRs in the contributor's list
    raw = make_token(owner, ["pull_request_comment"])
    assert titles(client.get(f"{API}/user/{contributor.name}/requests/filed",
                             headers=auth(raw))) == ["secret contrib", "contrib to mine"]
    # actionable for the owner: PRs by others on projects they may commit to
    assert titles(client.get(f"{API}/user/{owner.name}/requests/actionable")) == [
        "contrib to mine"]
    assert titles(client.get(f"{API}/user/{owner.name}/requests/actionable",
                             headers=auth(raw))) == ["secret contrib", "contrib to mine"]
    # the contributor commits to mine: the owner's PR is actionable for them
    assert titles(client.get(f"{API}/user/{contributor.name}/requests/actionable")) == [
        "owner's own"]
    assert error_of(client.get(f"{API}/user/nobody{unique()}/requests/filed")) == (404,
                                                                                  "ENOUSER")
    assert error_of(client.get(f"{API}/user/{owner.name}/requests/filed?created=bad")) == (
        400, "EDATETIME")


def test_actionable_counts_group_access_and_date_ranges(client, session, settings,
                                                        make_user):
    owner, member, author = make_user(), make_user(), make_user()
    project, repo = git_project(session, settings, owner)
    group = make_group(session, unique("g"), owner)
    core_groups.add_member(session, group, owner, member)
    core_projects.set_group_access(session, owner, project, group, "commit")
    core_projects.set_user_access(session, owner, project, author, "commit")
    session.commit()
    pr = open_pr(session, settings, author, project, repo, title="via group")
    url = f"{API}/user/{member.name}/requests/actionable"
    assert titles(client.get(url)) == ["via group"]
    today = pr.date_created.strftime("%Y-%m-%d")
    assert titles(client.get(f"{url}?created={today}..{today}")) == ["via group"]
    assert titles(client.get(f"{url}?created=2000-01-01..2000-01-02")) == []
    stamp = int(pr.date_created.timestamp())
    assert titles(client.get(f"{url}?updated={stamp - 5}..")) == ["via group"]
    assert titles(client.get(f"{url}?closed=2000-01-01..")) == []
    # a disabled PR feature hides the project's PRs from user lists
    project.settings = {**project.settings, "pull_requests": False}
    session.commit()
    assert titles(client.get(url)) == []
