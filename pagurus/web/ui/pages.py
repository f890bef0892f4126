"""UI pages: pages (placeholder until filled in)."""

from flask import Blueprint

from pagurus.web import csrf

bp = Blueprint("ui_pages", __name__)
bp.before_request(csrf.protect)
