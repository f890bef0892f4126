"""An admin runs `pagurus admin …` in a shell: real subprocesses, real database.

The commands run against the test run's database (SQLite, or PostgreSQL when
PAGURUS_TEST_DATABASE_URL is set) through PAGURUS_DATABASE_URL, with
PAGURUS_DATA pointing at a data dir of their own.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import unique
from sqlalchemy import func, select

from pagurus import db
from pagurus.core import tokens as core_tokens
from pagurus.core import users as core_users
from pagurus.model import ApiToken, Group, User

PASSWORD = "a long enough password"


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without any PAGURUS_* setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAGURUS_")}
    env.update(extra)
    return env


def run_pagurus(*args: str, env: dict[str, str], stdin: str | None = None,
                cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pagurus.cli", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=120, cwd=cwd)


@pytest.fixture(scope="module")
def sessions(settings):
    engine = db.make_engine(settings.sqlalchemy_url)
    yield db.make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def admin(settings, tmp_path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`pagurus admin …` on the test database."""
    env = clean_env(PAGURUS_DATA=str(tmp_path / "data"),
                    PAGURUS_DATABASE_URL=settings.sqlalchemy_url)

    def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return run_pagurus("admin", *args, env=env, stdin=stdin)

    return _run


def count(sessions, stmt) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(stmt.subquery()))


def users_named(sessions, name: str) -> int:
    return count(sessions, select(User).where(func.lower(User.name) == name.lower()))


# -- users -----------------------------------------------------------------

def test_admin_creates_a_site_admin_who_can_log_in(admin, sessions):
    name = unique("adm")
    res = admin("user", "create", name, "--email", f"{name}@example.com", "--fullname",
                "Ada Admin", "--password-stdin", "--admin", stdin=PASSWORD + "\n")
    assert res.returncode == 0, res.stderr
    with sessions() as s:
        user = core_users.authenticate(s, name, PASSWORD)
        assert user.is_admin and user.active
        assert user.fullname == "Ada Admin"
        assert user.default_email == f"{name}@example.com"
        # only the first line is the password, without its newline
        with pytest.raises(core_users.LoginRefused):
            core_users.authenticate(s, name, PASSWORD + "\n")


def test_a_user_created_without_password_cannot_log_in(admin, sessions):
    name = unique("bot")
    res = admin("user", "create", name, "--email", f"{name}@example.com")
    assert res.returncode == 0, res.stderr
    with sessions() as s:
        user = core_users.get_user(s, name)
        assert user is not None and not user.is_admin and user.password_hash is None
        with pytest.raises(core_users.LoginRefused):
            core_users.authenticate(s, name, "")


def test_a_duplicate_user_is_refused_and_nothing_changes(admin, sessions):
    name = unique("dup")
    assert admin("user", "create", name, "--email", f"{name}@example.com").returncode == 0
    res = admin("user", "create", name.upper(), "--email", f"other-{name}@example.com")
    assert res.returncode == 3
    assert "already exists" in res.stderr
    assert res.stdout == ""
    assert users_named(sessions, name) == 1
    res = admin("user", "create", unique("dup"), "--email", f"{name}@example.com")
    assert res.returncode == 3 and "Email address already in use" in res.stderr


@pytest.mark.parametrize("bad", ["-rf", "a b", "../etc", "x" * 300, "name;rm", ""])
def test_a_bad_user_name_is_refused(admin, sessions, bad):
    res = admin("user", "create", bad, "--email", f"{unique('e')}@example.com")
    assert res.returncode in (2, 3)  # "-rf" is an unknown option for click: a usage error
    assert res.stderr.strip()
    if bad:
        assert users_named(sessions, bad) == 0


