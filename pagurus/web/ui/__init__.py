"""Server-rendered pages: every blueprint checks CSRF on state changes."""

from flask import Flask


def register(app: Flask) -> None:
    """Attach the UI blueprints; project routes go last since ``/<repo>`` catches much."""
    from pagurus.web.ui import account, admin, pages, project

    for module in (account, admin, pages, project):
        app.register_blueprint(module.bp)
