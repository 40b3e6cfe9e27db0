"""Printable records (委托协议, 任务分送单及回执, 办结单, 终止单 …) from submitted forms."""

from flask import Blueprint

bp = Blueprint("records", __name__)

from server.web.records import routes  # noqa: E402,F401
