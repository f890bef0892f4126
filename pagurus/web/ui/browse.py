"""Repository pages: tree, blob, raw, blame, history, and the overview README.

Every view loads the project the way ``project.py`` does (hidden = missing =
404), opens the bare repo, and resolves what the URL names with
``git.refs`` only. Anything computed from an object id is cached under that
id; pages computed from a commit answer 304 to a matching ``If-None-Match``.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import posixpath
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pygit2
from flask import Blueprint, abort, redirect, render_template, request, session
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from pagurus.git import blame as git_blame
from pagurus.git import pathlog, refs
from pagurus.git import tree as git_tree
from pagurus.git.repos import GIT_ENV
from pagurus.model import Project
from pagurus.web import csrf
from pagurus.web.context import settings
from pagurus.web.routes import project_route
from pagurus.web.ui import browse_render as render
from pagurus.web.ui.helpers import reltime, utc

bp = Blueprint("ui_browse", __name__)
bp.before_request(csrf.protect)

TREE_PAGE = 1000  # entries listed before "show all"
SHOW_LIMIT = 5 * 1024 * 1024  # larger blobs: the first TRUNCATED_SHOW bytes only
TRUNCATED_SHOW = 1024 * 1024
RAW_INLINE = 8 * 1024 * 1024  # larger raw blobs are streamed from git cat-file
BLAME_LIMIT = 5 * 1024 * 1024
BLAME_WAIT = 0.4  # seconds a blame page waits before showing the code and a notice
BLAME_POLL_WAIT = 5.0  # what ?fragment=1 waits at most before its 202 (JS asks again)
BLAME_LONG_WAIT = 30.0  # what ?wait=1 (the link offered without JavaScript) waits at most
HISTORY_PAGE = 50
MAX_REFS_LISTED = 200
IMMUTABLE = "max-age=31536000, immutable"
IMAGE_TYPES = {
    "gif": "image/gif", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg",
    "webp": "image/webp", "bmp": "image/bmp", "ico": "image/x-icon",
}
ACTIVE_EXT = ("html", "htm", "xhtml", "xht", "shtml", "svg", "svgz", "js", "mjs", "xml",
              "xsl", "xslt", "swf", "pdf")
ACTIVE_TYPES = ("text/html", "application/xhtml+xml", "image/svg+xml", "text/javascript",
                "application/javascript", "application/xml", "text/xml",
                "application/x-shockwave-flash", "application/pdf")


# -- loading ------------------------------------------------------------------------

class Ctx:
    """What one request works on: the project, its repo and URL helpers."""

    def __init__(self, project: Project, repo: pygit2.Repository) -> None:
        self.project = project
        self.repo = repo
        self.purl = "/" + project.url_path
        self.ref = ""
        self.commit: pygit2.Commit | None = None
        self.header: dict[str, Any] | None = None

    def url(self, view: str, path: str = "", ref: str | None = None) -> str:
        """``{P}/<view>/<ref>[/f/<path>]`` with both parts URL-quoted."""
        ref = self.ref if ref is None else ref
        url = f"{self.purl}/{view}/{quote(ref, safe='/')}"
        if path:
            url += "/f/" + quote(path, safe="/")
        return url

    def tree(self, path: str = "", ref: str | None = None) -> str:
        return self.url("tree", path, ref)

    def blob(self, path: str) -> str:
        return self.url("blob", path)

    def raw(self, path: str) -> str:
        return self.url("raw", path)

    def blame(self, path: str) -> str:
        return f"{self.purl}/blame/{quote(path, safe='/')}?identifier={quote(self.ref, safe='')}"

    def history(self, path: str) -> str:
        return (f"{self.purl}/history/{quote(path, safe='/')}"
                f"?identifier={quote(self.ref, safe='')}")

    def commit_url(self, commit_id: str) -> str:
        return f"{self.purl}/c/{commit_id}"


def _load(repo: str, namespace: str | None, username: str | None) -> Ctx:
    from pagurus.web.ui.project import _project

    project = _project(repo, namespace, username)
    if project.repo_state != "ready":
        abort(404, description="This project's repository is not ready yet.")
    try:
        gitrepo = refs.open_repo(settings().data_dir, project.fullname)
    except (FileNotFoundError, pygit2.GitError):
        abort(404, description="This project's repository is unavailable.")
    return Ctx(project, gitrepo)


def _default_ref(repo: pygit2.Repository) -> str:
    """The default branch, or the first branch when HEAD is unborn."""
    head = refs.head_branch(repo)
    if head and repo.references.get(f"refs/heads/{head}") is not None:
        return head
    names = sorted(repo.branches.local)
    if not names:
        abort(404, description="This repository is empty.")
    return names[0]


def _resolve(ctx: Ctx, ref: str | None) -> pygit2.Commit:
    ref = ref or _default_ref(ctx.repo)
    try:
        commit = refs.resolve_commit(ctx.repo, ref)
    except refs.RefNotFound:
        abort(404, description=f"No branch, tag or commit named “{ref}” in this repository.")
    ctx.ref, ctx.commit = ref, commit
    return commit


def _split(ctx: Ctx, rest: str, ref_only_ok: bool = True) -> tuple[str, str]:
    """``<ref>[/f/<path>]``: the whole string as a ref first (a branch may hold
    ``/f/``), then the longest ref prefix before ``/f/``."""
    rest = rest.rstrip("/")
    if ref_only_ok:
        try:
            refs.resolve_commit(ctx.repo, rest)
            return rest, ""
        except refs.RefNotFound:
            pass
    if "/f/" not in rest:
        return rest, ""
    return refs.split_ref_and_path(ctx.repo, rest)


def _lookup(ctx: Ctx, path: str) -> tuple[pygit2.Object, int, str]:
    assert ctx.commit is not None
    try:
        path = git_tree.normalize_path(path)
        obj, mode = git_tree.lookup(ctx.commit, path)
    except git_tree.PathNotFound:
        abort(404, description=f"No file or folder “{path}” at {ctx.ref}.")
    return obj, mode, path


def _header(ctx: Ctx) -> dict[str, Any]:
    if ctx.header is None:
        from pagurus.web.ui.project import header_context

        ctx.header = header_context(ctx.project, "code")
    return ctx.header


# -- refs list, breadcrumbs ----------------------------------------------------------

def _ref_names(repo: pygit2.Repository) -> dict[str, list[str]]:
    branches, tags = [], []
    for name in repo.references:
        if name.startswith("refs/heads/"):
            branches.append(name[11:])
        elif name.startswith("refs/tags/"):
            tags.append(name[10:])
    return {"branches": sorted(branches)[:MAX_REFS_LISTED],
            "tags": sorted(tags, reverse=True)[:MAX_REFS_LISTED],
            "more": len(branches) > MAX_REFS_LISTED or len(tags) > MAX_REFS_LISTED}


def _crumbs(ctx: Ctx, path: str) -> list[tuple[str, str | None]]:
    crumbs: list[tuple[str, str | None]] = [(ctx.project.name, ctx.tree(""))]
    parts = path.split("/") if path else []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        crumbs.append((part, None if last else ctx.tree("/".join(parts[:i + 1]))))
    return crumbs


def _page(ctx: Ctx, template: str, etag_parts: tuple[Any, ...] | None = None,
          status: int = 200, **values: Any) -> Response:
    """Render under the project header, with an ETag when ``etag_parts`` (the
    commit id and everything else the page depends on) are given."""
    header = _header(ctx)
    html = render_template(template, ctx=ctx, refs_list=_ref_names(ctx.repo), **header,
                           **values)
    resp = Response(html, status=status, mimetype="text/html")
    if etag_parts is not None and status == 200:
        resp.set_etag(_etag(ctx, header, etag_parts))
        resp.headers["Cache-Control"] = "private, no-cache"
    return resp


def _unchanged(ctx: Ctx, etag_parts: tuple[Any, ...]) -> Response | None:
    """304 when the client already holds this very page (checked before any
    git work); None otherwise."""
    if not request.if_none_match or session.get("_flashes"):
        return None
    etag = _etag(ctx, _header(ctx), etag_parts)
    if etag not in request.if_none_match:
        return None
    resp = Response(status=304)
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = "private, no-cache"
    return resp


def _etag(ctx: Ctx, header: dict[str, Any], parts: tuple[Any, ...]) -> str:
    """A page depends on the commit, the path and options, and on the viewer
    and the header (stars, watch state, description…): all go in the tag."""
    project = ctx.project
    heads = ",".join(sorted(str(r.target) for r in ctx.repo.references.iterator()
                            if isinstance(r.target, pygit2.Oid)))
    material = repr((
        "v1", parts, ctx.ref, request.full_path, session.get("uid"), session.get("_csrf"),
        project.date_modified, project.description, project.url, project.private,
        header["star_count"], header["starred"], header["watch_total"],
        header["watch_status"], header["watch_explicit"], header["fork_count"],
        getattr(header["own_fork"], "id", None), header["is_admin"], header["tags"],
        sorted(header["opts"].items(), key=lambda kv: kv[0]),
        hashlib.sha1(heads.encode(), usedforsecurity=False).hexdigest(),
    ))
    return hashlib.sha256(material.encode("utf-8", "replace")).hexdigest()[:32]


def _empty(ctx: Ctx) -> Response:
    from pagurus.web.ui.project import clone_urls

    return _page(ctx, "browse/empty.html", clone=clone_urls(ctx.project))


# -- README -------------------------------------------------------------------------

def _readme_of(ctx: Ctx, tree: pygit2.Tree) -> tuple[str, pygit2.Oid] | None:
    """find_readme, cached by tree id (a big folder is scanned once)."""
    found = render.cache().get_or_compute(
        "tree-readme", str(tree.id),
        lambda: "\x00".join((lambda f: (f[0], str(f[1])) if f else ("", ""))(
            git_tree.find_readme(tree))))
    name, _, oid = found.partition("\x00")
    return (name, pygit2.Oid(hex=oid)) if name else None


def readme_html(ctx: Ctx, tree: pygit2.Tree, folder: str) -> dict[str, Any] | None:
    """The folder's README rendered, links to the blob view, images to raw."""
    found = _readme_of(ctx, tree)
    if found is None:
        return None
    name, oid = found
    path = f"{folder}/{name}" if folder else name
    size = git_tree.blob_size(ctx.repo, oid)
    if size > git_tree.DETECT_SAMPLE * 16:  # 1 MiB: too big to render inline
        return {"name": name, "path": path, "html": None}
    base = (ctx.blob(folder) if folder else ctx.url("blob") + "/f") + "/"
    img = (ctx.raw(folder) if folder else ctx.url("raw") + "/f") + "/"
    key = f"{oid}:{render.renderer_id(name)}:{base}:{img}:{render.RENDER_VERSION}"
    cached = render.cache().get("readme", key)
    if cached is not None:
        return {"name": name, "path": path, "html": Markup(cached)}  # noqa: S704
    content = git_tree.decode(ctx.repo[oid].data)
    if content.text is None:
        return None
    html = render.cached_markup(str(oid), content.text, name, base, img)
    return {"name": name, "path": path, "html": html}


