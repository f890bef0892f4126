"""The Flask application factory."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import Flask, g, request
from flask.wrappers import Response
from jinja2 import FileSystemBytecodeCache

from pagurus import config as config_mod
from pagurus.config import Settings
from pagurus.db import make_engine, make_sessionmaker
from pagurus.web import context, csrf

MAX_UPLOAD = 100 * 1024 * 1024


def create_app(settings: Settings | None = None) -> Flask:
    settings = config_mod.ensure_data_dir(settings or config_mod.load())
    app = Flask(__name__, template_folder="ui/templates", static_folder="ui/static",
                static_url_path="/static")
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="pagurus_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(days=settings.session_days),
        MAX_CONTENT_LENGTH=MAX_UPLOAD,
        JSON_SORT_KEYS=False,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    engine = make_engine(settings.sqlalchemy_url)
    app.extensions["pagurus"] = {
        "settings": settings,
        "engine": engine,
        "sessions": make_sessionmaker(engine),
    }

    from pagurus.tasks.app import configure as configure_tasks

    configure_tasks(settings)

    app.teardown_appcontext(context.close_db)
    app.context_processor(context.template_globals)
    app.jinja_env.globals["csrf_token"] = csrf.token
    # compiled templates kept on disk: a new worker loads them in ~50 ms instead of
    # compiling all of them (~1.6 s, paid by its first requests); keyed by source
    jinja_cache = settings.data_dir / "cache" / "jinja"
    try:
        jinja_cache.mkdir(parents=True, exist_ok=True)
        app.jinja_env.bytecode_cache = FileSystemBytecodeCache(str(jinja_cache))
    except OSError:
        pass  # an unwritable data dir only costs compile time
    app.jinja_env.globals["csp_nonce"] = lambda: g.get("csp_nonce", "")

    @app.before_request
    def _nonce() -> None:
        g.csp_nonce = secrets.token_urlsafe(16)

    @app.after_request
    def _security_headers(resp: Response) -> Response:
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.path.startswith("/api/"):
            nonce = g.get("csp_nonce", "")
            resp.headers.setdefault(
                "Content-Security-Policy",
                f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; "
                "style-src 'self'; img-src 'self' data:; object-src 'none'; "
                "base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
            )
        return resp

    from pagurus.web.api import bp as api_bp
    from pagurus.web.git_http import bp as git_http_bp
    from pagurus.web.ui import register as register_ui

    app.register_blueprint(api_bp)
    app.register_blueprint(git_http_bp)  # before the UI, whose {P} rules catch much
    register_ui(app)
    return app
