"""Release files uploaded by a project's committers, and their CHECKSUMS.

Files live in ``<data>/releases/<project fullname>/<name>`` (Pagure's
``UPLOAD_FOLDER_PATH`` layout). An upload is streamed into a temporary file
under ``<data>/releases/.incoming/`` (same file system; no project name
starts with a dot) while its SHA-256 and SHA-512 are computed and its size
is checked, then linked into place: a reader never sees half a file, and an
existing file is never replaced. A name already taken by different content
is refused; the same content again is accepted as a no-op.

``CHECKSUMS`` (first line ``# Generated and updated by pagure``, then
``SHA256 (<name>) = <hex>`` and ``SHA512 (<name>) = <hex>`` per file, by
name) is rewritten whole, through a temporary file and a rename, under a
per-project ``flock``, so concurrent uploads or deletions never lose a line.
A ``CHECKSUMS`` without that first line was put there by someone else and is
left alone.

Names: a hostile name (path separators, ``..``, a leading dot or dash,
control characters, reserved names) is refused outright; anything else is
reduced with werkzeug's ``secure_filename`` (spaces become ``_``; only ASCII
letters, digits, ``.``, ``-`` and ``_`` remain).

Who may upload (commit access) and see (project visibility) is decided by
the caller through ``core.access``.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from werkzeug.utils import secure_filename

from pagurus.core.errors import Conflict, InvalidInput, NotFound
from pagurus.model import Project
from pagurus.paths import UnsafePath, safe_join

CHUNK = 64 * 1024
CHECKSUMS = "CHECKSUMS"
HEADER = "# Generated and updated by pagure"
NAME_MAX = 200
MAX_FILES = 10  # files in one upload request
INCOMING = ".incoming"
RESERVED = frozenset({CHECKSUMS.lower(), INCOMING})
_SAFE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
_LINE = re.compile(r"^(SHA256|SHA512) \((.+)\) = ([0-9a-f]+)$")

# served inline with these types; everything else is a download
ARCHIVE_TYPES = {
    ".tar.gz": "application/gzip", ".tgz": "application/gzip", ".gz": "application/gzip",
    ".tar.bz2": "application/x-bzip2", ".tbz2": "application/x-bzip2",
    ".bz2": "application/x-bzip2", ".tar.xz": "application/x-xz", ".txz": "application/x-xz",
    ".xz": "application/x-xz", ".tar.zst": "application/zstd", ".zst": "application/zstd",
    ".tar.lz": "application/x-lzip", ".lz": "application/x-lzip",
    ".tar": "application/x-tar", ".zip": "application/zip",
    ".7z": "application/x-7z-compressed", ".rpm": "application/x-rpm",
    ".deb": "application/vnd.debian.binary-package", ".gem": "application/octet-stream",
    ".whl": "application/zip", ".jar": "application/java-archive",
}
TEXT_EXT = (".txt", ".asc", ".md5", ".sha1", ".sha256", ".sha512", ".sum", ".md", ".rst")
TEXT_NAMES = frozenset({CHECKSUMS, "SHA256SUMS", "SHA512SUMS", "MD5SUMS"})


@dataclass
class ReleaseFile:
    name: str
    size: int
    modified: datetime
    sha256: str | None  # None when CHECKSUMS does not list it (yet)


@dataclass
class Stored:
    name: str
    size: int
    sha256: str
    added: bool  # False: the same content was already there under that name


# -- names and folders -------------------------------------------------------------

def folder(data_dir: Path, project: Project) -> Path:
    """The project's release folder (``<data>/releases/<fullname>``)."""
    return safe_join(Path(data_dir) / "releases", project.fullname)


def incoming_dir(data_dir: Path) -> Path:
    path = Path(data_dir) / "releases" / INCOMING
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def check_name(filename: str | None) -> str:
    """The stored name for an upload called ``filename``; InvalidInput for
    names that try to be something else than a plain file name."""
    raw = filename or ""

    def refuse(why: str) -> InvalidInput:
        shown = "".join(c if c.isprintable() else "?" for c in raw)[:80]
        return InvalidInput(f"Refused file name {shown!r}: {why}",
                            errors={"filestream": [why]})

    if not raw.strip():
        raise refuse("the file has no name")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in raw):
        raise refuse("it contains control characters")
    if "/" in raw or "\\" in raw:
        raise refuse("it contains a path separator")
    if ".." in raw:
        raise refuse("it contains '..'")
    if raw.startswith((".", "-", "~")):
        raise refuse("it starts with a dot, dash or tilde")
    name = secure_filename(raw)
    if not name or not _SAFE.match(name):
        raise refuse("nothing usable is left of it (use letters, digits, '.', '-', '_')")
    if len(name) > NAME_MAX:
        raise refuse(f"it is longer than {NAME_MAX} characters")
    if name.lower() in RESERVED:
        raise refuse(f"{name} is kept by the forge itself")
    return name


def valid_stored_name(name: str) -> bool:
    """A name this module could have stored (for lookups from URLs)."""
    return bool(name) and len(name) <= NAME_MAX and bool(_SAFE.match(name)) \
        and ".." not in name


