"""Project settings for the issue tracker: ``{P}/settings/tracker``.

Coloured tags, milestones, priorities (and the default one), close statuses,
custom fields, quick replies and issue templates (files of the tickets repo,
``core.issue_templates``). Project admins only (others get a 404, as
for ``{P}/settings``), with a recent login; every form is CSRF-protected and
posts to Pagure's URL for it (``{P}/update/milestones``…). The rules,
including what renaming does to existing issues, live in
``core.tracker_settings`` and ``core.tags``. The tracker on/off switches are
booleans of the main settings page (``{P}/settings#options``), not repeated
here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from flask import Blueprint, redirect, render_template, request
from werkzeug.wrappers import Response

from pagurus.core import issue_templates as core_templates
from pagurus.core import issues as core_issues
from pagurus.core import tags as core_tags
from pagurus.core import tracker_settings as core_settings
from pagurus.core.errors import ForgeError, InvalidInput
from pagurus.model import Project
from pagurus.web import csrf
from pagurus.web.context import current_user, db, settings
from pagurus.web.routes import project_route
from pagurus.web.ui.boards import colors_css, picked_color, picker_value, tag_rules
from pagurus.web.ui.helpers import (
    flash_forge_error,
    flash_success,
    form_errors_from,
    is_true,
    recent_login_required,
)
from pagurus.web.ui.project import _admin_project, _gate, header_context

bp = Blueprint("ui_issue_settings", __name__)
bp.before_request(csrf.protect)

BLANK_ROWS = 3
SECTIONS = ("tags", "milestones", "priorities", "close-statuses", "custom-fields",
            "quick-replies", "issue-templates")


def _page(project: Project, errors: dict[str, dict[str, list[str]]] | None = None,
          status: int = 200) -> tuple[str, int]:
    session = db()
    stones = project.milestones or {}
    order = [m for m in (project.milestones_keys or []) if m in stones]
    order += [m for m in stones if m not in order]
    milestones = [{"name": m, "date": (stones[m] or {}).get("date") or "",
                   "active": bool((stones[m] or {}).get("active", True))} for m in order]
    return render_template(
        "issue_settings/settings.html", errors=errors or {},
        issue_tags=core_tags.project_tags(session, project), picker_value=picker_value,
        tag_edit_url=tag_edit_url, default_priority=project.default_priority or "",
        milestones=milestones, priorities=core_settings.sorted_priorities(project),
        close_statuses=list(project.close_status or []),
        custom_keys=core_issues.custom_keys(session, project),
        custom_types=core_issues.CUSTOM_TYPES,
        quick_replies=list(project.quick_replies or []), blank_rows=BLANK_ROWS,
        issue_templates=core_templates.templates(settings(), project),
        **header_context(project, "settings")), status


def _status_of(exc: ForgeError) -> int:
    status = int(getattr(exc, "status", 400) or 400)
    return 403 if status == 401 else (status if 400 <= status < 500 else 400)


def _gated(repo: str, namespace: str | None, username: str | None) -> Project | Response:
    project = _admin_project(repo, namespace, username)
    refused = _gate(recent_login_required)
    return refused if refused is not None else project


def _apply(repo: str, namespace: str | None, username: str | None, section: str,
           change: Callable[[Project], list[str]]) -> Any:
    """Run one form's change; on refusal re-render the page (400) with the
    errors next to that section and nothing changed."""
    found = _gated(repo, namespace, username)
    if isinstance(found, Response):
        return found
    project = found
    try:
        messages = change(project)
        db().commit()
    except ForgeError as exc:
        db().rollback()
        flash_forge_error(exc)
        errors = form_errors_from(exc)
        return _page(project, {section: errors or {"_": [exc.message]}}, _status_of(exc))
    flash_success("; ".join(messages) if messages else "Nothing changed")
    return redirect(f"/{project.url_path}/settings/tracker#{section}")


@project_route(bp, "/settings/tracker")
@project_route(bp, "/settings/tracker/", endpoint="tracker_settings_slash")
def tracker_settings(repo: str, namespace: str | None = None,
                     username: str | None = None) -> Any:
    found = _gated(repo, namespace, username)
    if isinstance(found, Response):
        return found
    return _page(found)


@project_route(bp, "/settings/tracker/colors.css")
def tracker_colors(repo: str, namespace: str | None = None,
                   username: str | None = None) -> Response:
    project = _admin_project(repo, namespace, username)
    return colors_css(tag_rules(core_tags.project_tags(db(), project)))


# -- tags -----------------------------------------------------------------------------

@project_route(bp, "/update/tags", methods=["POST"])
def update_tags(repo: str, namespace: str | None = None, username: str | None = None) -> Any:
    """New tags: repeated ``tag``, ``tag_description``, ``tag_color`` (Pagure's
    fields) with ``tag_color_pick`` from the colour picker; blank names skipped."""
    form = request.form

    def change(project: Project) -> list[str]:
        names = form.getlist("tag")
        descriptions = form.getlist("tag_description")
        colors = form.getlist("tag_color")
        picks = form.getlist("tag_color_pick")
        made = []
        for i, name in enumerate(names):
            if not name.strip():
                continue
            color = colors[i].strip() if i < len(colors) else ""
            if not color and i < len(picks):
                color = picks[i].strip()
            tag = core_tags.create_tag(db(), current_user(), project, name,
                                       descriptions[i] if i < len(descriptions) else "",
                                       color or None)
            made.append(tag.name)
        if not made:
            raise InvalidInput("Give the new tag a name", errors={"tag": ["a name is required"]})
        return [f"Tag{'s' if len(made) > 1 else ''} created: {', '.join(made)}"]

    return _apply(repo, namespace, username, "tags", change)


@project_route(bp, "/tag/<tag>/edit", methods=["POST"])
def edit_tag(repo: str, tag: str, namespace: str | None = None,
             username: str | None = None) -> Any:
    """Rename, describe, recolour; renaming onto another tag's name is refused."""
    form = request.form

    def change(project: Project) -> list[str]:
        row = core_tags.find_tag(db(), project, tag)
        if row is None:
            raise InvalidInput(f"No tag named {tag[:80]}", errors={"tag": ["unknown tag"]})
        old = (row.name, row.description, row.color)
        color = picked_color(form, "tag_color", "tag_color_pick")
        core_tags.edit_tag(db(), current_user(), project, row, name=form.get("tag"),
                           description=form.get("tag_description"), color=color or None)
        if (row.name, row.description, row.color) == old:
            return []
        return [f"Tag {row.name} saved"]

    return _apply(repo, namespace, username, "tags", change)


