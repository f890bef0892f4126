"""Pull-request lists: a project's (status tabs with counts, filters,
search, order, pages) and a user's filed and actionable lists, showing
only what the viewer may see."""

from __future__ import annotations

import re

from conftest import login_as
from pullui_help import BASE, commit, grant, make_project, open_pull

from pagurus.core import pulls


def titles(html: str) -> list[str]:
    return re.findall(r'class="pr-list-title" href="[^"]+">([^<]+)</a>', html)


def counts(html: str) -> dict[str, int]:
    return {label: int(n) for label, n in re.findall(
        r'class="tab[^"]*"[^>]*>(\w+) <span class="badge">(\d+)</span>', html)}


def test_a_project_list_with_tabs_filters_search_order_and_pages(client, session, settings,
                                                                 make_user):
    owner, alice, bob = make_user(), make_user(), make_user()
    project, repo = make_project(session, settings, owner)
    grant(session, project, alice, "commit")
    grant(session, project, bob, "commit")
    made = {}
    for i, (author, title) in enumerate([(alice, "Fix the parser"), (bob, "Add a feature"),
                                         (alice, "Parser speedup"), (bob, "Docs")]):
        commit(repo, f"b{i}", {f"f{i}.txt": "x\n"}, title, "main")
        made[title] = open_pull(session, settings, author, project, f"b{i}", title=title)
    pulls.close(session, owner, made["Docs"], base_url=BASE)
    pulls.mark_merged(session, owner, made["Add a feature"], base_url=BASE)
    pulls.update_metadata(session, owner, made["Fix the parser"], base_url=BASE,
                          tags="bug", assignee=bob.name)
    session.commit()
    base = f"/{project.url_path}/pull-requests"
    html = client.get(base).get_data(as_text=True)
    assert titles(html) == ["Parser speedup", "Fix the parser"]  # open, newest first
    assert counts(html) == {"Open": 2, "Merged": 1, "Closed": 1, "All": 4}
    assert titles(client.get(base + "?status=Merged").get_data(as_text=True)) == [
        "Add a feature"]
    assert len(titles(client.get(base + "?status=all").get_data(as_text=True))) == 4
    assert titles(client.get(base + "?tags=bug").get_data(as_text=True)) == ["Fix the parser"]
    assert titles(client.get(base + f"?assignee={bob.name}").get_data(as_text=True)) == [
        "Fix the parser"]
    assert titles(client.get(base + f"?author={alice.name}&status=all&order=asc"
                             ).get_data(as_text=True)) == ["Fix the parser", "Parser speedup"]
    assert titles(client.get(base + "?search_pattern=speed").get_data(as_text=True)) == [
        "Parser speedup"]
    paged = client.get(base + "?status=all&n=3&page=2").get_data(as_text=True)
    assert len(titles(paged)) == 1 and 'rel="prev"' in paged
    bad = client.get(base + "?status=nonsense")
    assert bad.status_code == 400 and "Invalid status" in bad.get_data(as_text=True)


def test_user_lists_of_filed_and_actionable_pull_requests(client, session, settings,
                                                          make_user):
    owner, alice = make_user(), make_user()
    public, repo = make_project(session, settings, owner)
    hidden, hrepo = make_project(session, settings, owner, private=True)
    grant(session, public, alice, "commit")
    commit(repo, "a", {"a1.txt": "x\n"}, "A", "main")
    commit(repo, "o", {"o1.txt": "x\n"}, "O", "main")
    commit(hrepo, "h", {"h.txt": "x\n"}, "H", "main")
    open_pull(session, settings, alice, public, "a", title="By Alice")
    open_pull(session, settings, owner, public, "o", title="By the owner")
    open_pull(session, settings, owner, hidden, "h", title="Secret work")
    filed = client.get(f"/user/{owner.name}/requests").get_data(as_text=True)
    assert titles(filed) == ["By the owner"]  # the private project's PR stays hidden
    login_as(client, owner)
    filed = client.get(f"/user/{owner.name}/requests").get_data(as_text=True)
    assert sorted(titles(filed)) == ["By the owner", "Secret work"]
    actionable = client.get(f"/user/{owner.name}/requests?type=actionable"
                            ).get_data(as_text=True)
    assert titles(actionable) == ["By Alice"]
    assert public.fullname in actionable
    assert client.get("/user/no-such-user-here/requests").status_code == 404