def overview_readme(project: Project, branch: str | None) -> dict[str, Any] | None:
    """For the overview page: the default branch's README (None when absent)."""
    try:
        repo = refs.open_repo(settings().data_dir, project.fullname)
        ctx = Ctx(project, repo)
        ref = branch or _default_ref(repo)
        commit = refs.resolve_commit(repo, ref)
    except (FileNotFoundError, pygit2.GitError, refs.RefNotFound, HTTPException):
        return None  # HTTPException: _default_ref's 404 on an empty repo
    ctx.ref, ctx.commit = ref, commit
    readme = readme_html(ctx, commit.tree, "")
    if readme is not None:
        readme["url"] = ctx.blob(readme["path"])
        readme["tree_url"] = ctx.tree("")
    return readme


# -- tree ---------------------------------------------------------------------------

@project_route(bp, "/tree")
@project_route(bp, "/tree/", endpoint="view_tree_slash")
@project_route(bp, "/tree/<path:rest>", endpoint="view_tree_at")
def view_tree(repo: str, namespace: str | None = None, username: str | None = None,
              rest: str = "") -> Response:
    """A folder of a branch, tag or commit: folders first, then files."""
    ctx = _load(repo, namespace, username)
    if refs.is_empty(ctx.repo):
        return _empty(ctx)
    ref, path = _split(ctx, rest) if rest else ("", "")
    _resolve(ctx, ref)
    obj, mode, path = _lookup(ctx, path)
    if not isinstance(obj, pygit2.Tree):
        return redirect(ctx.blob(path))
    return _tree_page(ctx, obj, path)


