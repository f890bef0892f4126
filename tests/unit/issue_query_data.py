"""A small tracker for the issue-list tests: a project with priorities,
milestones, close statuses, a custom field, and issues made through core
(plain functions; the root conftest owns the fixtures)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conftest import unique
from werkzeug.datastructures import MultiDict

from pagurus.core import issue_query, issues
from pagurus.core import projects as core_projects
from pagurus.model import Issue, IssueCustomKey, Project, User

BASE = "http://pagurus.test"


@dataclass
class Tracker:
    project: Project
    owner: User
    triager: User
    reporter: User
    stranger: User
    issues: dict[str, Issue]

    def n(self, key: str) -> int:
        return self.issues[key].number


def build(session: Any, settings: Any, make_user: Any) -> Tracker:
    owner, triager, reporter, stranger = (make_user(unique("own")), make_user(unique("tri")),
                                          make_user(unique("rep")), make_user(unique("str")))
    project = core_projects.create_project(session, settings, owner, unique("iq"), "desc")
    project.repo_state = "ready"
    project.priorities = {"1": "High", "2": "Normal", "3": "Low"}
    project.milestones = {"v1": {"date": "2030-01-01", "active": True},
                          "v2": {"date": None, "active": True},
                          "old": {"date": None, "active": False}}
    project.milestones_keys = ["v2", "v1", "old"]
    project.close_status = ["Fixed", "Invalid"]
    core_projects.set_user_access(session, owner, project, triager, "ticket")
    session.add(IssueCustomKey(project_id=project.id, name="os", key_type="text"))
    session.flush()

    def new(actor: User, title: str, content: str, **kw: Any) -> Issue:
        return issues.create_issue(session, actor, project, title=title, content=content,
                                   base_url=BASE, **kw)

    made = {
        "crash": new(owner, "Crash when saving a file", "The editor crashes on save.",
                     tags="bug, ui", priority="High", milestone="v1", assignee=triager.name),
        "theme": new(owner, "Add a dark theme", "Colours for the night.", tags="feature",
                     priority="Low", milestone="v2"),
        "secret": new(reporter, "Security hole in login", "A token leaks.", private=True),
        "typo": new(owner, "Typo in README", "Speling mistake.", priority="Normal"),
        "slow": new(triager, "Slow startup", "Takes ages to start.", tags="bug",
                    custom={"os": "Linux Debian"}, assignee=owner.name),
        "hostile": new(reporter, 'Quote " star * NEAR( - AND OR', "odd syntax here"),
    }
    issues.add_comment(session, reporter, made["theme"], "Ünïcode façade naïve 日本語 zebra",
                       base_url=BASE)
    issues.add_comment(session, reporter, made["secret"], "exploit details walrus",
                       base_url=BASE)
    issues.update_metadata(session, owner, made["typo"], base_url=BASE, status="Fixed")
    issues.update_metadata(session, owner, made["slow"], base_url=BASE, status="Invalid")
    session.commit()
    return Tracker(project, owner, triager, reporter, stranger, made)


def numbers(session: Any, viewer: User | None, t: Tracker, args: Any = None) -> list[int]:
    f = issue_query.parse_filters(session, t.project, MultiDict(args or {}))
    stmt = issue_query.issues_query(session, viewer, t.project, f)
    return [i.number for i in issue_query.page_of(session, stmt, 1, 100)]


def keys(t: Tracker, found: list[int]) -> set[str]:
    by_number = {i.number: k for k, i in t.issues.items()}
    return {by_number[n] for n in found}
