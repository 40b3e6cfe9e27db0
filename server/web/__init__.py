"""The browser workspace: staff task lists, task and case pages, the enterprise portal,
printable records and administration, on top of the same services as the JSON API."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader

from server.web.admin import bp as admin_bp
from server.web.agencies import bp as agencies_bp
from server.web.api import bp as api_bp
from server.web.audit import register_audit
from server.web.auth import bp as auth_bp
from server.web.bundles import bundles_blueprint
from server.web.cases import bp as cases_bp
from server.web.dashboard import bp as dashboard_bp
from server.web.designer import register_designer
from server.web.i18n import init_i18n
from server.web.pages import init_pages
from server.web.policies import bp as policies_bp
from server.web.portal import bp as portal_bp
from server.web.records import bp as records_bp
from server.web.reports import bp as reports_bp
from server.web.reserve import bp as reserve_bp
from server.web.session import init_session
from server.web.supervision import bp as supervision_bp
from server.web.tasklist import bp as tasklist_bp


def register_web(app: Flask) -> None:
    """Register the HTML blueprints with sign-in, CSRF, language and the HTML error page."""

    # The workspace's templates serve every web blueprint (and the HTML error page).
    here = Path(__file__).resolve().parent
    app.jinja_loader = ChoiceLoader([FileSystemLoader(str(here / "templates")),
                                     *([app.jinja_loader] if app.jinja_loader else [])])
    init_session(app, api_bp)
    init_i18n(app)
    init_pages(app)
    app.register_blueprint(bundles_blueprint())
    app.register_blueprint(auth_bp)
    app.register_blueprint(tasklist_bp)
    app.register_blueprint(cases_bp, url_prefix="/cases")
    app.register_blueprint(dashboard_bp, url_prefix="/dashboard")
    app.register_blueprint(records_bp, url_prefix="/cases")
    app.register_blueprint(portal_bp, url_prefix="/portal")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(supervision_bp)  # /supervision/… and /portal/complaints
    app.register_blueprint(reserve_bp, url_prefix="/reserve")
    app.register_blueprint(reports_bp, url_prefix="/reports")
    app.register_blueprint(policies_bp, url_prefix="/policies")
    app.register_blueprint(agencies_bp, url_prefix="/agencies")

    register_designer(app)
    register_audit(app)