@project_route(bp, "/droptag/", methods=["POST"])
def drop_tag(repo: str, namespace: str | None = None, username: str | None = None) -> Any:
    """``tag``: names, repeated or comma-separated; also taken off every issue
    and pull request (and boards following a deleted tag go with it)."""
    form = request.form

    def change(project: Project) -> list[str]:
        names = [n for value in form.getlist("tag") for n in core_tags.split_names(value)]
        if not names:
            raise InvalidInput("Say which tag to delete", errors={"tag": ["a name is required"]})
        rows = [core_tags.find_tag(db(), project, n) for n in names]
        unknown = [n for n, r in zip(names, rows, strict=True) if r is None]
        if unknown:
            raise InvalidInput(f"No tag named {unknown[0][:80]}",
                               errors={"tag": [f"unknown tag: {n[:80]}" for n in unknown]})
        for row in rows:
            assert row is not None
            core_tags.delete_tag(db(), current_user(), project, row)
        return [f"Tag{'s' if len(names) > 1 else ''} deleted: {', '.join(names)}"]

    return _apply(repo, namespace, username, "tags", change)


# -- milestones, priorities, close statuses ---------------------------------------------

def _indexed(prefix: str) -> list[int]:
    """Row indices of ``<prefix>`` repeated fields (Pagure's ``milestones``)."""
    out = []
    for value in request.form.getlist(prefix):
        if value.strip().isdigit() and int(value) < 10_000 and int(value) not in out:
            out.append(int(value))
    return out


@project_route(bp, "/update/milestones", methods=["POST"])
def update_milestones(repo: str, namespace: str | None = None,
                      username: str | None = None) -> Any:
    """Rows named by ``milestones`` (indices) with ``milestone_<i>_name``,
    ``_date``, ``_active``, ``_orig`` (name before) and ``_order`` (optional
    position; ties keep the page's order)."""
    form = request.form

    def change(project: Project) -> list[str]:
        rows = []
        for n, i in enumerate(_indexed("milestones")):
            order = (form.get(f"milestone_{i}_order") or "").strip()
            rows.append(((int(order) if order.lstrip("-").isdigit() and len(order) < 7
                          else n + 1, n), {
                "name": form.get(f"milestone_{i}_name"),
                "date": form.get(f"milestone_{i}_date"),
                "active": is_true(form.get(f"milestone_{i}_active")),
                "orig": form.get(f"milestone_{i}_orig")}))
        rows.sort(key=lambda r: r[0])
        return core_settings.set_milestones(db(), current_user(), project,
                                            [r for _, r in rows])

    return _apply(repo, namespace, username, "milestones", change)


