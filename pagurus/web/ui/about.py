"""Instance pages: ``/about`` (who runs this forge, how to reach it) and
``/ssh_info`` (the SSH host keys, so users can check a fingerprint before
they trust it on first connection)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, render_template, request

from pagurus.core import sshkeys
from pagurus.core.errors import InvalidInput
from pagurus.web.context import settings

bp = Blueprint("ui_about", __name__)


def host_keys(data_dir: Path) -> list[dict[str, str]]:
    """The built-in SSH server's public host keys (``<data>/ssh/*.pub``) that
    parse as keys; none when that server never ran here."""
    out = []
    for path in sorted((data_dir / "ssh").glob("ssh_host_*_key.pub")):
        try:
            parsed = sshkeys.parse_public_key(path.read_text("ascii").strip())
        except (OSError, UnicodeDecodeError, InvalidInput):
            continue
        out.append({"type": parsed.key_type, "fingerprint": parsed.fingerprint,
                    "key": parsed.public_key})
    return out


def _ssh_host() -> str:
    conf = settings()
    if conf.git_url_ssh:
        found = urlsplit(conf.git_url_ssh if "://" in conf.git_url_ssh
                         else "ssh://" + conf.git_url_ssh.replace(":", "/", 1))
        if found.hostname:
            return found.hostname if not found.port else f"[{found.hostname}]:{found.port}"
    host = request.host.split(":")[0]
    return f"[{host}]:{conf.ssh_port}" if conf.ssh_port != 22 else host


@bp.route("/about")
@bp.route("/about/")
def about() -> str:
    return render_template("pages/about.html", admin_email=settings().admin_email)


@bp.route("/ssh_info")
@bp.route("/ssh_info/")
def ssh_info() -> str:
    return render_template("pages/ssh_info.html", keys=host_keys(settings().data_dir),
                           host=_ssh_host())
