"""Git smart HTTP: ``git clone``, ``fetch`` and ``push`` over HTTP(S).

Every project form (``name``, ``ns/name``, ``fork(s)/<user>/[ns/]name``, with
or without ``.git``) and the ``docs/``, ``tickets/`` and ``requests/`` repos
answer ``info/refs?service=…``, ``git-upload-pack`` and ``git-receive-pack``.

We run ``git upload-pack`` / ``git receive-pack --stateless-rpc`` ourselves
instead of going through ``git http-backend`` (a CGI): no CGI environment to
build and parse, no spooling of request bodies, and the same speed (see
``bench/clone.py``). Both directions stream with bounded memory: the request
body is fed to the child's stdin by a thread (gzip decoded on the fly), and
the child's stdout is sent with a generator, so a 1 GB clone holds one server
thread and a few pipe buffers.

Who may do what is decided by :mod:`pagurus.core.gitaccess`; a push is refused
here only when the pusher may not write anywhere in the repo, and the
pre-receive hook decides each ref (it learns the pusher from the environment
built by :func:`pagurus.git.pushenv.git_env`).

Credentials are HTTP Basic: the account password, or an API token holding the
``commit`` ACL whose owner is the Basic user name (the name is checked so a
leaked token is not enough on its own, as in Pagure). Browser session cookies
are ignored here, which is also why no CSRF check applies: a page on another
site cannot make a visitor's browser push.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from flask import Blueprint, Response, request
from werkzeug.wsgi import get_input_stream

from pagurus.core import access, gitaccess
from pagurus.core import tokens as core_tokens
from pagurus.core import users as core_users
from pagurus.core.errors import ForgeError, NotFound
from pagurus.core.projects import get_project
from pagurus.git.pushenv import git_env
from pagurus.model import ApiToken, User
from pagurus.paths import UnsafePath, repo_path
from pagurus.web import context

log = logging.getLogger("pagurus.git_http")

bp = Blueprint("git_http", __name__)


SERVICES = ("git-upload-pack", "git-receive-pack")
CHUNK = 64 * 1024
REALM = 'Basic realm="Pagurus"'
# after the response is sent, how long to wait for the body feeder to finish
FEEDER_JOIN_SECONDS = 30
NO_CACHE = {
    "Cache-Control": "no-cache, max-age=0, must-revalidate",
    "Pragma": "no-cache",
    "Expires": "Fri, 01 Jan 1980 00:00:00 GMT",
}
NOT_FOUND_TEXT = "Repository not found, or you may not see it.\n"


# -- routes ---------------------------------------------------------------------
# Every form is spelled out with static words ("docs", "fork", "forks") rather
# than a path converter: werkzeug prefers static segments, so these rules win
# over the UI's ``{P}`` routes for ``…/info/refs`` while the UI keeps
# ``/<P>/blob/<ref>/f/info/refs`` and ``GET /<P>.git`` (the overview redirect).

_KIND_PREFIXES = ("", "/docs", "/tickets", "/requests")
_FORK_PREFIXES = ("", "/fork/<username>", "/forks/<username>")
_BASES = ("/<repo>", "/<namespace>/<repo>")


def _route(suffix: str, methods: list[str]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        for kind in _KIND_PREFIXES:
            for fork in _FORK_PREFIXES:
                for base in _BASES:
                    bp.add_url_rule(kind + fork + base + suffix, endpoint=view.__name__,
                                    view_func=view, methods=methods)
        return view
    return decorator


@_route("/info/refs", ["GET"])
def info_refs(**_url: str) -> Response:
    """Ref advertisement; without ``?service=`` a dumb client is asking."""
    service = request.args.get("service")
    if service is None:
        return _text(400, "Dumb HTTP is not supported: please use a newer git client "
                          "(smart HTTP, git >= 1.6.6).\n")
    if service not in SERVICES:
        return _text(400, "Unsupported service.\n")
    return _serve(service, advertise=True, suffix="/info/refs")


@_route("/git-upload-pack", ["POST"])
def upload_pack(**_url: str) -> Response:
    return _serve("git-upload-pack", advertise=False, suffix="/git-upload-pack")


@_route("/git-receive-pack", ["POST"])
def receive_pack(**_url: str) -> Response:
    return _serve("git-receive-pack", advertise=False, suffix="/git-receive-pack")


# -- who is asking ----------------------------------------------------------------

@dataclass
class _Caller:
    user: User | None = None
    token: ApiToken | None = None
    presented: bool = False  # credentials were sent (and were good)


class _BadCredentials(Exception):
    """Credentials were sent but do not identify anyone for git."""


def _caller() -> _Caller:
    """The user behind the HTTP Basic credentials, if any were sent.

    A token must be valid, unexpired, hold ``commit`` and belong to the Basic
    user name; otherwise the password is checked (local accounts). Blocked
    and unconfirmed accounts are refused by the core functions."""
    header = request.headers.get("Authorization", "")
    if not header.strip():
        return _Caller()
    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.username or not auth.password:
        raise _BadCredentials()
    session = context.db()
    name, secret = auth.username, auth.password
    if core_tokens.find_token(session, secret) is not None:
        try:
            token = core_tokens.authenticate(session, secret)
        except core_tokens.TokenRefused:
            raise _BadCredentials() from None
        if token.user.name != name or access.token_missing_acls(token, ("commit",)):
            raise _BadCredentials()
        return _Caller(user=token.user, token=token, presented=True)
    try:
        user = core_users.authenticate(session, name, secret)
    except ForgeError:  # LoginRefused, or a password too long to hash
        raise _BadCredentials() from None
    if session.dirty:  # the hash was upgraded
        session.commit()
    return _Caller(user=user, presented=True)


# -- the exchange -------------------------------------------------------------------

def _serve(service: str, *, advertise: bool, suffix: str) -> Response:
    path = request.path[1:-len(suffix)]
    who = "anonymous"
    try:
        gitaccess.parse_repo_path(path)
    except ForgeError:
        return _logged(_not_found(), who, path, service)
    try:
        caller = _caller()
    except _BadCredentials:
        tried = request.authorization.username if request.authorization else None
        return _logged(_challenge("Authentication failed.\n"),
                       f"{tried or ''}(bad credentials)", path, service)
    if caller.user is not None:
        who = caller.user.name
    session = context.db()
    identity = gitaccess.Identity(user=caller.user)
    scoped_out = False
    if caller.token is not None and caller.token.project_id is not None:
        ref = gitaccess.parse_repo_path(path)
        target = get_project(session, ref.name, ref.namespace, ref.fork_user)
        if not access.token_fits_project(caller.token, target):
            # a token bound to another project grants nothing more than anonymity
            identity, scoped_out = gitaccess.Identity(), True
    try:
        project, kind = gitaccess.resolve(session, identity, path)
        directory = repo_path(context.settings().data_dir, kind, project.fullname)
        if not directory.is_dir():
            raise NotFound("Project not found")
    except (NotFound, UnsafePath):
        if not caller.presented:
            return _logged(_challenge("Authentication required.\n"), who, path, service)
        return _logged(_not_found(), who, path, service)
    if service == "git-receive-pack":
        if not caller.presented:
            return _logged(_challenge("Authentication required to push.\n"), who, path,
                           service)
        if not gitaccess.can_write_somewhere(session, identity, project, kind):
            why = ("This token is bound to another project.\n" if scoped_out else
                   "You are not allowed to push to this repository.\n")
            return _logged(_text(403, why), who, path, service)
    protocol = request.headers.get("Git-Protocol") or None
    env = git_env(context.settings(), user=identity.user.name if identity.user else None,
                  protocol=protocol)
    if advertise:
        resp = _advertise(service, str(directory), env)
    else:
        resp = _rpc(service, str(directory), env)
    return _logged(resp, who, path, service)


def _advertise(service: str, directory: str, env: dict[str, str]) -> Response:
    """``info/refs``: the service header (protocol v0/v1 only, as git
    http-backend does), then the child's advertisement."""
    head = b""
    if _protocol_version(env) != 2:
        line = f"# service={service}\n".encode()
        head = b"%04x" % (len(line) + 4) + line + b"0000"
    cmd = ["git", service[4:], "--stateless-rpc", "--advertise-refs", "--", directory]
    return _run(cmd, env, None, f"application/x-{service}-advertisement", head)


