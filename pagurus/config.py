"""Settings: built-in defaults < TOML file < ``PAGURUS_*`` environment.

One frozen object is built at start-up and handed to every component, so a
web process, a worker and an admin command agree on where the data lives.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_PREFIX = "PAGURUS_"


class ConfigError(Exception):
    """Raised for a config file or variable that cannot be used."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("pagurus-data")
    database_url: str = ""  # empty: SQLite under data_dir
    broker_url: str = ""  # empty: filesystem transport under data_dir (or redis_url)
    result_backend: str = ""  # empty: files under data_dir (or redis_url)
    redis_url: str = ""
    secret_key: str = ""  # empty: generated once and kept in data_dir
    instance_name: str = "Pagurus"
    app_url: str = ""  # empty: derived from the request
    admin_email: str = "root@localhost"
    mail_from: str = "pagurus@localhost"
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    allow_registration: bool = True
    private_projects: bool = True
    enable_new_projects: bool = True
    enable_del_projects: bool = True
    enable_del_forks: bool = True
    user_namespace: bool = False
    allowed_prefix: tuple[str, ...] = ()
    git_url_ssh: str = ""
    git_url_git: str = ""
    ssh_port: int = 2222
    web_workers: int = 2
    worker_concurrency: int = 2
    session_days: int = 30
    admin_session_minutes: int = 20
    items_per_page: int = 48
    token_default_days: int = 180
    token_max_days: int = 730
    task_wait_seconds: float = 60.0
    max_attachment_bytes: int = 4 * 1024 * 1024  # one file attached to an issue
    max_release_bytes: int = 512 * 1024 * 1024  # one uploaded release file (core.releases)
    # disk caches: past these, the least recently used files go (pagurus.diskcache); 0: no bound
    archive_cache_bytes: int = 2 * 1024 * 1024 * 1024
    blame_cache_bytes: int = 256 * 1024 * 1024
    # the outbox keeps events this long once recorded (pagurus.events.outbox.prune)
    event_retention_days: int = 30
    cookie_secure: bool = False
    # remote pull requests may fetch from loopback/private addresses (core.netguard)
    allow_local_remotes: bool = False
    # comments that ask CI to run again on a pull request (core.ci_trigger); empty: none
    trigger_ci: tuple[str, ...] = ("pretty please pagure-ci rebuild",)
    extra: Mapping[str, Any] = field(default_factory=dict)

    # -- derived values -------------------------------------------------
    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'pagurus.sqlite').resolve()}"

    @property
    def celery_broker(self) -> str:
        return self.broker_url or self.redis_url or "filesystem://"

    @property
    def celery_backend(self) -> str:
        if self.result_backend:
            return self.result_backend
        if self.redis_url:
            return self.redis_url
        return f"file://{(self.data_dir / 'celery' / 'results').resolve()}"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


_FIELDS = {f.name: f for f in dataclasses.fields(Settings) if f.name != "extra"}


def _coerce(name: str, value: Any) -> Any:
    """Turn a TOML or environment value into the field's type, or refuse it."""
    default = _FIELDS[name].default
    try:
        if isinstance(default, bool):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on", "t", "y"):
                return True
            if text in ("0", "false", "no", "off", "f", "n", ""):
                return False
            raise ValueError(value)
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, Path):
            return Path(str(value)).expanduser()
        if isinstance(default, tuple):
            if isinstance(value, str):
                return tuple(v.strip() for v in value.split(",") if v.strip())
            return tuple(str(v) for v in value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"bad value for {name}: {value!r}") from exc


def load(
    config_file: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build settings from defaults, then the TOML file, then the environment,
    then explicit overrides (command-line options)."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    path = config_file or env.get(ENV_PREFIX + "CONFIG")
    if path:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
        section = data.get("pagurus", data)
        for key, value in section.items():
            k = key.lower().replace("-", "_")
            if k in _FIELDS:
                values[k] = _coerce(k, value)
            elif k == "data":
                values["data_dir"] = _coerce("data_dir", value)
            else:
                extra[k] = value
    for key, value in env.items():
        if not key.startswith(ENV_PREFIX):
            continue
        k = key[len(ENV_PREFIX):].lower()
        if k == "data":
            k = "data_dir"
        if k in _FIELDS:
            values[k] = _coerce(k, value)
    for key, value in overrides.items():
        if value is not None:
            values[key] = _coerce(key, value)
    settings = Settings(**values, extra=extra)
    return settings.replace(data_dir=settings.data_dir.resolve())


def ensure_data_dir(settings: Settings) -> Settings:
    """Create the data folder tree and a persistent secret key on first use."""
    data = settings.data_dir
    for sub in ("repos", "docs", "tickets", "requests", "attachments", "ssh", "celery"):
        (data / sub).mkdir(parents=True, exist_ok=True)
    if settings.secret_key:
        return settings
    key_file = data / "secret_key"
    if not key_file.exists():
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process of this instance won the race
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
    return settings.replace(secret_key=key_file.read_text().strip())


def to_env(settings: Settings) -> dict[str, str]:
    """``PAGURUS_*`` variables that make a child process (a git hook, a daemon)
    load exactly these settings, whatever file or options produced them.

    The secret key is left out: children that need it read it from the data dir
    (``ensure_data_dir``), so it never shows in process environments."""
    env: dict[str, str] = {}
    for name, f in _FIELDS.items():
        value = getattr(settings, name)
        if name == "secret_key" or (value == f.default and name != "data_dir"):
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, tuple):
            text = ",".join(value)
        else:
            text = str(value)
        env[ENV_PREFIX + ("DATA" if name == "data_dir" else name.upper())] = text
    return env
