"""Repository pages: commits (being written)."""

from flask import Blueprint

from pagurus.web import csrf

bp = Blueprint("ui_commits", __name__)
bp.before_request(csrf.protect)