# -- incoming files ------------------------------------------------------------------

class TooLarge(InvalidInput):
    status = 413


class Incoming:
    """A file being received: written to a temporary file under
    ``.incoming`` while hashed; larger than ``limit`` bytes raises TooLarge
    (the web layer hands an instance to werkzeug's multipart parser as the
    stream of one part, so the body never sits in memory)."""

    def __init__(self, data_dir: Path, limit: int) -> None:
        fd, name = tempfile.mkstemp(prefix="upload-", dir=incoming_dir(data_dir))
        self.path = Path(name)
        self.file: IO[bytes] = os.fdopen(fd, "w+b")
        self.limit = limit
        self.size = 0
        self.sha256 = hashlib.sha256()
        self.sha512 = hashlib.sha512()

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.limit:
            raise TooLarge(f"A file is larger than the limit of {self.limit} bytes",
                           errors={"filestream": [f"At most {self.limit} bytes per file."]})
        self.sha256.update(data)
        self.sha512.update(data)
        return self.file.write(data)

    def read(self, size: int = -1) -> bytes:
        return self.file.read(size)

    def readline(self, size: int = -1) -> bytes:
        return self.file.readline(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.file.seek(offset, whence)

    def tell(self) -> int:
        return self.file.tell()

    def flush(self) -> None:
        self.file.flush()

    def close(self) -> None:
        self.file.close()

    @property
    def closed(self) -> bool:
        return self.file.closed

    def discard(self) -> None:
        """Close and remove the temporary file (nothing if already moved)."""
        with suppress(OSError):
            self.file.close()
        self.path.unlink(missing_ok=True)

    def finish(self) -> None:
        """Flush to disk before the file is published."""
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()


def receive(data_dir: Path, stream: IO[bytes], limit: int) -> Incoming:
    """Copy ``stream`` into a new :class:`Incoming` (for callers that hold a
    stream rather than feeding a parser)."""
    incoming = Incoming(data_dir, limit)
    try:
        while chunk := stream.read(CHUNK):
            incoming.write(chunk)
    except BaseException:
        incoming.discard()
        raise
    return incoming


# -- the folder, under its lock ---------------------------------------------------------

@contextmanager
def locked(data_dir: Path, project: Project) -> Iterator[Path]:
    """Hold the project's release lock (all processes); yields its folder."""
    locks = Path(data_dir) / "run" / "locks"
    locks.mkdir(parents=True, exist_ok=True, mode=0o700)
    digest = hashlib.sha256(project.fullname.lower().encode()).hexdigest()[:24]
    fd = os.open(locks / f"releases-{digest}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            target = folder(data_dir, project)
            target.mkdir(parents=True, exist_ok=True)
            yield target
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _file_hashes(path: Path) -> tuple[str, str]:
    sha256, sha512 = hashlib.sha256(), hashlib.sha512()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            sha256.update(chunk)
            sha512.update(chunk)
    return sha256.hexdigest(), sha512.hexdigest()


def read_checksums(target: Path) -> tuple[bool, dict[str, dict[str, str]]]:
    """(whether CHECKSUMS is ours or absent, {name: {"SHA256": hex, …}})."""
    path = target / CHECKSUMS
    try:
        text = path.read_text("utf-8", "replace")
    except FileNotFoundError:
        return True, {}
    except OSError:
        return False, {}
    lines = text.splitlines()
    ours = bool(lines) and lines[0].strip() == HEADER
    sums: dict[str, dict[str, str]] = {}
    for line in lines[1:] if ours else lines:
        m = _LINE.match(line.strip())
        if m:
            sums.setdefault(m.group(2), {})[m.group(1)] = m.group(3)
    return ours, sums


def _names(target: Path) -> list[str]:
    try:
        entries = list(os.scandir(target))
    except FileNotFoundError:
        return []
    return sorted(e.name for e in entries
                  if e.name != CHECKSUMS and not e.name.startswith(".")
                  and e.is_file(follow_symlinks=False))


def _rewrite_checksums(target: Path, known: dict[str, tuple[str, str]]) -> None:
    """CHECKSUMS listing every file of ``target`` (lock held). Hashes come
    from ``known``, then the current file, then hashing the file itself."""
    ours, sums = read_checksums(target)
    if not ours:
        return
    out = [HEADER]
    for name in _names(target):
        if name in known:
            sha256, sha512 = known[name]
        elif "SHA256" in sums.get(name, {}) and "SHA512" in sums[name]:
            sha256, sha512 = sums[name]["SHA256"], sums[name]["SHA512"]
        else:
            sha256, sha512 = _file_hashes(target / name)
        out.append(f"SHA256 ({name}) = {sha256}")
        out.append(f"SHA512 ({name}) = {sha512}")
    fd, tmp_name = tempfile.mkstemp(prefix=".CHECKSUMS-", dir=target)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(out) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        tmp.chmod(0o644)
        os.replace(tmp, target / CHECKSUMS)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _publish(incoming: Incoming, path: Path) -> None:
    """Link the received file at ``path`` (never over an existing file)."""
    incoming.path.chmod(0o644)
    try:
        os.link(incoming.path, path)
    except FileExistsError:
        raise Conflict(f"{path.name} already exists", status=409) from None
    except OSError:  # a file system without hard links: rename, the lock is held
        if path.exists():
            raise Conflict(f"{path.name} already exists", status=409) from None
        os.rename(incoming.path, path)
        return
    incoming.path.unlink(missing_ok=True)


def store_many(data_dir: Path, project: Project,
               files: list[tuple[str, Incoming]]) -> list[Stored]:
    """Publish received files under their (checked) names and update
    CHECKSUMS, all under the lock: either every file is refused (a name
    taken by different content, a name twice) or all are stored. The
    temporary files are gone afterwards either way."""
    names = [name for name, _ in files]
    try:
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise InvalidInput(f"{dup} is sent twice",
                               errors={"filestream": ["Same name twice."]})
        return _store_locked(data_dir, project, files)
    finally:
        for _, incoming in files:
            incoming.discard()


def _store_locked(data_dir: Path, project: Project,
                  files: list[tuple[str, Incoming]]) -> list[Stored]:
    for _, incoming in files:
        if not incoming.closed:
            incoming.finish()
    out: list[Stored] = []
    with locked(data_dir, project) as target:
        _ours, sums = read_checksums(target)
        todo = []
        for name, incoming in files:
            path = target / name
            sha256, sha512 = incoming.sha256.hexdigest(), incoming.sha512.hexdigest()
            if path.exists() or path.is_symlink():
                current = sums.get(name, {}).get("SHA256")
                if current is None and path.is_file() and not path.is_symlink():
                    current = _file_hashes(path)[0]
                if current != sha256:
                    raise Conflict(
                        f"A release file named {name} already exists with different "
                        "content; delete it first or upload under another name",
                        status=409, errors={"filestream": [f"{name} exists."]})
                out.append(Stored(name, incoming.size, sha256, added=False))
                continue
            todo.append((name, incoming, path, sha256, sha512))
        known: dict[str, tuple[str, str]] = {}
        for name, incoming, path, sha256, sha512 in todo:
            _publish(incoming, path)
            known[name] = (sha256, sha512)
            out.append(Stored(name, incoming.size, sha256, added=True))
        if known or not (target / CHECKSUMS).exists():
            _rewrite_checksums(target, known)
    return out


def store(data_dir: Path, project: Project, filename: str | None, stream: IO[bytes],
          limit: int) -> Stored:
    """Check the name, receive ``stream`` and publish it (one file)."""
    name = check_name(filename)
    return store_many(data_dir, project, [(name, receive(data_dir, stream, limit))])[0]


def delete(data_dir: Path, project: Project, name: str) -> None:
    """Remove one release file and its CHECKSUMS lines."""
    if not valid_stored_name(name) or name == CHECKSUMS:
        raise NotFound("No such release file", code="ENOCODE")
    with locked(data_dir, project) as target:
        path = target / name
        if not path.is_file() or path.is_symlink():
            raise NotFound("No such release file", code="ENOCODE")
        path.unlink()
        _rewrite_checksums(target, {})


# -- reading -----------------------------------------------------------------------------

def list_files(data_dir: Path, project: Project) -> list[ReleaseFile]:
    """The uploaded files, newest first (then by name)."""
    try:
        target = folder(data_dir, project)
    except UnsafePath:
        return []
    _ours, sums = read_checksums(target)
    out = []
    for name in _names(target):
        try:
            st = (target / name).stat()
        except OSError:
            continue
        out.append(ReleaseFile(name, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC),
                               sums.get(name, {}).get("SHA256")))
    out.sort(key=lambda f: (-f.modified.timestamp(), f.name))
    return out


def has_checksums(data_dir: Path, project: Project) -> bool:
    try:
        return (folder(data_dir, project) / CHECKSUMS).is_file()
    except UnsafePath:
        return False


def file_path(data_dir: Path, project: Project, name: str) -> Path:
    """The stored file ``name`` (CHECKSUMS included); NotFound otherwise."""
    if not valid_stored_name(name):
        raise NotFound("No such release file", code="ENOCODE")
    try:
        path = safe_join(folder(data_dir, project), name)
    except UnsafePath:
        raise NotFound("No such release file", code="ENOCODE") from None
    if path.is_symlink() or not path.is_file():
        raise NotFound("No such release file", code="ENOCODE")
    return path


def content_type(name: str) -> tuple[str, bool]:
    """(Content-Type, inline?): archives and plain text inline with their
    type, anything else a download as ``application/octet-stream``."""
    low = name.lower()
    if name in TEXT_NAMES or low.endswith(TEXT_EXT):
        return "text/plain; charset=utf-8", True
    for ext in sorted(ARCHIVE_TYPES, key=len, reverse=True):
        if low.endswith(ext):
            return ARCHIVE_TYPES[ext], True
    return "application/octet-stream", False


def file_url(project: Project, name: str) -> str:
    """Where a release file is served (``/releases/<fullname>/<name>``)."""
    return f"/releases/{project.fullname}/{name}"
