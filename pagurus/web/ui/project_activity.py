"""``{P}/activity``: what people did on a project, newest first, by day
(Pagure shows this from an external datagrepper; here it is the forge's own
activity log, ``core.project_activity``)."""

from __future__ import annotations

from datetime import UTC
from itertools import groupby
from typing import Any

from flask import Blueprint, abort, render_template, request

from pagurus.core import project_activity
from pagurus.core.activity import DayItem, local_day
from pagurus.web.activity import describe
from pagurus.web.context import current_user, db
from pagurus.web.routes import project_route
from pagurus.web.ui.project import _project, header_context

bp = Blueprint("ui_project_activity", __name__)


@project_route(bp, "/activity")
@project_route(bp, "/activity/", endpoint="project_activity_slash")
def project_activity_page(repo: str, namespace: str | None = None,
                          username: str | None = None) -> Any:
    project = _project(repo, namespace, username)
    raw = request.args.get("before", "")
    if raw and not raw.isdigit():
        abort(400, description="before: an entry number expected")
    page = project_activity.feed(db(), current_user(), project,
                                 before=int(raw) if raw else None)
    lines = [(local_day(entry.date_created, UTC), entry.date_created,
              describe(DayItem(project, entry.log_type, entry), user, ""))
             for entry, user in page.entries]
    days = [(day, [(when, text) for _day, when, text in items])
            for day, items in groupby(lines, key=lambda line: line[0])]
    return render_template("project/activity.html", days=days, older=page.older,
                           **header_context(project, "activity"))
