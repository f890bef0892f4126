"""Commit flags (spec §2.2 ``{P}/c/<hash>/flag``): CI statuses on a commit.

The rules (statuses, uid updates, URL checks, who may flag) are
``core.flags``'; this module reads the request and shapes the JSON. The
pull-request flag endpoints live with the other PR endpoints
(``web.api.pulls``) and use the same helpers.
"""

from __future__ import annotations

import re
from typing import Any

import pygit2
from flask import jsonify

from pagurus.core import flags as core_flags
from pagurus.core.errors import ForgeError
from pagurus.git import refs
from pagurus.model import Project
from pagurus.web import context
from pagurus.web.api import bp
from pagurus.web.api.auth import Caller, require_user
from pagurus.web.api.errors import ApiError
from pagurus.web.api.params import Body, body
from pagurus.web.api.registry import Param, api_route
from pagurus.web.api.schemas import COMPONENTS, EPOCH, INT, STR, array, obj, ref

_HEX = re.compile(r"^[0-9a-fA-F]{4,64}$")

COMPONENTS.setdefault("CommitFlag", obj({
    "commit_hash": STR,
    "username": {**STR, "description": "Display name of the CI or service"},
    "percent": {"type": ["integer", "null"]},
    "comment": STR,
    "status": {"type": "string", "enum": list(core_flags.STATUSES)},
    "url": STR,
    "date_created": EPOCH,
    "date_updated": EPOCH,
    "user": {**ref("User"), "description": "Who posted the flag last (the token owner)"},
}))

FLAG_DOC = (
    "Posting again with the ``uid`` of a flag of the same commit updates that flag "
    "(message \"Flag updated\"); without ``uid`` one is generated and returned. The "
    "poster needs commit access on the project (Pagure only checks the token's ACL), "
    "else 401 ENOTHIGHENOUGH. ``url`` must be an absolute http:// or https:// URL "
    "(Pagure took any scheme): javascript:, data: and others are refused with 400 "
    "EINVALIDREQ. Text is stored and returned as posted; pages escape it.")
REQUIRED = ("username", "comment", "url")


def flag_params(status_doc: str, status_required: bool) -> tuple[Param, ...]:
    return (
        Param("username", "Display name of the CI or service (one line, at most 255 "
                          "characters).", required=True),
        Param("comment", "Short text summarizing the result.", required=True),
        Param("url", "Link to the details: an absolute http(s) URL.", required=True),
        Param("status", status_doc, required=status_required,
              enum=core_flags.STATUSES),
        Param("percent", "Completion, an integer from 0 to 100.", "integer"),
        Param("uid", "At most 32 characters; an existing uid on this commit updates "
                     "that flag."),
    )


def flag_fields(data: Body, *, status_required: bool) -> dict[str, Any]:
    """The flag fields of the body; every missing required field reported at once."""
    wanted = REQUIRED + (("status",) if status_required else ())
    fields = {key: data.text(key) for key in (*REQUIRED, "status", "uid")}
    missing = {key: ["This field is required."] for key in wanted
               if not (fields.get(key) or "").strip()}
    if missing:
        raise ApiError("EINVALIDREQ", errors=missing)
    fields["percent"] = data.raw("percent")
    return fields


def _commit(project: Project, commit_hash: str) -> str:
    """The full id of a commit of the project's repo, or 404 ENOCOMMIT."""
    if not _HEX.match(commit_hash):
        raise ApiError("ENOCOMMIT")
    try:
        repo = refs.open_repo(context.settings().data_dir, project.fullname)
        found = repo.get(commit_hash)
    except (FileNotFoundError, KeyError, ValueError, pygit2.GitError):
        found = None
    if not isinstance(found, pygit2.Commit):
        raise ApiError("ENOCOMMIT")
    return str(found.id)


@api_route(
    bp, project="/c/<commit_hash>/flag", tag="flags", summary="The flags of a commit",
    description=("``commit_hash``: a full or abbreviated (4+) commit id of the project "
                 "(else 404 ENOCOMMIT). Flags are listed most recently updated first."),
    response=obj({"total_flags": INT, "flags": array(ref("CommitFlag"))}),
    errors=("ENOCOMMIT",),
)
def api_commit_flags(caller: Caller, project: Project, commit_hash: str) -> Any:
    full = _commit(project, commit_hash)
    flags = core_flags.flags_of_commit(context.db(), project, full)
    base = context.base_url()
    return jsonify({"total_flags": len(flags),
                    "flags": [core_flags.flag_json(f, base) for f in flags]})


@api_route(
    bp, project="/c/<commit_hash>/flag", methods=("POST",), auth_mode="token",
    acls=("commit_flag",), tag="flags", summary="Flag a commit (add or update a CI status)",
    description=("``commit_hash``: a full or abbreviated (4+) commit id of the project "
                 "(else 404 ENOCOMMIT); the flag is stored on the full id. " + FLAG_DOC
                 + " Records the event ``commit.flag.added`` or ``commit.flag.updated``. "
                 "The returned flag's user includes emails (non-public view)."),
    body=flag_params("One of: " + ", ".join(core_flags.STATUSES) + ".", True),
    response=obj({"flag": ref("CommitFlag"), "message": {
        **STR, "description": "\"Flag added\" or \"Flag updated\""}, "uid": STR}),
    errors=("ENOCOMMIT", "EINVALIDREQ", "ENOTHIGHENOUGH"),
)
def api_commit_add_flag(caller: Caller, project: Project, commit_hash: str) -> Any:
    actor = require_user(caller)
    fields = flag_fields(body(), status_required=True)
    full = _commit(project, commit_hash)
    session = context.db()
    base = context.base_url()
    try:
        flag, created = core_flags.add_or_update(session, actor, caller.token, project, full,
                                                 base_url=base, **fields)
    except ForgeError:
        session.rollback()
        raise
    session.commit()
    return jsonify({"flag": core_flags.flag_json(flag, base, public=False),
                    "message": "Flag added" if created else "Flag updated",
                    "uid": flag.uid})
