"""Repository pages: edit (being written)."""

from flask import Blueprint

from pagurus.web import csrf

bp = Blueprint("ui_edit", __name__)
bp.before_request(csrf.protect)
