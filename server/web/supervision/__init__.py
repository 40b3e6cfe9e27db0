"""The supervision office (督查室): complaints (投诉举报) and department scorecards (效能),
and the enterprise portal's complaint pages (seed 004 六(二), seed 002)."""

from flask import Blueprint

bp = Blueprint("supervision", __name__)

from server.web.supervision import portal, routes  # noqa: E402,F401
