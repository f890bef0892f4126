"""API v0, Pagure-compatible, under /api/0."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/0")