def test_a_short_password_or_a_bad_email_is_refused(admin, sessions):
    name = unique("pw")
    res = admin("user", "create", name, "--email", f"{name}@example.com", "--password-stdin",
                stdin="short\n")
    assert res.returncode == 3 and "Password too short" in res.stderr
    res = admin("user", "create", name, "--email", "not-an-email")
    assert res.returncode == 3 and "mail" in res.stderr.lower()
    res = admin("user", "create", name, "--email", f"{name}@example.com", "--password-stdin",
                stdin="")
    assert res.returncode == 2
    assert users_named(sessions, name) == 0


def test_a_missing_email_is_a_usage_error(admin):
    res = admin("user", "create", unique("u"))
    assert res.returncode == 2
    assert "--email" in res.stderr


def test_admin_lists_users(admin):
    name = unique("lst")
    admin("user", "create", name, "--email", f"{name}@example.com", "--admin")
    res = admin("user", "list", name)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split("\t")[:4] == ["name", "email", "admin", "active"]
    assert lines[1].split("\t")[:3] == [name, f"{name}@example.com", "yes"]
    assert len(lines) == 2


def test_a_blocked_user_cannot_log_in_until_unblocked(admin, sessions):
    name = unique("blk")
    admin("user", "create", name, "--email", f"{name}@example.com", "--password-stdin",
          stdin=PASSWORD + "\n")
    raw = admin("token", "create", name, "--acl", "issue_create").stdout.strip()
    res = admin("user", "block", name)
    assert res.returncode == 0, res.stderr
    with sessions() as s:
        with pytest.raises(core_users.LoginRefused, match="blocked"):
            core_users.authenticate(s, name, PASSWORD)
        with pytest.raises(core_tokens.TokenRefused):
            core_tokens.authenticate(s, raw)
        assert core_users.get_user(s, name).blocked_until.year == 2099
    assert "2099-01-01" in admin("user", "list", name).stdout

    assert admin("user", "unblock", name).returncode == 0
    with sessions() as s:
        assert core_users.authenticate(s, name, PASSWORD).name == name

    assert admin("user", "block", name, "--until", "2999-12-31").returncode == 0
    with sessions() as s:
        assert core_users.get_user(s, name).blocked_until.year == 2999


def test_blocking_with_a_bad_date_or_unknown_user_is_refused(admin, sessions):
    name = unique("blk")
    admin("user", "create", name, "--email", f"{name}@example.com")
    for bad in ("tomorrow", "2099-13-40", "2001-01-01"):
        res = admin("user", "block", name, "--until", bad)
        assert res.returncode == 2, bad
        assert "--until" in res.stderr
    with sessions() as s:
        assert core_users.get_user(s, name).blocked_until is None
    res = admin("user", "block", unique("ghost"))
    assert res.returncode == 3 and "No such user" in res.stderr


# -- tokens ----------------------------------------------------------------

def test_admin_creates_a_token_that_authenticates_with_its_acls(admin, sessions):
    name = unique("tok")
    admin("user", "create", name, "--email", f"{name}@example.com")
    res = admin("token", "create", name, "--acl", "create_project", "--acl", "internal_access",
                "--days", "3", "--description", "CI bot")
    assert res.returncode == 0, res.stderr
    raw = res.stdout.rstrip("\n")
    assert re.fullmatch(r"[A-Z0-9]{64}", raw), res.stdout  # the token and nothing else
    with sessions() as s:
        token = core_tokens.authenticate(s, raw)
        assert token.user.name == name
        assert sorted(token.acls) == ["create_project", "internal_access"]
        assert token.project_id is None
        assert token.description == "CI bot"
        assert 2 <= (token.expiration - token.created_at).days <= 3


def test_a_project_token_is_scoped_to_its_project(admin, sessions, settings):
    from pagurus.core import projects as core_projects

    name = unique("tp")
    admin("user", "create", name, "--email", f"{name}@example.com")
    with sessions() as s:
        owner = core_users.get_user(s, name)
        project = core_projects.create_project(s, settings, owner, unique("proj"), "demo")
        s.commit()
        pid, fullname = project.id, project.fullname
    res = admin("token", "create", name, "--acl", "issue_create", "--project", fullname)
    assert res.returncode == 0, res.stderr
    with sessions() as s:
        assert core_tokens.authenticate(s, res.stdout.strip()).project_id == pid
    res = admin("token", "create", name, "--acl", "issue_create", "--project", "nope/" + fullname)
    assert res.returncode == 3 and "No project" in res.stderr


