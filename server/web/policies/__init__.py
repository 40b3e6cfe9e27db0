"""Policy push (政策推送, seed 000 §二(五)): publish, read, see who has read."""

from flask import Blueprint

bp = Blueprint("policies", __name__)

from server.web.policies import routes  # noqa: E402,F401
