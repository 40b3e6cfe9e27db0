"""The intermediary market (中介超市, seed 004 §五(六) 附件6; 003 §四(四)): list, choice, record."""

from flask import Blueprint

bp = Blueprint("agencies", __name__)

from server.web.agencies import routes  # noqa: E402,F401
