"""SSH public keys: parsing, fingerprints equal to ssh-keygen's, ownership rules."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import unique

from pagurus.core import projects as core_projects
from pagurus.core import sshkeys
from pagurus.core.errors import Conflict, InvalidInput, NotAllowed, NotFound

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")


def keygen(tmp_path: Path, kind: str, bits: int | None = None, comment: str = "me@host") -> str:
    """A fresh key pair made by the real ssh-keygen; returns the .pub line."""
    path = tmp_path / unique("key")
    cmd = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", comment, "-f", str(path)]
    if bits:
        cmd[2:2] = ["-b", str(bits)]
    subprocess.run(cmd, check=True, capture_output=True)
    return path.with_suffix(".pub").read_text().strip()


def keygen_fingerprint(tmp_path: Path, line: str) -> str:
    pub = tmp_path / unique("fp")
    pub.write_text(line + "\n")
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(pub)],
                         check=True, capture_output=True, text=True).stdout
    return out.split()[1]


def wire(*fields: bytes) -> bytes:
    return b"".join(len(f).to_bytes(4, "big") + f for f in fields)


@pytest.mark.parametrize("kind,bits", [("ed25519", None), ("rsa", 3072), ("ecdsa", 256),
                                       ("ecdsa", 384), ("ecdsa", 521)])
def test_fingerprint_matches_ssh_keygen(tmp_path: Path, kind: str, bits: int | None) -> None:
    line = keygen(tmp_path, kind, bits)
    parsed = sshkeys.parse_public_key(line)
    assert parsed.fingerprint == keygen_fingerprint(tmp_path, line)
    assert parsed.comment == "me@host"
    assert line.startswith(parsed.public_key)


def test_security_key_types_are_accepted_and_fingerprinted_like_ssh_keygen(
        tmp_path: Path) -> None:
    ed = wire(b"sk-ssh-ed25519@openssh.com", bytes(range(32)), b"ssh:")
    # a point on the curve: take the one of a real P-256 key (ssh-keygen checks it)
    real = base64.b64decode(keygen(tmp_path, "ecdsa", 256).split()[1])
    point = real[-65:]
    ec = wire(b"sk-ecdsa-sha2-nistp256@openssh.com", b"nistp256", point, b"ssh:")
    for kind, blob in (("sk-ssh-ed25519@openssh.com", ed),
                       ("sk-ecdsa-sha2-nistp256@openssh.com", ec)):
        line = f"{kind} {base64.b64encode(blob).decode()} yubikey"
        parsed = sshkeys.parse_public_key(line)
        assert parsed.key_type == kind
        assert parsed.fingerprint == keygen_fingerprint(tmp_path, line)


def test_short_rsa_key_is_refused(tmp_path: Path) -> None:
    line = keygen(tmp_path, "rsa", 1024)
    with pytest.raises(InvalidInput, match="2048"):
        sshkeys.parse_public_key(line)


@pytest.mark.parametrize("bad,why", [
    ("", "Paste"),
    ("   ", "Paste"),
    ("hello world", "Unsupported"),
    ("ssh-ed25519", "missing"),
    ("ssh-ed25519 not*base64", "base64"),
    ("ssh-ed25519 AAAA", "truncated"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----", "private key"),
    ("ssh-dss AAAAB3NzaC1kc3MAAACBAP", "Unsupported"),
])
def test_garbage_is_refused_with_a_clear_message(bad: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=why) as info:
        sshkeys.parse_public_key(bad)
    assert info.value.errors and "ssh_key" in info.value.errors


def test_options_prefix_is_refused(tmp_path: Path) -> None:
    line = keygen(tmp_path, "ed25519")
    for prefix in ('command="touch /tmp/x" ', "no-pty ", "restrict,pty ", 'from="10.0.0.1" '):
        with pytest.raises(InvalidInput, match="options"):
            sshkeys.parse_public_key(prefix + line)


def test_two_keys_at_once_are_refused(tmp_path: Path) -> None:
    one, two = keygen(tmp_path, "ed25519"), keygen(tmp_path, "ed25519")
    with pytest.raises(InvalidInput, match="one key"):
        sshkeys.parse_public_key(one + "\n" + two)
    with pytest.raises(InvalidInput, match="one key"):
        sshkeys.parse_public_key(one.rsplit(" ", 1)[0] + " " + two)


def test_control_characters_are_refused(tmp_path: Path) -> None:
    line = keygen(tmp_path, "ed25519")
    for evil in ("\x00", "\x1b[31m", "\x7f"):
        with pytest.raises(InvalidInput, match="control"):
            sshkeys.parse_public_key(line + evil)


def test_blob_of_another_type_is_refused(tmp_path: Path) -> None:
    ed = keygen(tmp_path, "ed25519").split()[1]
    with pytest.raises(InvalidInput, match="does not match"):
        sshkeys.parse_public_key(f"ssh-rsa {ed}")
    ec = keygen(tmp_path, "ecdsa", 256).split()[1]
    with pytest.raises(InvalidInput, match="does not match"):
        sshkeys.parse_public_key(f"ecdsa-sha2-nistp384 {ec}")


def test_trailing_bytes_in_the_blob_are_refused(tmp_path: Path) -> None:
    kind, data = keygen(tmp_path, "ed25519").split()[:2]
    padded = base64.b64encode(base64.b64decode(data) + b"xx").decode()
    with pytest.raises(InvalidInput, match="trailing"):
        sshkeys.parse_public_key(f"{kind} {padded}")


def test_user_adds_lists_and_removes_keys(tmp_path: Path, session, make_user) -> None:
    alice, bob = make_user(), make_user()
    line = keygen(tmp_path, "ed25519", comment="alice laptop")
    row = sshkeys.add_user_key(session, alice, line)
    session.commit()
    assert [k.id for k in sshkeys.user_keys(session, alice)] == [row.id]
    assert sshkeys.find_by_fingerprint(session, row.fingerprint).user_id == alice.id
    assert row.comment == "alice laptop"

    # the same key can belong to nobody else, and not twice to the same user
    for who in (bob, alice):
        with pytest.raises(Conflict, match="already in use"):
            sshkeys.add_user_key(session, who, line)
    session.rollback()

    # bob cannot remove alice's key: it does not exist for him
    with pytest.raises(NotFound):
        sshkeys.remove_key(session, bob, row.id)
    sshkeys.remove_key(session, alice, row.id)
    session.commit()
    assert sshkeys.user_keys(session, alice) == []
    assert sshkeys.find_by_fingerprint(session, row.fingerprint) is None


def test_deploy_keys_are_for_project_admins_and_unique_with_user_keys(
        tmp_path: Path, session, make_user, settings) -> None:
    owner, stranger = make_user(), make_user()
    project = core_projects.create_project(session, settings, owner, unique("p"), "deploy")
    session.commit()

    line = keygen(tmp_path, "ed25519")
    with pytest.raises(NotAllowed):
        sshkeys.add_deploy_key(session, stranger, project, line, push_access=True)
    key = sshkeys.add_deploy_key(session, owner, project, line, push_access=True)
    session.commit()
    assert key.project_id == project.id and key.user_id is None and key.push_access
    assert [k.id for k in sshkeys.deploy_keys(session, project)] == [key.id]

    with pytest.raises(Conflict):
        sshkeys.add_user_key(session, stranger, line)
    session.rollback()
    with pytest.raises(NotFound):  # a deploy key is not a user key
        sshkeys.remove_key(session, owner, key.id)
    with pytest.raises(NotAllowed):
        sshkeys.remove_key(session, stranger, key.id, project=project)
    sshkeys.remove_key(session, owner, key.id, project=project)
    session.commit()
    assert sshkeys.deploy_keys(session, project) == []
