"""The reports page (报表): seed 001's and 004's reports, signed off, handed in, exported."""

from flask import Blueprint

bp = Blueprint("reports", __name__)

from server.web.reports import routes  # noqa: E402,F401
