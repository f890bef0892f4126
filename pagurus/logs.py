"""Process-wide logging for the long-running commands (web, worker, daemons).

One format, on stderr, where ``pagurus serve`` and service managers collect it;
INFO and above unless ``PAGURUS_LOG_LEVEL`` says otherwise.
"""

from __future__ import annotations

import logging
import os

FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(message)s"


def setup(default_level: str = "INFO") -> None:
    """Configure the root logger once (a no-op if something already did)."""
    root = logging.getLogger()
    if root.handlers:
        return
    level = os.environ.get("PAGURUS_LOG_LEVEL", default_level).upper()
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(getattr(logging, level, logging.INFO))
