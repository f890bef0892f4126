"""Repository content in the API (spec §2.2): the tree view and commit info."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pygit2
from flask import jsonify

from pagurus.git import refs
from pagurus.git import tree as git_tree
from pagurus.model import Project
from pagurus.web import context
from pagurus.web.api import bp
from pagurus.web.api.auth import Caller
from pagurus.web.api.errors import ApiError
from pagurus.web.api.registry import api_route
from pagurus.web.api.schemas import INT, NSTR, STR, array, obj

_HEX = re.compile(r"^[0-9a-fA-F]{4,64}$")
ENTRY_TYPES = ["folder", "file", "link", "submodule"]

TREE_ENTRY = obj({
    "type": {"type": "string", "enum": ENTRY_TYPES},
    "name": STR,
    "path": STR,
    "content_url": {**NSTR, "description": "folders: this API; files and links: the raw "
                                            "view; submodules: the file view"},
})
TREE_RESPONSE = {"oneOf": [
    obj({"type": {"type": "string", "enum": ["folder"]},
         "name": {**NSTR, "description": "The folder path asked for (null at the root)"},
         "content": array(TREE_ENTRY)}),
    obj({"type": {"type": "string", "enum": ["file", "link", "submodule"]},
         "name": STR, "content_url": NSTR}),
]}


def _open(project: Project) -> pygit2.Repository:
    try:
        repo = refs.open_repo(context.settings().data_dir, project.fullname)
    except (FileNotFoundError, pygit2.GitError) as exc:
        raise ApiError("EEMPTYGIT") from exc
    if refs.is_empty(repo):
        raise ApiError("EEMPTYGIT")
    return repo


def _root_for(repo: pygit2.Repository, identifier: str | None) -> pygit2.Tree:
    """The tree an identifier names: a branch, tag or commit, or a tree id."""
    try:
        return refs.resolve_commit(repo, identifier).tree
    except refs.RefNotFound:
        pass
    if identifier and _HEX.match(identifier):
        try:
            found = repo.get(identifier)
        except (KeyError, ValueError, pygit2.GitError):
            found = None
        if isinstance(found, pygit2.Tree):
            return found
    raise ApiError("EFILENOTFOUND")


def _split(repo: pygit2.Repository, rest: str) -> tuple[str, str]:
    try:
        refs.resolve_commit(repo, rest)
        return rest, ""
    except refs.RefNotFound:
        pass
    if "/f/" in rest:
        return refs.split_ref_and_path(repo, rest)
    return rest, ""


def _urls(project: Project, identifier: str) -> tuple[str, str, str]:
    base = context.base_url().rstrip("/") + "/"
    ident = quote(identifier, safe="/")
    return (f"{base}api/0/{project.url_path}/tree/{ident}/f/",
            f"{base}{project.url_path}/raw/{ident}/f/",
            f"{base}{project.url_path}/blob/{ident}/f/")


@api_route(
    bp, project="/tree", tag="git", summary="A folder or file of the repository",
    description="Without an identifier: HEAD's root folder. A file answers its raw URL.",
    response=TREE_RESPONSE, errors=("EEMPTYGIT", "EFILENOTFOUND"),
)
def api_view_tree_root(caller: Caller, project: Project) -> Any:
    return _tree_json(project, None, "")


@api_route(
    bp, project="/tree/<path:rest>", tag="git",
    summary="A folder or file at a branch, tag, commit or tree id",
    description="``<identifier>`` or ``<identifier>/f/<path>``; identifiers may contain "
                "slashes (the longest existing ref wins).",
    response=TREE_RESPONSE, errors=("EEMPTYGIT", "EFILENOTFOUND"),
)
def api_view_tree(caller: Caller, project: Project, rest: str) -> Any:
    repo = _open(project)
    identifier, path = _split(repo, rest)
    return _tree_json(project, identifier, path, repo)


def _tree_json(project: Project, identifier: str | None, path: str,
               repo: pygit2.Repository | None = None) -> Any:
    repo = repo or _open(project)
    root = _root_for(repo, identifier)
    if identifier is None:
        identifier = refs.head_branch(repo) or str(refs.resolve_commit(repo, None).id)
    try:
        path = git_tree.normalize_path(path)
        target = root[path] if path else root
    except (git_tree.PathNotFound, KeyError, ValueError, pygit2.GitError) as exc:
        raise ApiError("EFILENOTFOUND") from exc
    folder_url, raw_url, blob_url = _urls(project, identifier)
    if not isinstance(target, pygit2.Tree):
        kind = git_tree.entry_type(target.filemode)
        url = blob_url if kind == git_tree.SUBMODULE else raw_url
        return jsonify({"type": kind, "name": path, "content_url": url + quote(path, safe="/")})
    listing = git_tree.list_tree(repo, target, path)
    content = []
    for entry in listing.entries:
        if entry.type == git_tree.FOLDER:
            url = folder_url
        elif entry.type == git_tree.SUBMODULE:
            url = blob_url
        else:
            url = raw_url
        content.append({"type": entry.type, "name": entry.name, "path": entry.path,
                        "content_url": url + quote(entry.path, safe="/")})
    return jsonify({"type": "folder", "name": path or None, "content": content})


@api_route(
    bp, project="/c/<commit_hash>/info", tag="git", summary="One commit's metadata",
    response=obj({"author": STR, "committer": STR, "commit_time": INT,
                  "commit_time_offset": INT, "hash": STR, "message": STR,
                  "parent_ids": array(STR), "tree_id": STR}),
    errors=("ENOCOMMIT",),
)
def api_commit_info(caller: Caller, project: Project, commit_hash: str) -> Any:
    """``commit_hash`` is a full or abbreviated (4+) commit id; tag and tree
    ids, branch names and anything else answer ENOCOMMIT."""
    try:
        repo = refs.open_repo(context.settings().data_dir, project.fullname)
    except (FileNotFoundError, pygit2.GitError) as exc:
        raise ApiError("ENOCOMMIT") from exc
    if not _HEX.match(commit_hash):
        raise ApiError("ENOCOMMIT")
    try:
        found = repo.get(commit_hash)
    except (KeyError, ValueError, pygit2.GitError):
        found = None
    if not isinstance(found, pygit2.Commit):
        raise ApiError("ENOCOMMIT")
    commit = found
    return jsonify({
        "author": commit.author.raw_name.decode("utf-8", "replace"),
        "commit_time": commit.commit_time,
        "commit_time_offset": commit.commit_time_offset,
        "committer": commit.committer.raw_name.decode("utf-8", "replace"),
        "hash": str(commit.id),
        "message": commit.raw_message.decode("utf-8", "replace"),
        "parent_ids": [str(p) for p in commit.parent_ids],
        "tree_id": str(commit.tree_id),
    })
