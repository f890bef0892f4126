"""UI pages: account (placeholder until filled in)."""

from flask import Blueprint

from pagurus.web import csrf

bp = Blueprint("ui_account", __name__)
bp.before_request(csrf.protect)