def test_a_bogus_acl_or_unknown_user_gets_no_token(admin, sessions):
    name = unique("tb")
    admin("user", "create", name, "--email", f"{name}@example.com")
    res = admin("token", "create", name, "--acl", "issue_create", "--acl", "bogus")
    assert res.returncode == 3
    assert "bogus" in res.stderr
    assert res.stdout == ""
    res = admin("token", "create", name, "--acl", "issue_create", "--days", "100000")
    assert res.returncode == 3 and "days" in res.stderr
    assert count(sessions, select(ApiToken).join(User).where(User.name == name)) == 0
    res = admin("token", "create", unique("ghost"), "--acl", "issue_create")
    assert res.returncode == 3 and "No such user" in res.stderr
    res = admin("token", "create", name)
    assert res.returncode == 2  # --acl is required


def test_token_list_shows_prefixes_never_secrets(admin):
    name = unique("tl")
    admin("user", "create", name, "--email", f"{name}@example.com")
    raw = admin("token", "create", name, "--acl", "fork_project").stdout.strip()
    for args in (("token", "list"), ("token", "list", "--user", name)):
        res = admin(*args)
        assert res.returncode == 0, res.stderr
        assert raw not in res.stdout
        assert raw[8:] not in res.stdout
        mine = [line.split("\t") for line in res.stdout.splitlines() if f"\t{name}\t" in line]
        assert len(mine) == 1
        assert mine[0][0] == raw[:8] + "…"
        assert mine[0][3] == "fork_project" and mine[0][5] == "no"


def test_an_expired_token_is_refused(admin, sessions):
    name = unique("te")
    admin("user", "create", name, "--email", f"{name}@example.com")
    raw = admin("token", "create", name, "--acl", "issue_create").stdout.strip()
    res = admin("token", "expire", raw)
    assert res.returncode == 0, res.stderr
    with sessions() as s, pytest.raises(core_tokens.TokenRefused, match="Expired token"):
        core_tokens.authenticate(s, raw)
    listed = admin("token", "list", "--user", name).stdout.splitlines()[1].split("\t")
    assert listed[5] == "yes"
    # the prefix shown by `token list` works too
    raw2 = admin("token", "create", name, "--acl", "issue_create").stdout.strip()
    assert admin("token", "expire", raw2[:8] + "…").returncode == 0
    with sessions() as s, pytest.raises(core_tokens.TokenRefused):
        core_tokens.authenticate(s, raw2)
    res = admin("token", "expire", "NOSUCHTOKEN" * 4)
    assert res.returncode == 3 and "No such token" in res.stderr


# -- groups ----------------------------------------------------------------

def test_admin_creates_and_lists_groups(admin, sessions):
    creator = unique("gc")
    admin("user", "create", creator, "--email", f"{creator}@example.com")
    name = unique("grp")
    res = admin("group", "create", name, "--creator", creator, "--display-name",
                f"The {name}", "--description", "Packagers")
    assert res.returncode == 0, res.stderr
    with sessions() as s:
        group = s.scalar(select(Group).where(Group.name == name))
        assert group.display_name == f"The {name}"
        assert [m.user.name for m in group.memberships] == [creator]
    rows = [line.split("\t") for line in admin("group", "list").stdout.splitlines()]
    assert [name, f"The {name}", "user", "1", "Packagers"] in rows

    res = admin("group", "create", name, "--creator", creator)
    assert res.returncode == 3 and "already a group" in res.stderr
    res = admin("group", "create", unique("grp"), "--creator", unique("ghost"))
    assert res.returncode == 3 and "No such user" in res.stderr
    res = admin("group", "create", "bad name!", "--creator", creator)
    assert res.returncode == 3
    with sessions() as s:
        creator_id = core_users.get_user(s, creator).id
    assert count(sessions, select(Group).where(Group.creator_id == creator_id)) == 1


