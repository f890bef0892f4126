"""What an SSH client may ask to run: one git service on one repository.

The built-in server and the OpenSSH forced command (``pagurus aclchecker``)
both call :func:`parse_command`, so exactly the same strings are accepted
everywhere. The command is split with ``shlex`` and never handed to a shell;
the repository path must also pass ``core.gitaccess.parse_repo_path``, which
refuses ``..``, a leading ``-`` or ``.``, and anything but plain name
characters, so ``$(...)``, backticks, ``;`` or options cannot get through.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from pagurus.core.errors import InvalidInput
from pagurus.core.gitaccess import parse_repo_path

SERVICES = ("git-upload-pack", "git-receive-pack", "git-upload-archive")
MAX_COMMAND = 1024
USAGE = ("Pagurus only runs git over SSH: git-upload-pack, git-receive-pack or "
         "git-upload-archive with a quoted repository path, e.g. "
         "git-upload-pack 'namespace/project.git'.")


class CommandRefused(Exception):
    """The client asked for something else than one git service on a repo path."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class GitCommand:
    """A validated request: ``service`` is one of :data:`SERVICES`; ``path`` is
    the repository path as the client wrote it, without a leading ``/``."""

    service: str
    path: str

    @property
    def is_push(self) -> bool:
        return self.service == "git-receive-pack"

    @property
    def git_args(self) -> list[str]:
        """``git`` subcommand and options, to which the absolute repo dir is appended."""
        if self.service == "git-upload-pack":
            return ["upload-pack", "--strict"]
        return [self.service[len("git-"):]]


def greeting(who: str) -> str:
    """What a bare ``ssh git@host`` (no command) prints."""
    return f"Hi {who}! You have authenticated, but Pagurus does not provide shell access.\n"


def parse_command(command: str | None) -> GitCommand | None:
    """``None`` for no command (a shell request: greet), a GitCommand for an
    allowed request, else CommandRefused with a message for the client."""
    if command is None or not command.strip():
        return None
    if len(command) > MAX_COMMAND:
        raise CommandRefused("Command too long. " + USAGE)
    if any(ord(c) < 32 or ord(c) == 127 for c in command):
        raise CommandRefused("Control characters are not allowed. " + USAGE)
    try:
        words = shlex.split(command, posix=True)
    except ValueError:  # unbalanced quotes
        raise CommandRefused("Cannot parse the command. " + USAGE) from None
    # ``git upload-pack 'x'`` is what some clients send instead of ``git-upload-pack 'x'``
    if len(words) == 3 and words[0] == "git":
        words = [f"git-{words[1]}", words[2]]
    if not words or words[0] not in SERVICES:
        raise CommandRefused(USAGE)
    if len(words) != 2:
        raise CommandRefused(f"{words[0]} takes exactly one repository path. " + USAGE)
    path = words[1]
    if path.startswith("/"):
        path = path[1:]
    try:
        parse_repo_path(path)
    except InvalidInput:
        raise CommandRefused(f"Invalid repository path: {_shown(words[1])}") from None
    if path.startswith("/") or path.startswith("~"):  # "//x" or "~user/x"
        raise CommandRefused(f"Invalid repository path: {_shown(words[1])}")
    return GitCommand(words[0], path)


def _shown(text: str) -> str:
    """A refused path echoed back safely (short, printable)."""
    text = text[:100]
    return "".join(c if c.isprintable() else "?" for c in text)
