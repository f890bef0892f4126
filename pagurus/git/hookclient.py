"""The installed git hook: a tiny client of the hook server (``pagurus hookd``).

git runs ``python -I -S <this file> pre-receive|post-receive`` for every push
(see :mod:`pagurus.git.hooks`). Loading the forge (SQLAlchemy, the models,
pygit2) costs ~0.35 s a process, so instead of doing the work here this
script hands it to the long-running server listening on
``<data>/run/hooks.sock``, which keeps all that loaded and runs the very same
code (:func:`pagurus.git.hookrun.run`):

* it sends the hook name, the relevant environment (``PAGURUS_*``, ``GIT_DIR``
  made absolute, the quarantine and object directories, push options,
  ``GIT_PROTOCOL``) and git's standard input;
* it relays what the server streams back (the messages for the pusher) and
  exits with the server's exit code.

When the socket is missing or refuses (no server running), or the server
turns the request down before starting it, it execs the in-process runner
(``python -I -c … pagurus.git.hookrun``) instead, so pushes work with or
without the server. If the server dies in the middle of a run, pre-receive
is run again in-process (it only checks), while post-receive is not (the push
already happened and the server may have recorded it: recording it twice is
worse than a warning).

Stdlib only, and its C halves at that (``_socket`` and ``_json``, the
cores of ``socket`` and ``json``, plus ``os`` and ``sys``): ``-S`` skips
site-packages, and start-up is the whole cost of this process — the Python
halves of ``socket`` and ``json`` would double it (they pull in ``enum`` and
``re``; ~10 ms vs ~25 ms measured). The server imports the protocol
constants and helpers from here, so they live in one place.

``PAGURUS_HOOKD`` (set by whoever builds git's environment, never by a
pusher): ``off`` never asks the server, ``require`` refuses to fall back.
"""

import _json
import _socket
import os
import sys

PROTOCOL = 1
HOOK_NAMES = ("pre-receive", "post-receive")
RUN_DIR = "run"  # under the data dir, mode 0700
SOCKET_NAME = "hooks.sock"  # mode 0600
MODE_ENV = "PAGURUS_HOOKD"  # "off" | "require" | unset

# what the server needs of the hook's environment (and all it accepts)
FORWARD_NAMES = frozenset((
    "GIT_DIR", "GIT_QUARANTINE_PATH", "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_PROTOCOL", "GIT_PUSH_OPTION_COUNT"))
FORWARD_PREFIXES = ("PAGURUS_", "GIT_PUSH_OPTION_")
PATH_NAMES = ("GIT_DIR", "GIT_QUARANTINE_PATH", "GIT_OBJECT_DIRECTORY")

MAX_HEADER = 1 << 20  # bytes of the JSON request line
MAX_STDIN = 64 << 20  # bytes of ref update lines (~600,000 refs)
MAX_FRAME = 1 << 20

# reply frames: one type byte, 4-byte big-endian length, payload
ACCEPTED = b"A"  # the request is valid and the hook is running now
STDERR = b"E"
STDOUT = b"O"
EXIT = b"X"  # payload: the exit code in ASCII; last frame
REFUSED = b"!"  # payload: why the request was not run (UTF-8); last frame
FRAME_TYPES = (ACCEPTED, STDERR, STDOUT, EXIT, REFUSED)

CONNECT_TIMEOUT = 5.0


def forwarded(name: str) -> bool:
    """Is this environment variable part of a request?"""
    return name in FORWARD_NAMES or name.startswith(FORWARD_PREFIXES)


def frame(kind: bytes, payload: bytes = b"") -> bytes:
    """One reply frame."""
    return kind + len(payload).to_bytes(4, "big") + payload


def _json_str(text: str) -> str:
    return _json.encode_basestring_ascii(text)  # json.dumps's own C escaping


def encode_request(hook: str, env: dict, stdin: bytes) -> bytes:
    """The request: a JSON line (ASCII: no raw newline inside), then
    ``stdin_len`` bytes of standard input. The client then shuts down its
    sending side: the end of the request."""
    pairs = ",".join(f"{_json_str(k)}:{_json_str(v)}" for k, v in env.items())
    header = (f'{{"v":{PROTOCOL:d},"hook":{_json_str(hook)},"env":{{{pairs}}},'
              f'"stdin_len":{len(stdin):d}}}')
    return header.encode("ascii") + b"\n" + stdin


def request_env(environ: dict, cwd: str) -> dict:
    """The forwarded variables, with relative paths made absolute (git runs
    hooks in the repository, with ``GIT_DIR=.`` for a bare one)."""
    env = {k: v for k, v in environ.items() if forwarded(k)}
    env["GIT_DIR"] = os.path.realpath(os.path.join(cwd, environ.get("GIT_DIR") or "."))
    for name in PATH_NAMES[1:]:
        if env.get(name):
            env[name] = os.path.join(cwd, env[name])
    return env


def _find_data_dir(start: str) -> str | None:
    """The data dir above a repository (as ``hookrun`` finds it)."""
    path = start
    while True:
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent
        if os.path.isdir(os.path.join(path, "repos")) and \
                os.path.isfile(os.path.join(path, "secret_key")):
            return path


