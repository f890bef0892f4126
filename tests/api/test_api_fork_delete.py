"""Forking and deleting projects through the API, with a real worker and real repos."""

from __future__ import annotations

import pygit2
from apihelp import API, error_of, poll_task, project_row, repo_dirs
from conftest import auth, unique

from pagurus.core import attachments as core_attachments
from pagurus.core import releases as core_releases


def create(client, raw, name, **extra):
    resp = client.post(API + "/new", headers=auth(raw),
                       data={"name": name, "description": "d", "create_readme": "1", **extra})
    assert resp.status_code == 200, resp.get_json()


def test_user_forks_a_project_and_the_parent_stays_intact(client, settings, make_user,
                                                          make_token, worker):
    owner, forker = make_user(), make_user()
    name = unique("src")
    create(client, make_token(owner, ["create_project"]), name)
    parent_head = pygit2.Repository(str(repo_dirs(settings, name)[0])).head.target
    raw = make_token(forker, ["fork_project"])
    resp = client.post(API + "/fork", headers=auth(raw), data={"repo": name})
    assert resp.get_json() == {"message": f'Repo "{name}" cloned to "{forker.name}/{name}"'}
    fork_path = repo_dirs(settings, f"forks/{forker.name}/{name}")[0]
    assert pygit2.Repository(str(fork_path)).head.target == parent_head
    assert pygit2.Repository(str(repo_dirs(settings, name)[0])).head.target == parent_head
    data = client.get(f"{API}/fork/{forker.name}/{name}").get_json()
    assert data["fullname"] == f"forks/{forker.name}/{name}"
    assert data["url_path"] == f"fork/{forker.name}/{name}"
    assert data["parent"]["name"] == name
    again = client.post(API + "/fork/", headers=auth(raw), json={"repo": name})
    assert error_of(again) == (400, "ENOCODE")
    assert "already exists" in again.get_json()["error"]
    assert error_of(client.post(API + "/fork", headers=auth(raw), data={})) == (
        400, "EINVALIDREQ")
    assert error_of(client.post(API + "/fork", headers=auth(raw),
                                data={"repo": unique("none")})) == (404, "ENOPROJECT")
    listed = client.get(f"{API}/projects?fork=1&owner={forker.name}").get_json()
    assert [p["fullname"] for p in listed["projects"]] == [f"forks/{forker.name}/{name}"]


def test_fork_queued_without_waiting_can_be_polled(client, settings, make_user, make_token,
                                                   worker):
    owner, forker = make_user(), make_user()
    name = unique("srcq")
    create(client, make_token(owner, ["create_project"]), name)
    resp = client.post(API + "/fork", headers=auth(make_token(forker, ["fork_project"])),
                       json={"repo": name, "wait": False})
    data = resp.get_json()
    assert data["message"] == "Project forking queued"
    assert poll_task(client, data["taskid"])["successful"] is True
    assert (repo_dirs(settings, f"forks/{forker.name}/{name}")[0] / "HEAD").is_file()


def test_owner_deletes_a_project_and_its_fork_survives(client, session, settings, make_user,
                                                       make_token, worker):
    owner, forker = make_user(), make_user()
    name = unique("gone")
    create(client, make_token(owner, ["create_project"]), name)
    client.post(API + "/fork", headers=auth(make_token(forker, ["fork_project"])),
                data={"repo": name})
    project = project_row(session, name)
    user_token = make_token(owner, ["modify_project"])
    resp = client.post(f"{API}/{name}/delete", headers=auth(user_token))
    assert error_of(resp) == (401, "EINVALIDTOK")  # a project-bound token is required
    other = make_user()
    resp = client.post(f"{API}/{name}/delete",
                       headers=auth(make_token(other, ["modify_project"])))
    assert error_of(resp) == (401, "EINVALIDTOK")
    kept = [core_releases.folder(settings.data_dir, project) / "gone-1.0.tar.gz",
            core_attachments.folder(settings.data_dir, project) / "shot.png"]
    for path in kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"data")
    project_token = make_token(owner, ["modify_project"], project=project)
    resp = client.post(f"{API}/{name}/delete", headers=auth(project_token))
    assert resp.status_code == 200, resp.get_json()
    # its release files and attachments went with it
    assert not any(path.parent.exists() for path in kept)
    data = resp.get_json()
    assert data["message"] == "Project deleted"
    assert data["project"]["fullname"] == name
    assert project_row(session, name) is None
    assert not any(p.exists() for p in repo_dirs(settings, name))
    assert error_of(client.get(f"{API}/{name}")) == (404, "ENOPROJECT")
    fork = client.get(f"{API}/fork/{forker.name}/{name}").get_json()
    assert fork["parent"] is None
    assert (repo_dirs(settings, f"forks/{forker.name}/{name}")[0] / "HEAD").is_file()


def test_admin_but_not_committer_may_delete(client, session, settings, make_user, make_token,
                                            worker):
    owner, dev = make_user(), make_user()
    name = unique("keep")
    create(client, make_token(owner, ["create_project"]), name)
    project = project_row(session, name)
    owner_token = make_token(owner, ["modify_project"])
    client.post(f"{API}/{name}/git/modifyacls", headers=auth(owner_token),
                data={"user_type": "user", "name": dev.name, "acl": "commit"})
    dev_token = make_token(dev, ["modify_project"], project=project)
    resp = client.post(f"{API}/{name}/delete", headers=auth(dev_token))
    assert error_of(resp) == (401, "ENOTHIGHENOUGH")
    assert project_row(session, name) is not None
    assert (repo_dirs(settings, name)[0] / "HEAD").is_file()
