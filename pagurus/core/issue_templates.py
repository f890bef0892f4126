"""Issue templates of a project, for the new-issue page and the tracker settings.

They are markdown files in the tickets repo (``git.ticket_templates``): those
with push access to it manage them with git, project admins also from the
settings page. ``default`` pre-fills a new issue; ``contributing`` is shown
above the form instead of being offered.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from pagurus import paths
from pagurus.config import Settings
from pagurus.core.errors import InvalidInput
from pagurus.core.projects import require_admin
from pagurus.core.tracker_settings import record_change
from pagurus.git import ticket_templates as git_templates
from pagurus.model import Project, User

NAME_MAX = 64
# a plain file name: no folders, no hidden files, nothing a shell or URL mangles
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$")


def templates(settings: Settings, project: Project) -> dict[str, str]:
    """{name: markdown}, sorted by name."""
    return git_templates.read_templates(_path(settings, project))


def check_name(value: Any) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if name.lower().endswith(".md"):
        name = name[:-3]
    if not name or len(name) > NAME_MAX or not _NAME.match(name) or name.endswith("."):
        raise InvalidInput("Invalid template name", errors={"template_name": [
            f"letters, digits, spaces, '.', '_' or '-', at most {NAME_MAX} characters"]})
    return name


def check_text(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidInput("Invalid template", errors={"template_text": ["text expected"]})
    text = value.replace("\r\n", "\n")
    if not text.strip():
        raise InvalidInput("Empty template", errors={"template_text": ["a text is required"]})
    if "\x00" in text or len(text.encode("utf-8", "surrogatepass")) > git_templates.MAX_SIZE:
        raise InvalidInput("Template too long", errors={"template_text": [
            f"at most {git_templates.MAX_SIZE // 1024} KiB of text"]})
    return text


def save(session: Session, settings: Settings, actor: User | None, project: Project,
         name: Any, text: Any) -> list[str]:
    """Add or replace one template; a refusal writes nothing."""
    user = require_admin(session, actor, project)
    name, text = check_name(name), check_text(text)
    if _write(settings, user, project, name, text):
        record_change(session, user, project, "issue_templates")
        return [f"Template {name} saved"]
    return []


def drop(session: Session, settings: Settings, actor: User | None, project: Project,
         name: Any) -> list[str]:
    user = require_admin(session, actor, project)
    name = check_name(name)
    if _write(settings, user, project, name, None):
        record_change(session, user, project, "issue_templates")
        return [f"Template {name} removed"]
    raise InvalidInput("No such template", errors={"template_name": ["no such template"]})


def _path(settings: Settings, project: Project) -> Any:
    return paths.repo_path(settings.data_dir, "tickets", project.fullname)


def _write(settings: Settings, user: User, project: Project, name: str,
           text: str | None) -> bool:
    try:
        return git_templates.write_template(_path(settings, project), name, text,
                                            user.fullname or user.name,
                                            user.default_email or f"{user.name}@localhost")
    except git_templates.TemplateConflict as exc:
        raise InvalidInput("The templates changed meanwhile: try again",
                           errors={"template_name": ["changed meanwhile"]}) from exc
    except FileNotFoundError as exc:
        raise InvalidInput("This project has no tickets repository",
                           errors={"template_name": ["no tickets repository"]}) from exc