def _tree_page(ctx: Ctx, tree: pygit2.Tree, path: str) -> Response:
    show_all = request.args.get("all") == "1"
    assert ctx.commit is not None
    etag = (str(ctx.commit.id), path, show_all, "tree")
    if (unchanged := _unchanged(ctx, etag)) is not None:
        return unchanged
    limit = None if show_all else TREE_PAGE
    key = f"{tree.id}:{ctx.purl}:{ctx.ref}:{path}:{limit}:{render.RENDER_VERSION}"
    cached = render.cache().get_or_compute(
        "tree-rows", key, lambda: _listing_rows(ctx, tree, path, limit))
    total, _, rows = cached.partition("\x00")
    readme = readme_html(ctx, tree, path)
    return _page(ctx, "browse/tree.html", etag, rows=Markup(rows),  # noqa: S704
                 total=int(total), path=path, crumbs=_crumbs(ctx, path), readme=readme,
                 show_all=show_all, commit=_commit_info(ctx.commit),
                 all_url=request.path + "?all=1")


def _size_text(size: int) -> str:
    value = float(size)
    for unit in ("Bytes", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{size} Bytes" if unit == "Bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} Bytes"  # pragma: no cover


def _listing_rows(ctx: Ctx, tree: pygit2.Tree, path: str, limit: int | None) -> str:
    """``<total>\\0<rows>``: the table rows of a listing, built here rather than
    in Jinja (a 1,000-row listing is one join) and cached by tree id."""
    listing = git_tree.list_tree(ctx.repo, tree, path, limit)
    out = []
    if path:
        up = escape(ctx.tree(path.rpartition("/")[0]))
        out.append(f'<tr><td><a class="entry-folder" href="{up}">..</a></td><td></td></tr>')
    for e in listing.entries:
        name = escape(e.name)
        if e.type == git_tree.FOLDER:
            out.append(f'<tr><td><a class="entry-folder" href="{escape(ctx.tree(e.path))}">'
                       f'{name}/</a></td><td class="size"></td></tr>')
            continue
        href = escape(ctx.blob(e.path))
        badge = {git_tree.SUBMODULE: "submodule", git_tree.LINK: "link"}.get(e.type)
        if badge is None and e.executable:
            badge = "executable"
        badge_html = f' <span class="badge">{badge}</span>' if badge else ""
        size = "" if e.size is None or e.type != git_tree.FILE else _size_text(e.size)
        data = f' data-bytes="{e.size}"' if e.size is not None and e.type == git_tree.FILE else ""
        out.append(f'<tr><td><a class="entry-{e.type}" href="{href}">{name}</a>{badge_html}'
                   f'</td><td class="size"{data}>{size}</td></tr>')
    if not listing.entries:
        out.append('<tr><td colspan="2" class="muted">This folder is empty.</td></tr>')
    return f"{listing.total}\x00" + "\n".join(out)


