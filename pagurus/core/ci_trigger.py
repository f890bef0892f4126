"""Asking CI to run again on a pull request (spec §c.5, ``TRIGGER_CI``).

The instance lists trigger sentences (``Settings.trigger_ci``). A comment
whose whole text, stripped and lower-cased, is one of them — typed as an
ordinary comment, or chosen from the page's "Rerun CI" menu, which posts
it as a notification comment — records the outbox event
``pull-request.ci.trigger`` (the pull request's JSON and the sentence), for
a CI integration to act on. Nothing here talks to a CI system.

Differences from Pagure, on purpose: no CI hook has to be active on the
project (the event is all a consumer needs), and the menu works on open
pull requests only.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from pagurus.core import pulls as core_pulls
from pagurus.core.errors import InvalidInput, NotAllowed
from pagurus.core.projects import project_payload
from pagurus.events import outbox
from pagurus.model import PullRequest, PullRequestComment, User

EVENT = "pull-request.ci.trigger"


def sentences(configured: Iterable[str]) -> list[str]:
    """The configured sentences as shown (stripped, blanks and repeats dropped)."""
    out: dict[str, str] = {}
    for text in configured:
        if isinstance(text, str) and text.strip():
            out.setdefault(text.strip().lower(), text.strip())
    return list(out.values())


def matching(text: object, configured: Iterable[str]) -> str | None:
    """The sentence ``text`` is (compared stripped and lower-cased), or None."""
    if not isinstance(text, str):
        return None
    wanted = text.strip().lower()
    return next((s for s in sentences(configured) if s.lower() == wanted), None)


def record(session: Session, actor: User, pr: PullRequest, sentence: str, *,
           base_url: str) -> None:
    """The event a CI integration listens to."""
    from pagurus.core.pull_json import pull_json

    outbox.record(session, EVENT,
                  {"pullrequest": pull_json(session, pr, base_url, comments=False),
                   "project": project_payload(pr.project), "comment": sentence,
                   "agent": actor.name},
                  project_id=pr.project_id, private=pr.project.private)


def note_comment(session: Session, actor: User, pr: PullRequest, comment: PullRequestComment,
                 configured: Iterable[str], *, base_url: str) -> bool:
    """After an ordinary comment: records the event when its text is a
    trigger sentence. Returns whether it was one."""
    sentence = None if comment.notification else matching(comment.comment, configured)
    if sentence is None:
        return False
    record(session, actor, pr, sentence, base_url=base_url)
    return True


def trigger(session: Session, actor: User | None, pr: PullRequest, text: object,
            configured: Iterable[str], *, base_url: str) -> PullRequestComment:
    """The "Rerun CI" menu: ``text`` must be one of the sentences; posts it
    as a notification comment and records the event. Whoever may comment
    on the pull request may ask."""
    core_pulls.require_pulls(pr.project)
    if actor is None or not core_pulls.can_comment(session, actor, pr):
        raise NotAllowed("You may not comment on this pull request")
    if pr.status != core_pulls.OPEN:
        raise InvalidInput("This pull request is not open",
                           errors={"comment": ["Only open pull requests run CI again"]})
    known = sentences(configured)
    if not known:
        raise InvalidInput("Re-running CI is not configured on this instance",
                           errors={"comment": ["No trigger sentence is configured"]})
    sentence = matching(text, known)
    if sentence is None:
        raise InvalidInput("Invalid input submitted: not a CI trigger sentence",
                           errors={"comment": ["Choose one of: " + "; ".join(known)]})
    core_pulls.system_comment(session, actor, pr, sentence)
    comment = pr.comments[-1]
    record(session, actor, pr, sentence, base_url=base_url)
    return comment
