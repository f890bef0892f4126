"""Issue attachments in the web UI: upload (for the comment box, with or
without JavaScript) and the served files.

Files are served like raw repository files (``browse.py``): ``nosniff``, a
sandboxing CSP, active content (HTML, SVG, JS…) only as a download, images
inline. A file attached to an issue the viewer may not see, or to a project
they may not see, is a 404 like a missing one.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, request
from werkzeug.wrappers import Response
from werkzeug.wsgi import wrap_file

from pagurus.core import attachments as core_attachments
from pagurus.core import issues as core_issues
from pagurus.core.errors import ForgeError
from pagurus.model import Issue, Project
from pagurus.web import csrf
from pagurus.web.context import current_user, db, settings
from pagurus.web.routes import project_route
from pagurus.web.ui.browse import IMMUTABLE, _content_headers

bp = Blueprint("ui_attachments", __name__)
bp.before_request(csrf.protect)  # the token comes from the form field or the X-CSRFToken header

SNIFF = 8 * 1024  # bytes read to tell text from binary


def _project(repo: str, namespace: str | None, username: str | None) -> Project:
    from pagurus.web.ui.project import _project as load

    project = load(repo, namespace, username)
    if not core_issues.tracker_enabled(project):
        abort(404)
    return project


def _refusal(message: str, status: int) -> Any:
    return jsonify({"output": "notok", "error": message}), status


@project_route(bp, "/issue/<int:issueid>/upload", methods=["POST"])
def upload_issue_files(repo: str, issueid: int, namespace: str | None = None,
                       username: str | None = None) -> Any:
    """Store the ``filestream`` files (one or more) for an issue the user may
    comment on; the answer gives their names and URLs for the comment box."""
    project = _project(repo, namespace, username)
    user = current_user()
    if user is None:
        return _refusal("Log in to upload files", 401)
    session = db()
    try:
        issue = core_issues.get_issue(session, user, project, issueid, by_uid=False)
    except ForgeError:
        abort(404)
    if core_issues.tracker_read_only(project) or not core_issues.can_comment(session, user,
                                                                            issue):
        return _refusal("You may not add files to this issue", 403)
    uploads = [f for f in request.files.getlist("filestream") if f and f.filename]
    if not uploads:
        return _refusal("No file was sent (field filestream)", 400)
    conf = settings()
    stored = []
    try:
        for upload in uploads:
            stored.append(core_attachments.store(
                session, user, project, filename=upload.filename, stream=upload.stream,
                data_dir=conf.data_dir, max_size=conf.max_attachment_bytes, issue=issue))
    except ForgeError as exc:
        names = [row.name for row in stored]
        session.rollback()
        core_attachments.discard_orphans(session, conf.data_dir, project, names)
        return _refusal(exc.message, exc.status)
    session.commit()
    return jsonify({
        "output": "ok",
        "filenames": [core_attachments.display_name(row.name) for row in stored],
        "filelocations": [core_attachments.file_url(project, row.name) for row in stored],
    })


@project_route(bp, "/issue/raw/files/<name>")
def view_issue_raw_file(repo: str, name: str, namespace: str | None = None,
                        username: str | None = None) -> Response:
    """The exact bytes of an attachment, with the raw view's safe headers."""
    project = _project(repo, namespace, username)
    session = db()
    row = core_attachments.find(session, project, name)
    if row is None or row.issue_id is None:  # an issue's files go with the issue
        abort(404)
    issue = session.get(Issue, row.issue_id)
    if issue is None or not core_issues.can_view(session, current_user(), issue):
        abort(404)
    try:
        path = core_attachments.path_of(settings().data_dir, project, row)
    except ForgeError:
        abort(404)
    etag = row.name.split("-", 1)[0]
    hidden = project.private or issue.private
    if etag in request.if_none_match:
        resp = Response(status=304)
    else:
        handle = path.open("rb")
        head = handle.read(SNIFF)
        handle.seek(0)
        resp = Response(wrap_file(request.environ, handle), direct_passthrough=True)
        for key, value in _content_headers(core_attachments.display_name(row.name),
                                           head).items():
            resp.headers[key] = value
        resp.headers["Content-Length"] = str(path.stat().st_size)
    resp.set_etag(etag)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    resp.headers["Cache-Control"] = ("private, " if hidden else "public, ") + IMMUTABLE
    return resp