def _parallel(*names: str) -> list[dict[str, str]]:
    """Parallel repeated fields as rows (missing trailing values are '')."""
    lists = [request.form.getlist(n) for n in names]
    size = max((len(v) for v in lists), default=0)
    return [{n: (v[i] if i < len(v) else "") for n, v in zip(names, lists, strict=True)}
            for i in range(size)]


@project_route(bp, "/update/priorities", methods=["POST"])
def update_priorities(repo: str, namespace: str | None = None,
                      username: str | None = None) -> Any:
    """Parallel ``priority_weigth`` (sic, Pagure's), ``priority_title`` and
    ``priority_orig`` (the weight before) fields."""
    def change(project: Project) -> list[str]:
        rows = [{"weight": r["priority_weigth"], "title": r["priority_title"],
                 "orig": r["priority_orig"]}
                for r in _parallel("priority_weigth", "priority_title", "priority_orig")]
        return core_settings.set_priorities(db(), current_user(), project, rows)

    return _apply(repo, namespace, username, "priorities", change)


@project_route(bp, "/update/default_priority", methods=["POST"])
def update_default_priority(repo: str, namespace: str | None = None,
                            username: str | None = None) -> Any:
    def change(project: Project) -> list[str]:
        return core_settings.set_default_priority(db(), current_user(), project,
                                                  request.form.get("priority", ""))

    return _apply(repo, namespace, username, "priorities", change)


@project_route(bp, "/update/close_status", methods=["POST"])
def update_close_status(repo: str, namespace: str | None = None,
                        username: str | None = None) -> Any:
    """Parallel ``close_status`` and ``close_status_orig`` fields, in order."""
    def change(project: Project) -> list[str]:
        rows = [{"name": r["close_status"], "orig": r["close_status_orig"]}
                for r in _parallel("close_status", "close_status_orig")]
        return core_settings.set_close_statuses(db(), current_user(), project, rows)

    return _apply(repo, namespace, username, "close-statuses", change)


# -- custom fields and quick replies ---------------------------------------------------

@project_route(bp, "/update/custom_keys", methods=["POST"])
def update_custom_keys(repo: str, namespace: str | None = None,
                       username: str | None = None) -> Any:
    """Parallel ``custom_keys``, ``custom_keys_type``, ``custom_keys_data``,
    ``custom_keys_orig`` fields and ``custom_keys_notify-<row>`` checkboxes
    (Pagure's names); fields not sent again are deleted."""
    def change(project: Project) -> list[str]:
        rows = []
        for i, r in enumerate(_parallel("custom_keys", "custom_keys_type", "custom_keys_data",
                                        "custom_keys_orig")):
            rows.append({"name": r["custom_keys"], "key_type": r["custom_keys_type"],
                         "data": r["custom_keys_data"], "orig": r["custom_keys_orig"],
                         "notify": is_true(request.form.get(f"custom_keys_notify-{i}"))})
        return core_settings.set_custom_keys(db(), current_user(), project, rows)

    return _apply(repo, namespace, username, "custom-fields", change)


@project_route(bp, "/update/quick_replies", methods=["POST"])
def update_quick_replies(repo: str, namespace: str | None = None,
                         username: str | None = None) -> Any:
    """Repeated ``quick_reply`` texts, in order; empty ones are dropped."""
    def change(project: Project) -> list[str]:
        return core_settings.set_quick_replies(db(), current_user(), project,
                                               request.form.getlist("quick_reply"))

    return _apply(repo, namespace, username, "quick-replies", change)


@project_route(bp, "/update/issue_templates", methods=["POST"])
def update_issue_template(repo: str, namespace: str | None = None,
                          username: str | None = None) -> Any:
    """One template, ``template_name`` and ``template_text``: added, or replaced
    when the name exists."""
    def change(project: Project) -> list[str]:
        return core_templates.save(db(), settings(), current_user(), project,
                                   request.form.get("template_name"),
                                   request.form.get("template_text"))

    return _apply(repo, namespace, username, "issue-templates", change)


@project_route(bp, "/droptemplate", methods=["POST"])
def drop_issue_template(repo: str, namespace: str | None = None,
                        username: str | None = None) -> Any:
    def change(project: Project) -> list[str]:
        return core_templates.drop(db(), settings(), current_user(), project,
                                   request.form.get("template_name"))

    return _apply(repo, namespace, username, "issue-templates", change)


def tag_edit_url(project: Project, name: str) -> str:
    return f"/{project.url_path}/tag/{quote(name, safe='')}/edit"