# -- database and settings -------------------------------------------------

def test_db_upgrade_creates_the_schema_and_is_idempotent(tmp_path):
    env = clean_env(PAGURUS_DATA=str(tmp_path / "d"))
    assert run_pagurus("admin", "db", "current", env=env).stdout.strip() == "none"
    for _ in range(2):
        res = run_pagurus("admin", "db", "upgrade", env=env)
        assert res.returncode == 0, res.stderr
    assert (tmp_path / "d" / "pagurus.sqlite").is_file()
    assert run_pagurus("admin", "db", "current", env=env).stdout.strip().endswith("(head)")


def test_the_first_admin_command_on_a_fresh_data_dir_creates_the_database(tmp_path):
    env = clean_env(PAGURUS_DATA=str(tmp_path / "fresh"))
    res = run_pagurus("admin", "user", "create", "alice", "--email", "alice@example.com",
                      "--admin", env=env)
    assert res.returncode == 0, res.stderr
    assert "alice" in run_pagurus("admin", "user", "list", env=env).stdout


def _where_is_the_database(tmp_path: Path) -> set[str]:
    return {p.parent.name for p in tmp_path.glob("*/pagurus.sqlite")}


def test_data_dir_precedence_option_over_env_over_config_file(tmp_path):
    cfg = tmp_path / "pagurus.toml"
    cfg.write_text(f'[pagurus]\ndata = "{tmp_path / "from_toml"}"\n')

    def upgrade_with(*args: str, **env: str) -> set[str]:
        for p in tmp_path.glob("*/pagurus.sqlite"):
            p.unlink()
        res = run_pagurus(*args, env=clean_env(**env), cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        return _where_is_the_database(tmp_path)

    assert upgrade_with("admin", "db", "upgrade") == {"pagurus-data"}  # default: ./pagurus-data
    assert upgrade_with("admin", "db", "upgrade", "--config", str(cfg)) == {"from_toml"}
    assert upgrade_with("admin", "db", "upgrade", PAGURUS_CONFIG=str(cfg)) == {"from_toml"}
    assert upgrade_with("admin", "db", "upgrade", "--config", str(cfg),
                        PAGURUS_DATA=str(tmp_path / "from_env")) == {"from_env"}
    assert upgrade_with("admin", "db", "upgrade", "--data", str(tmp_path / "from_opt"),
                        PAGURUS_CONFIG=str(cfg),
                        PAGURUS_DATA=str(tmp_path / "from_env")) == {"from_opt"}
    # --data is accepted at every level; the innermost wins
    assert upgrade_with("--data", str(tmp_path / "outer"), "admin", "db", "upgrade") == {"outer"}
    assert upgrade_with("--data", str(tmp_path / "outer"), "admin", "db", "upgrade", "--data",
                        str(tmp_path / "inner")) == {"inner"}


def test_a_broken_configuration_is_a_usage_error(tmp_path):
    res = run_pagurus("admin", "user", "list", env=clean_env(
        PAGURUS_DATA=str(tmp_path), PAGURUS_WEB_WORKERS="lots"))
    assert res.returncode == 2
    assert "web_workers" in res.stderr
    res = run_pagurus("admin", "user", "list", "--config", str(tmp_path / "missing.toml"),
                      env=clean_env(PAGURUS_DATA=str(tmp_path)))
    assert res.returncode == 2
    assert "missing.toml" in res.stderr
    assert not (tmp_path / "pagurus.sqlite").exists()


def test_version_prints_the_version():
    from pagurus import __version__

    res = run_pagurus("version", env=clean_env())
    assert res.returncode == 0
    assert res.stdout.startswith(f"pagurus {__version__}")
