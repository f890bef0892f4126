"""Files attached to issues: stored once per project, named by their content.

A file lands in ``<data>/attachments/<project id>/<sha256>-<safe name>``: the
content hash makes equal uploads share one file and makes the name a stable,
cacheable URL; the safe name (werkzeug's ``secure_filename``) keeps only
ASCII letters, digits, ``.``, ``-`` and ``_``, so no upload can name a path
outside its folder. Files are written to a temporary file in the same folder
and renamed into place, so a reader never sees half a file.

Who may upload (comment rights on the issue) and see (the issue's
visibility) is decided by ``core.issues``; this module only stores and finds.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import tempfile
from pathlib import Path
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.utils import secure_filename

from pagurus.core.errors import InvalidInput, NotFound
from pagurus.model import Attachment, Issue, Project, User
from pagurus.paths import UnsafePath, safe_join

CHUNK = 64 * 1024
SAFE_NAME_MAX = 150  # with the hash, within the 255 bytes of a file name
NAME_RE = re.compile(r"^[0-9a-f]{64}-[A-Za-z0-9._-]{1,150}$")  # 150: SAFE_NAME_MAX
PLACEHOLDER = "<!!image>"


def folder(data_dir: Path, project: Project) -> Path:
    """The project's attachment folder (by id: renames and transfers keep it)."""
    return safe_join(Path(data_dir) / "attachments", str(project.id))


def safe_name(filename: str | None) -> str:
    """The file-system-safe part of an upload's name, never empty, at most
    ``SAFE_NAME_MAX`` characters (the extension kept)."""
    name = secure_filename(filename or "") or "file"
    if name.startswith("."):  # ".bashrc" -> "bashrc": no hidden files
        name = name.lstrip(".") or "file"
    if len(name) > SAFE_NAME_MAX:
        stem, ext = os.path.splitext(name)
        ext = ext[:20]
        name = stem[:SAFE_NAME_MAX - len(ext)] + ext
    return name


def display_name(stored: str) -> str:
    """``<sha>-<safe name>`` -> ``<safe name>``."""
    return stored.split("-", 1)[1] if "-" in stored else stored


def store(session: Session, actor: User, project: Project, *, filename: str | None,
          stream: IO[bytes], data_dir: Path, max_size: int,
          issue: Issue | None = None) -> Attachment:
    """Write the upload and record it; an upload larger than ``max_size``
    bytes is refused (413) and leaves nothing behind."""
    target_dir = folder(data_dir, project)
    target_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(prefix=".upload-", dir=target_dir)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_size:
                    raise InvalidInput(
                        f"The file is larger than the limit of {max_size} bytes",
                        status=413, errors={"filestream": [f"At most {max_size} bytes."]})
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        name = f"{digest.hexdigest()}-{safe_name(filename)}"
        path = safe_join(target_dir, name)
        if path.exists():
            tmp.unlink()
        else:
            tmp.chmod(0o644)
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    row = find(session, project, name)
    if row is None:
        row = Attachment(project_id=project.id, issue_id=issue.id if issue else None,
                         name=name, filename=(filename or display_name(name))[:255], size=size,
                         content_type=mimetypes.guess_type(name)[0] or
                         "application/octet-stream", user_id=actor.id)
        session.add(row)
    elif row.issue_id is None and issue is not None:
        row.issue_id = issue.id
    session.flush()
    return row


def attach(session: Session, row: Attachment, issue: Issue) -> None:
    """Tie an attachment stored before its issue existed (new-issue uploads)."""
    if row.issue_id is None:
        row.issue_id = issue.id
        session.flush()


def find(session: Session, project: Project, name: str) -> Attachment | None:
    if not isinstance(name, str) or not NAME_RE.match(name):
        return None
    return session.scalar(select(Attachment).where(Attachment.project_id == project.id,
                                                   Attachment.name == name))


def issue_attachments(session: Session, issue: Issue) -> list[Attachment]:
    return list(session.scalars(select(Attachment).where(Attachment.issue_id == issue.id)
                                .order_by(Attachment.date_created, Attachment.id)))


def path_of(data_dir: Path, project: Project, row: Attachment) -> Path:
    """The stored file of ``row``; NotFound if it is gone or the name is not one
    this module could have made."""
    if not NAME_RE.match(row.name) or row.project_id != project.id:
        raise NotFound("File not found", code="ENOCODE")
    try:
        path = safe_join(folder(data_dir, project), row.name)
    except UnsafePath:
        raise NotFound("File not found", code="ENOCODE") from None
    if not path.is_file():
        raise NotFound("File not found", code="ENOCODE")
    return path


def markdown_link(name: str, url: str) -> str:
    """``[![name](url)](url)``: an image preview linking to the file."""
    return f"[![{display_name(name)}]({url})]({url})"


def file_url(project: Project, name: str) -> str:
    """Path of the served file (relative to the instance, like Pagure's links)."""
    return f"/{project.url_path}/issue/raw/files/{name}"


def fill_placeholders(content: str, links: list[str]) -> str:
    """Each ``<!!image>`` in ``content`` takes the next link, in upload order
    (Pagure's placeholder for a file sent with a new issue)."""
    for link in links:
        if PLACEHOLDER not in content:
            break
        content = content.replace(PLACEHOLDER, link, 1)
    return content


def discard_orphans(session: Session, data_dir: Path, project: Project,
                    names: list[str]) -> None:
    """After a refused change was rolled back: remove the files it wrote that
    no attachment row of the project refers to."""
    for name in names:
        if find(session, project, name) is None:
            try:
                safe_join(folder(data_dir, project), name).unlink(missing_ok=True)
            except (UnsafePath, OSError):
                pass
