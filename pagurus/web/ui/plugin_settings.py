"""``{P}/settings/hooks``: the git-hook plugins of a project (signed-off
commits, protected branches, no new branches, magic words), turned on, set
and turned off by project admins. Pagure's URLs: ``{P}/settings/<plugin>``
shows one plugin's form, POSTed to install (``active`` checked) or remove.
The rules are ``core.plugins``', shared with the API."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, abort, redirect, render_template, request

from pagurus.core import plugins as core_plugins
from pagurus.core import pushrules
from pagurus.core.errors import ForgeError
from pagurus.model import Project
from pagurus.web import csrf
from pagurus.web.context import current_user, db, settings
from pagurus.web.routes import project_route
from pagurus.web.ui.helpers import (
    flash_forge_error,
    flash_success,
    form_errors_from,
    is_true,
    recent_login_required,
)
from pagurus.web.ui.project import _admin_project, _gate, header_context

bp = Blueprint("ui_plugin_settings", __name__)
bp.before_request(csrf.protect)


def _anchor(name: str) -> str:
    return "hook-" + "".join(c if c.isalnum() else "-" for c in name.lower())


def _page(project: Project, errors: dict[str, dict[str, list[str]]] | None = None,
          form: dict[str, Any] | None = None, status: int = 200) -> tuple[str, int]:
    disabled = core_plugins.disabled_names(settings().extra)
    rows = []
    for plugin in core_plugins.available(disabled):
        conf = pushrules.plugin(project, plugin.name)
        stored = (project.plugins or {}).get(plugin.name) or {}
        shown = (form or {}).get(plugin.name) or core_plugins.values(plugin, stored)
        rows.append({"plugin": plugin, "active": conf is not None, "values": shown,
                     "anchor": _anchor(plugin.name)})
    return render_template("project/hooks.html", rows=rows, errors=errors or {},
                           **header_context(project, "settings")), status


@project_route(bp, "/settings/hooks")
def hook_settings(repo: str, namespace: str | None = None,
                  username: str | None = None) -> Any:
    project = _admin_project(repo, namespace, username)
    refused = _gate(recent_login_required)
    return refused if refused is not None else _page(project)


@project_route(bp, "/settings/<plugin>", methods=["POST"])
def update_hook(repo: str, plugin: str, namespace: str | None = None,
                username: str | None = None) -> Any:
    """Install (``active`` checked, with the plugin's fields) or remove one plugin."""
    project = _admin_project(repo, namespace, username)
    refused = _gate(recent_login_required)
    if refused is not None:
        return refused
    try:
        found = core_plugins.find(plugin, core_plugins.disabled_names(settings().extra))
    except ForgeError:
        abort(404)
    try:
        if is_true(request.form.get("active")):
            core_plugins.install(db(), current_user(), project, found, request.form)
            message = f"Hook {found.name} activated"
        elif pushrules.plugin(project, found.name) is not None:
            core_plugins.remove(db(), current_user(), project, found)
            message = f"Hook {found.name} deactivated"
        else:
            message = f"Hook {found.name} is already off"
        db().commit()
    except ForgeError as exc:
        db().rollback()
        flash_forge_error(exc)
        form = {found.name: {f.name: request.form.get(f.name, "") for f in found.fields}}
        return _page(project, {found.name: form_errors_from(exc)}, form,
                     403 if exc.status in (401, 403) else 400)
    flash_success(message)
    return redirect(f"/{project.url_path}/settings/hooks#{quote(_anchor(found.name))}")