def _commit_info(commit: pygit2.Commit) -> dict[str, Any]:
    message = commit.raw_message.decode("utf-8", "replace")
    return {"id": str(commit.id), "short": str(commit.id)[:8],
            "subject": message.split("\n", 1)[0],
            "author": commit.author.raw_name.decode("utf-8", "replace"),
            "when": datetime.fromtimestamp(commit.author.time, UTC)}


# -- blob ---------------------------------------------------------------------------

def _ext(path: str) -> str:
    return posixpath.splitext(path)[1].lower().lstrip(".")


@project_route(bp, "/blob/<path:rest>", endpoint="view_blob")
def view_blob(repo: str, rest: str, namespace: str | None = None,
              username: str | None = None) -> Response:
    """One file: highlighted text, rendered markup, an image, or a notice."""
    ctx = _load(repo, namespace, username)
    if refs.is_empty(ctx.repo):
        return _empty(ctx)
    ref, path = _split(ctx, rest, ref_only_ok=False)
    _resolve(ctx, ref)
    if not path:
        return redirect(ctx.tree(""))
    obj, mode, path = _lookup(ctx, path)
    if isinstance(obj, pygit2.Tree):
        return _tree_page(ctx, obj, path)
    source = request.args.get("text") == "1"
    assert ctx.commit is not None
    etag = (str(ctx.commit.id), path, source, "blob")
    if (unchanged := _unchanged(ctx, etag)) is not None:
        return unchanged
    name = posixpath.basename(path)
    values: dict[str, Any] = {"path": path, "name": name, "crumbs": _crumbs(ctx, path),
                              "commit": _commit_info(ctx.commit), "kind": "text",
                              "source": source, "is_markup": bool(render.markup_kind(name))}
    kind = git_tree.entry_type(mode)
    if kind == git_tree.SUBMODULE:
        values.update(kind="submodule", target=str(obj.id),
                      submodule_url=git_tree.submodule_url(ctx.commit, path))
        return _page(ctx, "browse/blob.html", etag, **values)
    size = git_tree.blob_size(ctx.repo, obj.id)
    values["size"] = size
    if kind == git_tree.LINK:
        link = git_tree.link_target(path, ctx.repo[obj.id].data[:4096])
        target_url = None
        if link.path is not None:
            try:
                git_tree.lookup(ctx.commit, link.path)
                target_url = ctx.blob(link.path)
            except git_tree.PathNotFound:
                target_url = None
        values.update(kind="link", link=link, target_url=target_url)
        return _page(ctx, "browse/blob.html", etag, **values)
    ext = _ext(path)
    if ext in IMAGE_TYPES:
        values["kind"] = "image"
        return _page(ctx, "browse/blob.html", etag, **values)
    if ext in ("svg", "svgz"):
        values["kind"] = "download"
        return _page(ctx, "browse/blob.html", etag, **values)
    truncated = size > SHOW_LIMIT
    data = _read_prefix(ctx.repo, obj.id, TRUNCATED_SHOW) if truncated else ctx.repo[obj.id].data
    content = git_tree.decode(data, size=size)
    if content.text is None:
        values["kind"] = "binary"
        return _page(ctx, "browse/blob.html", etag, **values)
    values.update(encoding=content.encoding, crlf=content.crlf, truncated=truncated,
                  lines=content.text.count("\n") + (0 if content.text.endswith("\n") else 1))
    blob_key = str(obj.id) + (":prefix" if truncated else "")
    if render.markup_kind(name) and not source and not truncated:
        folder = posixpath.dirname(path)
        base = (ctx.blob(folder) if folder else ctx.url("blob") + "/f") + "/"
        img = (ctx.raw(folder) if folder else ctx.url("raw") + "/f") + "/"
        values.update(kind="markup",
                      html=render.cached_markup(blob_key, content.text, name, base, img))
        return _page(ctx, "browse/blob.html", etag, **values)
    values["code"] = render.cached_code_table(blob_key, content.text, name, plain=truncated)
    return _page(ctx, "browse/blob.html", etag, **values)


