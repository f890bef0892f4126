"""Uploaded release files: the upload page, deletion, the served files and
the list shown on ``{P}/releases`` (rules in ``core.releases``).

An upload is checked before its body is read: the project must be visible
and the user must have commit access, otherwise the answer comes without
reading a byte. Then the multipart body is parsed with ``core.releases``'
:class:`~pagurus.core.releases.Incoming` as the stream of every file part,
so each file goes straight to disk, hashed and size-checked on the way
(this happens before the CSRF check, which needs the parsed form; a request
with a wrong token leaves nothing behind: the temporary files are removed at
the end of every request).

Files are served at ``/releases/<project fullname>/<name>`` like raw
repository files: ``nosniff``, a sandboxing CSP, an ETag, archives and plain
text with their type and anything else as an ``application/octet-stream``
download; a project the viewer may not see answers 404.
"""

from __future__ import annotations

import hashlib
from typing import Any, cast

from flask import Blueprint, abort, g, redirect, render_template, request, send_file
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from pagurus.core import access
from pagurus.core import projects as core_projects
from pagurus.core import releases as core_releases
from pagurus.core.errors import ForgeError, InvalidInput, NotFound
from pagurus.model import Project
from pagurus.web import csrf
from pagurus.web.context import current_user, db, settings
from pagurus.web.routes import project_route
from pagurus.web.ui.helpers import flash_forge_error, flash_success, login_url
from pagurus.web.ui.project import _project, header_context, project_url

bp = Blueprint("ui_releases", __name__)
FORM_SLACK = 1024 * 1024  # multipart framing and the small fields of the form
UPLOAD_ENDPOINT = "ui_releases.upload_release"


def _incoming() -> list[core_releases.Incoming]:
    made = g.get("release_incoming")
    if made is None:
        made = g.release_incoming = []
    return made


@bp.before_request
def _receive_upload() -> Any:
    """For an upload POST: refuse early, then parse the body to disk."""
    if request.method != "POST" or request.endpoint != UPLOAD_ENDPOINT:
        return None
    view_args = request.view_args or {}
    project = _project(view_args["repo"], view_args.get("namespace"),
                       view_args.get("username"))
    user = current_user()
    if user is None:
        return redirect(login_url(project_url(project, "/upload")))
    if not access.can_commit(db(), user, project):
        abort(403, description="Only users with commit access may upload release files.")
    conf = settings()
    limit = conf.max_release_bytes
    request.max_content_length = limit * core_releases.MAX_FILES + FORM_SLACK
    made = _incoming()

    def stream_factory(total_content_length: int | None, content_type: str | None,
                       filename: str | None = None,
                       content_length: int | None = None) -> core_releases.Incoming:
        if len(made) >= core_releases.MAX_FILES:
            raise InvalidInput(
                f"At most {core_releases.MAX_FILES} files per upload",
                errors={"filestream": [f"At most {core_releases.MAX_FILES} files."]})
        incoming = core_releases.Incoming(conf.data_dir, limit)
        made.append(incoming)
        return incoming

    # werkzeug's documented hook for where file parts go, set for this request only
    request._get_file_stream = stream_factory  # type: ignore[method-assign]
    try:
        request.form  # noqa: B018 - parse now, with the factory above
    except ForgeError as exc:
        return _upload_page(project, exc, status=exc.status)
    except RequestEntityTooLarge:
        return _upload_page(project, core_releases.TooLarge(
            f"The upload is larger than {core_releases.MAX_FILES} files of "
            f"{limit} bytes"), status=413)
    return None


bp.before_request(csrf.protect)  # after the parse above: the token is a form field


@bp.teardown_request
def _discard_incoming(_exc: BaseException | None = None) -> None:
    """Temporary files of this request that were not published go away."""
    for incoming in g.pop("release_incoming", None) or ():
        incoming.discard()


# -- pages ---------------------------------------------------------------------------

def _upload_page(project: Project, error: ForgeError | None = None, status: int = 200) -> Any:
    conf = settings()
    body = render_template(
        "releases/upload.html", files=core_releases.list_files(conf.data_dir, project),
        error=error.message if error else None, limit=conf.max_release_bytes,
        max_files=core_releases.MAX_FILES, file_url=core_releases.file_url,
        **header_context(project, "releases"))
    return Response(body, status=status, mimetype="text/html")


