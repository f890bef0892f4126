"""A project whose main repo has a realistic history, written with
``git fast-import`` straight into the bare repo (no push, no hooks).

History of ``main`` (oldest first), commit dates one hour apart ending now:

* ``:1`` README, ``a.txt`` (100 lines), ``logo.bin`` (binary);
* ``:2``..``:120`` edits of ``log.txt``, authors cycling through the owner,
  Alice (two emails: her default one and ``alt``) and an unknown person;
* ``:121`` a hostile commit (subject, body and a file name with markup);
* ``:122`` renames ``a.txt`` to ``docs/renamed.txt`` with a one-line change;
* ``:123`` changes ``logo.bin``;
* ``:124`` adds a 3 MB one-line-per-KB file ``big/huge.txt`` (not inlined);
* ``:125`` adds 450 small files (the diff's total cap);
* branch ``feature/x/y`` from ``:100`` with ``:201``..``:203``, merged into
  main by ``:126`` (two parents; fast-import does not merge trees, so the
  merge lists the feature files itself);
* branch ``old`` at ``:10``; branch ``x"onerror=alert(1)`` at ``:30``
  (branch names cannot hold spaces or ``<``, but quotes they can);
* tags: ``v1.0`` annotated on ``:50`` with a PGP-like signature block,
  ``v2.0`` annotated on ``:126`` with hostile markup, ``light`` lightweight
  on ``:120``, ``treetag`` on the tree of ``:1``.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conftest import unique

from pagurus.core import projects as core_projects
from pagurus.core import users as core_users
from pagurus.git import repos as git_repos
from pagurus.model import Project, User
from pagurus.paths import REPO_KINDS, repo_path

HOSTILE_SUBJECT = "<script>alert(1)</script> fix"
HOSTILE_BODY = "Body with <img src=x onerror=alert(1)> and \"quotes\""
HOSTILE_FILE = "<img src=x onerror=alert(1)>.md"
HOSTILE_BRANCH = 'x"onerror=alert(1)'
PGP_BLOCK = ("-----BEGIN PGP SIGNATURE-----\n\niQEzBAABCAAdFiEEfakefakefakefake\n=AbCd\n"
             "-----END PGP SIGNATURE-----\n")
GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C"}
MAIN_COMMITS = 126


@dataclass
class History:
    project: Project
    owner: User
    alice: User
    path: Path
    marks: dict[int, str] = field(default_factory=dict)

    def git(self, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=self.path, check=True, capture_output=True,
                              env={**os.environ, **GIT_ENV}).stdout.decode()

    def rev_list(self, *args: str) -> list[str]:
        return self.git("rev-list", *args).split()

    @property
    def url(self) -> str:
        return "/" + self.project.url_path


def _data(out: Any, payload: bytes) -> None:
    out.write(f"data {len(payload)}\n".encode())
    out.write(payload)
    out.write(b"\n")


def new_project(session: Any, settings: Any, owner: User, *, private: bool = False,
                namespace: str | None = None) -> Project:
    """A ready project with empty bare repos, made without the worker."""
    project = core_projects.create_project(session, settings, owner, unique("hist"),
                                           "history fixture", private=private,
                                           namespace=namespace)
    for kind in REPO_KINDS:
        git_repos.init_bare(repo_path(settings.data_dir, kind, project.fullname), "main")
    project.repo_state = "ready"
    session.commit()
    return project


def build(session: Any, settings: Any, *, private: bool = False) -> History:
    """Users, project and history (see the module docstring)."""
    owner_name = unique("own")
    owner = core_users.create_user(session, owner_name, f"{owner_name}@example.com",
                                   fullname="Owner Person", password="correct horse battery")
    alice = core_users.create_user(session, unique("ali"), f"{unique('alice')}@example.com",
                                   fullname="Alice Liddell", password="correct horse battery")
    session.commit()
    alt = f"{unique('alt')}@example.org"
    core_users.add_email(session, alice, alt).verified = True
    session.commit()
    project = new_project(session, settings, owner, private=private)
    path = repo_path(settings.data_dir, "main", project.fullname)
    authors = [("Owner Person", owner.default_email), ("Alice Liddell", alice.default_email),
               ("Alice L.", alt), ("Stranger", "stranger@example.net")]
    start = int(time.time()) - 400 * 3600
    marks_file = path / "fixture-marks"
    proc = subprocess.Popen(["git", "fast-import", "--quiet", "--done",
                             f"--export-marks={marks_file}"], cwd=path,
                            stdin=subprocess.PIPE, env={**os.environ, **GIT_ENV,
                                                        "GIT_DIR": str(path)})
    out = proc.stdin
    assert out is not None
    clock = [start]

    def commit(mark: int, ref: str, message: str, author: tuple[str, str], *,
               parent: int | None = None, merge: int | None = None,
               files: list[tuple[str, bytes | None]] = (), renames: list[tuple[str, str]] = (),
               ) -> None:
        clock[0] += 3600
        name, email = author
        out.write(f"commit {ref}\nmark :{mark}\n".encode())
        out.write(f"author {name} <{email}> {clock[0]} +0000\n".encode())
        out.write(f"committer {name} <{email}> {clock[0]} +0000\n".encode())
        _data(out, message.encode())
        if parent is not None:
            out.write(f"from :{parent}\n".encode())
        if merge is not None:
            out.write(f"merge :{merge}\n".encode())
        for src, dst in renames:
            out.write(f'R "{src}" "{dst}"\n'.encode())
        for fpath, content in files:
            quoted = '"' + fpath.replace("\\", "\\\\").replace('"', '\\"') + '"'
            if content is None:
                out.write(f"D {quoted}\n".encode())
            else:
                out.write(f"M 100644 inline {quoted}\n".encode())
                _data(out, content)
        out.write(b"\n")

    a_lines = "".join(f"line {i}\n" for i in range(100)).encode()
    logo = bytes(range(256)) * 8
    commit(1, "refs/heads/main", "Initial import\n", authors[0],
           files=[("README.md", b"# Fixture\n"), ("a.txt", a_lines), ("logo.bin", logo)])
    log_text = b""
    for n in range(2, 121):
        log_text += f"entry {n}\n".encode()
        commit(n, "refs/heads/main", f"Change number {n}\n\nDetails of change {n}.\n",
               authors[n % 4], files=[("log.txt", log_text)])
        if n == 100:
            for m, k in ((201, 1), (202, 2), (203, 3)):
                commit(m, "refs/heads/feature/x/y", f"Feature work {k}\n", authors[1],
                       parent=100 if m == 201 else m - 1,
                       files=[(f"feature/f{k}.txt", f"feature {k}\n".encode())])
    commit(121, "refs/heads/main", f"{HOSTILE_SUBJECT}\n\n{HOSTILE_BODY}\n", authors[3],
           parent=120, files=[(HOSTILE_FILE, b"<script>alert(1)</script>\n")])
    commit(122, "refs/heads/main", "Rename a.txt\n", authors[0],
           renames=[("a.txt", "docs/renamed.txt")],
           files=[("docs/renamed.txt", a_lines.replace(b"line 5\n", b"line five\n"))])
    commit(123, "refs/heads/main", "New logo\n", authors[1],
           files=[("logo.bin", bytes(reversed(logo)))])
    huge = b"".join(b"%07d " % i + b"x" * 1016 + b"\n" for i in range(3 * 1024))
    commit(124, "refs/heads/main", "Add a huge file\n", authors[0],
           files=[("big/huge.txt", huge)])
    commit(125, "refs/heads/main", "Add many files\n", authors[0],
           files=[(f"many/file{i:04d}.txt", f"file {i}\n".encode()) for i in range(450)])
    commit(126, "refs/heads/main", "Merge branch 'feature/x/y'\n", authors[0],
           merge=203, files=[(f"feature/f{k}.txt", f"feature {k}\n".encode())
                             for k in (1, 2, 3)])
    for name, mark, message in (
        ("v1.0", 50, f"Release 1.0\n\nFirst release notes.\n{PGP_BLOCK}"),
        ("v2.0", 126, "Release <b>2.0</b>\n\n<script>alert(1)</script> notes\n"),
    ):
        clock[0] += 60
        out.write(f"tag {name}\nfrom :{mark}\n".encode())
        out.write(f"tagger Owner Person <{owner.default_email}> {clock[0]} +0000\n".encode())
        _data(out, message.encode())
    out.write(b"reset refs/heads/old\nfrom :10\n\n")
    out.write(f"reset refs/heads/{HOSTILE_BRANCH}\nfrom :30\n\n".encode())
    out.write(b"reset refs/tags/light\nfrom :120\n\n")
    out.write(b"done\n")
    out.close()
    assert proc.wait() == 0, "git fast-import failed"
    hist = History(project=project, owner=owner, alice=alice, path=path)
    for line in marks_file.read_text().splitlines():
        mark, oid = line.split()
        hist.marks[int(mark[1:])] = oid
    marks_file.unlink()
    tree = hist.git("rev-parse", f"{hist.marks[1]}^{{tree}}").strip()
    hist.git("update-ref", "refs/tags/treetag", tree)
    hist.alt_email = alt  # type: ignore[attr-defined]
    return hist


def module_session(app: Any) -> Any:
    """A session of its own for module-scoped fixtures."""
    return app.extensions["pagurus"]["sessions"]()


HOSTILE_RAW = ("<script>alert(1)</script>", "<img src=x onerror", "<b>2.0</b>",
               'x"onerror')


def assert_escaped(body: str) -> None:
    """None of the fixture's hostile strings appears unescaped."""
    for raw in HOSTILE_RAW:
        assert raw not in body, raw