def _git_stream(args: list[str], chunk: int = 64 * 1024) -> Iterator[bytes]:
    """Stream a git command's stdout; the child is killed if the client goes."""
    env = {**os.environ, **GIT_ENV}
    proc = subprocess.Popen(["git", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env)
    try:
        assert proc.stdout is not None
        while True:
            data = proc.stdout.read(chunk)
            if not data:
                break
            yield data
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _read_prefix(repo: pygit2.Repository, oid: pygit2.Oid, limit: int) -> bytes:
    """The first ``limit`` bytes of a big blob without inflating all of it in
    this process."""
    out = bytearray()
    stream = _git_stream(["--git-dir", repo.path, "cat-file", "blob", str(oid)])
    try:
        for chunk in stream:
            out += chunk
            if len(out) >= limit:
                break
    finally:
        stream.close()
    return bytes(out[:limit])


# -- raw ----------------------------------------------------------------------------

def _content_headers(name: str, head: bytes) -> dict[str, str]:
    ext = _ext(name)
    guessed = mimetypes.guess_type(name)[0] or ""
    if ext in ACTIVE_EXT or guessed in ACTIVE_TYPES:
        return {"Content-Type": "application/octet-stream",
                "Content-Disposition": _attachment(name)}
    if ext in IMAGE_TYPES:
        return {"Content-Type": IMAGE_TYPES[ext]}
    encoding = git_tree.detect_encoding(head)
    if encoding is None:
        return {"Content-Type": "application/octet-stream",
                "Content-Disposition": _attachment(name)}
    return {"Content-Type": f"text/plain; charset={encoding}"}


def _attachment(name: str) -> str:
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in name)
    return f"attachment; filename=\"{ascii_name or 'download'}\"; " \
           f"filename*=UTF-8''{quote(name, safe='')}"


