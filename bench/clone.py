"""Clone and push benchmark: Pagurus smart HTTP (and SSH) against references.

A synthetic repo (``bench/repogen.py``: 50,000 commits, ~200 MB pack by
default; cached under ``--cache``) is served by a fresh ``pagurus serve``
(subprocess, temporary data dir; the repo becomes a project's main repo by
copying its pack into the bare repo the worker made). Then, medians of
``--runs`` runs of:

* ``git clone --bare`` over Pagurus HTTP (anonymous, public project);
* ``git clone --bare file://`` of the same repo (reference: no server at all);
* ``git clone --bare`` from ``git http-backend`` behind a minimal WSGI→CGI
  wrapper under the same gunicorn settings (reference: what Pagure does);
* ``git clone --bare`` over the built-in SSH server (``pagurus ssh``), unless
  ``--no-ssh``;
* a one-commit push round trip over each of these (Pagurus pushes run the
  pre-receive and post-receive hooks; the references run none);
* the peak RSS growth of the Pagurus web process tree during an HTTP clone,
  sampled from /proc every 10 ms: the gunicorn Python processes alone, and the
  whole tree including the git children (``upload-pack``, ``pack-objects``,
  whose RSS counts the pack pages they map).

    python bench/clone.py                       # full size
    python bench/clone.py --commits 5000 --size-mb 20 --runs 3

``backend_app`` below is the WSGI app of the http-backend reference; this
script starts it with gunicorn (``--chdir bench clone:backend_app``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import repogen  # noqa: E402

CLIENT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "LC_ALL": "C",
}
PASSWORD = "bench password 123"
MiB = 1024 * 1024


# -- the http-backend reference (runs inside gunicorn) -------------------------

def backend_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
    """``git http-backend`` as CGI, streaming both ways (the request body is fed
    by a thread, the response is read in chunks)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_PROJECT_ROOT": os.environ["BENCH_GIT_ROOT"],
        "GIT_HTTP_EXPORT_ALL": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
        "REMOTE_USER": "bench",
        "REMOTE_ADDR": environ.get("REMOTE_ADDR", ""),
        "REQUEST_METHOD": environ["REQUEST_METHOD"],
        "PATH_INFO": environ.get("PATH_INFO", ""),
        "QUERY_STRING": environ.get("QUERY_STRING", ""),
        "CONTENT_TYPE": environ.get("CONTENT_TYPE", ""),
    }
    for key in ("CONTENT_LENGTH", "HTTP_CONTENT_ENCODING", "HTTP_GIT_PROTOCOL"):
        if environ.get(key):
            env[key] = environ[key]
    if environ.get("HTTP_GIT_PROTOCOL"):
        env["GIT_PROTOCOL"] = environ["HTTP_GIT_PROTOCOL"]
    # unbuffered: the CGI headers are read line by line, the body with os.read
    proc = subprocess.Popen(["git", "http-backend"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=env, bufsize=0)
    assert proc.stdin is not None and proc.stdout is not None

    def feed() -> None:
        src = environ["wsgi.input"]
        try:
            while chunk := src.read(65536):
                proc.stdin.write(chunk)
        except OSError:
            pass
        finally:
            proc.stdin.close()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    status, headers = "200 OK", []
    while True:
        line = proc.stdout.readline().rstrip(b"\r\n")
        if not line:
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "status":
            status = value.strip()
        else:
            headers.append((name.strip(), value.strip()))
    start_response(status, headers)

    def body() -> Iterator[bytes]:
        try:
            while chunk := os.read(proc.stdout.fileno(), 65536):
                yield chunk
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stdout.close()
            feeder.join(10)

    return body()


# -- helpers -----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def git(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
        quiet: bool = True) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **CLIENT_ENV, **(env or {})}
    proc = subprocess.run(["git", *args], cwd=cwd, env=full, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed:\n{proc.stderr}")
    return proc


def wait_for(what: str, check: Callable[[], bool], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def http_ok(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310
            return resp.status == 200
    except OSError:
        return False


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PAGURUS_", "GIT_"))}


def stop(proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """SIGTERM the process we started, then its whole session if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# -- /proc sampling -----------------------------------------------------------------

def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(raw[raw.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def tree(root: int) -> list[int]:
    kids = _children_map()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _is_python(pid: int) -> bool:
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return False
    return "python" in os.path.basename(exe)


class RssSampler:
    """Per-process peak RSS of a process tree during a block, in kB.

    ``growth()`` gives (Python processes present at the start: peak - start,
    whole tree: peak sum - start sum, whole tree anonymous memory: same, and
    new Python processes that appeared meanwhile, e.g. a restarted worker)."""

    def __init__(self, root: int, interval: float = 0.01) -> None:
        self.root, self.interval = root, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak_tree = (0, 0)
        self.peak_pid: dict[int, int] = {}

    def sample(self) -> dict[int, tuple[int, int, bool]]:
        return {p: (_status_kb(p, "VmRSS"), _status_kb(p, "RssAnon"), _is_python(p))
                for p in tree(self.root)}

    def _record(self, snap: dict[int, tuple[int, int, bool]]) -> None:
        total = (sum(v[0] for v in snap.values()), sum(v[1] for v in snap.values()))
        self.peak_tree = (max(self.peak_tree[0], total[0]), max(self.peak_tree[1], total[1]))
        for pid, (rss, _anon, _py) in snap.items():
            self.peak_pid[pid] = max(self.peak_pid.get(pid, 0), rss)
            self.python.setdefault(pid, _py)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._record(self.sample())
            self._stop.wait(self.interval)

    def growth(self) -> tuple[int, int, int, int]:
        base = self.baseline
        old_py = sum(self.peak_pid[p] - base[p][0] for p in base if base[p][2])
        new_py = sum(rss for p, rss in self.peak_pid.items() if p not in base and self.python[p])
        return (old_py, self.peak_tree[0] - sum(v[0] for v in base.values()),
                self.peak_tree[1] - sum(v[1] for v in base.values()), new_py)

    def __enter__(self) -> RssSampler:
        self.python: dict[int, bool] = {}
        self.baseline = self.sample()
        self._record(self.baseline)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


# -- the forge under test -------------------------------------------------------------

class Forge:
    """``pagurus serve`` on a fresh data dir, with a user, token, SSH key and a
    public project whose main repo is the synthetic repo."""

    def __init__(self, tmp: Path, source: Path, ssh: bool) -> None:
        self.tmp, self.source, self.ssh = tmp, source, ssh
        self.data = tmp / "data"
        self.port = free_port()
        self.ssh_port = free_port() if ssh else 0
        self.name = "bench"
        self.user = "bencher"
        self.token = ""
        self.key = tmp / "id_ed25519"
        args = [sys.executable, "-m", "pagurus.cli", "serve", "--data", str(self.data),
                "--host", "127.0.0.1", "--port", str(self.port)]
        args += ["--ssh-port", str(self.ssh_port)] if ssh else ["--no-ssh"]
        self.log = open(tmp / "serve.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(args, env=clean_env(), stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        wait_for("pagurus serve", lambda: http_ok(f"{self.base}/api/0/version"))
        if ssh:
            wait_for("pagurus ssh", lambda: port_open(self.ssh_port))
        self._populate()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def web_pid(self) -> int:
        """The ``pagurus web`` child of the supervisor (root of the web tree)."""
        for pid in tree(self.proc.pid):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"pagurus.cli" in cmd and b"web" in cmd:
                return pid
        raise RuntimeError("no web process found")

    def _populate(self) -> None:
        from pagurus import config
        from pagurus.core import projects as core_projects
        from pagurus.core import sshkeys
        from pagurus.core import tokens as core_tokens
        from pagurus.core import users as core_users
        from pagurus.db import make_engine, make_sessionmaker
        from pagurus.model import Project
        from pagurus.paths import repo_path
        from pagurus.tasks import projects as project_tasks
        from pagurus.tasks.app import configure

        settings = config.ensure_data_dir(config.load(env={}, data_dir=str(self.data)))
        configure(settings)
        engine = make_engine(settings.sqlalchemy_url)
        session = make_sessionmaker(engine)()
        try:
            user = core_users.create_user(session, self.user, "bench@example.com",
                                          password=PASSWORD)
            self.token, _row = core_tokens.create_token(session, user, ["commit"])
            if self.ssh:
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                                str(self.key)], check=True)
                sshkeys.add_user_key(session, user, self.key.with_suffix(".pub").read_text())
            project = core_projects.create_project(session, settings, user, self.name,
                                                   "benchmark")
            session.commit()
            project_tasks.create_project_repos.delay(project.id, False)

            def ready() -> bool:
                session.expire_all()
                return session.get(Project, project.id).repo_state == "ready"

            wait_for("the project's repos", ready)
            self.repo = repo_path(settings.data_dir, "main", project.fullname)
        finally:
            session.close()
            engine.dispose()
        # the synthetic history becomes the project's: packs (immutable) are
        # hard-linked, then the branch is pointed at its tip
        dest = self.repo / "objects" / "pack"
        for pack in (self.source / "objects" / "pack").iterdir():
            try:
                os.link(pack, dest / pack.name)
            except OSError:
                shutil.copy2(pack, dest / pack.name)
        graph = self.source / "objects" / "info" / "commit-graph"
        if graph.exists():
            shutil.copy2(graph, self.repo / "objects" / "info" / "commit-graph")
        tip = git("rev-parse", "refs/heads/main", cwd=self.source).stdout.strip()
        git("update-ref", "refs/heads/main", tip, cwd=self.repo)

    def close(self) -> None:
        stop(self.proc)
        self.log.close()


class Backend:
    """``git http-backend`` under gunicorn (1 worker, 8 threads, like ``pagurus web``)."""

    def __init__(self, tmp: Path, source: Path) -> None:
        self.root = tmp / "backend-root"
        self.root.mkdir()
        git("clone", "-q", "--bare", "--local", str(source), str(self.root / "bench.git"))
        git("config", "http.receivepack", "true", cwd=self.root / "bench.git")
        self.port = free_port()
        self.log = open(tmp / "backend.log", "wb")  # noqa: SIM115
        env = {**clean_env(), "BENCH_GIT_ROOT": str(self.root)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "8", "-w", "1",
             "--timeout", "120", "-b", f"127.0.0.1:{self.port}", "--chdir", str(HERE),
             "clone:backend_app"], env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        wait_for("http-backend", lambda: port_open(self.port))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bench.git"

    def close(self) -> None:
        stop(self.proc, 20)
        self.log.close()


# -- measurements -----------------------------------------------------------------------

def timed(func: Callable[[], object]) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


@dataclass
class Target:
    """One way to reach the repo: URL, client environment, server process to watch."""

    url: str
    env: dict[str, str] | None = None
    server: int | None = None  # root pid of the server's process tree (RSS sampling)
    push_url: str = ""
    refspec: str = "HEAD:refs/heads/main"
    clones: list[float] = field(default_factory=list)
    pushes: list[float] = field(default_factory=list)
    rss: tuple[int, int, int, int] = (0, 0, 0, 0)


def clone_rounds(targets: dict[str, Target], tmp: Path, runs: int) -> None:
    """``runs`` rounds (after a warm-up round) of one bare clone per target,
    interleaved so that background load hits every target alike."""
    dest = tmp / "clone.git"
    for i in range(runs + 1):
        for target in targets.values():
            shutil.rmtree(dest, ignore_errors=True)
            if target.server is not None and i > 0:
                with RssSampler(target.server) as sampler:
                    t = timed(lambda t=target: git("clone", "-q", "--bare", t.url, str(dest),
                                                   env=t.env))
                target.rss = tuple(max(a, b) for a, b in zip(  # type: ignore[assignment]
                    target.rss, sampler.growth(), strict=True))
            else:
                t = timed(lambda t=target: git("clone", "-q", "--bare", t.url, str(dest),
                                               env=t.env))
            if i > 0:
                target.clones.append(t)
    shutil.rmtree(dest, ignore_errors=True)


def push_rounds(targets: dict[str, Target], source: Path, tmp: Path, runs: int) -> None:
    """``runs`` rounds (after a warm-up) of pushing one new small commit to each
    target, interleaved; each target has its own working clone."""
    works = {}
    for n, name in enumerate(targets):
        works[name] = tmp / f"work{n}"
        git("clone", "-q", str(source), str(works[name]))
    for i in range(runs + 1):
        for name, target in targets.items():
            work = works[name]
            (work / "bench-push.txt").write_text(f"push {i} to {name} {time.time_ns()}\n")
            git("add", "bench-push.txt", cwd=work)
            git("commit", "-q", "-m", f"Bench push {i}", cwd=work)
            t = timed(lambda t=target, w=work: git("push", "-q", t.push_url or t.url,
                                                   t.refspec, cwd=w, env=t.env))
            if i > 0:
                target.pushes.append(t)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commits", type=int, default=50_000)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=repogen.DEFAULT_CACHE)
    parser.add_argument("--no-ssh", dest="ssh", action="store_false",
                        help="Skip the SSH clone and push (pagurus ssh).")
    args = parser.parse_args(argv)

    source = repogen.cached(args.cache, args.commits, args.size_mb, args.files)
    pack_mib = repogen.pack_bytes(source) / MiB
    with tempfile.TemporaryDirectory(prefix="pagurus-bench-") as tmpname:
        tmp = Path(tmpname)
        forge = backend = None
        try:
            print("starting pagurus serve and the http-backend reference…", file=sys.stderr)
            forge = Forge(tmp, source, args.ssh)
            backend = Backend(tmp, source)
            ssh_env = {"GIT_SSH_COMMAND": f"ssh -i {forge.key} -o IdentitiesOnly=yes "
                       "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                       "-o LogLevel=ERROR"}
            http_url = f"{forge.base}/{forge.name}.git"
            filepush = tmp / "filepush.git"
            git("clone", "-q", "--bare", "--local", str(source), str(filepush))
            targets = {
                "pagurus http": Target(
                    http_url, server=forge.web_pid(),
                    push_url=http_url.replace("http://", f"http://{forge.user}:{forge.token}@")),
                "file:// (reference)": Target(f"file://{forge.repo}",
                                              push_url=f"file://{filepush}"),
                "git http-backend (reference)": Target(backend.url, server=backend.proc.pid),
            }
            if args.ssh:
                targets["pagurus ssh"] = Target(
                    f"ssh://git@127.0.0.1:{forge.ssh_port}/{forge.name}.git", env=ssh_env,
                    refspec="HEAD:refs/heads/ssh-bench")
            print("cloning…", file=sys.stderr)
            clone_rounds(targets, tmp, args.runs)
            print("pushing…", file=sys.stderr)
            push_rounds(targets, source, tmp, args.runs)
        finally:
            for server in (backend, forge):
                if server is not None:
                    server.close()

    print()
    print(f"Repo: {args.commits} commits, {args.files} files, pack {pack_mib:.1f} MiB; "
          f"medians of {args.runs} interleaved rounds (after one warm-up); "
          f"git {git_version()}, {os.cpu_count()} CPUs")
    for title, unit, scale, attr in (("git clone --bare", "s", 1, "clones"),
                                     ("push of one commit", "ms", 1000, "pushes")):
        print()
        print(f"{title:34} {'median ' + unit:>9} {'min':>7} {'max':>7} "
              f"{'× file://':>9} {'× http-backend':>14}")
        ref_file = statistics.median(getattr(targets["file:// (reference)"], attr))
        ref_backend = statistics.median(getattr(targets["git http-backend (reference)"], attr))
        for name, target in targets.items():
            times = getattr(target, attr)
            med = statistics.median(times)
            digits = 2 if scale == 1 else 0
            print(f"{name:34} {med * scale:9.{digits}f} {min(times) * scale:7.{digits}f} "
                  f"{max(times) * scale:7.{digits}f} {med / ref_file:9.2f} "
                  f"{med / ref_backend:14.2f}")
    print()
    print("Peak RSS growth during a clone (max over runs, sampled every 10 ms):")
    for name in ("pagurus http", "git http-backend (reference)"):
        py, tree_rss, anon, new_py = targets[name].rss
        print(f"  {name:30} Python processes {py / 1024:6.1f} MiB; whole tree incl. git "
              f"{tree_rss / 1024:6.1f} MiB VmRSS ({anon / 1024:.1f} MiB anonymous)")
        if new_py:
            print(f"  {'':30} (plus {new_py / 1024:.1f} MiB of Python processes started "
                  "during a clone: a restarted worker?)")
    if not args.ssh:
        print("\n(SSH skipped: --no-ssh)")
    return 0


def git_version() -> str:
    return git("--version").stdout.split()[-1]


if __name__ == "__main__":
    sys.exit(main())
