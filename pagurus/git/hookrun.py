"""The process git runs for ``pre-receive`` and ``post-receive``.

Installed hooks (``pagurus.git.hooks``) exec ``python -I -c ... <hook>``
which lands in :func:`main`. It is on the path of every push, so it imports
only what it needs: the settings, SQLAlchemy models and core rules, pygit2 —
never click, Flask or Celery.

Who pushes comes from the environment a transport built with
``pagurus.git.pushenv.git_env``: ``PAGURUS_PUSHER`` (user name),
``PAGURUS_DEPLOY_KEY`` (ssh key id), ``PAGURUS_INTERNAL=1`` (the forge
itself), ``PAGURUS_PULL_REQUEST``; the settings come from the other
``PAGURUS_*`` variables (``config.load``). A push without any of these
(someone running ``git push`` on the server's filesystem) is refused unless it
says ``PAGURUS_INTERNAL=1``; when ``PAGURUS_DATA`` is missing too, the data
dir is found by walking up from the repository.

Whatever git writes on our stderr reaches the pusher as ``remote: …``.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOOK_NAMES = ("pre-receive", "post-receive")
KIND_DIRS = (("repos", "main"), ("docs", "docs"), ("tickets", "tickets"),
             ("requests", "requests"))
DEBUG = "PAGURUS_HOOK_DEBUG"  # "1": print tracebacks and step timings


class HookFailure(Exception):
    """A reason to refuse the push, shown to the pusher as is."""


def say(message: str) -> None:
    """One message for the pusher (git prefixes it with ``remote:``)."""
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.stderr.flush()


@dataclass
class HookContext:
    """Everything a hook step needs, loaded once per run."""

    hook: str
    settings: Any  # pagurus.config.Settings
    session: Any  # sqlalchemy Session
    project: Any  # pagurus.model.Project
    kind: str  # main | docs | tickets | requests
    identity: Any  # pagurus.core.gitaccess.Identity
    repo: Any  # pygit2.Repository
    repo_path: Path
    updates: list[Any]  # pagurus.core.pushrules.RefUpdate
    env: Mapping[str, str]
    pull_request: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def debug(self) -> bool:
        return self.env.get(DEBUG) == "1"


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Entry point: ``<hook>`` as first argument, git's ref lines on stdin."""
    argv = sys.argv[1:] if argv is None else argv
    env = os.environ if env is None else env
    if not argv or argv[0] not in HOOK_NAMES:
        say(f"usage: hookrun {{{'|'.join(HOOK_NAMES)}}} (run by git, ref updates on stdin)")
        return 2
    hook = argv[0]
    raw = sys.stdin.buffer.read().decode("utf-8", "surrogateescape")
    if hook == "pre-receive":
        return pre_receive(raw, env)
    return post_receive(raw, env)


# -- loading the context ----------------------------------------------------------

def _find_data_dir(git_dir: Path) -> Path | None:
    """The data dir above a repository: holds ``repos`` and the secret key."""
    for parent in git_dir.parents:
        if (parent / "repos").is_dir() and (parent / "secret_key").is_file():
            return parent
    return None


def load_settings(env: Mapping[str, str], git_dir: Path) -> Any:
    from pagurus import config

    overrides: dict[str, Any] = {}
    if not env.get("PAGURUS_DATA") and not env.get("PAGURUS_CONFIG"):
        found = _find_data_dir(git_dir)
        if found is None:
            raise HookFailure("cannot tell which Pagurus instance this repository belongs "
                              "to (set PAGURUS_DATA)")
        overrides["data_dir"] = str(found)
    try:
        settings = config.load(env=env, **overrides)
    except config.ConfigError as exc:
        raise HookFailure(f"bad Pagurus settings: {exc}") from None
    return config.ensure_data_dir(settings)


def repo_location(data_dir: Path, git_dir: Path) -> str:
    """``[docs|tickets|requests/]<fullname>`` of a repo path under the data dir."""
    for folder, kind in KIND_DIRS:
        base = (data_dir / folder).resolve()
        if git_dir.is_relative_to(base) and git_dir != base:
            rel = git_dir.relative_to(base).as_posix()
            return rel if kind == "main" else f"{kind}/{rel}"
    raise HookFailure("this repository is not under the Pagurus data directory")


def check_identity_env(env: Mapping[str, str]) -> None:
    """Refuse at once a push that names nobody (made on the server's disk)."""
    from pagurus.git.pushenv import DEPLOY_KEY, INTERNAL, PUSHER

    if env.get(INTERNAL) != "1" and PUSHER not in env and DEPLOY_KEY not in env:
        raise HookFailure("this push did not come through Pagurus (no pusher identity); "
                          "a push made on the server must set PAGURUS_INTERNAL=1")