def _raw_response(ctx: Ctx, body: Any, headers: dict[str, str], etag: str,
                  length: int | None = None) -> Response:
    private = ctx.project.private
    resp = Response(body, status=200)
    for key, value in headers.items():
        resp.headers[key] = value
    if length is not None:
        resp.headers["Content-Length"] = str(length)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    assert ctx.commit is not None
    if ctx.ref.lower() == str(ctx.commit.id):
        resp.headers["Cache-Control"] = ("private, " if private else "public, ") + IMMUTABLE
    else:
        resp.headers["Cache-Control"] = ("private, " if private else "") + "no-cache"
    resp.set_etag(etag)
    return resp


def _not_modified(ctx: Ctx, etag: str) -> Response | None:
    if etag in request.if_none_match:
        resp = Response(status=304)
        resp.set_etag(etag)
        resp.headers["Cache-Control"] = ("private, " if ctx.project.private else "") + \
            "no-cache"
        return resp
    return None


@project_route(bp, "/raw/<path:rest>", endpoint="view_raw")
def view_raw(repo: str, rest: str, namespace: str | None = None,
             username: str | None = None) -> Response:
    """Exact bytes of a file, or the patch of a commit when no path is given."""
    ctx = _load(repo, namespace, username)
    if refs.is_empty(ctx.repo):
        abort(404, description="This repository is empty.")
    ref, path = _split(ctx, rest)
    commit = _resolve(ctx, ref)
    if not path:
        etag = "patch-" + str(commit.id)
        if (resp := _not_modified(ctx, etag)) is not None:
            return resp
        return _raw_response(ctx, _patch_stream(ctx, commit),
                             {"Content-Type": "text/plain; charset=utf-8"}, etag)
    obj, mode, path = _lookup(ctx, path)
    if not isinstance(obj, pygit2.Blob):
        abort(404, description=f"“{path}” is not a file.")
    etag = str(obj.id)
    if (resp := _not_modified(ctx, etag)) is not None:
        return resp
    size = git_tree.blob_size(ctx.repo, obj.id)
    name = posixpath.basename(path)
    if git_tree.entry_type(mode) == git_tree.LINK:
        return _raw_response(ctx, ctx.repo[obj.id].data,
                             {"Content-Type": "text/plain; charset=utf-8"}, etag, size)
    if size <= RAW_INLINE:
        data = ctx.repo[obj.id].data
        return _raw_response(ctx, data, _content_headers(name, data[:git_tree.DETECT_SAMPLE]),
                             etag, size)
    head = _read_prefix(ctx.repo, obj.id, git_tree.DETECT_SAMPLE)
    stream = _git_stream(["--git-dir", ctx.repo.path, "cat-file", "blob", str(obj.id)])
    return _raw_response(ctx, stream, _content_headers(name, head), etag, size)


def _patch_stream(ctx: Ctx, commit: pygit2.Commit) -> Iterator[bytes]:
    cid = str(commit.id)
    if len(commit.parent_ids) > 1:  # format-patch skips merges: diff vs first parent
        args = ["--git-dir", ctx.repo.path, "diff", "--binary", str(commit.parent_ids[0]),
                cid, "--"]
    else:
        args = ["--git-dir", ctx.repo.path, "format-patch", "--stdout", "--binary", "-1", cid,
                "--"]
    return _git_stream(args)


# -- blame --------------------------------------------------------------------------

def _path_and_ref(ctx: Ctx, rest: str) -> tuple[str, str]:
    """``?identifier=`` (Pagure) with the path in the URL, or ``<ref>/f/<path>``."""
    identifier = request.args.get("identifier")
    if identifier:
        return identifier, rest
    if "/f/" in rest:
        ref, path = refs.split_ref_and_path(ctx.repo, rest)
        try:
            git_tree.lookup(refs.resolve_commit(ctx.repo, ref), path)
            return ref, path
        except (refs.RefNotFound, git_tree.PathNotFound):
            pass
    return "", rest


def _blame_dir() -> Path:
    return settings().data_dir / "cache" / "blame"


