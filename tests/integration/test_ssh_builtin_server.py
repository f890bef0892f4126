"""Someone clones, fetches and pushes over SSH with the built-in server, using
the real OpenSSH client and git, keys made by ssh-keygen and the real worker."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import unique
from sshhelp import ServerThread, add_key, git, make_key, make_project, run_ssh, url

from pagurus.core import projects as core_projects
from pagurus.core import sshkeys
from pagurus.core import users as core_users
from pagurus.model import SSHKey, utcnow

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ssh_server(settings, worker):
    server = ServerThread(settings)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def keys(tmp_path):
    return tmp_path / "keys"


def _pushes_a_commit(work: Path, key, port, message: str = "change",
                     branch: str = "main") -> None:
    (work / f"{unique('f')}.txt").write_text(message)
    git("add", "-A", cwd=work)
    git("commit", "-qm", message, cwd=work)
    git("push", "-q", "origin", f"HEAD:refs/heads/{branch}", cwd=work, key=key, port=port)


def test_owner_clones_fetches_and_pushes_with_a_user_key(session, settings, make_user,
                                                         ssh_server, tmp_path, keys):
    owner = make_user()
    key = make_key(keys, "owner")
    add_key(session, owner, key)
    project = make_project(session, settings, owner, unique("p"))
    port = ssh_server.port

    work = tmp_path / "work"
    git("clone", "-q", url(port, f"{project.fullname}.git"), str(work), key=key, port=port)
    assert (work / "README.md").is_file()

    _pushes_a_commit(work, key, port, "first push")
    bare = settings.data_dir / "repos" / f"{project.fullname}.git"
    pushed = git("--git-dir", str(bare), "log", "-1", "--format=%s", "main").stdout.strip()
    assert pushed == "first push"

    # protocol v2 on fetch: the server answers "version 2" to the client's GIT_PROTOCOL
    trace = git("-c", "protocol.version=2", "fetch", "origin", cwd=work, key=key, port=port,
                extra_env={"GIT_TRACE_PACKET": "1"})
    assert "fetch< version 2" in trace.stderr

    other = tmp_path / "other"
    git("clone", "-q", url(port, project.fullname), str(other), key=key, port=port)
    assert git("log", "-1", "--format=%s", cwd=other).stdout.strip() == "first push"


def test_an_unknown_key_is_refused(session, settings, make_user, ssh_server, keys):
    owner = make_user()
    project = make_project(session, settings, owner, unique("p"))
    stranger = make_key(keys, "stranger")
    res = run_ssh(stranger, ssh_server.port, f"git-upload-pack '{project.fullname}.git'")
    assert res.returncode == 255
    assert "Permission denied" in res.stderr


def test_a_key_works_as_soon_as_it_is_added_and_stops_when_removed(session, settings,
                                                                   make_user, ssh_server,
                                                                   keys):
    user = make_user()
    key = make_key(keys, "k")
    assert run_ssh(key, ssh_server.port).returncode == 255
    key_id = add_key(session, user, key)
    greeting = run_ssh(key, ssh_server.port)
    assert greeting.returncode == 0, greeting.stderr
    assert f"Hi {user.name}! You have authenticated" in greeting.stdout
    sshkeys.remove_key(session, user, key_id)
    session.commit()
    assert run_ssh(key, ssh_server.port).returncode == 255


def test_keys_of_blocked_or_inactive_users_are_refused(session, settings, make_user,
                                                       ssh_server, keys):
    owner = make_user()
    project = make_project(session, settings, owner, unique("p"))
    blocked, inactive = make_user(), make_user(active=False)
    k1, k2 = make_key(keys, "blocked"), make_key(keys, "inactive")
    add_key(session, blocked, k1)
    add_key(session, inactive, k2)
    assert run_ssh(k1, ssh_server.port).returncode == 0
    core_users.block_user(blocked, utcnow() + timedelta(days=3))
    session.commit()
    for key in (k1, k2):
        res = run_ssh(key, ssh_server.port, f"git-upload-pack '{project.fullname}.git'")
        assert res.returncode == 255
        assert "Permission denied" in res.stderr


def test_a_private_repo_looks_missing_to_non_members_and_works_for_members(
        session, settings, make_user, ssh_server, tmp_path, keys):
    owner, member, outsider = make_user(), make_user(), make_user()
    project = make_project(session, settings, owner, unique("priv"), private=True)
    km, ko = make_key(keys, "member"), make_key(keys, "outsider")
    add_key(session, member, km)
    add_key(session, outsider, ko)
    port = ssh_server.port

    hidden = git("clone", url(port, f"{project.fullname}.git"), str(tmp_path / "h"),
                 key=ko, port=port, check=False)
    missing = git("clone", url(port, "nosuchproject.git"), str(tmp_path / "m"),
                  key=ko, port=port, check=False)
    assert hidden.returncode != 0 and missing.returncode != 0
    hidden_msg = [ln for ln in hidden.stderr.splitlines() if "pagurus:" in ln]
    missing_msg = [ln for ln in missing.stderr.splitlines() if "pagurus:" in ln]
    assert hidden_msg and missing_msg
    assert hidden_msg[0].replace(f"{project.fullname}.git", "X") == \
        missing_msg[0].replace("nosuchproject.git", "X")
    assert not (tmp_path / "h").exists()

    core_projects.set_user_access(session, owner, project, member, "ticket")
    session.commit()
    git("clone", "-q", url(port, f"{project.fullname}.git"), str(tmp_path / "ok"),
        key=km, port=port)
    assert (tmp_path / "ok" / "README.md").is_file()


def test_commit_access_takes_effect_at_once(session, settings, make_user, ssh_server,
                                            tmp_path, keys):
    owner, dev = make_user(), make_user()
    project = make_project(session, settings, owner, unique("p"))
    key = make_key(keys, "dev")
    add_key(session, dev, key)
    port = ssh_server.port
    work = tmp_path / "w"
    git("clone", "-q", url(port, f"{project.fullname}.git"), str(work), key=key, port=port)
    (work / "x.txt").write_text("x")
    git("add", "x.txt", cwd=work)
    git("commit", "-qm", "by dev", cwd=work)
    refused = git("push", "origin", "HEAD:main", cwd=work, key=key, port=port, check=False)
    assert refused.returncode != 0
    assert "not allowed to push" in refused.stderr

    core_projects.set_user_access(session, owner, project, dev, "commit")
    session.commit()
    git("push", "-q", "origin", "HEAD:main", cwd=work, key=key, port=port)
    bare = settings.data_dir / "repos" / f"{project.fullname}.git"
    assert git("--git-dir", str(bare), "log", "-1", "--format=%s", "main").stdout.strip() \
        == "by dev"


def test_deploy_keys_read_only_or_with_push(session, settings, make_user, ssh_server,
                                            tmp_path, keys):
    owner = make_user()
    project = make_project(session, settings, owner, unique("p"))
    other = make_project(session, settings, owner, unique("o"))
    ro, rw = make_key(keys, "ro"), make_key(keys, "rw")
    sshkeys.add_deploy_key(session, owner, project, ro.public, push_access=False)
    sshkeys.add_deploy_key(session, owner, project, rw.public, push_access=True)
    session.commit()
    port = ssh_server.port

    work = tmp_path / "ro"
    git("clone", "-q", url(port, f"{project.fullname}.git"), str(work), key=ro, port=port)
    (work / "d.txt").write_text("deploy")
    git("add", "d.txt", cwd=work)
    git("commit", "-qm", "by deploy key", cwd=work)
    refused = git("push", "origin", "HEAD:main", cwd=work, key=ro, port=port, check=False)
    assert refused.returncode != 0 and "not allowed to push" in refused.stderr
    # a deploy key is for its own project only
    assert git("ls-remote", url(port, f"{other.fullname}.git"), key=ro, port=port,
               check=False).returncode != 0

    git("push", "-q", url(port, f"{project.fullname}.git"), "HEAD:main", cwd=work,
        key=rw, port=port)
    bare = settings.data_dir / "repos" / f"{project.fullname}.git"
    assert git("--git-dir", str(bare), "log", "-1", "--format=%s", "main").stdout.strip() \
        == "by deploy key"
    assert "deploy key" in run_ssh(rw, port).stdout


def test_a_ticket_level_user_fetches_the_tickets_repo(session, settings, make_user,
                                                      ssh_server, tmp_path, keys):
    owner, triager, outsider = make_user(), make_user(), make_user()
    project = make_project(session, settings, owner, unique("p"))
    kt, ko = make_key(keys, "t"), make_key(keys, "o")
    add_key(session, triager, kt)
    add_key(session, outsider, ko)
    core_projects.set_user_access(session, owner, project, triager, "ticket")
    session.commit()
    port = ssh_server.port
    tickets = url(port, f"tickets/{project.fullname}.git")
    git("clone", "-q", tickets, str(tmp_path / "t"), key=kt, port=port)
    assert (tmp_path / "t" / ".git").is_dir()
    assert git("ls-remote", tickets, key=ko, port=port, check=False).returncode != 0


@pytest.mark.parametrize("command", [
    "ls",
    "git-upload-pack /etc",
    "git-upload-pack '../x'",
    "git-upload-pack '-x'",
    "git-upload-pack '--upload-pack=touch {marker}'",
    "git-upload-pack --upload-pack='touch {marker}' 'p.git'",
    "git-upload-pack '$(touch {marker})'",
    "git-upload-pack $(touch {marker})",
    "git-upload-pack 'p.git'; touch {marker}",
    "git-upload-pack `touch {marker}`",
    "touch {marker}",
])
def test_shell_and_arbitrary_commands_are_refused(session, make_user, ssh_server, tmp_path,
                                                  keys, command):
    user = make_user()
    key = make_key(keys, "k")
    add_key(session, user, key)
    marker = tmp_path / "pwned"
    res = run_ssh(key, ssh_server.port, command.format(marker=marker))
    assert res.returncode == 1
    assert res.stderr.startswith("pagurus: ")
    assert not marker.exists()
    assert not (Path.cwd() / "x").exists()


def test_the_greeting_names_the_user_and_gives_no_shell(session, make_user, ssh_server,
                                                        keys):
    user = make_user()
    key = make_key(keys, "k")
    add_key(session, user, key)
    res = run_ssh(key, ssh_server.port)
    assert res.returncode == 0
    assert res.stdout == (f"Hi {user.name}! You have authenticated, but Pagurus does not "
                          "provide shell access.\n")


def test_a_large_clone_arrives_complete(session, settings, make_user, ssh_server, tmp_path,
                                        keys):
    owner = make_user()
    key = make_key(keys, "k")
    add_key(session, owner, key)
    project = make_project(session, settings, owner, unique("big"))
    port = ssh_server.port
    work = tmp_path / "w"
    git("clone", "-q", url(port, f"{project.fullname}.git"), str(work), key=key, port=port)
    (work / "blob.bin").write_bytes(os.urandom(30 * 1024 * 1024))
    git("add", "blob.bin", cwd=work)
    git("commit", "-qm", "big blob", cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work, key=key, port=port, timeout=300)

    copy = tmp_path / "copy"
    git("clone", "-q", url(port, f"{project.fullname}.git"), str(copy), key=key, port=port,
        timeout=300)
    git("fsck", "--full", "--strict", cwd=copy)
    assert (copy / "blob.bin").read_bytes() == (work / "blob.bin").read_bytes()


def test_ssh_clone_time_compared_to_a_local_clone(session, settings, make_user, ssh_server,
                                                  tmp_path, keys, record_property):
    owner = make_user()
    key = make_key(keys, "k")
    add_key(session, owner, key)
    project = make_project(session, settings, owner, unique("small"))
    port = ssh_server.port
    bare = settings.data_dir / "repos" / f"{project.fullname}.git"
    runs = 5
    started = time.perf_counter()
    for i in range(runs):
        git("clone", "-q", url(port, f"{project.fullname}.git"), str(tmp_path / f"s{i}"),
            key=key, port=port)
    over_ssh = (time.perf_counter() - started) / runs
    started = time.perf_counter()
    for i in range(runs):
        git("clone", "-q", f"file://{bare}", str(tmp_path / f"f{i}"))
    local = (time.perf_counter() - started) / runs
    record_property("ssh_clone_ms", round(over_ssh * 1000))
    record_property("file_clone_ms", round(local * 1000))
    print(f"\nclone of a small repo: ssh {over_ssh * 1000:.0f} ms, file:// {local * 1000:.0f} ms")
    for i in range(runs):
        assert (tmp_path / f"s{i}" / "README.md").read_bytes() == \
            (tmp_path / f"f{i}" / "README.md").read_bytes()


def test_key_rows_point_at_their_holder(session, make_user, keys):
    """The key row the server looks up is the one the user added (sanity)."""
    user = make_user()
    key = make_key(keys, "k")
    key_id = add_key(session, user, key)
    row = session.get(SSHKey, key_id)
    assert row.user_id == user.id
    assert sshkeys.find_by_fingerprint(session, row.fingerprint).id == key_id
