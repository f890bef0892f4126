"""The branches page offers to open a pull request for branches ahead of the
default one, or links the open one."""

from __future__ import annotations

from conftest import login_as
from test_pull_rules import BASE, commit, make

from pagurus.core import pulls


def test_branches_ahead_offer_a_new_pr_then_link_it(client, session, settings, make_user):
    owner = make_user()
    project, repo = make(session, settings, owner)
    commit(repo, "feature/ünï", {"f.txt": "f\n"}, "F", "main")
    commit(repo, "behind", {}, "nothing new", "main")
    repo.references.create("refs/heads/behind", repo.lookup_reference("refs/heads/main").target,
                           force=True)
    login_as(client, owner)
    page = client.get(f"/{project.name}/branches").get_data(as_text=True)
    assert f'href="/{project.name}/diff/main..feature/%C3%BCn%C3%AF"' in page
    assert "diff/main..behind" not in page
    pr = pulls.create_pull(session, settings.data_dir, owner, project, branch_to="main",
                           branch_from="feature/ünï", title="F", base_url=BASE)
    session.commit()
    page = client.get(f"/{project.name}/branches").get_data(as_text=True)
    assert f'href="/{project.name}/pull-request/{pr.number}">PR #{pr.number}</a>' in page
    assert "diff/main..feature" not in page
    # anonymous visitors are not offered to open one
    client.get("/logout/")
    anon = client.application.test_client().get(f"/{project.name}/branches").get_data(
        as_text=True)
    assert "New PR" not in anon


def test_the_overview_offers_recently_pushed_branches(client, session, settings, make_user):
    owner = make_user()
    project, repo = make(session, settings, owner)
    commit(repo, "topic", {"t.txt": "t\n"}, "T", "main")
    login_as(client, owner)
    page = client.get(f"/{project.name}").get_data(as_text=True)
    assert 'id="ready-branches"' in page
    assert f'href="/{project.name}/diff/main..topic">New PR</a>' in page
    pr = pulls.create_pull(session, settings.data_dir, owner, project, branch_to="main",
                           branch_from="topic", title="T", base_url=BASE)
    session.commit()
    page = client.get(f"/{project.name}").get_data(as_text=True)
    assert f"/pull-request/{pr.number}\">PR #{pr.number}</a>" in page
    anon = client.application.test_client().get(f"/{project.name}").get_data(as_text=True)
    assert 'id="ready-branches"' not in anon
