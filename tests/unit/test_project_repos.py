"""Project rows plus repos made by a real worker."""

from pathlib import Path

from pagurus.core import projects
from pagurus.paths import REPO_KINDS, repo_path
from pagurus.tasks import projects as tasks


def test_creating_a_project_makes_its_four_bare_repos(session, settings, make_user, worker):
    owner = make_user()
    project = projects.create_project(session, settings, owner, "demo" + owner.name[-6:],
                                      "A demo")
    session.commit()
    result = tasks.create_project_repos.delay(project.id, True).get(timeout=30)
    assert "created" in result["message"]
    session.expire_all()
    assert session.get(type(project), project.id).repo_state == "ready"
    for kind in REPO_KINDS:
        path: Path = repo_path(settings.data_dir, kind, project.fullname)
        assert (path / "HEAD").is_file()
    main = repo_path(settings.data_dir, "main", project.fullname)
    assert (main / "refs" / "heads" / "main").exists() or (main / "packed-refs").exists()


def test_deleting_records_the_event_when_the_row_goes(session, settings, make_user, worker):
    from sqlalchemy import select

    from pagurus.model import Event, Project

    owner = make_user()
    project = projects.create_project(session, settings, owner, "del" + owner.name[-6:], "x")
    session.commit()
    pid, fullname = project.id, project.fullname
    tasks.create_project_repos.delay(pid).get(timeout=30)
    session.expire_all()
    projects.request_delete(session, settings, owner, session.get(Project, pid))
    session.commit()
    topics = session.scalars(select(Event.topic).where(Event.project_id == pid)).all()
    assert topics == ["project.new"]  # marked only: nothing is gone yet
    tasks.delete_project.delay(pid, owner.name).get(timeout=30)
    session.expire_all()
    assert session.get(Project, pid) is None
    assert not repo_path(settings.data_dir, "main", fullname).exists()
    events = session.scalars(select(Event).where(Event.project_id == pid)
                             .order_by(Event.id)).all()
    assert [e.topic for e in events] == ["project.new", "project.deleted"]
    assert events[-1].payload["agent"] == owner.name
