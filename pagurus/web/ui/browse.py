"""Repository pages: browse (being written)."""

from flask import Blueprint

from pagurus.web import csrf

bp = Blueprint("ui_browse", __name__)
bp.before_request(csrf.protect)