def _rpc(service: str, directory: str, env: dict[str, str]) -> Response:
    """The POST half: request body in, result out, both streamed."""
    if request.mimetype != f"application/x-{service}-request":
        return _text(415, f"Expected a {service} request.\n")
    encoding = (request.headers.get("Content-Encoding") or "").strip().lower()
    if encoding not in ("", "identity", "gzip", "x-gzip"):
        return _text(415, "Unsupported Content-Encoding.\n")
    environ = request.environ
    if request.content_length is None and "wsgi.input_terminated" not in environ:
        # a chunked body this WSGI server cannot de-chunk (wsgiref)
        return _text(411, "A chunked request body needs gunicorn or werkzeug.\n")
    # no size limit for git bodies (MAX_CONTENT_LENGTH is for forms); git's own
    # receive.maxInputSize applies if an admin sets it
    body = get_input_stream(environ, safe_fallback=False, max_content_length=None)
    cmd = ["git", service[4:], "--stateless-rpc", "--", directory]
    return _run(cmd, env, (body, encoding in ("gzip", "x-gzip")),
                f"application/x-{service}-result", b"")


def _run(cmd: list[str], env: dict[str, str], body: tuple[IO[bytes], bool] | None,
         content_type: str, head: bytes) -> Response:
    """Start the git child and stream its stdout. The first chunk is read
    before answering so a child that dies at once gives a 500, not a 200."""
    errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the stream
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if body else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=errors, env=env, bufsize=0)
    except OSError:
        errors.close()
        log.exception("cannot start %s", cmd[:2])
        return _text(500, "The server could not run git.\n")
    feeder = None
    if body is not None:
        assert proc.stdin is not None
        feeder = threading.Thread(target=_feed, args=(body[0], proc.stdin, body[1]),
                                  name="git-http-feed", daemon=True)
        feeder.start()
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    try:
        first = os.read(fd, CHUNK)
    except OSError:
        first = b""
    if not first and proc.wait() != 0:
        _finish(proc, feeder, errors, cmd)
        return _text(500, "git failed on the server.\n")
    stream = _stream(proc, fd, head + first, feeder, errors, cmd)
    resp = Response(stream, status=200, content_type=content_type, direct_passthrough=True)
    resp.headers.update(NO_CACHE)
    return resp


