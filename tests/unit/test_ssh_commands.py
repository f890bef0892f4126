"""What an SSH client may ask to run: one git service on one plain repo path."""

import pytest

from pagurus.services.ssh.commands import (
    CommandRefused,
    GitCommand,
    greeting,
    parse_command,
)


@pytest.mark.parametrize("command, expected", [
    ("git-upload-pack 'ns/proj.git'", GitCommand("git-upload-pack", "ns/proj.git")),
    ("git-upload-pack '/ns/proj.git'", GitCommand("git-upload-pack", "ns/proj.git")),
    ("git-receive-pack 'proj.git'", GitCommand("git-receive-pack", "proj.git")),
    ("git-receive-pack 'proj'", GitCommand("git-receive-pack", "proj")),
    ("git-upload-archive 'docs/proj.git'", GitCommand("git-upload-archive", "docs/proj.git")),
    ("git upload-pack 'tickets/proj.git'", GitCommand("git-upload-pack", "tickets/proj.git")),
    ("git-upload-pack 'forks/alice/ns/proj.git'",
     GitCommand("git-upload-pack", "forks/alice/ns/proj.git")),
    ('git-upload-pack "proj.git"', GitCommand("git-upload-pack", "proj.git")),
    ("git-upload-pack proj.git", GitCommand("git-upload-pack", "proj.git")),
])
def test_git_clients_requests_are_accepted(command, expected):
    assert parse_command(command) == expected


@pytest.mark.parametrize("command", [None, "", "   "])
def test_no_command_means_a_greeting(command):
    assert parse_command(command) is None


@pytest.mark.parametrize("command", [
    "ls",
    "sh -c 'id'",
    "git-upload-pack",
    "git-upload-pack 'a.git' 'b.git'",
    "git-upload-pack --upload-pack='touch /tmp/pwned' 'a.git'",
    "git-upload-pack '--upload-pack=touch /tmp/pwned'",
    "git-upload-pack '-x'",
    "git-upload-pack '../x'",
    "git-upload-pack 'ns/../../etc'",
    "git-upload-pack '~/proj.git'",
    "git-upload-pack '~root/proj.git'",
    "git-upload-pack '//etc/passwd'",
    "git-upload-pack '$(touch x)'",
    "git-upload-pack $(touch x)",
    "git-upload-pack '`touch x`'",
    "git-upload-pack 'a.git'; touch x",
    "git-upload-pack 'a.git;touch x'",
    "git-upload-pack 'a.git' && touch x",
    "git-upload-pack 'a.git' | sh",
    "git-upload-pack 'unbalanced",
    "git-upload-pack 'a.git'\ntouch x",
    "git-upload-pack 'a\x00.git'",
    "git-upload-pack '.hidden.git'",
    "git-upload-pack 'a/b/c/d/e.git'",
    "git upload-pack --strict 'a.git'",
    "git-shell -c 'git-upload-pack a.git'",
    "scp -t /tmp",
    "git-upload-pack '" + "a" * 2000 + "'",
    "git-upload-pack 'caf\u00e9.git'",
])
def test_anything_else_is_refused_with_a_message(command):
    with pytest.raises(CommandRefused) as info:
        parse_command(command)
    assert info.value.message
    assert "\n" not in info.value.message


def test_the_git_child_gets_a_fixed_argument_list():
    assert parse_command("git-upload-pack 'p.git'").git_args == ["upload-pack", "--strict"]
    assert parse_command("git-receive-pack 'p.git'").git_args == ["receive-pack"]
    assert parse_command("git-upload-archive 'p.git'").git_args == ["upload-archive"]
    assert parse_command("git-receive-pack 'p.git'").is_push
    assert not parse_command("git-upload-pack 'p.git'").is_push


def test_the_greeting_names_the_user():
    assert greeting("alice").startswith("Hi alice! You have authenticated")
    assert "does not provide shell access" in greeting("alice")