def _blame_json(ctx: Ctx, cid: str, path: str,
                encoding: str) -> tuple[str | None, Callable[[float], str | None]]:
    """The blame as JSON when known, else ``(None, waiter)``: a background
    job was started (or joined) and ``waiter(seconds)`` waits that long at
    most for it (None if it is still running)."""
    cache = render.cache()
    key = f"{cid}:{path}:{encoding}"
    found = cache.get("blame", key)
    jobs = git_blame.jobs(_blame_dir(), settings().blame_cache_bytes)
    if found is None:
        found = jobs.read(cid, path, encoding)
        if found is not None:
            cache.put("blame", key, found)
    if found is not None:
        return found, lambda _seconds: found
    try:
        job = jobs.submit(ctx.repo.path, cid, path, encoding,
                          on_result=lambda value: cache.put("blame", key, value))
    except git_blame.BlameBusy:
        abort(503, description="Too many blames are being computed; try again in a moment.")

    def waiter(seconds: float) -> str | None:
        try:
            return job.result(timeout=max(0.0, seconds))
        except FutureTimeout:
            return None
        except git_blame.BlameError:
            abort(404, description=f"“{path}” cannot be blamed at {ctx.ref}.")

    return None, waiter


@project_route(bp, "/blame/<path:rest>", endpoint="view_blame")
def view_blame(repo: str, rest: str, namespace: str | None = None,
               username: str | None = None) -> Response:
    """Who last changed each line, grouped by commit.

    A blame that is not ready within ``BLAME_WAIT`` seconds goes on in the
    background: the page shows the code at once with a notice, and
    ``browse.js`` fetches the table from ``?fragment=1`` (which waits up to
    ``BLAME_POLL_WAIT`` seconds, then answers 202 to be asked again). Without
    JavaScript the notice links to ``?wait=1``, the page that waits up to
    ``BLAME_LONG_WAIT`` seconds."""
    started = time.monotonic()
    ctx = _load(repo, namespace, username)
    if refs.is_empty(ctx.repo):
        abort(404, description="This repository is empty.")
    ref, path = _path_and_ref(ctx, rest)
    commit = _resolve(ctx, ref)
    obj, mode, path = _lookup(ctx, path)
    if not isinstance(obj, pygit2.Blob):
        abort(400, description=f"“{path}” is not a file: there is nothing to blame.")
    fragment = request.args.get("fragment") == "1"
    etag = (str(commit.id), path, "blame")
    if not fragment and (unchanged := _unchanged(ctx, etag)) is not None:
        return unchanged
    size = git_tree.blob_size(ctx.repo, obj.id)
    if size > BLAME_LIMIT:
        abort(400, description="This file is too large to blame here; use git blame.")
    content = git_tree.decode(ctx.repo[obj.id].data)
    if content.text is None:
        abort(400, description="This is a binary file: it cannot be blamed.")
    encoding = content.encoding or "utf-8"
    cid = str(commit.id)
    long_wait = fragment or request.args.get("wait") == "1"
    wait = BLAME_POLL_WAIT if fragment else BLAME_LONG_WAIT if long_wait else BLAME_WAIT
    raw, waiter = _blame_json(ctx, cid, path, encoding)
    name = posixpath.basename(path)
    lines = None
    if raw is None and long_wait:  # highlight while git blames
        lines = render.cached_lines(str(obj.id), content.text, name)
    if raw is None:
        raw = waiter(wait - (time.monotonic() - started))
    if raw is None:
        if fragment:
            resp = Response("", status=202, mimetype="text/plain")
            resp.headers["Retry-After"] = "1"
            resp.headers["Cache-Control"] = "no-store"
            return resp
        # the code now, plain (highlighting a long file cold takes a while;
        # the blame table brings the highlighted lines)
        plain = render.highlighted_lines(content.text, name, plain=True)
        quoted = quote(path, safe="/")
        resp = _page(ctx, "browse/blame.html", None, path=path, name=name,
                     table=render.code_table_markup(plain), pending=True,
                     fragment_url=f"{ctx.purl}/blame/{quoted}?identifier={cid}&fragment=1",
                     wait_url=ctx.blame(path) + "&wait=1", crumbs=_crumbs(ctx, path),
                     commit=_commit_info(commit), size=size)
        resp.headers["Cache-Control"] = "no-store"
        return resp
    if lines is None:
        lines = render.cached_lines(str(obj.id), content.text, name)
    result = git_blame.Blame.from_json(raw)
    table = _blame_table(ctx, result, lines)
    if fragment:
        resp = Response(str(table), mimetype="text/html")
        resp.headers["Cache-Control"] = "private, no-cache"
        return resp
    return _page(ctx, "browse/blame.html", etag, path=path, name=name, table=table,
                 crumbs=_crumbs(ctx, path), commit=_commit_info(commit), size=size)


