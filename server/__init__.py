"""guanjia: BPMN orchestration for the concierge service of major investment projects."""

from __future__ import annotations

from typing import Any

from flask import Flask

from server.config import Settings


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Build the Flask application; the only way an app comes to exist."""
    # The app's parts (all of server.web, workers' dispatch) load when an app is made, not
    # when the package is: workers import server.config, and workers are imported by the parts.
    from server.assembly import (  # noqa: PLC0415
        register_blueprints,
        register_errors,
        register_extensions,
    )
    from server.web.application import Application  # noqa: PLC0415
    from server.web.jsonguard import GuardedJSONProvider  # noqa: PLC0415

    settings = settings or Settings.from_env()
    app = Application(__name__, instance_path=str(settings.instance_dir),
                      static_folder="web/static")
    app.json = GuardedJSONProvider(app)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + 1024 * 1024,
        GUANJIA=settings,
        JSON_AS_ASCII=False,
        # The session cookie: never read by scripts, not sent on cross-site posts, and only
        # over HTTPS in production.
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.mode == "production",
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_url,
        RATELIMIT_KEY_PREFIX="guanjia",
    )
    app.config.update(overrides)
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    register_extensions(app)
    register_blueprints(app)
    register_errors(app)
    return app
