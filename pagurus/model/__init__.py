"""Database tables (SQLAlchemy 2, typed). No logic lives here."""

from pagurus.model.activity import ActivityLog
from pagurus.model.base import Base, utcnow
from pagurus.model.events import Event, EventDelivery
from pagurus.model.issues import (
    DEFAULT_TAG_COLOR,
    Attachment,
    Board,
    BoardIssue,
    BoardStatus,
    Issue,
    IssueComment,
    IssueCustomKey,
    IssueCustomValue,
    IssueDependency,
    IssueTag,
    IssueWatcher,
    TagColored,
)
from pagurus.model.projects import (
    Project,
    ProjectGroup,
    ProjectTag,
    ProjectUser,
    Star,
    Watcher,
)
from pagurus.model.pulls import (
    CommitFlag,
    PullRequest,
    PullRequestComment,
    PullRequestIssue,
    PullRequestTag,
    PullRequestWatcher,
)
from pagurus.model.tokens import ApiToken
from pagurus.model.users import Group, GroupMember, SSHKey, User, UserEmail
from pagurus.model.webhooks import WebhookDelivery

__all__ = [
    "DEFAULT_TAG_COLOR",
    "ActivityLog",
    "ApiToken",
    "Attachment",
    "Base",
    "Board",
    "BoardIssue",
    "BoardStatus",
    "CommitFlag",
    "Event",
    "EventDelivery",
    "Group",
    "GroupMember",
    "Issue",
    "IssueComment",
    "IssueCustomKey",
    "IssueCustomValue",
    "IssueDependency",
    "IssueTag",
    "IssueWatcher",
    "Project",
    "ProjectGroup",
    "ProjectTag",
    "ProjectUser",
    "PullRequest",
    "PullRequestComment",
    "PullRequestIssue",
    "PullRequestTag",
    "PullRequestWatcher",
    "SSHKey",
    "Star",
    "TagColored",
    "User",
    "UserEmail",
    "Watcher",
    "WebhookDelivery",
    "utcnow",
]
