"""A gitolite configuration derived from the database, for sites that keep gitolite.

``pagurus gitolite sync`` writes ``<home>/.gitolite/conf/gitolite.conf`` and
the users' keys as ``<home>/.gitolite/keydir/pagurus/<user>@<key id>.pub``
(deploy keys as pseudo-users ``deploykey_<project>_<key id>``), then runs
gitolite's own compile and POST_COMPILE triggers (which also rewrite the
gitolite user's ``authorized_keys``). Nothing is decided here: every rule
comes from asking ``core.gitaccess`` what each identity may do, so gitolite
grants exactly what the built-in server grants.

The keys live in a ``pagurus/`` sub-folder of keydir that is rewritten on
every sync; other keys (the gitolite admin's) are left alone.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from pagurus.core import access, gitaccess
from pagurus.model import GroupMember, Project, ProjectGroup, ProjectUser, SSHKey, User

KEY_SUBDIR = "pagurus"
_USER_OK = re.compile(r"^[0-9a-zA-Z][-0-9a-zA-Z._@+]*$")
_REPO_OK = re.compile(r"^[0-9a-zA-Z][-0-9a-zA-Z._@/+]*$")
_PATTERN_OK = re.compile(r"^[^\s=#]+$")
KIND_PREFIX = {"main": "", "docs": "docs/", "tickets": "tickets/", "requests": "requests/"}


class GitoliteError(Exception):
    """gitolite is missing or refused the generated configuration."""


@dataclass
class Config:
    """The generated files: the conf text and keydir file name -> key line."""

    conf: str
    keys: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def deploy_key_user(project: Project, key: SSHKey) -> str:
    """Pagure's pseudo-user name for a deploy key."""
    safe = re.sub(r"[^0-9A-Za-z._+-]", "_", project.fullname)
    return f"deploykey_{safe}_{key.id}"


def repo_name(project: Project, kind: str) -> str:
    """``[docs|tickets|requests/][forks/<user>/][<ns>/]<name>``: the path git clients use."""
    return KIND_PREFIX[kind] + project.fullname


def glob_to_refex(pattern: str) -> str:
    """A collaborator's branch glob as a gitolite refex (a Perl regex anchored at
    the start by gitolite; we anchor the end)."""
    out = []
    for char in pattern:
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char.isalnum() or char in "/_-":
            out.append(char)
        else:
            out.append("\\" + char)
    return "refs/heads/" + "".join(out) + "$"


def _candidates(session: Session, project: Project) -> list[User]:
    """Everyone who may hold more than public access to ``project``."""
    ids = {project.user_id}
    ids.update(session.scalars(select(ProjectUser.user_id)
                               .where(ProjectUser.project_id == project.id)))
    ids.update(session.scalars(
        select(GroupMember.user_id)
        .join(ProjectGroup, ProjectGroup.group_id == GroupMember.group_id)
        .where(ProjectGroup.project_id == project.id)))
    ids.update(session.scalars(select(User.id).where(User.is_admin.is_(True))))
    users = session.scalars(select(User).where(User.id.in_(ids)).order_by(User.name))
    return [u for u in users if u.active and not access.is_blocked(u)]


def _collaborator_patterns(session: Session, user: User, project: Project) -> list[str]:
    out: list[str] = []
    for lvl, patterns in access.grants(session, user, project):
        if lvl == access.Level.COLLABORATOR:
            out += [p.strip() for p in (patterns or "").split(",") if p.strip()]
    return sorted(set(out))


def _repo_rules(session: Session, project: Project, kind: str,
                deploy: list[tuple[str, SSHKey]], skipped: list[str]) -> list[tuple[str, str]]:
    """(permission[ refex], user) pairs for one repo."""
    rules: list[tuple[str, str]] = []
    public = gitaccess.can_read(session, gitaccess.Identity(), project, kind)
    if public:
        rules.append(("R", "@all"))
    for user in _candidates(session, project):
        if not _USER_OK.match(user.name):
            skipped.append(f"user {user.name!r}: not a valid gitolite user name")
            continue
        who = gitaccess.Identity(user=user)
        if gitaccess.can_update_ref(session, who, project, kind, "refs/tags/any"):
            rules.append(("RW+", user.name))  # full commit rights: every ref
            continue
        if gitaccess.can_write_somewhere(session, who, project, kind):
            for pattern in _collaborator_patterns(session, user, project):
                if _PATTERN_OK.match(pattern):
                    rules.append((f"RW+ {glob_to_refex(pattern)}", user.name))
        if not public and gitaccess.can_read(session, who, project, kind):
            rules.append(("R", user.name))
        elif public and gitaccess.can_write_somewhere(session, who, project, kind):
            rules.append(("R", user.name))
    for name, key in deploy:
        who = gitaccess.Identity(deploy_key=key)
        if gitaccess.can_write_somewhere(session, who, project, kind):
            rules.append(("RW+", name))
        elif gitaccess.can_read(session, who, project, kind) and not public:
            rules.append(("R", name))
    return rules


