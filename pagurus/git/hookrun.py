"""The work of the ``pre-receive`` and ``post-receive`` hooks.

:func:`run` does it, in one of two places: the hook server (``pagurus
hookd``, :mod:`pagurus.services.hookd`), which keeps everything loaded and
serves the installed hooks (:mod:`pagurus.git.hookclient`) over a Unix
socket, or — when no server is running — a process of its own that the hook
client execs (``python -I -c ... <hook>``, landing in :func:`main`). That
process is on the path of a push, so this module imports only what it needs:
the settings, SQLAlchemy models and core rules, pygit2 — never click, Flask
or Celery.

Both places run the same code; only :class:`Runtime` differs (the server
keeps its settings and database engine, the process builds them from its
environment), and what the pusher is told goes to the ``stderr_writer`` of
the run (:func:`say`).

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
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOOK_NAMES = ("pre-receive", "post-receive")
KIND_DIRS = (("repos", "main"), ("docs", "docs"), ("tickets", "tickets"),
             ("requests", "requests"))
DEBUG = "PAGURUS_HOOK_DEBUG"  # "1": print tracebacks and step timings

Writer = Callable[[str], None]
# where say() writes during a run: per thread (the server runs several at once)
_writer: ContextVar[Writer | None] = ContextVar("pagurus_hook_writer", default=None)


class HookFailure(Exception):
    """A reason to refuse the push, shown to the pusher as is."""


def say(message: str) -> None:
    """One message for the pusher (git prefixes it with ``remote:``)."""
    text = message.rstrip("\n") + "\n"
    writer = _writer.get()
    if writer is not None:
        writer(text)
        return
    sys.stderr.write(text)
    sys.stderr.flush()


def process_stderr(text: str) -> None:
    """The writer of a hook running in its own process: git reads our stderr."""
    sys.stderr.write(text)
    sys.stderr.flush()


@dataclass(frozen=True)
class Runtime:
    """What outlives one run: the settings and a session factory.

    The hook server builds one at start-up and shares it between its threads
    (settings are immutable, the engine is thread-safe, each run has its own
    session); the in-process runner builds one per run from the environment."""

    settings: Any  # pagurus.config.Settings
    sessions: Any  # sqlalchemy sessionmaker

    @classmethod
    def create(cls, settings: Any) -> Runtime:
        from pagurus import db

        return cls(settings, db.make_sessionmaker(db.make_engine(settings.sqlalchemy_url)))


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
    return run(argv[0], env, sys.stdin.buffer.read(), process_stderr)


def run(hook_name: str, env: Mapping[str, str], stdin_bytes: bytes, stderr_writer: Writer,
        runtime: Runtime | None = None) -> int:
    """Run hook ``hook_name`` for the push described by ``env`` (git's hook
    environment: ``GIT_DIR``, quarantine, ``PAGURUS_*``) and ``stdin_bytes``
    (git's ref lines); messages for the pusher go to ``stderr_writer``.
    Returns the exit code. ``runtime`` None: settings and database from
    ``env`` (the in-process runner)."""
    if hook_name not in HOOK_NAMES:
        stderr_writer(f"unknown hook {hook_name[:50]!r}\n")
        return 2
    token = _writer.set(stderr_writer)
    try:
        raw = stdin_bytes.decode("utf-8", "surrogateescape")
        if hook_name == "pre-receive":
            return pre_receive(raw, env, runtime)
        return post_receive(raw, env, runtime)
    finally:
        _writer.reset(token)


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


def quarantine_dir(env: Mapping[str, str], git_dir: Path) -> str | None:
    """git's quarantine folder during pre-receive (the pushed objects wait
    there until the hook accepts them): it must be inside the repository's
    ``objects``, where git makes it; anything else is refused."""
    value = env.get("GIT_QUARANTINE_PATH")
    if not value:
        return None
    path = (git_dir / value).resolve()  # an absolute value replaces git_dir
    objects = (git_dir / "objects").resolve()
    if not path.is_relative_to(objects) or path == objects or not path.is_dir():
        raise HookFailure("unexpected quarantine directory")
    return str(path)


def load_context(hook: str, raw: str, env: Mapping[str, str],
                 runtime: Runtime | None = None) -> HookContext:
    """Settings, DB session, project, identity and repository of this run.
    The caller closes ``ctx.session``."""
    import pygit2

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
    if runtime is None:
        runtime = Runtime.create(load_settings(env, git_dir))
    settings = runtime.settings
    try:
        ref = parse_repo_path(repo_location(settings.data_dir, git_dir))
    except InvalidInput:
        raise HookFailure("this repository path does not name a Pagurus project") from None
    quarantine = quarantine_dir(env, git_dir)
    session = runtime.sessions()
    try:
        project = get_project(session, ref.name, ref.namespace, ref.fork_user)
        if project is None:
            raise HookFailure(f"no project owns this repository ({ref.fullname})")
        identity = resolve_identity(session, env)
        # a Repository of this run only: the quarantine must not outlive it
        repo = pygit2.Repository(str(git_dir))
        if quarantine:  # pre-receive: the pushed objects are not in the odb yet
            repo.odb.add_disk_alternate(quarantine)
    except BaseException:
        session.close()
        raise
    return HookContext(hook=hook, settings=settings, session=session, project=project,
                       kind=ref.kind, identity=identity, repo=repo, repo_path=git_dir,
                       updates=updates, env=env, pull_request=env.get(PULL_REQUEST) or None)


# -- the hooks ------------------------------------------------------------------------

def refused(hook: str, reason: str) -> int:
    """Tell the pusher why the hook could not run, and the exit code: the
    pre-receive refuses the push, the post-receive (the push happened) warns."""
    if hook == "pre-receive":
        say(f"Push refused: {reason}")
        return 1
    say(f"Warning: the push was not recorded: {reason}")
    return 0


def refuse(hook_name: str, reason: str, stderr_writer: Writer) -> int:
    """:func:`refused` for a caller outside :func:`run` (the hook server
    turning down a request before running it)."""
    token = _writer.set(stderr_writer)
    try:
        return refused(hook_name, reason)
    finally:
        _writer.reset(token)


def pre_receive(raw: str, env: Mapping[str, str], runtime: Runtime | None = None) -> int:
    """Accept (0) or refuse (1) the whole push; a refusal names each ref and why.
    Anything unexpected refuses too: a rule that could not run is not passed."""
    try:
        ctx = load_context("pre-receive", raw, env, runtime)
    except HookFailure as exc:
        return refused("pre-receive", str(exc))
    except Exception as exc:  # noqa: BLE001 - fail closed, with a hint
        _crashed("could not check this push", exc, env)
        return 1
    try:
        from pagurus.core.pushrules import check_push

        refusals = check_push(ctx.session, ctx.identity, ctx.project, ctx.kind, ctx.repo,
                              ctx.updates, ctx.pull_request)
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


def post_receive(raw: str, env: Mapping[str, str], runtime: Runtime | None = None) -> int:
    """Record the push and tell the pusher what's next. The push already
    happened: failures are reported, never turned into an exit status."""
    try:
        ctx = load_context("post-receive", raw, env, runtime)
    except HookFailure as exc:
        return refused("post-receive", str(exc))
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
                where = env.get("GIT_DIR") or os.getcwd()
                fh.write(f"{stamp} {where} {what}\n{details}\n")
        except OSError:
            pass


def timed(ctx: HookContext, name: str, started: float) -> None:
    ctx.timings[name] = time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
