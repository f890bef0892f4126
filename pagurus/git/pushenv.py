"""The environment of a git process started for a client (clone, fetch, push).

The hooks that ``git receive-pack`` runs read who is pushing and which
settings to load from here; every transport (HTTP, SSH, aclchecker, internal
pushes) builds it with this one function.
"""

from __future__ import annotations

import os

from pagurus.config import Settings, to_env

PUSHER = "PAGURUS_PUSHER"  # user name; empty for anonymous or a deploy key
DEPLOY_KEY = "PAGURUS_DEPLOY_KEY"  # ssh_keys.id of a deploy key
INTERNAL = "PAGURUS_INTERNAL"  # "1": the forge itself (merge, online edit)
PULL_REQUEST = "PAGURUS_PULL_REQUEST"  # uid of the PR being merged, if any

_CLEAN = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
          "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_CONFIG", "GIT_CONFIG_PARAMETERS",
          "GIT_NAMESPACE", "GIT_EXEC_PATH", PUSHER, DEPLOY_KEY, INTERNAL, PULL_REQUEST)


def git_env(settings: Settings, *, user: str | None = None, deploy_key: int | None = None,
            internal: bool = False, protocol: str | None = None,
            pull_request: str | None = None) -> dict[str, str]:
    """A clean environment for a git child: no inherited GIT_* steering, the
    forge's settings as ``PAGURUS_*``, the pusher's identity, and the client's
    ``GIT_PROTOCOL`` (``version=2``) when it sent one."""
    env = {k: v for k, v in os.environ.items()
           if k not in _CLEAN and not k.startswith("PAGURUS_")}
    env.update(to_env(settings))
    env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"})
    env[PUSHER] = user or ""
    if deploy_key is not None:
        env[DEPLOY_KEY] = str(deploy_key)
    if internal:
        env[INTERNAL] = "1"
    if pull_request:
        env[PULL_REQUEST] = pull_request
    if protocol and _safe_protocol(protocol):
        env["GIT_PROTOCOL"] = protocol
    return env


def _safe_protocol(value: str) -> bool:
    """GIT_PROTOCOL is ``key[=value]`` pairs joined by ``:``; nothing else passes."""
    return len(value) < 256 and all(
        part and all(c.isalnum() or c in "=._-" for c in part) for part in value.split(":"))