def build(session: Session, admin: str | None = None) -> Config:
    """The whole configuration from the database."""
    out = Config(conf="")
    lines = ["# Generated by `pagurus gitolite sync`: edits are overwritten.", ""]
    if admin:
        lines += ["repo gitolite-admin", f"    RW+     =   {admin}", ""]
    projects = session.scalars(select(Project).where(Project.repo_state == "ready")
                               .order_by(Project.key))
    for project in projects:
        deploy = [(deploy_key_user(project, k), k) for k in session.scalars(
            select(SSHKey).where(SSHKey.project_id == project.id).order_by(SSHKey.id))]
        for name, key in deploy:
            out.keys[f"{name}.pub"] = key.public_key
        for kind in KIND_PREFIX:
            name = repo_name(project, kind)
            if not _REPO_OK.match(name) or ".." in name:
                out.skipped.append(f"repo {name!r}: not a valid gitolite repo name")
                continue
            rules = _repo_rules(session, project, kind, deploy, out.skipped)
            lines.append(f"repo {name}")
            lines += [f"    {perm:<7} =   {who}" for perm, who in rules]
            if not rules:
                lines.append("    # nobody")
            lines.append("")
    users = session.execute(select(User, SSHKey).join(SSHKey, SSHKey.user_id == User.id)
                            .order_by(User.name, SSHKey.id))
    for user, key in users:
        if user.active and not access.is_blocked(user) and _USER_OK.match(user.name):
            out.keys[f"{user.name}@{key.id}.pub"] = key.public_key
    out.conf = "\n".join(lines)
    return out


def _gitolite_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GL_", "GIT_"))}
    env["HOME"] = str(home)
    return env


def _run(home: Path, *args: str) -> str:
    exe = shutil.which("gitolite")
    if exe is None:
        raise GitoliteError("the gitolite command is not installed (Debian: gitolite3)")
    proc = subprocess.run([exe, *args], env=_gitolite_env(home), cwd=str(home),
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise GitoliteError(f"gitolite {' '.join(args)} failed: "
                            f"{(proc.stderr or proc.stdout).strip()}")
    return proc.stdout


def _replace_file(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def write_and_compile(home: Path, config: Config, admin: str | None = None) -> None:
    """Install ``config`` under ``home`` (the gitolite user's HOME) and compile it;
    a home without ``.gitolite.rc`` is first set up (``gitolite setup -a``)."""
    home = home.resolve()
    if not (home / ".gitolite.rc").exists():
        _run(home, "setup", "-a", admin or "pagurus-admin")
    base = home / ".gitolite"
    (base / "conf").mkdir(parents=True, exist_ok=True)
    keydir = base / "keydir"
    fresh = keydir / f".{KEY_SUBDIR}.new"
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    for name, key in config.keys.items():
        (fresh / name).write_text(key + "\n")
    old = keydir / KEY_SUBDIR
    if old.exists():
        shutil.rmtree(old)
    os.rename(fresh, old)
    _replace_file(base / "conf" / "gitolite.conf", config.conf)
    _run(home, "compile")
    _run(home, "trigger", "POST_COMPILE")


def access_allowed(home: Path, repo: str, user: str, perm: str, ref: str = "any") -> bool:
    """``gitolite access -q``: may ``user`` do ``perm`` (R, W, +) on ``ref`` of ``repo``?"""
    exe = shutil.which("gitolite")
    if exe is None:
        raise GitoliteError("the gitolite command is not installed (Debian: gitolite3)")
    proc = subprocess.run([exe, "access", "-q", repo, user, perm, ref],
                          env=_gitolite_env(home.resolve()), capture_output=True, check=False)
    return proc.returncode == 0
