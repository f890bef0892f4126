"""Creating projects through POST /api/0/new with a real worker."""

from __future__ import annotations

import pytest
from apihelp import API, error_of, poll_task, project_row, repo_dirs
from conftest import auth, unique


def exists(path) -> bool:
    try:
        return path.exists()
    except OSError:  # a name too long for the filesystem cannot exist
        return False


def test_user_creates_a_public_project_and_waits_for_its_repos(client, settings, make_user,
                                                               make_token, worker):
    user = make_user()
    raw = make_token(user, ["create_project"])
    name = unique("pub")
    resp = client.post(API + "/new", headers=auth(raw),
                       data={"name": name, "description": "Public one",
                             "create_readme": "true"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"message": f'Project "{name}" created'}
    for path in repo_dirs(settings, name):
        assert (path / "HEAD").is_file()
    data = client.get(f"{API}/{name}").get_json()
    assert data["name"] == name
    assert data["user"]["name"] == user.name
    assert data["date_created"].isdigit()
    assert "default_email" not in data["user"]


def test_user_creates_a_private_project_in_json_and_outsiders_see_nothing(
        client, settings, make_user, make_token, worker):
    owner, outsider = make_user(), make_user()
    raw = make_token(owner, ["create_project"])
    name = unique("priv")
    resp = client.post(API + "/new/", headers=auth(raw),
                       json={"name": name, "description": "Secret", "private": True,
                             "wait": True})
    assert resp.get_json() == {"message": f'Project "{name}" created'}
    assert (repo_dirs(settings, name)[0] / "HEAD").is_file()
    anon = client.get(f"{API}/{name}")
    other = client.get(f"{API}/{name}", headers=auth(make_token(outsider, ["fork_project"])))
    missing = client.get(f"{API}/{unique('nothing')}")
    assert error_of(anon) == error_of(other) == error_of(missing) == (404, "ENOPROJECT")
    assert anon.get_json() == other.get_json() == missing.get_json()
    mine = client.get(f"{API}/{name}", headers=auth(raw))
    assert mine.status_code == 200
    assert mine.get_json()["fullname"] == name


def test_user_queues_a_project_and_polls_the_task(client, session, settings, make_user,
                                                  make_token, worker):
    user = make_user()
    raw = make_token(user, ["create_project"])
    name = unique("queued")
    resp = client.post(API + "/new", headers=auth(raw),
                       data={"name": name, "description": "Later", "wait": "false"})
    data = resp.get_json()
    assert data["message"] == "Project creation queued"
    status = poll_task(client, data["taskid"])
    assert status == {"ready": True, "status": "SUCCESS", "successful": True}
    assert (repo_dirs(settings, name)[0] / "HEAD").is_file()
    assert project_row(session, name).repo_state == "ready"


@pytest.mark.parametrize("value", [False, 0, "0", "false", "no", ""])
def test_wait_false_in_any_spelling_queues_without_waiting(client, make_user, make_token,
                                                           value):
    user = make_user()
    raw = make_token(user, ["create_project"])
    resp = client.post(API + "/new", headers=auth(raw),
                       json={"name": unique("w"), "description": "d", "wait": value})
    assert resp.get_json()["message"] == "Project creation queued"
    assert resp.get_json()["taskid"]


@pytest.mark.parametrize("namespace,name", [
    (None, "../x"),
    (None, "-x"),
    ("a/b", "c"),
    ("a", "b/c"),
    (None, "x" * 300),
    (None, "bad\x07name"),
    (None, "bad\nname"),
    (None, "new"),
    (None, "api"),
    ("forks", "x"),
    (None, "x.git"),
    (None, ".."),
])
def test_bad_project_names_are_refused_and_nothing_is_created(client, session, settings,
                                                              make_user, make_token,
                                                              namespace, name):
    user = make_user(admin=True)  # site admins may use any namespace: only the name refuses
    raw = make_token(user, ["create_project"])
    fields = {"name": name, "description": "nope"}
    if namespace:
        fields["namespace"] = namespace
    resp = client.post(API + "/new", headers=auth(raw), data=fields)
    assert error_of(resp) == (400, "ENOCODE")
    assert resp.get_json()["error"]
    full = f"{namespace}/{name}" if namespace else name
    if name and "\x00" not in full:
        assert project_row(session, full) is None
        try:
            paths = repo_dirs(settings, full)
        except ValueError:  # the path helper itself refuses it
            paths = []
        assert not any(exists(p) for p in paths)


def test_duplicate_project_is_refused_with_nothing_changed(client, session, settings,
                                                           make_user, make_token, worker):
    user, other = make_user(), make_user()
    name = unique("dup")
    raw = make_token(user, ["create_project"])
    assert client.post(API + "/new", headers=auth(raw),
                       data={"name": name, "description": "first"}).status_code == 200
    again = make_token(other, ["create_project"])
    resp = client.post(API + "/new", headers=auth(again),
                       data={"name": name.upper(), "description": "second"})
    assert error_of(resp) == (400, "ENOCODE")
    assert "already exists" in resp.get_json()["error"]
    row = project_row(session, name)
    assert row.description == "first" and row.user_id == user.id


def test_token_without_create_project_is_refused(client, make_user, make_token):
    user = make_user()
    raw = make_token(user, ["fork_project", "modify_project"])
    name = unique("noacl")
    resp = client.post(API + "/new", headers=auth(raw),
                       data={"name": name, "description": "x"})
    assert error_of(resp) == (401, "EINVALIDTOK")
    assert resp.get_json()["errors"] == "Missing ACLs: create_project"
    assert error_of(client.post(API + "/new", data={"name": name, "description": "x"})) == (
        401, "EINVALIDTOK")


def test_wrong_types_and_bad_json_are_refused_not_crashed(client, session, make_user,
                                                          make_token):
    user = make_user()
    raw = make_token(user, ["create_project"])
    resp = client.post(API + "/new", headers=auth(raw),
                       json={"name": [unique("l")], "description": "x"})
    assert error_of(resp) == (400, "EINVALIDREQ")
    resp = client.post(API + "/new", headers={**auth(raw), "Content-Type": "application/json"},
                       data=b"{not json")
    assert error_of(resp)[0] == 400
    resp = client.post(API + "/new", headers=auth(raw), json=["a", "list"])
    assert error_of(resp)[0] == 400
    name = unique("nul")
    resp = client.post(API + "/new", headers=auth(raw),
                       json={"name": name, "description": "a\x00b"})
    assert error_of(resp) == (400, "ENOCODE")
    assert project_row(session, name) is None


def test_missing_name_or_description_is_an_invalid_request(client, make_user, make_token):
    raw = make_token(make_user(), ["create_project"])
    resp = client.post(API + "/new", headers=auth(raw), data={"description": "x"})
    assert error_of(resp) == (400, "EINVALIDREQ")
    assert resp.get_json()["errors"] == {"name": ["This field is required."]}
    resp = client.post(API + "/new", headers=auth(raw), json={"name": unique("n"),
                                                              "description": "  "})
    assert resp.get_json()["errors"] == {"description": ["This field is required."]}
    # invalid JSON counts as an empty body
    resp = client.post(API + "/new", headers={**auth(raw), "Content-Type": "application/json"},
                       data=b'{"name": "x", "description": "\xff')
    assert error_of(resp) == (400, "EINVALIDREQ")
    assert set(resp.get_json()["errors"]) == {"name", "description"}