def _stream(proc: subprocess.Popen[bytes], fd: int, first: bytes,
            feeder: threading.Thread | None, errors: IO[bytes],
            cmd: list[str]) -> Iterator[bytes]:
    """The child's stdout in chunks; a client that goes away kills the child."""
    try:
        if first:
            yield first
        while True:
            chunk = os.read(fd, CHUNK)
            if not chunk:
                break
            yield chunk
        proc.wait()
    finally:
        _finish(proc, feeder, errors, cmd)


def _finish(proc: subprocess.Popen[bytes], feeder: threading.Thread | None,
            errors: IO[bytes], cmd: list[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    rc = proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
    if feeder is not None:
        feeder.join(FEEDER_JOIN_SECONDS)
    if rc != 0:
        errors.seek(0, os.SEEK_END)
        size = errors.tell()
        errors.seek(max(0, size - 2000))
        log.warning("%s exited with %s: %s", " ".join(cmd[:2]), rc,
                    errors.read().decode("utf-8", "replace").strip())
    errors.close()


def _feed(src: IO[bytes], dst: IO[bytes], gzipped: bool) -> None:
    """Copy the request body to the child's stdin, un-gzipping as it goes,
    never holding more than a chunk or two."""
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzipped else None
    try:
        while True:
            data = src.read(CHUNK)
            if not data:
                break
            if inflate is None:
                dst.write(data)
                continue
            out = inflate.decompress(data, CHUNK)
            while out:
                dst.write(out)
                out = inflate.decompress(inflate.unconsumed_tail, CHUNK) \
                    if inflate.unconsumed_tail else b""
            if inflate.eof:
                break
        if inflate is not None and not inflate.eof:
            log.info("git-http: truncated gzip request body")
    except (OSError, ValueError, zlib.error) as exc:
        # the child exited early (broken pipe), the client went away, or bad gzip:
        # closing stdin makes the child see the end and answer what it can
        log.info("git-http: request body not fully fed: %s", exc)
    finally:
        try:
            dst.close()
        except OSError:
            pass


def _protocol_version(env: dict[str, str]) -> int:
    """The version git's server side will pick from GIT_PROTOCOL (the last
    ``version=N`` wins, as in git)."""
    version = 0
    for part in env.get("GIT_PROTOCOL", "").split(":"):
        if part.startswith("version=") and part[8:].isdigit():
            version = int(part[8:])
    return version


# -- answers --------------------------------------------------------------------------

def _text(status: int, message: str) -> Response:
    """Plain text: git prints such bodies to the user as ``remote: …``."""
    resp = Response(message, status=status, content_type="text/plain; charset=utf-8")
    resp.headers.update(NO_CACHE)
    return resp


def _not_found() -> Response:
    """One answer for missing, hidden and malformed repositories."""
    return _text(404, NOT_FOUND_TEXT)


def _challenge(message: str) -> Response:
    resp = _text(401, message)
    resp.headers["WWW-Authenticate"] = REALM
    return resp


def _logged(resp: Response, who: str, path: str, service: str) -> Response:
    log.info("git-http user=%s ip=%s method=%s repo=%s service=%s status=%s", _printable(who),
             request.remote_addr, request.method, _printable(path), service, resp.status_code)
    return resp


def _printable(text: str) -> str:
    """Client-chosen text made safe for one log line (no newlines, bounded)."""
    return repr(text[:200])[1:-1]
