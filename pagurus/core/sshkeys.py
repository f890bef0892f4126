"""SSH public keys: users' keys and projects' deploy keys.

A key is accepted only after its blob has been decoded and checked field by
field, so what the SSH server later compares against is exactly what the
user pasted. The fingerprint (``SHA256:…``, as ``ssh-keygen -l -E sha256``
prints it) identifies a key across all users and projects: one key, one owner.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pagurus.core import access
from pagurus.core.errors import Conflict, InvalidInput, NotAllowed, NotFound
from pagurus.model import Project, SSHKey, User

FIELD = "ssh_key"
MAX_TEXT = 16 * 1024
MAX_COMMENT = 255
RSA_MIN_BITS = 2048

# ecdsa curve name -> size of an uncompressed point (0x04 || X || Y)
_CURVES = {"nistp256": 65, "nistp384": 97, "nistp521": 133}
KEY_TYPES = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)
# words that start an authorized_keys line with options instead of a key type
_OPTION_WORDS = ("agent-forwarding", "cert-authority", "command", "environment", "expiry-time",
                 "from", "no-", "permit", "principals", "pty", "restrict", "tunnel",
                 "user-rc", "verify-required", "x11-forwarding")


@dataclass(frozen=True)
class ParsedKey:
    key_type: str
    blob: bytes
    comment: str
    fingerprint: str
    bits: int

    @property
    def public_key(self) -> str:
        """The normalised ``type base64`` line (no comment)."""
        return f"{self.key_type} {base64.b64encode(self.blob).decode('ascii')}"


def _bad(message: str) -> InvalidInput:
    return InvalidInput(message, errors={FIELD: [message]})


class _Reader:
    """Reads SSH wire-format fields (RFC 4251) from a key blob."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def string(self) -> bytes:
        if self.pos + 4 > len(self.data):
            raise _bad("The key data is truncated.")
        size = int.from_bytes(self.data[self.pos:self.pos + 4], "big")
        start = self.pos + 4
        if size > len(self.data) - start:
            raise _bad("The key data is truncated.")
        self.pos = start + size
        return self.data[start:self.pos]

    def mpint(self) -> int:
        raw = self.string()
        if raw and raw[0] & 0x80:
            raise _bad("The key data is invalid (negative number).")
        return int.from_bytes(raw, "big")

    def done(self) -> None:
        if self.pos != len(self.data):
            raise _bad("The key data has trailing bytes.")


def fingerprint_of(blob: bytes) -> str:
    """``SHA256:<unpadded base64>`` of the key blob, as ssh-keygen prints it."""
    digest = hashlib.sha256(blob).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def _check_blob(key_type: str, blob: bytes) -> int:
    """Validate the blob's fields for ``key_type``; return the key size in bits."""
    reader = _Reader(blob)
    if reader.string() != key_type.encode("ascii"):
        raise _bad("The key data does not match its type.")
    if key_type == "ssh-rsa":
        exponent = reader.mpint()
        modulus = reader.mpint()
        bits = modulus.bit_length()
        if exponent < 3 or exponent % 2 == 0:
            raise _bad("The RSA key has an invalid exponent.")
        if bits < RSA_MIN_BITS:
            raise _bad(f"RSA keys must have at least {RSA_MIN_BITS} bits (this one has {bits}).")
    elif key_type in ("ssh-ed25519", "sk-ssh-ed25519@openssh.com"):
        if len(reader.string()) != 32:
            raise _bad("The ed25519 key has a wrong length.")
        bits = 256
    else:  # ecdsa, plain or security-key
        curve = key_type.split("@")[0].rsplit("-", 1)[1]
        if reader.string() != curve.encode("ascii"):
            raise _bad("The ECDSA key names another curve than its type.")
        point = reader.string()
        if len(point) != _CURVES[curve] or point[0] != 4:
            raise _bad("The ECDSA key point is invalid.")
        bits = {"nistp256": 256, "nistp384": 384, "nistp521": 521}[curve]
    if key_type.startswith("sk-"):
        application = reader.string()
        if not application:
            raise _bad("The security-key application is missing.")
    reader.done()
    return bits


