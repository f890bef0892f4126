"""Activity entries as the API and the user page show them: JSON (spec §3.11)
and one HTML sentence each ("alice committed on demo#1a2b3c4").

Sentences are built with ``markupsafe`` (every name, path and id escaped by
``Markup.format``), never by string concatenation.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

from pagurus.core import serialize
from pagurus.core.activity import DayItem, local_day
from pagurus.model import User

_VERBS = {"created": "created", "commented": "commented on", "closed": "closed",
          "open": "reopened", "merged": "merged", "committed": "committed on"}


def _link(href: str, text: str) -> Markup:
    return Markup('<a href="{}">{}</a>').format(href, text)


def describe(item: DayItem, user: User, base_url: str) -> Markup:
    """The sentence of one item (``grouped`` commit items included)."""
    project = item.project
    who = _link(f"{base_url}/user/{quote(user.name)}", user.name)
    project_url = f"{base_url}/{project.url_path}"
    entry = item.entry
    if entry is None:  # commits of one project, collapsed
        noun = "commit" if item.count == 1 else "commits"
        return Markup("{} pushed {} {} to {}").format(
            who, item.count, noun, _link(project_url, project.fullname))
    verb = _VERBS.get(entry.log_type, entry.log_type)
    ref = entry.ref_id
    if entry.log_type == "committed":
        target = _link(f"{project_url}/c/{quote(ref)}", f"{project.fullname}#{ref[:7]}")
    elif entry.pull_request_uid:
        verb += " PR"
        target = _link(f"{project_url}/pull-request/{quote(ref)}", f"{project.fullname}#{ref}")
    elif entry.issue_uid:
        verb += " issue"
        target = _link(f"{project_url}/issue/{quote(ref)}", f"{project.fullname}#{ref}")
    else:
        verb += " Project"
        target = _link(project_url, project.fullname)
    return Markup("{} {} {}").format(who, verb, target)


def entry_json(item: DayItem, user: User, base_url: str, tz: tzinfo) -> dict[str, Any]:
    """§3.11 fields plus ``description_mk``; a grouped item has only the latter."""
    sentence = str(describe(item, user, base_url))
    entry = item.entry
    if entry is None:
        return {"description_mk": sentence}
    return {
        "id": entry.id,
        "type": entry.log_type,
        "ref_id": entry.ref_id,
        "date": local_day(entry.date_created, tz).isoformat(),
        "date_created": serialize.epoch(entry.date_created),
        "user": serialize.user_json(user, base_url),
        "description_mk": sentence,
    }
