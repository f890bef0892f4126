"""Visitors browse the project index, search, and the user pages; private things
only show to those who may see them, and long lists paginate."""

from __future__ import annotations

from urllib.parse import urlsplit

from conftest import login_as, unique

from pagurus.core import groups as core_groups
from pagurus.core import projects as core_projects


def new_project(session, settings, owner, name=None, *, private=False, namespace=None):
    project = core_projects.create_project(session, settings, owner, name or unique("p"),
                                           "desc", private=private, namespace=namespace)
    project.repo_state = "ready"
    session.commit()
    return project


def text(resp):
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def test_the_index_lists_public_projects_but_not_private_ones_or_forks(client, make_user,
                                                                       session, settings):
    owner, member, stranger = make_user(), make_user(), make_user()
    prefix = unique("idx")
    public = new_project(session, settings, owner, prefix + "pub")
    new_project(session, settings, owner, prefix + "pub2")
    private = new_project(session, settings, owner, prefix + "priv", private=True)
    core_projects.set_user_access(session, owner, private, member, "ticket")
    fork = core_projects.fork_project(session, member, public)
    fork.repo_state = "ready"
    session.commit()
    body = text(client.get(f"/projects/{prefix}*"))
    assert f'href="/{public.name}"' in body
    assert private.name not in body and f"fork/{member.name}" not in body
    login_as(client, stranger)
    assert private.name not in text(client.get(f"/projects/{prefix}*"))
    login_as(client, member)
    body = text(client.get(f"/projects/{prefix}*"))
    assert f'href="/{private.name}"' in body and "Private" in body
    # forks only on request
    body = text(client.get(f"/projects/{prefix}*?forks=1"))
    assert f'href="/fork/{member.name}/{public.name}"' in body
    # the front page too
    assert "<h1>Projects" in text(client.get("/"))
    assert "<h1>Projects" in text(client.get("/browse/projects"))


def test_the_index_sorts_by_date_on_request(client, make_user, session, settings):
    owner = make_user()
    first = new_project(session, settings, owner, unique("zz-sort"))
    second = new_project(session, settings, owner, unique("aa-sort"))
    latest = text(client.get("/?sorting=latest"))
    assert latest.index(f'href="/{second.name}"') < latest.index(f'href="/{first.name}"')
    oldest = text(client.get("/?sorting=oldest&page=1"))
    assert 'class="tab active" href="/?sorting=oldest"' in oldest


def test_project_lists_paginate(client, make_user, session, settings):
    owner = make_user()
    prefix = unique("pg")
    per_page = settings.items_per_page
    for i in range(per_page + 2):
        core_projects.create_project(session, settings, owner, f"{prefix}-{i:03d}", "d")
    new_project(session, settings, owner, f"{prefix}-zzz-private", private=True)
    session.commit()
    first = text(client.get(f"/projects/{prefix}*"))
    assert first.count(f'href="/{prefix}-') == per_page
    assert f"({per_page + 2})" in first
    assert 'rel="next"' in first and "page=2" in first
    second = text(client.get(f"/projects/{prefix}*?page=2"))
    assert second.count(f'href="/{prefix}-') == 2
    assert f'href="/{prefix}-{per_page + 1:03d}"' in second
    assert "zzz-private" not in second
    # a page past the end shows the last one; garbage is page 1
    assert text(client.get(f"/projects/{prefix}*?page=99")).count(f'href="/{prefix}-') == 2
    assert text(client.get(f"/projects/{prefix}*?page=x")).count(
        f'href="/{prefix}-') == per_page
    # the user's project list paginates the same way
    mine = text(client.get(f"/user/{owner.name}/projects?page=2"))
    assert mine.count(f'href="/{prefix}-') == 2


def test_search_goes_to_the_single_match(client, make_user, session, settings):
    owner = make_user()
    project = new_project(session, settings, owner, unique("single"))
    resp = client.get(f"/search?type=projects&term={project.name}")
    assert resp.status_code == 302
    resp = client.get(resp.headers["Location"])
    assert resp.status_code == 302 and resp.headers["Location"] == f"/{project.name}"


def test_search_does_not_reveal_a_private_single_match(client, make_user, session, settings):
    owner = make_user()
    project = new_project(session, settings, owner, unique("secret"), private=True)
    resp = client.get(client.get(f"/search?type=projects&term={project.name}")
                      .headers["Location"])
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert f'href="/{project.name}"' not in body and "No project matches" in body


