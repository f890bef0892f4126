"""Hostile requests to the git HTTP routes: path tricks, option injection,
wrong content types, bodies that lie. Each gets a 4xx and changes nothing."""

from __future__ import annotations

import gzip
import http.client
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from conftest import PASSWORD, unique
from githttp_support import live_server, make_repo_project, refs_on_disk


@pytest.fixture(scope="module")
def forge(app: Any, worker: Any) -> Iterator[str]:
    with live_server(app) as base:
        yield base


def raw_request(base: str, method: str, target: str, body: bytes = b"",
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """Send ``target`` byte for byte (no client-side normalisation of ``..``)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(method, target, body=body or None, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_path_tricks_and_option_injection_are_refused(forge, session, settings, make_user,
                                                      tmp_path: Path) -> None:
    owner = make_user()
    project = make_repo_project(session, settings, owner, unique("hostile"))
    before = refs_on_disk(settings, project)
    marker = tmp_path / "pwned"
    inject = f"--upload-pack=touch {marker}"
    name = project.name
    targets = [
        f"/../{name}.git/info/refs?service=git-upload-pack",
        f"/%2e%2e/{name}.git/info/refs?service=git-upload-pack",
        f"/{name}/%2e%2e/{name}.git/info/refs?service=git-upload-pack",
        f"/-{name}.git/info/refs?service=git-upload-pack",
        f"/.{name}.git/info/refs?service=git-upload-pack",
        "/--upload-pack=touch%20x.git/info/refs?service=git-upload-pack",
        f"/{requests.utils.quote(inject, safe='')}/info/refs?service=git-upload-pack",
        f"/{name}.git/info/refs?service={requests.utils.quote(inject, safe='')}",
        f"/{name}.git/info/refs?service=git-upload-pack%00",
        f"/{name}.git/info/refs?service=--help",
        f"/forks/../../{name}.git/info/refs?service=git-upload-pack",
        f"/{name}%00.git/info/refs?service=git-upload-pack",
        f"/{name}%0a.git/info/refs?service=git-upload-pack",
        f"/{name}.git/info%2f..%2f..%2fconfig?service=git-upload-pack",
        "/" + "a" * 5000 + ".git/info/refs?service=git-upload-pack",
    ]
    for target in targets:
        status, _body = raw_request(forge, "GET", target,
                                    headers={"Authorization": _basic(owner.name, PASSWORD)})
        assert status in (400, 404), (target, status)
    for target in (f"/-{name}.git/git-receive-pack", f"/{name}%2f..%2f..%2fx/git-receive-pack",
                   f"/../{name}.git/git-receive-pack"):
        status, _body = raw_request(forge, "POST", target, body=b"0000", headers={
            "Authorization": _basic(owner.name, PASSWORD),
            "Content-Type": "application/x-git-receive-pack-request"})
        assert status in (400, 404), (target, status)
    assert not marker.exists()
    assert not list(tmp_path.iterdir())
    assert refs_on_disk(settings, project) == before


def test_an_option_as_the_service_is_refused(forge, session, settings, make_user) -> None:
    project = make_repo_project(session, settings, make_user(), unique("svc"))
    for service in ("--upload-pack=id", "upload-pack", "git-upload-pack --help",
                    "GIT-UPLOAD-PACK"):
        resp = requests.get(f"{forge}/{project.name}.git/info/refs",
                            params={"service": service}, timeout=30)
        assert resp.status_code == 400, service


def test_a_body_of_the_wrong_type_or_encoding_is_refused(forge, session, settings, make_user,
                                                         tmp_path: Path) -> None:
    owner = make_user()
    project = make_repo_project(session, settings, owner, unique("ctype"))
    before = refs_on_disk(settings, project)
    endpoint = f"{forge}/{project.name}.git/git-receive-pack"
    resp = requests.post(endpoint, data=b"0000", auth=(owner.name, PASSWORD),
                         headers={"Content-Type": "application/x-www-form-urlencoded"},
                         timeout=30)
    assert resp.status_code == 415
    resp = requests.post(endpoint, data=b"0000", auth=(owner.name, PASSWORD),
                         headers={"Content-Type": "application/x-git-receive-pack-request",
                                  "Content-Encoding": "br"}, timeout=30)
    assert resp.status_code == 415
    # a body that claims gzip but is not: git sees an empty request, nothing moves
    resp = requests.post(endpoint, data=b"not gzip at all", auth=(owner.name, PASSWORD),
                         headers={"Content-Type": "application/x-git-receive-pack-request",
                                  "Content-Encoding": "gzip"}, timeout=30)
    assert resp.status_code in (200, 500)
    # a form post is no way around the checks: the upload-pack endpoint refuses GET
    resp = requests.get(f"{forge}/{project.name}.git/git-upload-pack", timeout=30)
    assert resp.status_code in (404, 405)
    assert refs_on_disk(settings, project) == before


def test_a_hand_made_ref_update_without_rights_changes_nothing(forge, session, settings,
                                                               make_user, make_token) -> None:
    owner, stranger = make_user(), make_user()
    project = make_repo_project(session, settings, owner, unique("hand"))
    before = refs_on_disk(settings, project)
    old = before["refs/heads/main"]
    command = f"{old} {'0' * 40} refs/heads/main\0report-status\n".encode()
    body = b"%04x" % (len(command) + 4) + command + b"0000"
    headers = {"Content-Type": "application/x-git-receive-pack-request"}
    token = make_token(stranger, ["commit"])
    for auth in (None, (stranger.name, PASSWORD), (stranger.name, token)):
        for data, extra in ((body, {}), (gzip.compress(body), {"Content-Encoding": "gzip"})):
            resp = requests.post(f"{forge}/{project.name}.git/git-receive-pack", data=data,
                                 auth=auth, headers={**headers, **extra}, timeout=30)
            assert resp.status_code in (401, 403), resp.text
    assert refs_on_disk(settings, project) == before


def test_a_session_cookie_does_not_push(app, session, settings, make_user) -> None:
    """git over HTTP ignores browser sessions: no CSRF hole through git routes."""
    from conftest import login_as

    owner = make_user()
    project = make_repo_project(session, settings, owner, unique("cookie"))
    client = app.test_client()
    login_as(client, owner)
    resp = client.get(f"/{project.name}.git/info/refs?service=git-receive-pack")
    assert resp.status_code == 401
    before = refs_on_disk(settings, project)
    resp = client.post(f"/{project.name}.git/git-receive-pack", data=b"0000",
                       headers={"Content-Type": "application/x-git-receive-pack-request"})
    assert resp.status_code == 401
    assert refs_on_disk(settings, project) == before


def _basic(user: str, secret: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