def resolve_identity(session: Any, env: Mapping[str, str]) -> Any:
    from pagurus.core.gitaccess import Identity
    from pagurus.core.users import get_user
    from pagurus.git.pushenv import DEPLOY_KEY, INTERNAL, PUSHER
    from pagurus.model import SSHKey

    if env.get(INTERNAL) == "1":
        return Identity(internal=True)
    check_identity_env(env)
    user = key = None
    name = env.get(PUSHER) or ""
    if name:
        user = get_user(session, name)
        if user is None:
            raise HookFailure(f"unknown user {name!r}")
    key_id = env.get(DEPLOY_KEY) or ""
    if key_id:
        key = session.get(SSHKey, int(key_id)) if key_id.isdigit() else None
        if key is None:
            raise HookFailure("unknown deploy key")
    return Identity(user=user, deploy_key=key)


def load_context(hook: str, raw: str, env: Mapping[str, str]) -> HookContext:
    """Settings, DB session, project, identity and repository of this run.
    The caller closes ``ctx.session``."""
    import pygit2

    from pagurus import db
    from pagurus.core.errors import InvalidInput
    from pagurus.core.gitaccess import parse_repo_path
    from pagurus.core.projects import get_project
    from pagurus.core.pushrules import parse_updates
    from pagurus.git.pushenv import PULL_REQUEST

    try:
        updates = parse_updates(raw)
    except ValueError as exc:
        raise HookFailure(str(exc)) from None
    check_identity_env(env)
    git_dir = Path(env.get("GIT_DIR") or ".").resolve()
    settings = load_settings(env, git_dir)
    try:
        ref = parse_repo_path(repo_location(settings.data_dir, git_dir))
    except InvalidInput:
        raise HookFailure("this repository path does not name a Pagurus project") from None
    session = db.make_sessionmaker(db.make_engine(settings.sqlalchemy_url))()
    try:
        project = get_project(session, ref.name, ref.namespace, ref.fork_user)
        if project is None:
            raise HookFailure(f"no project owns this repository ({ref.fullname})")
        identity = resolve_identity(session, env)
        repo = pygit2.Repository(str(git_dir))
        quarantine = env.get("GIT_QUARANTINE_PATH")
        if quarantine:  # pre-receive: the pushed objects are not in the odb yet
            repo.odb.add_disk_alternate(quarantine)
    except BaseException:
        session.close()
        raise
    return HookContext(hook=hook, settings=settings, session=session, project=project,
                       kind=ref.kind, identity=identity, repo=repo, repo_path=git_dir,
                       updates=updates, env=env, pull_request=env.get(PULL_REQUEST) or None)


# -- the hooks ------------------------------------------------------------------------

def pre_receive(raw: str, env: Mapping[str, str]) -> int:
    """Accept (0) or refuse (1) the whole push; a refusal names each ref and why.
    Anything unexpected refuses too: a rule that could not run is not passed."""
    try:
        ctx = load_context("pre-receive", raw, env)
    except HookFailure as exc:
        say(f"Push refused: {exc}")
        return 1
    except Exception as exc:  # noqa: BLE001 - fail closed, with a hint
        _crashed("could not check this push", exc, env)
        return 1
    try:
        from pagurus.core.pushrules import check_push

        refusals = check_push(ctx.session, ctx.identity, ctx.project, ctx.kind, ctx.repo,
                              ctx.updates)
    except Exception as exc:  # noqa: BLE001
        _crashed("could not check this push", exc, env)
        return 1
    finally:
        ctx.session.close()
    if not refusals:
        return 0
    for refusal in refusals:
        say(f"Push refused: {refusal}")
    say("Nothing was pushed: fix the refused refs and push again.")
    return 1


def post_receive(raw: str, env: Mapping[str, str]) -> int:
    """Record the push and tell the pusher what's next. The push already
    happened: failures are reported, never turned into an exit status."""
    try:
        ctx = load_context("post-receive", raw, env)
    except HookFailure as exc:
        say(f"Warning: the push was not recorded: {exc}")
        return 0
    except Exception as exc:  # noqa: BLE001
        _crashed("could not record this push", exc, env)
        return 0
    try:
        from pagurus.git import postreceive

        postreceive.run(ctx)
    except Exception as exc:  # noqa: BLE001
        _crashed("could not record this push", exc, env)
    finally:
        ctx.session.close()
    if ctx.debug:
        say("hook timings: " + ", ".join(f"{k} {v * 1000:.1f} ms"
                                         for k, v in ctx.timings.items()))
    return 0


def _crashed(what: str, exc: BaseException, env: Mapping[str, str]) -> None:
    """Tell the pusher something went wrong, and the admin what (in
    ``<data>/logs/hooks.log``, or on stderr with PAGURUS_HOOK_DEBUG=1)."""
    say(f"Pagurus {what} (internal error: {type(exc).__name__}); "
        "details are in the server's hooks log")
    details = "".join(traceback.format_exception(exc))
    if env.get(DEBUG) == "1":
        say(details)
    data = env.get("PAGURUS_DATA")
    if data:
        try:
            log_dir = Path(data) / "logs"
            log_dir.mkdir(exist_ok=True)
            with open(log_dir / "hooks.log", "a") as fh:
                stamp = time.strftime("%Y-%m-%d %H:%M:%S")
                fh.write(f"{stamp} {os.getcwd()} {what}\n{details}\n")
        except OSError:
            pass


def timed(ctx: HookContext, name: str, started: float) -> None:
    ctx.timings[name] = time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
