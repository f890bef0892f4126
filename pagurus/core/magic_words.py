"""Commit-message magic words: "Fixes #12" closes issue 12, "Relates to #12"
links the commit to it, when commits reach the default branch of a project
with the ``Pagure`` plugin active.

References are ``#N`` (this project) or the full URL of an issue of any
project on this forge (``<base>/<project path>/issue/N``). The action is
taken as the commit's author when a verified email maps them to an account
with ticket access, else as the pusher; a reference the actor may not see
or act on is skipped silently (a commit message is not a request to us).
Each commit comments on an issue at most once, so pushing it again (or to
another branch later merged) does not repeat itself.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pagurus.core import issues as core_issues
from pagurus.core import projects as core_projects
from pagurus.core.errors import ForgeError
from pagurus.model import Issue, IssueComment, Project, User

log = logging.getLogger(__name__)

PLUGIN = "Pagure"
FIX_WORDS = r"fix|fixe[sd]?|merge[sd]?|close[sd]?|resolve[sd]?"
RELATE_WORDS = r"relate[sd]?(?:\s+to)?"
FIXED_STATUS = "Fixed"
REFS_MAX = 20  # references acted on per commit message


@dataclass(frozen=True)
class Reference:
    fixes: bool
    path: str | None  # project url_path from a full URL; None: this project
    number: int


def _pattern(base_url: str) -> re.Pattern[str]:
    url = re.escape(base_url.rstrip("/")) + r"/(?P<path>[\w.\-/]+?)/issue/(?P<unum>\d{1,9})"
    return re.compile(
        rf"(?<![\w-])(?P<word>{FIX_WORDS}|{RELATE_WORDS})\s*:?\s+"
        rf"(?:#(?P<num>\d{{1,9}})|{url})(?![\w/])", re.IGNORECASE)


def parse(message: str, base_url: str) -> list[Reference]:
    out: list[Reference] = []
    for m in _pattern(base_url).finditer(message or ""):
        fixes = not m.group("word").lower().startswith("relate")
        if m.group("num"):
            ref = Reference(fixes, None, int(m.group("num")))
        else:
            ref = Reference(fixes, m.group("path"), int(m.group("unum")))
        if ref not in out:
            out.append(ref)
        if len(out) >= REFS_MAX:
            break
    return out


def plugin_active(project: Project) -> bool:
    return bool(((project.plugins or {}).get(PLUGIN) or {}).get("active"))


def _project_at(session: Session, path: str) -> Project | None:
    parts = path.strip("/").split("/")
    fork_user = None
    if parts[0] in ("fork", "forks") and len(parts) >= 3:
        fork_user, parts = parts[1], parts[2:]
    if len(parts) == 1:
        return core_projects.get_project(session, parts[0], None, fork_user)
    if len(parts) == 2:
        return core_projects.get_project(session, parts[1], parts[0], fork_user)
    return None


def apply(session: Session, project: Project, *, commit_id: str, message: str,
          author: User | None, pusher: User | None, base_url: str) -> list[str]:
    """Act on the references of one commit; returns what was done, for the log."""
    refs = parse(message, base_url)
    if not refs:
        return []
    commit_url = f"{base_url}/{project.url_path}/c/{commit_id}"
    done: list[str] = []
    for ref in refs:
        target = project if ref.path is None else _project_at(session, ref.path)
        if target is None or not core_issues.tracker_enabled(target):
            continue
        issue = session.scalar(select(Issue).where(Issue.project_id == target.id,
                                                   Issue.number == ref.number))
        if issue is None:
            continue
        actor = next((u for u in (author, pusher) if u is not None
                      and core_issues.can_comment(session, u, issue)), None)
        if actor is None:
            continue
        already = session.scalar(select(IssueComment.id).where(
            IssueComment.issue_id == issue.id,
            IssueComment.comment.contains(f"/c/{commit_id})")).limit(1))
        if already is not None:
            continue
        short = commit_id[:8]
        verb = "fixes this issue" if ref.fixes else "relates to this ticket"
        try:
            with session.begin_nested():
                core_issues.add_comment(session, actor, issue,
                                        f"Commit [{short}]({commit_url}) {verb}",
                                        base_url=base_url)
        except ForgeError as exc:
            log.info("magic word on %s#%s not applied: %s", target.fullname, ref.number, exc)
            continue
        if ref.fixes and issue.status == core_issues.OPEN and \
                core_issues.can_change_status(session, actor, issue):
            status = FIXED_STATUS if FIXED_STATUS in (target.close_status or []) \
                else core_issues.CLOSED
            try:
                with session.begin_nested():
                    core_issues.update_metadata(session, actor, issue, base_url=base_url,
                                                status=status)
            except ForgeError as exc:  # e.g. blocked by an open issue: the comment stays
                log.info("%s#%s not closed: %s", target.fullname, ref.number, exc)
        done.append(f"{target.fullname}#{issue.number} {verb}")
    return done
