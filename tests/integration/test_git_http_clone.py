"""Someone clones and fetches over smart HTTP with the real git client."""

from __future__ import annotations

import gzip
import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import unique
from githttp_support import (
    commit_on_server,
    fork_of,
    git,
    live_server,
    make_repo_project,
    refs_on_disk,
    url,
)


@pytest.fixture(scope="module")
def forge(app: Any, worker: Any) -> Iterator[str]:
    with live_server(app) as base:
        yield base


def pkt(line: str) -> bytes:
    data = line.encode()
    return b"%04x" % (len(data) + 4) + data


def test_anyone_clones_a_public_repo_by_every_url_form(forge, session, settings, make_user,
                                                       tmp_path: Path) -> None:
    owner = make_user()
    project = make_repo_project(session, settings, owner, unique("pub"))
    head = refs_on_disk(settings, project)["refs/heads/main"]
    for i, path in enumerate((f"{project.name}.git", project.name, f"{project.name}.git/")):
        dest = tmp_path / f"c{i}"
        git("clone", "-q", url(forge, path), str(dest))
        assert git("rev-parse", "HEAD", cwd=dest).stdout.strip() == head
        assert (dest / "README.md").read_text().startswith(f"# {project.name}")


def test_anyone_clones_a_namespaced_project_and_a_fork(forge, session, settings, make_user,
                                                        tmp_path: Path) -> None:
    owner, forker = make_user(), make_user()
    from pagurus.core import groups as core_groups

    ns = unique("ns")
    core_groups.create_group(session, ns, owner, group_type="user")
    session.commit()
    project = make_repo_project(session, settings, owner, unique("p"), namespace=ns)
    fork = fork_of(session, forker, project)
    head = refs_on_disk(settings, project)["refs/heads/main"]
    paths = [f"{ns}/{project.name}.git",
             f"forks/{forker.name}/{ns}/{project.name}.git",
             f"fork/{forker.name}/{ns}/{project.name}"]
    for path in paths:
        out = git("ls-remote", url(forge, path)).stdout
        assert f"{head}\trefs/heads/main" in out, path
    dest = tmp_path / "fork"
    git("clone", "-q", url(forge, f"forks/{forker.name}/{fork.fullname.split('/', 2)[2]}.git"),
        str(dest))
    assert git("rev-parse", "HEAD", cwd=dest).stdout.strip() == head


def test_anyone_clones_an_empty_repo(forge, session, settings, make_user,
                                     tmp_path: Path) -> None:
    project = make_repo_project(session, settings, make_user(), unique("empty"), readme=False)
    proc = git("clone", url(forge, f"{project.name}.git"), str(tmp_path / "e"))
    assert "empty repository" in proc.stderr
    assert (tmp_path / "e" / ".git").is_dir()
    assert git("ls-remote", url(forge, f"{project.name}.git")).stdout == ""


def test_fetch_with_protocol_v2_reaches_the_server(forge, session, settings, make_user,
                                                   tmp_path: Path) -> None:
    project = make_repo_project(session, settings, make_user(), unique("v2"))
    head = refs_on_disk(settings, project)["refs/heads/main"]
    proc = git("-c", "protocol.version=2", "ls-remote", url(forge, f"{project.name}.git"),
               env={"GIT_TRACE_PACKET": "1"})
    assert f"{head}\trefs/heads/main" in proc.stdout
    # the server only advertises v2 capabilities when the child saw GIT_PROTOCOL
    assert "< version 2" in proc.stderr
    assert "< ls-refs" in proc.stderr
    assert "> command=ls-refs" in proc.stderr
    proc = git("-c", "protocol.version=0", "ls-remote", url(forge, f"{project.name}.git"),
               env={"GIT_TRACE_PACKET": "1"})
    assert "< version 2" not in proc.stderr
    dest = tmp_path / "v2"
    git("-c", "protocol.version=2", "clone", "-q", url(forge, f"{project.name}.git"), str(dest))
    assert git("rev-parse", "HEAD", cwd=dest).stdout.strip() == head


def test_the_advertisement_has_git_headers(forge, session, settings, make_user) -> None:
    project = make_repo_project(session, settings, make_user(), unique("hdr"))
    for service in ("git-upload-pack",):
        resp = requests.get(f"{forge}/{project.name}.git/info/refs",
                            params={"service": service}, timeout=30)
        assert resp.status_code == 200
        assert resp.headers["Content-Type"] == f"application/x-{service}-advertisement"
        assert "no-cache" in resp.headers["Cache-Control"]
        assert resp.content.startswith(pkt(f"# service={service}\n") + b"0000")
    resp = requests.get(f"{forge}/{project.name}.git/info/refs",
                        params={"service": "git-upload-pack"},
                        headers={"Git-Protocol": "version=2"}, timeout=30)
    assert resp.content.startswith(pkt("version 2\n"))


