"""Name rules for users, groups, namespaces and projects: the one place.

Refused: ``..``, a leading ``-`` or ``.``, slashes beyond the namespace,
control characters, over-long names, and reserved words that would shadow
URLs or on-disk folders.
"""

from __future__ import annotations

import fnmatch
import re

from pagurus.core.errors import InvalidInput

PROJECT_NAME_MAX = 100
USER_NAME_MAX = 64

_PROJECT_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")
_USER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_GROUP_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")

# top-level words that are URLs of the forge or folders next to the repos
BLACKLISTED_PROJECTS = (
    "static", "pv", "releases", "new", "api", "settings", "search", "fork",
    "logout", "login", "user", "users", "groups", "group", "projects",
    "ssh_info", "issues", "pull-requests", "commits", "tree", "forks", "admin",
    "c", "wait", "dashboard", "browse", "about", "markdown", "confirm",
    "password", "do_fork", "docs", "tickets", "requests", "theme", "raw",
    "docs/*", "tickets/*", "requests/*", "forks/*",
)
BLACKLISTED_USERS = ("admin", "root", "git", "forks", "fork", "static", "api", "new", "pv")
BLACKLISTED_GROUPS = ("forks", "group", "groups", "admin")


def _common(kind: str, value: object, regex: re.Pattern[str], maxlen: int) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{kind} is required", errors={kind: ["This field is required."]})
    if len(value) > maxlen:
        raise InvalidInput(
            f"{kind} is too long", errors={kind: [f"At most {maxlen} characters."]}
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInput(f"Invalid {kind}", errors={kind: ["Control characters are refused."]})
    if ".." in value or not regex.match(value) or value.lower().endswith(".git"):
        raise InvalidInput(
            f"Invalid {kind}: {value!r}",
            errors={kind: ["Use letters, digits, '_', '-', '.' (not first), no '..'."]},
        )
    return value


def validate_project_name(name: object) -> str:
    return _common("name", name, _PROJECT_RE, PROJECT_NAME_MAX)


def validate_namespace(namespace: object) -> str | None:
    if namespace in (None, ""):
        return None
    if isinstance(namespace, str) and "/" in namespace:
        raise InvalidInput(
            "Invalid namespace", errors={"namespace": ["A namespace has no slash."]}
        )
    return _common("namespace", namespace, _PROJECT_RE, PROJECT_NAME_MAX)


def check_not_reserved(namespace: str | None, name: str) -> None:
    full = f"{namespace}/{name}" if namespace else name
    for pattern in BLACKLISTED_PROJECTS:
        if fnmatch.fnmatch(full.lower(), pattern) or (
            namespace and fnmatch.fnmatch(namespace.lower(), pattern)
        ):
            raise InvalidInput(f"No project {full!r} are allowed to be created")


def validate_username(name: object) -> str:
    value = _common("username", name, _USER_RE, USER_NAME_MAX)
    if value.lower() in BLACKLISTED_USERS:
        raise InvalidInput(f"The name {value!r} is reserved")
    return value


def validate_groupname(name: object) -> str:
    value = _common("group_name", name, _GROUP_RE, USER_NAME_MAX)
    if value.lower() in BLACKLISTED_GROUPS:
        raise InvalidInput(f"The name {value!r} is reserved")
    return value


def split_project_path(path: str) -> tuple[str | None, str]:
    """``ns/name`` or ``name`` -> (namespace, name); more slashes are refused."""
    parts = path.strip().split("/")
    if len(parts) == 1:
        return None, validate_project_name(parts[0])
    if len(parts) == 2:
        return validate_namespace(parts[0]), validate_project_name(parts[1])
    raise InvalidInput(f"Invalid project path {path!r}")


def glob_to_like(pattern: str, prefix: bool = False) -> str:
    """A user's ``*`` glob as an SQL LIKE pattern (escape ``\\``), with its own
    ``%``/``_`` taken literally; ``prefix`` also matches anything after it."""
    like = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    like = like.replace("*", "%")
    if prefix and not like.endswith("%"):
        like += "%"
    return like


def project_key(namespace: str | None, name: str, fork_user: str | None = None) -> str:
    """Lower-cased fullname: what makes two projects the same project."""
    base = f"{namespace}/{name}" if namespace else name
    if fork_user:
        base = f"forks/{fork_user}/{base}"
    return base.lower()


_EMAIL_RE = re.compile(
    r"^[^@\s<>\"']{1,64}@(?:[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}|localhost)$"
)


def validate_email(email: object) -> str:
    if not isinstance(email, str) or not _EMAIL_RE.match(email.strip()):
        raise InvalidInput("Invalid email address", errors={"email": ["Not a valid email."]})
    return email.strip()
