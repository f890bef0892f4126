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