def test_fetch_gets_new_commits(forge, session, settings, make_user, tmp_path: Path) -> None:
    project = make_repo_project(session, settings, make_user(), unique("fetch"), readme=False)
    dest = tmp_path / "f"
    git("clone", "-q", url(forge, f"{project.name}.git"), str(dest))
    for content in ("# first\n", "# second\n"):
        new = commit_on_server(settings, project, content)
        git("fetch", "-q", "origin", cwd=dest)
        assert git("rev-parse", "origin/main", cwd=dest).stdout.strip() == new


def test_a_dumb_client_is_told_to_use_a_newer_git(forge, session, settings, make_user) -> None:
    project = make_repo_project(session, settings, make_user(), unique("dumb"))
    resp = requests.get(f"{forge}/{project.name}.git/info/refs", timeout=30)
    assert resp.status_code == 400
    assert "newer git client" in resp.text
    proc = git("ls-remote", url(forge, f"{project.name}.git"), env={"GIT_SMART_HTTP": "0"},
               check=False)
    assert proc.returncode != 0
    assert "400" in proc.stderr
    resp = requests.get(f"{forge}/{project.name}.git/info/refs",
                        params={"service": "git-upload-archive"}, timeout=30)
    assert resp.status_code == 400


def test_the_repo_url_itself_still_opens_the_overview(forge, session, settings,
                                                      make_user) -> None:
    project = make_repo_project(session, settings, make_user(), unique("ov"))
    resp = requests.get(f"{forge}/{project.name}.git", allow_redirects=False, timeout=30)
    assert resp.status_code in (301, 302, 308)
    assert resp.headers["Location"].rstrip("/").endswith(f"/{project.name}")


def test_a_gzip_request_body_is_understood(forge, session, settings, make_user) -> None:
    """git gzips big negotiations itself; here one is sent by hand."""
    project = make_repo_project(session, settings, make_user(), unique("gz"))
    head = refs_on_disk(settings, project)["refs/heads/main"]
    body = pkt(f"want {head} ofs-delta\n") + b"0000" + pkt("done\n")
    resp = requests.post(f"{forge}/{project.name}.git/git-upload-pack",
                         data=gzip.compress(body),
                         headers={"Content-Type": "application/x-git-upload-pack-request",
                                  "Content-Encoding": "gzip"}, timeout=30)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/x-git-upload-pack-result"
    assert resp.content.startswith(pkt("NAK\n"))
    assert b"PACK" in resp.content[:20]
    # the same request unzipped gives the same pack
    plain = requests.post(f"{forge}/{project.name}.git/git-upload-pack", data=body,
                          headers={"Content-Type": "application/x-git-upload-pack-request"},
                          timeout=30)
    assert plain.content == resp.content


def test_a_large_negotiation_is_gzipped_by_git(forge, session, settings, make_user,
                                               tmp_path: Path) -> None:
    """Many local commits the server lacks make git send big, gzipped bodies."""
    project = make_repo_project(session, settings, make_user(), unique("neg"))
    dest = tmp_path / "n"
    git("clone", "-q", url(forge, f"{project.name}.git"), str(dest))
    # 300 newer local branches the server lacks: git sends hundreds of "have" lines
    script = "".join(f"commit refs/heads/local{i}\n"
                     f"committer T <t@e> {4_000_000_000 + i} +0000\ndata 4\nc{i:03}\n"
                     f"from refs/heads/main\n\n" for i in range(300))
    subprocess.run(["git", "fast-import", "--quiet"], cwd=dest, input=script.encode(),
                   check=True, capture_output=True)
    new = commit_on_server(settings, project, "# newer\n")
    proc = git("-c", "protocol.version=0", "fetch", "origin", cwd=dest,
               env={"GIT_TRACE_CURL": "1", "GIT_TRACE_CURL_NO_DATA": "1"})
    assert "Content-Encoding: gzip" in proc.stderr
    assert git("rev-parse", "origin/main", cwd=dest).stdout.strip() == new


def test_each_access_is_logged(forge, session, settings, make_user, caplog) -> None:
    project = make_repo_project(session, settings, make_user(), unique("log"))
    with caplog.at_level(logging.INFO, logger="pagurus.git_http"):
        git("ls-remote", url(forge, f"{project.name}.git"))
        requests.get(f"{forge}/{project.name}.git/info/refs",
                     params={"service": "git-receive-pack"}, timeout=30)
        requests.get(f"{forge}/{project.name}.git/info/refs",
                     params={"service": "git-receive-pack"}, auth=("mallory\nx", "nope"),
                     timeout=30)
    lines = [r.getMessage() for r in caplog.records if r.name == "pagurus.git_http"]
    assert any("user=anonymous ip=127.0.0.1 method=GET" in line
               and f"repo={project.name}.git service=git-upload-pack status=200" in line
               for line in lines), lines
    assert any("service=git-receive-pack status=401" in line for line in lines), lines
    assert any("user=mallory\\nx(bad credentials)" in line for line in lines), lines
    assert all("\n" not in line for line in lines)