def _blame_table(ctx: Ctx, result: git_blame.Blame, lines: list[str]) -> Markup:
    """Built here rather than in Jinja: a 2,000-line blame is one join."""
    total = sum(len(h.lines) for h in result.hunks)
    use_highlight = len(lines) == total
    now = datetime.now(UTC)
    metas: dict[str, str] = {}  # one rendering per commit, however many hunks
    out = ['<table class="code blame"><tbody>']
    for hunk in result.hunks:
        meta = metas.get(hunk.commit)
        if meta is None:
            info = result.commits[hunk.commit]
            when = datetime.fromtimestamp(info.author_time, UTC)
            meta = metas[hunk.commit] = (
                f'<a class="mono" href="{escape(ctx.commit_url(hunk.commit))}" '
                f'title="{escape(info.summary)}">{hunk.commit[:8]}</a> '
                f'<span class="blame-author">{escape(info.author)}</span> '
                f'<time datetime="{when.isoformat()}" title="{utc(when)}">'
                f'{escape(reltime(when, now))}</time></td>')
        n = hunk.start
        code = lines[n - 1] if use_highlight else str(escape(hunk.lines[0]))
        out.append(f'<tr id="_{n}" class="hunk-start"><td class="blame-meta" '
                   f'rowspan="{len(hunk.lines)}">{meta}<td class="ln"><a href="#_{n}">{n}</a>'
                   f'</td><td class="lc">{code}</td></tr>')
        for i in range(1, len(hunk.lines)):
            n = hunk.start + i
            code = lines[n - 1] if use_highlight else str(escape(hunk.lines[i]))
            out.append(f'<tr id="_{n}"><td class="ln"><a href="#_{n}">{n}</a></td>'
                       f'<td class="lc">{code}</td></tr>')
    out.append("</tbody></table>")
    return Markup("\n".join(out))  # noqa: S704 - every piece escaped above


# -- history ------------------------------------------------------------------------

@project_route(bp, "/history/<path:rest>", endpoint="view_history")
def view_history(repo: str, rest: str, namespace: str | None = None,
                 username: str | None = None) -> Response:
    """The commits that changed one path, newest first, a page at a time."""
    ctx = _load(repo, namespace, username)
    if refs.is_empty(ctx.repo):
        abort(404, description="This repository is empty.")
    ref, path = _path_and_ref(ctx, rest)
    commit = _resolve(ctx, ref)
    try:
        path = git_tree.normalize_path(path)
    except git_tree.PathNotFound:
        abort(404, description="No such path.")
    if not path:
        return redirect(ctx.tree(""))
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    etag = (str(commit.id), path, page, "history")
    if (unchanged := _unchanged(ctx, etag)) is not None:
        return unchanged
    try:
        raw = render.cache().get_or_compute(
            "history", f"{commit.id}:{path}:{page}:{HISTORY_PAGE}",
            lambda: pathlog.history(ctx.repo, commit, path, page, HISTORY_PAGE).to_json())
    except pathlog.HistoryError:
        abort(404, description=f"No history for “{path}” at {ctx.ref}.")
    result = pathlog.Page.from_json(raw)
    if not result.entries and page == 1:
        abort(404, description=f"No commit touches “{path}” up to {ctx.ref}.")
    entries = [{"id": e.id, "short": e.short, "subject": e.subject, "author": e.author,
                "when": datetime.fromtimestamp(e.time, UTC)} for e in result.entries]
    base = ctx.history(path)
    return _page(ctx, "browse/history.html", etag, path=path, entries=entries,
                 crumbs=_crumbs(ctx, path), page=page, has_next=result.has_next,
                 prev_url=f"{base}&page={page - 1}" if page > 1 else None,
                 next_url=f"{base}&page={page + 1}" if result.has_next else None)