def _committer_project(repo: str, namespace: str | None, username: str | None,
                       ) -> Project | Response:
    project = _project(repo, namespace, username)
    user = current_user()
    if user is None:
        return redirect(login_url(project_url(project, "/upload")))
    if not access.can_commit(db(), user, project):
        abort(403, description="Only users with commit access may manage release files.")
    return project


@project_route(bp, "/upload", methods=["GET", "POST"], endpoint="upload_release")
@project_route(bp, "/upload/", methods=["GET", "POST"], endpoint="upload_release")
def upload_release(repo: str, namespace: str | None = None, username: str | None = None) -> Any:
    """The upload form; POST stores the ``filestream`` files (several at once)."""
    project = _committer_project(repo, namespace, username)
    if isinstance(project, Response):
        return project
    if request.method == "GET":
        return _upload_page(project)
    made = {id(inc) for inc in _incoming()}
    uploads = [f for f in request.files.getlist("filestream")
               if f and f.filename and id(f.stream) in made]
    if not uploads:
        return _upload_page(project, InvalidInput(
            "Choose at least one file to upload"), status=400)
    try:
        files = [(core_releases.check_name(f.filename), cast(core_releases.Incoming, f.stream))
                 for f in uploads]
        stored = core_releases.store_many(settings().data_dir, project, files)
    except ForgeError as exc:
        return _upload_page(project, exc, status=exc.status)
    added = [s.name for s in stored if s.added]
    same = [s.name for s in stored if not s.added]
    parts = []
    if added:
        parts.append("Uploaded " + ", ".join(added))
    if same:
        parts.append(", ".join(same) + " already there with the same content")
    flash_success("; ".join(parts) + ".")
    return redirect(project_url(project, "/releases"))


@project_route(bp, "/upload/delete", methods=["POST"], endpoint="delete_release_file")
def delete_release_file(repo: str, namespace: str | None = None,
                        username: str | None = None) -> Any:
    """Remove one uploaded file (field ``name``); CHECKSUMS follows."""
    project = _committer_project(repo, namespace, username)
    if isinstance(project, Response):
        return project
    name = request.form.get("name", "")
    try:
        core_releases.delete(settings().data_dir, project, name)
    except ForgeError as exc:
        flash_forge_error(exc)
        return redirect(project_url(project, "/upload"))
    flash_success(f"Deleted {name}.")
    return redirect(project_url(project, "/upload"))


@bp.route("/releases/<path:rest>")
def serve_release_file(rest: str) -> Response:
    """``/releases/<fullname>/<name>``: an uploaded file or CHECKSUMS."""
    fullname, _, name = rest.rpartition("/")
    if not fullname:
        abort(404)
    session = db()
    project = core_projects.by_fullname(session, fullname)
    if project is None or not access.can_see(session, current_user(), project):
        abort(404)
    conf = settings()
    try:
        path = core_releases.file_path(conf.data_dir, project, name)
    except NotFound:
        abort(404)
    st = path.stat()
    _ours, sums = core_releases.read_checksums(path.parent)
    etag = sums.get(name, {}).get("SHA256") if name != core_releases.CHECKSUMS else None
    if not etag:
        etag = hashlib.sha256(f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}".encode()
                              ).hexdigest()[:32]
    mimetype, inline = core_releases.content_type(name)
    resp = send_file(path, mimetype=mimetype, as_attachment=not inline, download_name=name,
                     etag=etag, conditional=True, max_age=None)
    resp.headers["Content-Type"] = mimetype  # as chosen (send_file adds a charset to text/)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    resp.headers["Cache-Control"] = ("private" if project.private else "public") + ", no-cache"
    return resp


# -- the list on {P}/releases ----------------------------------------------------------

@bp.app_template_global("release_uploads")
def release_uploads(project: Project) -> dict[str, Any]:
    """What ``releases/_uploads.html`` shows: the files, the CHECKSUMS link and
    whether the viewer may upload."""
    conf = settings()
    return {
        "files": core_releases.list_files(conf.data_dir, project),
        "checksums": core_releases.file_url(project, core_releases.CHECKSUMS)
        if core_releases.has_checksums(conf.data_dir, project) else None,
        "can_upload": access.can_commit(db(), current_user(), project),
        "upload_url": project_url(project, "/upload"),
        "file_url": core_releases.file_url,
    }