def test_search_finds_several_projects_by_part_of_the_name(client, make_user, session,
                                                           settings):
    owner = make_user()
    word = unique("mid")
    one = new_project(session, settings, owner, f"a-{word}-1")
    two = new_project(session, settings, owner, f"b-{word}-2")
    resp = client.get(f"/search?type=projects&term={word}", follow_redirects=True)
    body = text(resp)
    assert f'href="/{one.name}"' in body and f'href="/{two.name}"' in body


def test_search_dispatches_users_and_groups(client, make_user, session):
    user = make_user()
    resp = client.get(f"/search?type=users&term={user.name}", follow_redirects=True)
    assert resp.request.path == f"/user/{user.name}"
    group = core_groups.create_group(session, unique("grp"), user)
    session.commit()
    resp = client.get(f"/search?type=groups&term={group.name}", follow_redirects=True)
    assert f'href="/group/{group.name}"' in text(resp)


def test_the_users_list_counts_only_visible_projects(client, make_user, session, settings):
    prefix = unique("ul")
    owner = make_user(prefix + "a")
    make_user(prefix + "b")
    new_project(session, settings, owner)
    new_project(session, settings, owner, private=True)
    body = text(client.get(f"/users/{prefix}"))
    assert f'href="/user/{prefix}a"' in body and f'href="/user/{prefix}b"' in body
    assert "1 projects" in body
    login_as(client, owner)
    assert "2 projects" in text(client.get(f"/users/{prefix}"))


def test_the_users_list_paginates(client, make_user, session, settings):
    prefix = unique("many")
    for i in range(settings.items_per_page + 1):
        make_user(f"{prefix}{i:03d}")
    first = text(client.get(f"/users/{prefix}"))
    assert first.count(f'href="/user/{prefix}') == settings.items_per_page
    second = text(client.get(f"/users/{prefix}?page=2"))
    assert second.count(f'href="/user/{prefix}') == 1


def test_a_user_page_shows_what_the_viewer_may_see(client, make_user, session, settings):
    owner, member = make_user(), make_user()
    public = new_project(session, settings, owner)
    private = new_project(session, settings, owner, private=True)
    other = new_project(session, settings, make_user())
    core_projects.set_user_access(session, other.user, other, owner, "commit")
    fork = core_projects.fork_project(session, owner, other)
    fork.repo_state = "ready"
    core_projects.set_user_access(session, owner, private, member, "ticket")
    group = core_groups.create_group(session, unique("g"), owner)
    session.commit()
    body = text(client.get(f"/user/{owner.name}"))
    assert f'href="/{public.name}"' in body and f'href="/{other.name}"' in body
    assert private.name not in body
    assert f'href="/fork/{owner.name}/{other.name}"' in body
    assert f'href="/group/{group.name}"' in body
    assert f'href="/{public.name}"' in text(client.get(f"/user/{owner.name}/projects"))
    assert f'/fork/{owner.name}/{other.name}' in text(client.get(f"/user/{owner.name}/forks"))
    assert group.name in text(client.get(f"/user/{owner.name}/groups"))
    login_as(client, member)
    assert f'href="/{private.name}"' in text(client.get(f"/user/{owner.name}"))


def test_an_unknown_user_page_is_404(client):
    for suffix in ("", "/projects", "/forks", "/groups", "/stars"):
        assert client.get(f"/user/{unique('ghost')}{suffix}").status_code == 404


def test_a_direct_search_goes_to_the_path_and_never_leaves_the_site(client):
    resp = client.get("/search?type=projects&term=some/project&direct=1")
    assert resp.status_code == 302 and resp.headers["Location"] == "/some/project"
    for term in ("//evil.example/x", "/\\evil.example", "http://evil.example/"):
        resp = client.get("/search", query_string={"term": term, "direct": "1"})
        location = resp.headers["Location"]
        assert location.startswith("/") and not location.startswith(("//", "/\\")), term
        parts = urlsplit(location)
        assert not parts.scheme and not parts.netloc, term


def test_avatar_urls_given_by_the_api_serve_a_local_svg(client, make_user, session):
    from pagurus.core import users as core_users

    user = make_user()
    core_users.set_fullname(user, '<script>alert(1)</script> Zed')
    session.commit()
    listed = client.get(f"/api/0/user/{user.name}").get_json()["user"]["avatar_url"]
    path = listed.split("://", 1)[1].split("/", 1)[1]
    resp = client.get("/" + path)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("image/svg+xml")
    body = resp.get_data(as_text=True)
    assert ">Z</text>" in body and "<script" not in body
    assert client.get("/avatar/nobody-" + user.name).status_code == 404
