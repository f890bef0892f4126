"""Reading trees and blobs for the repository pages and the tree API.

What a page needs from git, and nothing that would make a big tree slow: a
listing is sorted from the entries' modes and names alone; sizes are read
from object headers only for the entries actually shown; README discovery
looks at names only; blob text is decoded with a size limit; symlink
targets are resolved as paths inside the repository and never followed on
disk.
"""

from __future__ import annotations

import codecs
import posixpath
from dataclasses import dataclass

import pygit2

FOLDER, FILE, LINK, SUBMODULE = "folder", "file", "link", "submodule"
_MODE_TYPES = {
    pygit2.enums.FileMode.TREE: FOLDER,
    pygit2.enums.FileMode.LINK: LINK,
    pygit2.enums.FileMode.COMMIT: SUBMODULE,
}
README_PREFERENCE = ("readme.md", "readme.rst", "readme", "readme.txt")
BINARY_SNIFF = 8000
DETECT_SAMPLE = 64 * 1024
MAX_PATH = 4096

# charset_normalizer's guesses that we trust over the Western default; its
# guesses among single-byte Latin code pages are unreliable on short text.
_MULTIBYTE = ("cp932", "shift_jis", "euc_j", "euc_k", "euc_jis", "gb", "big5", "cp949",
              "cp950", "hz", "iso2022", "johab", "cp936")
_OTHER_SCRIPTS = ("cp1251", "koi8", "cp866", "mac_cyrillic", "iso8859_5", "cp1253",
                  "iso8859_7", "cp1255", "iso8859_8", "cp1256", "iso8859_6", "cp874",
                  "tis_620", "cp1258")


class PathNotFound(LookupError):
    """No such path in this commit (or a path we refuse to look up)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One row of a listing; ``size`` is filled only for shown files."""

    name: str
    path: str
    type: str
    oid: str
    mode: int
    size: int | None = None

    @property
    def executable(self) -> bool:
        return self.mode == pygit2.enums.FileMode.BLOB_EXECUTABLE


@dataclass(frozen=True, slots=True)
class Listing:
    entries: list[Entry]
    total: int  # entries in the folder, shown or not

    @property
    def truncated(self) -> bool:
        return len(self.entries) < self.total


@dataclass(frozen=True, slots=True)
class Text:
    """Decoded blob content (``text`` is None when the blob is binary)."""

    size: int
    text: str | None
    encoding: str | None
    truncated: bool  # only the first ``limit`` bytes were decoded
    crlf: bool = False

    @property
    def binary(self) -> bool:
        return self.text is None


def entry_type(mode: int) -> str:
    return _MODE_TYPES.get(mode, FILE)


def normalize_path(path: str | None) -> str:
    """A repository path without leading/trailing slashes; refuses ``..``,
    ``.``, empty components and NUL so a URL cannot name anything odd."""
    path = (path or "").strip("/")
    if not path:
        return ""
    if len(path) > MAX_PATH or "\x00" in path:
        raise PathNotFound(path)
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise PathNotFound(path)
    return path


def display_name(raw: bytes) -> str:
    """Tree entry names are bytes; show non-UTF-8 ones with replacement marks."""
    return raw.decode("utf-8", errors="replace")


def lookup(commit: pygit2.Commit, path: str) -> tuple[pygit2.Object, int]:
    """The object at ``path`` in the commit and its file mode (the root tree
    for an empty path). Raises :class:`PathNotFound`."""
    path = normalize_path(path)
    if not path:
        return commit.tree, pygit2.enums.FileMode.TREE
    try:
        obj = commit.tree[path]
    except (KeyError, ValueError, pygit2.GitError) as exc:
        raise PathNotFound(path) from exc
    return obj, obj.filemode


def _sort_key(obj: pygit2.Object) -> tuple[int, str, bytes]:
    raw = obj.raw_name
    return (0 if obj.type_str == "tree" else 1), \
        raw.decode("utf-8", errors="replace").casefold(), raw


def list_tree(repo: pygit2.Repository, tree: pygit2.Tree, base: str,
              limit: int | None = None) -> Listing:
    """Folders first, then files, by name; only the first ``limit`` entries
    are returned, with the sizes of their blobs read from object headers."""
    objects = sorted(tree, key=_sort_key)
    shown = objects if limit is None else objects[:limit]
    odb = repo.odb
    entries = []
    for obj in shown:
        name = display_name(obj.raw_name)
        mode = int(obj.filemode)
        kind = entry_type(mode)
        size = None
        if kind in (FILE, LINK):
            try:
                size = odb.read_header(obj.id)[1]
            except (KeyError, pygit2.GitError):
                size = None
        entries.append(Entry(name=name, path=f"{base}/{name}" if base else name, type=kind,
                             oid=str(obj.id), mode=mode, size=size))
    return Listing(entries=entries, total=len(objects))


