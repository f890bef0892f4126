"""A project's git-hook plugins: which exist here, what settings they take,
and switching them on and off (spec §e; API v0 §2.8).

Settings live in ``Project.plugins`` as ``{"<display name>": {"active": bool,
<field>: value}}``; the rules that act on them read that column
(``core.pushrules`` for pushes, ``core.magic_words`` for commit messages).
Every surface that changes plugins (the API today, a settings page later)
goes through :func:`install` and :func:`remove`, so validation and rights are
the same everywhere.

Only the plugins Pagurus acts on are offered. Pagure's other plugins (mail,
IRC, message bus, mirroring, Read the Docs, Pagure CI, ticket/request JSON
loading) are known by name and refused as disabled: storing settings that
nothing reads would tell a user their hook works when it does not. An
instance may disable more with the ``disabled_plugins`` setting (a list, or a
comma-separated string, in the config file's extra keys).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from pagurus.core import magic_words, pushrules
from pagurus.core.errors import InvalidInput, NotAllowed, NotFound
from pagurus.core.projects import require_admin
from pagurus.model import Project, User

DEFAULT = "default"  # Pagure's always-on hook: known, never changed
NOT_PROVIDED = ("Fedmsg", "IRC", "Mail", "Mirroring", "Pagure CI", "Pagure requests",
                "Pagure tickets", "Read the Doc")
FIELD_MAX = 1024


@dataclass(frozen=True)
class Field:
    """A setting of a plugin; ``required``: needed while the plugin is active."""

    name: str
    description: str
    required: bool = False


@dataclass(frozen=True)
class Plugin:
    name: str
    description: str
    fields: tuple[Field, ...] = ()

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]


PLUGINS: dict[str, Plugin] = {p.name: p for p in sorted((
    Plugin(pushrules.PLUGIN_SIGNED_OFF,
           "Refuse pushes to the main repository of commits without a Signed-off-by line."),
    Plugin(pushrules.PLUGIN_FORCE_PUSH,
           "Refuse deleting, and non fast-forward pushes to, the listed branches.",
           (Field("branches", "Comma-separated branch names, * for every branch.",
                  required=True),)),
    Plugin(magic_words.PLUGIN,
           "Act on commit messages reaching the default branch: \"Fixes #N\" closes "
           "issue N, \"Relates to #N\" links the commit to it."),
    Plugin(pushrules.PLUGIN_NO_NEW_BRANCHES,
           "Refuse creating branches by git push (tags are still accepted)."),
), key=lambda p: p.name)}


def disabled_names(extra: Mapping[str, Any] | None) -> set[str]:
    """Plugins this instance turned off (``disabled_plugins``), plus those it
    does not provide."""
    raw = (extra or {}).get("disabled_plugins") or ()
    if isinstance(raw, str):
        raw = raw.split(",")
    names = {str(n).strip() for n in raw} if isinstance(raw, (list, tuple, set)) else set()
    names.discard("")
    return names | set(NOT_PROVIDED)


def available(disabled: set[str]) -> list[Plugin]:
    """Plugins a project may turn on here, by name."""
    return [p for name, p in PLUGINS.items() if name not in disabled]


def find(name: str, disabled: set[str]) -> Plugin:
    """The plugin called ``name`` (exact display name), or the refusal: an
    unknown name is ENOPLUGIN, a disabled one EPLUGINDISABLED, ``default``
    EPLUGINCHANGENOTALLOWED."""
    if name == DEFAULT:
        raise NotAllowed("This plugin cannot be changed", code="EPLUGINCHANGENOTALLOWED",
                         status=403)
    if name in disabled:
        raise NotFound("Plugin disabled", code="EPLUGINDISABLED")
    plugin = PLUGINS.get(name)
    if plugin is None:
        raise NotFound("No such plugin", code="ENOPLUGIN")
    return plugin


def values(plugin: Plugin, conf: Mapping[str, Any] | None) -> dict[str, Any]:
    """The plugin's settings as shown (``active`` left out, like Pagure)."""
    conf = conf or {}
    return {f.name: conf.get(f.name) for f in plugin.fields}


def active(project: Project) -> list[tuple[Plugin, dict[str, Any]]]:
    """The project's active plugins with their settings, by name."""
    out = []
    for name, plugin in PLUGINS.items():
        conf = pushrules.plugin(project, name)
        if conf is not None:
            out.append((plugin, values(plugin, conf)))
    return out


def _clean(plugin: Plugin, data: Mapping[str, Any]) -> dict[str, Any]:
    """The submitted settings, checked; EINVALIDREQ with per-field messages."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for f in plugin.fields:
        value = data.get(f.name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            else:
                errors[f.name] = ["Must be a string."]
                continue
        value = value.strip()
        if f.required and not value:
            errors[f.name] = ["This field is required."]
        elif len(value) > FIELD_MAX:
            errors[f.name] = [f"Field cannot be longer than {FIELD_MAX} characters."]
        elif any(ord(c) < 32 or ord(c) == 127 for c in value):
            errors[f.name] = ["Control characters are not allowed."]
        else:
            cleaned[f.name] = value
    if errors:
        raise InvalidInput("Invalid plugin settings", errors=errors)
    return cleaned


def install(session: Session, actor: User, project: Project, plugin: Plugin,
            data: Mapping[str, Any]) -> dict[str, Any]:
    """Activate ``plugin`` on the project with the settings in ``data`` (an
    active plugin gets its settings replaced). Project admins only
    (EMODIFYPROJECTNOTALLOWED). Returns the settings as shown."""
    require_admin(session, actor, project)
    cleaned = _clean(plugin, data)
    plugins = dict(project.plugins or {})
    conf = dict(plugins.get(plugin.name) or {})
    conf.update(cleaned)
    conf["active"] = True
    plugins[plugin.name] = conf
    project.plugins = plugins  # a new dict: the JSON column tracks assignment only
    session.flush()
    return values(plugin, conf)


def remove(session: Session, actor: User, project: Project, plugin: Plugin) -> dict[str, Any]:
    """Deactivate ``plugin``, keeping its settings for a later install. Project
    admins only; EPLUGINNOTINSTALLED when it is not active."""
    require_admin(session, actor, project)
    conf = pushrules.plugin(project, plugin.name)
    if conf is None:
        raise InvalidInput("Project doesn't have this plugin installed",
                           code="EPLUGINNOTINSTALLED")
    plugins = dict(project.plugins or {})
    plugins[plugin.name] = {**conf, "active": False}
    project.plugins = plugins
    session.flush()
    return values(plugin, conf)
