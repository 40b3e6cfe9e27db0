"""The enterprise portal: apply online, follow own cases node by node (节点查询)."""

from flask import Blueprint

bp = Blueprint("portal", __name__)

from server.web.portal import routes  # noqa: E402,F401
