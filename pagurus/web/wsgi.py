"""The web app under gunicorn.

``pagurus web`` runs :class:`WebServer` (gunicorn embedded, configured from
Pagurus settings). For a hand-made gunicorn command line,
``gunicorn 'pagurus.web.wsgi:application'`` works too: the Flask app is then
built on first use from ``pagurus.config.load()`` (TOML + ``PAGURUS_*``).

Gunicorn rather than Flask's development server: it runs several worker
processes, and it de-chunks the chunked request bodies git sends for large
pushes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from gunicorn.app.base import BaseApplication

from pagurus.config import Settings

# threads per gunicorn worker: git clones stream for a long time, and a
# thread per request keeps one slow client from holding a whole process
THREADS_PER_WORKER = 8


class WebServer(BaseApplication):  # type: ignore[misc]
    """Gunicorn, with the Flask app created in each worker after the fork."""

    def __init__(self, settings: Settings, host: str, port: int,
                 options: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self.options = {
            "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
            "workers": max(1, settings.web_workers),
            "worker_class": "gthread",
            "threads": THREADS_PER_WORKER,
            # a clone may stream for minutes; gthread heartbeats are per process
            "timeout": 120,
            "graceful_timeout": 10,
            "keepalive": 5,
            "accesslog": "-",
            "errorlog": "-",
            "loglevel": "info",
            "proc_name": "pagurus-web",
            "preload_app": False,
            # gunicorn >= 25 opens ~/.gunicorn/gunicorn.ctl: shared by every instance
            "control_socket_disable": True,
            "forwarded_allow_ips": "127.0.0.1,::1",
            **(options or {}),
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key.lower(), value)

    def load(self) -> Callable[..., Any]:
        from pagurus import logs
        from pagurus.web.app import create_app

        logs.setup()
        app = create_app(self.settings)
        warm_up(app)
        return app


def warm_up(app: Any) -> None:
    """Load every template before the worker serves (from the bytecode cache
    once any worker compiled them), so no visitor waits for a compile."""
    env = app.jinja_env
    for name in env.list_templates(filter_func=lambda n: n.endswith(".html")):
        env.get_template(name)


_lock = threading.Lock()
_app: Callable[..., Any] | None = None


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """WSGI entry point for an external gunicorn (or any WSGI server)."""
    global _app
    if _app is None:
        with _lock:
            if _app is None:
                from pagurus.web.app import create_app

                _app = create_app()
    return _app(environ, start_response)