def parse_public_key(text: object) -> ParsedKey:
    """One OpenSSH public key line (``type base64 [comment]``), checked, or InvalidInput."""
    if not isinstance(text, str) or not text.strip():
        raise _bad("Paste an SSH public key.")
    if len(text) > MAX_TEXT:
        raise _bad("This is too long for an SSH public key.")
    line = text.strip()
    if "\n" in line or "\r" in line:
        raise _bad("Add one key at a time.")
    if any((ord(c) < 32 and c != "\t") or ord(c) == 127 or 0x80 <= ord(c) < 0xA0 for c in line):
        raise _bad("The key contains control characters.")
    parts = line.split(None, 2)
    key_type = parts[0]
    if key_type not in KEY_TYPES:
        lowered = key_type.lower()
        if "=" in key_type or "," in key_type or lowered.startswith(_OPTION_WORDS):
            raise _bad("Key options are not allowed: paste only the key itself.")
        if key_type.startswith("-----BEGIN"):
            raise _bad("This is a private key or a PEM file: paste the .pub public key.")
        raise _bad(f"Unsupported key type; use one of: {', '.join(KEY_TYPES)}.")
    if len(parts) < 2:
        raise _bad("The key data is missing after the key type.")
    data = parts[1]
    try:
        blob = base64.b64decode(data.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise _bad("The key data is not valid base64.") from None
    if base64.b64encode(blob).decode("ascii") != data:
        raise _bad("The key data is not valid base64.")
    bits = _check_blob(key_type, blob)
    comment = parts[2].strip() if len(parts) > 2 else ""
    if any(k in comment.split() for k in KEY_TYPES):
        raise _bad("Add one key at a time.")
    if len(comment) > MAX_COMMENT:
        raise _bad(f"The key comment is longer than {MAX_COMMENT} characters.")
    return ParsedKey(key_type=key_type, blob=blob, comment=comment,
                     fingerprint=fingerprint_of(blob), bits=bits)


def find_by_fingerprint(session: Session, fingerprint: str) -> SSHKey | None:
    if not isinstance(fingerprint, str) or not fingerprint:
        return None
    return session.scalar(select(SSHKey).where(SSHKey.fingerprint == fingerprint))


def _store(session: Session, parsed: ParsedKey, *, user: User | None = None,
           project: Project | None = None, push_access: bool = False) -> SSHKey:
    in_use = Conflict("This SSH key is already in use (by you or someone else).",
                      errors={FIELD: ["This key is already in use."]})
    if find_by_fingerprint(session, parsed.fingerprint) is not None:
        raise in_use
    row = SSHKey(
        user_id=user.id if user is not None else None,
        project_id=project.id if project is not None else None,
        key_type=parsed.key_type,
        public_key=parsed.public_key,
        comment=parsed.comment,
        fingerprint=parsed.fingerprint,
        push_access=bool(push_access) if project is not None else False,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # added concurrently by another request
        raise in_use from None
    return row


def add_user_key(session: Session, user: User, text: object) -> SSHKey:
    """Add a key to the user's account (one key per call)."""
    return _store(session, parse_public_key(text), user=user)


def add_deploy_key(session: Session, actor: User | None, project: Project, text: object,
                   push_access: bool = False) -> SSHKey:
    """Add a deploy key to ``project``; only its admins may."""
    if not access.can_see(session, actor, project):
        raise NotFound("Project not found")
    if actor is None or not access.can_admin(session, actor, project):
        raise NotAllowed("You are not allowed to manage deploy keys of this project")
    return _store(session, parse_public_key(text), project=project, push_access=push_access)


def user_keys(session: Session, user: User) -> list[SSHKey]:
    stmt = select(SSHKey).where(SSHKey.user_id == user.id).order_by(SSHKey.created_at, SSHKey.id)
    return list(session.scalars(stmt))


def deploy_keys(session: Session, project: Project) -> list[SSHKey]:
    stmt = (select(SSHKey).where(SSHKey.project_id == project.id)
            .order_by(SSHKey.created_at, SSHKey.id))
    return list(session.scalars(stmt))


def remove_key(session: Session, actor: User | None, key_id: int,
               project: Project | None = None) -> None:
    """Remove one of the actor's keys, or (with ``project``) one of its deploy keys.

    A key that is not the actor's to remove answers NotFound, like a missing one."""
    key = session.get(SSHKey, key_id) if isinstance(key_id, int) else None
    missing = NotFound("No such SSH key", code="ENOKEY")
    if key is None or actor is None:
        raise missing
    if project is None:
        if key.user_id != actor.id:
            raise missing
    else:
        if key.project_id != project.id or not access.can_see(session, actor, project):
            raise missing
        if not access.can_admin(session, actor, project):
            raise NotAllowed("You are not allowed to manage deploy keys of this project")
    session.delete(key)
    session.flush()
