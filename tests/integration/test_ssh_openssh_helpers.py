"""A site that keeps its system OpenSSH: sshd asks `pagurus keyhelper` for the
key (AuthorizedKeysCommand) and runs the forced `pagurus aclchecker`.

The test starts a real /usr/sbin/sshd on a free port with its own config and
host key. sshd insists that the AuthorizedKeysCommand and every folder above
it are root-owned and not group/world writable, so the wrapper script lives
in a fresh 0755 folder under /run (or $HOME), never under /tmp. sshd logs in
as the user running the tests (root here), so the forge's configured git
user is set to that user for this instance (``ssh_user``), and ``root`` is
taken off the keyhelper's forbidden list (``ssh_forbidden_users = []``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import unique
from sshhelp import add_key, client_env, git, make_key, make_project, run_ssh, url

from pagurus.core import projects as core_projects

pytestmark = pytest.mark.slow
SSHD = "/usr/sbin/sshd"


def _safe_chain(path: Path) -> bool:
    """sshd's rule for the AuthorizedKeysCommand: root-owned, no g/o write, up to /."""
    for part in [path, *path.parents]:
        st = part.stat()
        if st.st_uid != 0 or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _toml(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


class Sshd:
    def __init__(self, settings, base: Path) -> None:
        self.user = pwd.getpwuid(os.getuid()).pw_name
        self.base = base
        self.port = _free_port()
        self.config_file = base / "pagurus.toml"
        values = {"data": str(settings.data_dir), "database_url": settings.sqlalchemy_url,
                  "ssh_user": self.user, "ssh_forbidden_users": []}
        if settings.redis_url:
            values["redis_url"] = settings.redis_url
        self.config_file.write_text("[pagurus]\n" + "".join(
            f"{k} = {_toml(v)}\n" for k, v in values.items()))
        self.wrapper = base / "keyhelper"
        self.wrapper.write_text(
            "#!/bin/sh\n"
            f"exec {sys.executable} -m pagurus.cli --config {self.config_file} "
            'keyhelper "$@"\n')
        self.wrapper.chmod(0o755)
        host_key = base / "host_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)],
                       check=True)
        self.sshd_config = base / "sshd_config"
        self.sshd_config.write_text(f"""\
Port {self.port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile none
UsePAM no
StrictModes no
AllowUsers {self.user}
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile none
AuthorizedKeysCommand {self.wrapper} %u %h %t %f
AuthorizedKeysCommandUser {self.user}
AcceptEnv GIT_PROTOCOL
LogLevel VERBOSE
""")
        self.log = base / "sshd.log"
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.sshd_config)],
                                     stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {self.log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"sshd did not listen: {self.log.read_text()}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _sshd_problem() -> str | None:
    if not os.path.exists(SSHD):
        return f"{SSHD} is not installed (Debian: openssh-server; .ci/run installs it)"
    if os.getuid() != 0:
        return "sshd must start as root to switch to the logged-in user"
    return None


@pytest.fixture(scope="module")
def sshd(settings, worker):
    problem = _sshd_problem()
    if problem:
        pytest.skip(problem)
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation dir
    parent = next((Path(p) for p in ("/run", os.path.expanduser("~"))
                   if Path(p).is_dir() and _safe_chain(Path(p))), None)
    if parent is None:
        pytest.skip("no root-owned, non-writable folder for the AuthorizedKeysCommand")
    base = Path(tempfile.mkdtemp(prefix="pagurus-sshd-", dir=parent))
    base.chmod(0o755)
    server = Sshd(settings, base)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def _log(sshd) -> str:
    return sshd.log.read_text(errors="replace")


def test_clone_and_push_through_a_system_sshd(session, settings, make_user, sshd, tmp_path):
    owner = make_user()
    key = make_key(tmp_path / "keys", "owner")
    add_key(session, owner, key)
    project = make_project(session, settings, owner, unique("p"))
    port, user = sshd.port, sshd.user

    work = tmp_path / "w"
    started = time.perf_counter()
    res = git("clone", "-q", url(port, f"{project.fullname}.git", user=user), str(work),
              key=key, port=port, check=False)
    print(f"\nclone of a small repo through sshd + keyhelper + aclchecker: "
          f"{(time.perf_counter() - started) * 1000:.0f} ms")
    assert res.returncode == 0, res.stderr + _log(sshd)
    (work / "n.txt").write_text("via sshd")
    git("add", "n.txt", cwd=work)
    git("commit", "-qm", "through sshd", cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work, key=key, port=port)
    bare = settings.data_dir / "repos" / f"{project.fullname}.git"
    assert git("--git-dir", str(bare), "log", "-1", "--format=%s", "main").stdout.strip() \
        == "through sshd"
    trace = git("-c", "protocol.version=2", "ls-remote", "origin", cwd=work, key=key,
                port=port, extra_env={"GIT_TRACE_PACKET": "1"})
    assert "< version 2" in trace.stderr

    greeting = run_ssh(key, port, user=user)
    assert greeting.returncode == 0, greeting.stderr + _log(sshd)
    assert greeting.stdout.startswith(f"Hi {owner.name}! You have authenticated")


def test_sshd_refuses_unknown_keys_and_hidden_repos(session, settings, make_user, sshd,
                                                    tmp_path):
    owner, outsider = make_user(), make_user()
    project = make_project(session, settings, owner, unique("priv"), private=True)
    stranger = make_key(tmp_path / "keys", "stranger")
    res = run_ssh(stranger, sshd.port, "git-upload-pack 'x.git'", user=sshd.user)
    assert res.returncode == 255 and "Permission denied" in res.stderr

    key = make_key(tmp_path / "keys", "outsider")
    add_key(session, outsider, key)
    hidden = run_ssh(key, sshd.port, f"git-upload-pack '{project.fullname}.git'",
                     user=sshd.user)
    missing = run_ssh(key, sshd.port, "git-upload-pack 'nosuch.git'", user=sshd.user)
    assert hidden.returncode == missing.returncode == 1
    assert hidden.stderr.replace(project.fullname, "X") == missing.stderr.replace("nosuch", "X")
    core_projects.set_user_access(session, owner, project, outsider, "ticket")
    session.commit()
    ok = git("ls-remote", url(sshd.port, f"{project.fullname}.git", user=sshd.user),
             key=key, port=sshd.port)
    assert "refs/heads/main" in ok.stdout


@pytest.mark.parametrize("command", [  # the parser is the built-in server's: tested there
    "touch {marker}", "git-upload-pack --upload-pack='touch {marker}' 'p.git'",
])
def test_sshd_forced_command_refuses_anything_but_git(session, make_user, sshd, tmp_path,
                                                      command):
    user = make_user()
    key = make_key(tmp_path / "keys", "k")
    add_key(session, user, key)
    marker = tmp_path / "pwned"
    res = run_ssh(key, sshd.port, command.format(marker=marker), user=sshd.user)
    assert res.returncode == 1, res.stderr + _log(sshd)
    assert res.stderr.startswith("pagurus: ")
    assert not marker.exists()


def _keyhelper(settings, *args: str, extra: str = "") -> subprocess.CompletedProcess[str]:
    env = client_env()
    env["PAGURUS_DATA"] = str(settings.data_dir)
    env["PAGURUS_DATABASE_URL"] = settings.sqlalchemy_url
    if extra:
        env.update(dict(item.split("=", 1) for item in extra.split(";")))
    return subprocess.run([sys.executable, "-m", "pagurus.cli", "keyhelper", *args],
                          env=env, capture_output=True, text=True, timeout=60)


def test_keyhelper_answers_only_for_the_git_user_and_known_keys(session, settings, make_user,
                                                                tmp_path):
    user = make_user()
    key = make_key(tmp_path / "keys", "k")
    key_id = add_key(session, user, key)
    from pagurus.model import SSHKey

    fingerprint = session.get(SSHKey, key_id).fingerprint
    line = _keyhelper(settings, "git", "/home/git", "ssh-ed25519", fingerprint)
    assert line.returncode == 0
    options, key_type, blob = line.stdout.strip().rsplit(" ", 2)
    assert options.startswith('restrict,command="')
    assert f"aclchecker {key_id}\"" in options
    assert f"--data {settings.data_dir}" in options
    assert f"{key_type} {blob}" == key.public.rsplit(" ", 1)[0]  # type + base64, no comment

    assert _keyhelper(settings, "root", "/root", "ssh-ed25519", fingerprint).stdout == ""
    assert _keyhelper(settings, "alice", "/home/a", "ssh-ed25519", fingerprint).stdout == ""
    assert _keyhelper(settings, "git", "/home/git", "ssh-ed25519",
                      "SHA256:" + "A" * 43).stdout == ""
