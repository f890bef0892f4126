"""Server-rendered pages."""

from flask import Flask


def register(app: Flask) -> None:
    """Attach the UI blueprints (project routes last: they catch ``/<repo>``)."""
