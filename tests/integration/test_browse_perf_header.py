"""The project header is read in one SQL statement: what it shows must stay
what the per-figure functions (``social.watchers``, ``star_count``,
``fork_count``, ``watch_status``, ``access.can_admin``) say, for every kind of
viewer."""

from __future__ import annotations

from conftest import login_as, unique
from sqlalchemy import event

from pagurus.core import access, social
from pagurus.core import groups as core_groups
from pagurus.core import projects as core_projects
from pagurus.core.names import project_key


def _project(session, settings, owner, tags=None):
    project = core_projects.create_project(session, settings, owner, unique("hdr"), "d")
    project.repo_state = "ready"
    if tags:
        core_projects.update_project(session, owner, project, tags=tags)
    session.flush()
    return project


def _fork(session, source, user, private=False):
    fork = core_projects.fork_project(session, user, source)
    fork.repo_state = "ready"
    fork.private = private
    session.flush()
    return fork


def _expected(session, viewer, project):
    return {
        "stars": social.star_count(session, project),
        "watchers": social.watchers(session, project)["total_watchers"],
        "forks": core_projects.fork_count(session, viewer, project),
        "tags": sorted(t.name for t in project.tags),
        "starred": social.is_starred(session, viewer, project),
        "watch_status": social.watch_status(session, viewer, project),
        "explicit": social.is_explicit(session, viewer, project),
    }


def _got(session, viewer, project):
    key = None
    if viewer is not None:
        key = project_key(project.namespace, project.name, viewer.name)
    counts = social.header_counts(session, viewer, project, key)
    return {
        "stars": counts.stars, "watchers": counts.watchers, "forks": counts.forks,
        "tags": counts.tags, "starred": counts.starred, "watch_status": counts.watch_status,
        "explicit": counts.explicit is not None,
    }, counts


def test_the_header_counts_match_the_watchers_stars_and_forks_lists(session, settings,
                                                                      make_user):
    owner, member, grouped, fan, quiet, stranger = (make_user() for _ in range(6))
    admin = make_user(admin=True)
    project = _project(session, settings, owner, tags=["zeta", "alpha"])
    core_projects.set_user_access(session, owner, project, member, "commit")
    group = core_groups.create_group(session, unique("g"), owner)
    core_groups.add_member(session, group, owner, grouped)
    core_projects.set_group_access(session, owner, project, group, "admin")
    social.star(session, fan, project, True)
    social.star(session, member, project, True)
    social.set_watch(session, fan, project, social.WATCH_ALL)
    social.set_watch(session, quiet, project, social.WATCH_COMMITS)
    social.set_watch(session, member, project, social.WATCH_NONE)  # explicit unwatch
    _fork(session, project, fan)
    _fork(session, project, quiet, private=True)  # only quiet (and admins) see it
    session.flush()
    # owner, fan, quiet and the group; member unwatched explicitly
    assert _got(session, None, project)[0] == {
        "stars": 2, "watchers": 4, "forks": 1, "tags": ["alpha", "zeta"], "starred": False,
        "watch_status": 0, "explicit": False}
    assert _got(session, quiet, project)[0]["forks"] == 2
    assert _got(session, grouped, project)[0]["watch_status"] == social.WATCH_ISSUES
    for viewer in (None, owner, member, grouped, fan, quiet, stranger, admin):
        got, counts = _got(session, viewer, project)
        assert got == _expected(session, viewer, project), viewer and viewer.name
        assert (viewer is not None and _is_admin(counts, viewer, project)) == \
            access.can_admin(session, viewer, project)
    # the owner's explicit unwatch removes them from the total too
    before = social.watchers(session, project)["total_watchers"]
    social.set_watch(session, owner, project, social.WATCH_NONE)
    got, _ = _got(session, owner, project)
    assert got["watchers"] == before - 1 == social.watchers(session, project)["total_watchers"]


def _is_admin(counts, viewer, project):
    from pagurus.web.ui.project import _is_admin

    return _is_admin(viewer, project, counts.held)


def test_a_user_with_a_fork_gets_its_id_in_the_header(session, settings, make_user):
    owner, user = make_user(), make_user()
    project = _project(session, settings, owner)
    fork = _fork(session, project, user)
    _, counts = _got(session, user, project)
    assert counts.own_fork_id == fork.id
    _, counts = _got(session, owner, project)
    assert counts.own_fork_id is None


def test_the_header_is_one_statement(session, settings, make_user):
    owner, user = make_user(), make_user()
    project = _project(session, settings, owner, tags=["x"])
    statements = []

    def count(*_args):
        statements.append(1)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        for viewer in (None, user, owner):
            statements.clear()
            social.header_counts(session, viewer, project, "nothing")
            assert len(statements) == 1
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_visitor_sees_the_header_figures_on_the_log_page(client, session, settings,
                                                          make_user):
    owner, fan, other = make_user(), make_user(), make_user()
    project = _project(session, settings, owner, tags=["perf"])
    social.star(session, fan, project, True)
    social.set_watch(session, fan, project, social.WATCH_ISSUES)
    _fork(session, project, other)
    session.commit()
    page = client.get(f"/{project.name}/commits").get_data(as_text=True)
    assert "1 star<" in page and "2 watchers<" in page and "1 fork<" in page
    assert 'href="/projects?tags=perf"' in page
    login_as(client, other)
    page = client.get(f"/{project.name}/commits").get_data(as_text=True)
    assert f'href="/fork/{other.name}/{project.name}">Your fork' in page
    assert ">Fork<" not in page
