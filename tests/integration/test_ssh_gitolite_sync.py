"""A site that keeps gitolite: `pagurus gitolite sync` writes gitolite.conf and
keydir from the database and gitolite itself compiles it and answers access
questions the way the forge would."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from conftest import unique
from sshhelp import client_env, make_key, make_project

from pagurus.core import projects as core_projects
from pagurus.core import sshkeys
from pagurus.services.ssh import gitolite as gl

pytestmark = pytest.mark.slow


@pytest.fixture
def gitolite_home(tmp_path):
    if shutil.which("gitolite") is None:
        pytest.skip("gitolite is not installed (Debian: gitolite3; .ci/run installs it)")
    home = tmp_path / "gitolite-home"
    home.mkdir()
    return home


def _sync(settings, home) -> subprocess.CompletedProcess[str]:
    env = client_env()
    env["PAGURUS_DATA"] = str(settings.data_dir)
    env["PAGURUS_DATABASE_URL"] = settings.sqlalchemy_url
    return subprocess.run([sys.executable, "-m", "pagurus.cli", "gitolite", "sync",
                           "--gitolite-home", str(home), "--admin", "siteadmin"],
                          env=env, capture_output=True, text=True, timeout=120)


def test_gitolite_sync_compiles_and_grants_what_the_forge_grants(session, settings, make_user,
                                                                 worker, gitolite_home,
                                                                 tmp_path):
    owner, dev, collab, triager, outsider = (make_user() for _ in range(5))
    public = make_project(session, settings, owner, unique("pub"))
    private = make_project(session, settings, owner, unique("priv"), private=True)
    core_projects.set_user_access(session, owner, public, dev, "commit")
    core_projects.set_user_access(session, owner, public, collab, "collaborator",
                                  branches="feature/*,docs")
    core_projects.set_user_access(session, owner, private, triager, "ticket")
    keys = tmp_path / "keys"
    for user in (owner, dev, collab, triager, outsider):
        sshkeys.add_user_key(session, user, make_key(keys, user.name).public)
    deploy = sshkeys.add_deploy_key(session, owner, private, make_key(keys, "deploy").public,
                                    push_access=True)
    session.commit()

    res = _sync(settings, gitolite_home)
    assert res.returncode == 0, res.stderr
    base = gitolite_home / ".gitolite"
    conf = (base / "conf" / "gitolite.conf").read_text()
    assert f"repo {public.fullname}\n" in conf
    assert f"repo tickets/{private.fullname}\n" in conf
    assert (base / "keydir" / "pagurus" / f"{dev.name}@{_key_id(session, dev)}.pub").is_file()
    deploy_user = gl.deploy_key_user(private, deploy)
    assert (base / "keydir" / "pagurus" / f"{deploy_user}.pub").is_file()
    # POST_COMPILE's ssh-authkeys put every key into the gitolite user's authorized_keys
    authorized = (gitolite_home / ".ssh" / "authorized_keys").read_text()
    assert authorized.count("command=") >= 6

    def can(repo: str, user: str, perm: str, ref: str = "any") -> bool:
        return gl.access_allowed(gitolite_home, repo, user, perm, ref)

    pub, priv = public.fullname, private.fullname
    assert can(pub, outsider.name, "R")  # public: @all reads
    assert not can(pub, outsider.name, "W")
    assert can(pub, dev.name, "W", "refs/heads/main")
    assert can(pub, dev.name, "+", "refs/heads/main")
    assert can(pub, owner.name, "W", "refs/tags/v1")
    assert can(pub, collab.name, "W", "refs/heads/feature/x")
    assert can(pub, collab.name, "W", "refs/heads/docs")
    assert not can(pub, collab.name, "W", "refs/heads/main")
    assert not can(pub, collab.name, "W", "refs/heads/docs2")
    assert not can(f"tickets/{pub}", outsider.name, "R")  # tickets need ticket access
    assert not can(priv, outsider.name, "R")
    assert can(priv, triager.name, "R")
    assert can(f"tickets/{priv}", triager.name, "R")
    assert not can(priv, triager.name, "W", "refs/heads/main")
    assert can(priv, deploy_user, "W", "refs/heads/main")
    assert not can(f"tickets/{priv}", deploy_user, "R")
    assert can(f"docs/{priv}", deploy_user, "R")
    assert not can(f"docs/{priv}", deploy_user, "W", "refs/heads/main")

    # access removed in the forge is gone after the next sync
    core_projects.set_user_access(session, owner, public, dev, None)
    session.commit()
    assert _sync(settings, gitolite_home).returncode == 0
    assert not can(pub, dev.name, "W", "refs/heads/main")


def _key_id(session, user) -> int:
    return sshkeys.user_keys(session, user)[0].id


def test_collaborator_globs_become_anchored_refexes():
    assert gl.glob_to_refex("feature/*") == "refs/heads/feature/.*$"
    assert gl.glob_to_refex("v1.?") == "refs/heads/v1\\..$"
    assert gl.glob_to_refex("a+b") == "refs/heads/a\\+b$"
