"""Task lists (mine, my groups), the task page with its form, attachments, the inbox."""

from flask import Blueprint

bp = Blueprint("tasklist", __name__)

from server.web.tasklist import clock, handups, routes  # noqa: E402,F401