def socket_path(environ: dict, git_dir: str) -> str | None:
    """``<data>/run/hooks.sock``; the data dir from ``PAGURUS_DATA``, else
    found above the repository."""
    data = environ.get("PAGURUS_DATA") or _find_data_dir(git_dir)
    if not data:
        return None
    return os.path.join(os.path.abspath(data), RUN_DIR, SOCKET_NAME)


def connect(path: str) -> _socket.socket:
    """A connected socket; a path too long for ``sun_path`` is reached from
    its folder (the working directory is restored)."""
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(CONNECT_TIMEOUT)
        if len(os.fsencode(path)) < 100:
            sock.connect(path)
        else:
            here = os.open(".", os.O_RDONLY)
            try:
                os.chdir(os.path.dirname(path))
                sock.connect(os.path.basename(path))
            finally:
                os.fchdir(here)
                os.close(here)
        sock.settimeout(None)  # a big push may take its time to check
    except BaseException:
        sock.close()
        raise
    return sock


def _read_exact(sock: _socket.socket, size: int) -> bytes | None:
    """``size`` bytes, or None when the server closed the connection first."""
    chunks = []
    while size:
        try:
            data = sock.recv(min(size, 1 << 16))
        except OSError:
            return None
        if not data:
            return None
        chunks.append(data)
        size -= len(data)
    return b"".join(chunks)


def relay(sock: _socket.socket) -> tuple:
    """Copy the server's output to ours: ``(accepted, exit code or None, refusal)``."""
    accepted = False
    while True:
        head = _read_exact(sock, 5)
        if head is None or head[:1] not in FRAME_TYPES:
            return accepted, None, None
        size = int.from_bytes(head[1:], "big")
        if size > MAX_FRAME:
            return accepted, None, None
        payload = _read_exact(sock, size) if size else b""
        if payload is None:
            return accepted, None, None
        kind = head[:1]
        if kind == ACCEPTED:
            accepted = True
        elif kind in (STDERR, STDOUT):
            _write_all(2 if kind == STDERR else 1, payload)
        elif kind == EXIT:
            try:
                return accepted, int(payload), None
            except ValueError:
                return accepted, None, None
        else:
            return accepted, None, payload.decode("utf-8", "replace")


def _write_all(fd: int, data: bytes) -> None:
    try:
        while data:
            data = data[os.write(fd, data):]
    except OSError:
        pass  # git went away: nothing left to tell


def say(message: str) -> None:
    _write_all(2, (message.rstrip("\n") + "\n").encode("utf-8", "replace"))


def fallback_argv(hook: str) -> list:
    """The in-process runner, with this interpreter and this forge's code."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    code = (f"import sys; sys.path.insert(0, {root!r}); "
            "from pagurus.git.hookrun import main; sys.exit(main(sys.argv[1:]))")
    return [sys.executable, "-I", "-c", code, hook]


def run_in_process(hook: str, stdin: bytes | None) -> None:
    """Exec the runner; ``stdin`` (already read) is handed over in a file."""
    sys.stdout.flush()
    if stdin is not None:
        fd = _temp_fd()
        _write_all(fd, stdin)
        os.lseek(fd, 0, os.SEEK_SET)
        os.dup2(fd, 0)
        os.close(fd)
    argv = fallback_argv(hook)
    os.execv(argv[0], argv)  # noqa: S606 - our own interpreter and runner, no shell


def _temp_fd() -> int:
    try:
        return os.open("/tmp", os.O_TMPFILE | os.O_RDWR, 0o600)  # noqa: S108 - unnamed
    except (AttributeError, OSError):
        import tempfile

        return os.dup(tempfile.TemporaryFile().fileno())


def main(argv: list) -> int:
    """Ask the server, else run in this process (exec)."""
    hook = argv[0] if argv else ""
    if hook not in HOOK_NAMES:
        say(f"usage: hookclient {{{'|'.join(HOOK_NAMES)}}} (run by git)")
        return 2
    mode = os.environ.get(MODE_ENV, "")
    if mode == "off":
        run_in_process(hook, None)
    cwd = os.getcwd()
    env = request_env(dict(os.environ), cwd)
    path = socket_path(os.environ, env["GIT_DIR"])
    sock = None
    if path:
        try:
            sock = connect(path)
        except OSError:
            sock = None
    if sock is None:
        if mode == "require":
            say("Pagurus hook server is not running (PAGURUS_HOOKD=require)")
            return 1 if hook == "pre-receive" else 0
        run_in_process(hook, None)
    stdin = sys.stdin.buffer.read()
    try:
        try:
            sock.sendall(encode_request(hook, env, stdin))
            sock.shutdown(_socket.SHUT_WR)
        except OSError:
            pass  # whatever the server says (or not) decides below
        accepted, code, refusal = relay(sock)
    finally:
        sock.close()
    if code is not None:
        return code
    if mode == "require":
        say(f"Pagurus hook server failed: {refusal or 'connection lost'}")
        return 1 if hook == "pre-receive" else 0
    if accepted and hook == "post-receive":
        say("Warning: the Pagurus hook server stopped while recording this push; "
            "it may be incomplete")
        return 0
    run_in_process(hook, stdin)  # not started, or a pre-receive (a check) cut short
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
