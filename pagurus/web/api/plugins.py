"""Git-hook plugins through API v0 (spec §2.8): what this instance offers,
what a project has on, and switching one on or off. The catalogue, checks
and rights are ``core.plugins``'.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify

from pagurus.core import plugins as core_plugins
from pagurus.core.errors import ForgeError
from pagurus.model import Project
from pagurus.web import context
from pagurus.web.api import bp
from pagurus.web.api.auth import Caller, require_user
from pagurus.web.api.params import body
from pagurus.web.api.registry import api_route
from pagurus.web.api.schemas import INT, NAMES, STR, array, obj

FIELDS = {"type": "object", "additionalProperties": {"type": ["string", "boolean", "null"]},
          "description": "Setting name -> value (active is left out)"}
CATALOGUE = ", ".join(
    f"{p.name} ({', '.join(p.field_names) or 'no settings'})"
    for p in core_plugins.PLUGINS.values())
PLUGIN_PATH_DOC = ("<plugin> is the display name, URL-encoded (e.g. Block%20Un-Signed%20commits). "
                   f"Offered here: {CATALOGUE}.")
CHANGE_ERRORS = ("ENOPLUGIN", "EPLUGINDISABLED", "EPLUGINCHANGENOTALLOWED",
                 "EMODIFYPROJECTNOTALLOWED")


def _disabled() -> set[str]:
    return core_plugins.disabled_names(context.settings().extra)


@api_route(
    bp, "/_plugins", tag="plugins", summary="The git-hook plugins this instance offers",
    response=obj({"plugins": array({"type": "object", "additionalProperties": NAMES}),
                  "total_plugins": INT}),
)
def api_plugins(caller: Caller) -> Any:
    """Each plugin with the names of its settings. Plugins this instance
    disabled are left out and, unlike Pagure, not counted either."""
    listed = [{p.name: p.field_names} for p in core_plugins.available(_disabled())]
    return jsonify({"plugins": listed, "total_plugins": len(listed)})


@api_route(
    bp, project="/settings/plugins", auth_mode="optional", tag="plugins",
    summary="The plugins active on a project",
    response=obj({"plugins": array({"type": "object", "additionalProperties": FIELDS}),
                  "total_plugins": INT}),
)
def api_project_plugins(caller: Caller, project: Project) -> Any:
    """Each active plugin with its settings."""
    listed = [{p.name: values} for p, values in core_plugins.active(project)]
    return jsonify({"plugins": listed, "total_plugins": len(listed)})


def _change(caller: Caller, project: Project, name: str, on: bool) -> Any:
    actor = require_user(caller)
    plugin = core_plugins.find(name, _disabled())
    session = context.db()
    try:
        if on:
            shown = core_plugins.install(session, actor, project, plugin, body().flat())
        else:
            shown = core_plugins.remove(session, actor, project, plugin)
        session.commit()
    except ForgeError:
        session.rollback()
        raise
    verb = "activated" if on else "deactivated"
    return jsonify({"message": f"Hook '{plugin.name}' {verb}", "plugin": shown})


@api_route(
    bp, project="/settings/<plugin>/install", methods=("POST",), auth_mode="token",
    acls=("modify_project",), tag="plugins", summary="Turn a plugin on for a project",
    description=(
        "Project admins only (401 EMODIFYPROJECTNOTALLOWED). The body holds the "
        "plugin's settings (see GET /_plugins); installing an active plugin replaces "
        "its settings. A missing required setting is 400 EINVALIDREQ with per-field "
        "errors. " + PLUGIN_PATH_DOC),
    response=obj({"message": STR, "plugin": FIELDS}),
    errors=CHANGE_ERRORS + ("EINVALIDREQ",),
)
def api_project_plugin_install(caller: Caller, project: Project, plugin: str) -> Any:
    return _change(caller, project, plugin, True)


@api_route(
    bp, project="/settings/<plugin>/remove", methods=("POST",), auth_mode="token",
    acls=("modify_project",), tag="plugins", summary="Turn a plugin off for a project",
    description=(
        "Project admins only (401 EMODIFYPROJECTNOTALLOWED); a plugin that is not "
        "active is 400 EPLUGINNOTINSTALLED. Its settings are kept for a later install. "
        + PLUGIN_PATH_DOC),
    response=obj({"message": STR, "plugin": FIELDS}),
    errors=CHANGE_ERRORS + ("EPLUGINNOTINSTALLED",),
)
def api_project_plugin_remove(caller: Caller, project: Project, plugin: str) -> Any:
    return _change(caller, project, plugin, False)