def find_readme(tree: pygit2.Tree) -> tuple[str, pygit2.Oid] | None:
    """The folder's README: ``README.md``, ``README.rst``, ``README``,
    ``README.txt`` (any case), else the first other ``README*`` file."""
    candidates: dict[str, tuple[str, pygit2.Oid]] = {}
    others: list[tuple[str, pygit2.Oid]] = []
    for obj in tree:
        raw = obj.raw_name
        if raw[:6].lower() != b"readme" or obj.type_str != "blob":
            continue
        if obj.filemode == pygit2.enums.FileMode.LINK:
            continue
        name = display_name(raw)
        low = name.lower()
        if low in README_PREFERENCE:
            candidates.setdefault(low, (name, obj.id))
        else:
            others.append((name, obj.id))
    for low in README_PREFERENCE:
        if low in candidates:
            return candidates[low]
    return min(others, key=lambda o: o[0]) if others else None


def blob_size(repo: pygit2.Repository, oid: pygit2.Oid | str) -> int:
    """Size from the object header, without inflating the blob."""
    return repo.odb.read_header(oid)[1]


def looks_binary(data: bytes) -> bool:
    """Git's own rule: a NUL byte in the first 8000 bytes."""
    return b"\x00" in data[:BINARY_SNIFF] and not _utf16_bom(data)


def _utf16_bom(data: bytes) -> str | None:
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def detect_encoding(data: bytes) -> str | None:
    """The encoding to show ``data`` with, or None if it is binary.

    UTF-8 (and BOM-marked UTF-16/32) first; then charset_normalizer when it
    recognises a multi-byte or non-Latin script; otherwise Windows-1252,
    whose guesses are right for the Western text that is most common."""
    if not data:
        return "utf-8"
    bom = _utf16_bom(data)
    if bom:
        return bom
    if b"\x00" in data[:BINARY_SNIFF]:
        return None
    sample = data[:DETECT_SAMPLE]
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # a sample cut inside a multi-byte character is still UTF-8
        if exc.start >= len(sample) - 3 and len(data) > len(sample):
            try:
                sample[:exc.start].decode("utf-8")
                return "utf-8"
            except UnicodeDecodeError:
                pass
    try:
        import charset_normalizer
    except ImportError:  # pragma: no cover - a declared dependency
        charset_normalizer = None
    if charset_normalizer is not None:
        best = charset_normalizer.from_bytes(sample).best()
        if best is not None:
            enc = best.encoding.lower()
            if enc.startswith(_MULTIBYTE) or (enc.startswith(_OTHER_SCRIPTS)
                                              and best.coherence >= 0.2):
                return enc
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def decode(data: bytes, limit: int | None = None, size: int | None = None) -> Text:
    """Decode the first ``limit`` bytes of a blob for display."""
    total = len(data) if size is None else size
    truncated = limit is not None and total > limit
    part = data[:limit] if limit is not None else data
    encoding = detect_encoding(part)
    if encoding is None:
        return Text(size=total, text=None, encoding=None, truncated=False)
    text = part.decode(encoding, errors="replace")
    if encoding == "utf-8" and text.startswith("\ufeff"):
        text = text[1:]
    return Text(size=total, text=text, encoding=encoding, truncated=truncated,
                crlf="\r\n" in text[:BINARY_SNIFF])


@dataclass(frozen=True, slots=True)
class LinkTarget:
    target: str  # what the link says, as text
    path: str | None  # the repository path it names, if it stays inside the repo


def link_target(link_path: str, data: bytes) -> LinkTarget:
    """Where a symlink points, resolved as a path inside the repository; an
    absolute target or one climbing above the root is never resolved."""
    target = data.decode("utf-8", errors="replace")
    if not target or target.startswith("/") or "\x00" in target:
        return LinkTarget(target, None)
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(link_path), target))
    if joined in (".", "") or joined.startswith("../") or joined == ".." or \
            joined.startswith("/"):
        return LinkTarget(target, None)
    try:
        return LinkTarget(target, normalize_path(joined))
    except PathNotFound:
        return LinkTarget(target, None)


def submodule_url(commit: pygit2.Commit, path: str) -> str | None:
    """The URL ``.gitmodules`` gives for the submodule at ``path``, if any."""
    try:
        blob = commit.tree[".gitmodules"]
    except (KeyError, pygit2.GitError):
        return None
    if not isinstance(blob, pygit2.Blob) or blob.size > 256 * 1024:
        return None
    section_path = url = None
    found: dict[str, str] = {}
    for line in blob.data.decode("utf-8", errors="replace").splitlines():
        line = line.strip()
        if line.startswith("["):
            if section_path is not None and url is not None:
                found[section_path] = url
            section_path = url = None
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        key, value = key.strip().lower(), value.strip()
        if key == "path":
            section_path = value
        elif key == "url":
            url = value
    if section_path is not None and url is not None:
        found[section_path] = url
    return found.get(path)
