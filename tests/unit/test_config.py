"""Where settings come from: defaults < TOML file < PAGURUS_* environment < options."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from pagurus import config


def write_toml(path: Path, body: str) -> Path:
    path.write_text(body)
    return path


def test_an_admin_without_any_configuration_gets_the_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = config.load(env={})
    assert s.data_dir == tmp_path / "pagurus-data"
    assert s.sqlalchemy_url == f"sqlite:///{tmp_path / 'pagurus-data' / 'pagurus.sqlite'}"
    assert s.celery_broker == "filesystem://"
    assert s.instance_name == "Pagurus"
    assert s.web_workers == 2


def test_a_toml_file_overrides_the_defaults(tmp_path):
    cfg = write_toml(tmp_path / "p.toml", f"""
[pagurus]
data = "{tmp_path / 'from-toml'}"
instance_name = "Crab Forge"
web_workers = 5
allow_registration = false
allowed_prefix = ["rpms", "modules"]
something_else = "kept aside"
""")
    s = config.load(cfg, env={})
    assert s.data_dir == tmp_path / "from-toml"
    assert s.instance_name == "Crab Forge"
    assert s.web_workers == 5
    assert s.allow_registration is False
    assert s.allowed_prefix == ("rpms", "modules")
    assert s.extra == {"something_else": "kept aside"}


def test_the_environment_overrides_the_toml_file(tmp_path):
    cfg = write_toml(tmp_path / "p.toml", 'instance_name = "From TOML"\nweb_workers = 5\n')
    env = {"PAGURUS_CONFIG": str(cfg), "PAGURUS_INSTANCE_NAME": "From env",
           "PAGURUS_DATA": str(tmp_path / "env-data"), "PAGURUS_ALLOWED_PREFIX": "a, b",
           "PAGURUS_REDIS_URL": "redis://127.0.0.1:6379/3", "PAGURUS_SMTP_PORT": "2525",
           "PAGURUS_SMTP_STARTTLS": "yes", "UNRELATED": "x"}
    s = config.load(env=env)
    assert s.instance_name == "From env"
    assert s.web_workers == 5  # only in the file
    assert s.data_dir == tmp_path / "env-data"
    assert s.allowed_prefix == ("a", "b")
    assert s.smtp_port == 2525 and s.smtp_starttls is True
    # Redis takes over the broker and results when configured
    assert s.celery_broker == "redis://127.0.0.1:6379/3"
    assert s.celery_backend == "redis://127.0.0.1:6379/3"


def test_command_line_options_override_everything(tmp_path):
    cfg = write_toml(tmp_path / "p.toml", 'data = "/nowhere/toml"\nweb_workers = 5\n')
    env = {"PAGURUS_DATA": "/nowhere/env", "PAGURUS_WEB_WORKERS": "7"}
    s = config.load(cfg, env=env, data_dir=str(tmp_path / "cli"), web_workers=3,
                    instance_name=None)
    assert s.data_dir == tmp_path / "cli"
    assert s.web_workers == 3
    assert s.instance_name == "Pagurus"  # None means "not given on the command line"


def test_an_explicit_config_file_beats_the_pagurus_config_variable(tmp_path):
    a = write_toml(tmp_path / "a.toml", 'instance_name = "A"\n')
    b = write_toml(tmp_path / "b.toml", 'instance_name = "B"\n')
    assert config.load(b, env={"PAGURUS_CONFIG": str(a)}).instance_name == "B"
    assert config.load(env={"PAGURUS_CONFIG": str(a)}).instance_name == "A"


def test_a_relative_data_dir_becomes_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert config.load(env={"PAGURUS_DATA": "here"}).data_dir == tmp_path / "here"


@pytest.mark.parametrize(("env", "field"), [
    ({"PAGURUS_WEB_WORKERS": "many"}, "web_workers"),
    ({"PAGURUS_ALLOW_REGISTRATION": "perhaps"}, "allow_registration"),
    ({"PAGURUS_TASK_WAIT_SECONDS": "soon"}, "task_wait_seconds"),
])
def test_a_bad_environment_value_is_refused_with_its_name(env, field):
    with pytest.raises(config.ConfigError, match=field):
        config.load(env=env)


def test_a_bad_toml_value_is_refused(tmp_path):
    cfg = write_toml(tmp_path / "p.toml", 'smtp_port = "twenty-five"\n')
    with pytest.raises(config.ConfigError, match="smtp_port"):
        config.load(cfg, env={})


def test_a_broken_or_missing_config_file_is_refused(tmp_path):
    broken = write_toml(tmp_path / "broken.toml", "instance_name = \n")
    with pytest.raises(config.ConfigError, match="cannot read config file"):
        config.load(broken, env={})
    with pytest.raises(config.ConfigError, match="cannot read config file"):
        config.load(tmp_path / "missing.toml", env={})
    with pytest.raises(config.ConfigError):
        config.load(env={"PAGURUS_CONFIG": str(tmp_path / "missing.toml")})


def test_the_secret_key_is_generated_once_and_kept(tmp_path):
    s = config.load(env={}, data_dir=str(tmp_path / "d"))
    first = config.ensure_data_dir(s)
    assert len(first.secret_key) >= 32
    second = config.ensure_data_dir(config.load(env={}, data_dir=str(tmp_path / "d")))
    assert second.secret_key == first.secret_key
    key_file = tmp_path / "d" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    for sub in ("repos", "docs", "tickets", "requests", "attachments", "ssh", "celery"):
        assert (tmp_path / "d" / sub).is_dir()
    other = config.ensure_data_dir(config.load(env={}, data_dir=str(tmp_path / "e")))
    assert other.secret_key != first.secret_key


def test_a_configured_secret_key_is_used_as_is(tmp_path):
    s = config.load(env={"PAGURUS_SECRET_KEY": "s3cret-from-env"}, data_dir=str(tmp_path))
    assert config.ensure_data_dir(s).secret_key == "s3cret-from-env"
    assert not (tmp_path / "secret_key").exists()


def test_settings_survive_the_trip_through_a_child_environment(tmp_path):
    from pagurus.config import load, to_env

    original = load(env={}, data_dir=str(tmp_path), database_url="sqlite:////x.db",
                    allowed_prefix="rpms,modules", smtp_port="2525", private_projects="false",
                    task_wait_seconds="2.5")
    env = to_env(original)
    assert env["PAGURUS_DATA"] == str(tmp_path.resolve())
    assert load(env=env) == original
