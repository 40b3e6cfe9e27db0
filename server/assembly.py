"""The assembly of the app: the extensions, blueprints and error handlers ``create_app``
puts together (named for what it is; it was ``server/setup.py``, not a packaging script)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError

from server.engine.scripting import configure_limits, current_county
from server.extensions import db, limiter, migrate
from server.models.sqlalchemy_internals import LazyDescriptionCursor
from server.models.types import compact_json
from server.services import ledger  # noqa: F401  (it seals each case that ends, at its commit)
from server.services.background import register_dispatcher
from server.services.calendar import install_calendar
from server.services.catalog import EXTENSION, case_items, current_catalog, load_catalog
from server.services.forms import FormRegistry
from server.services.store import CaseStore, release_read_transaction, track_writes
from server.web import register_web
from server.web.api import bp as api_bp
from server.web.errors import register_error_handlers
from server.web.headers import init_security_headers
from server.web.jsonguard import init_request_guards
from workers.dispatch import send_after_commit

log = logging.getLogger(__name__)


def _tune_sqlite(engine: Any) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock up front: two deferred transactions that both read and then
        # write would otherwise fail with "database is locked" instead of waiting.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


#: A pooled connection unused for longer than this is pinged before a request gets it.
PING_AFTER_IDLE_SECONDS = 10.0
_CHECKED_IN = "guanjia.checked_in"


def _ping_idle_connections(engine: Any) -> None:
    """``pool_pre_ping``, but only for connections that sat idle in the pool.

    SQLAlchemy's pre-ping costs a round trip (and a statement on the server) on every
    checkout, that is every request (issue 18). A connection returned moments ago by the
    previous request is alive; one idle for ``PING_AFTER_IDLE_SECONDS`` may have been cut
    (a database restart, a firewall), so it is pinged, and a dead one is replaced before the
    request sees it (SQLAlchemy's pessimistic disconnect handling).
    """

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _fresh(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_CHECKED_IN] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_CHECKED_IN)
        if since is not None and time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool drops this connection and hands out another (new) one.
            raise DisconnectionError("the pooled connection was closed") from exc


def _end_reads_with_commit(app: Flask) -> None:
    """End a request's transaction that only read with COMMIT, not ROLLBACK (PostgreSQL).

    psycopg forgets every prepared statement of a connection at each ROLLBACK, and the
    session's close rolls back: each list call threw away what the steps before it had
    prepared, so no statement was ever executed often enough to be prepared (issue 18).
    A transaction that wrote nothing ends the same either way; one that wrote, failed or
    left work waiting still rolls back.
    """

    # Registered after Flask-SQLAlchemy's own teardown, so it runs before the session goes.
    @app.teardown_appcontext
    def _commit_reads(exc: BaseException | None) -> None:
        if exc is not None:
            return
        try:
            release_read_transaction()
        except Exception:  # noqa: BLE001 - the session's close rolls back instead
            log.debug("a read-only transaction could not commit", exc_info=True)


def _limit_in_the_limited_views_only(app: Flask, earlier: list[Any]) -> None:
    """No rate-limit check before every request.

    The only limits are the sign-in views' own (``server/web/signin_limits.py``), which their
    decorators check as the view runs. Flask-Limiter's check before each request looks only
    for default, application and blueprint limits, and there are none: on every other request
    it counted nothing, at 4 % of an API call's CPU (issue 18). Should such limits ever be
    configured, the check stays.
    """
    if app.config.get("RATELIMIT_DEFAULT") or app.config.get("RATELIMIT_APPLICATION"):
        return
    # Flask-Limiter's before-request hook is the one its init_app added after ``earlier``.
    hooks = app.before_request_funcs.get(None, [])
    app.before_request_funcs[None] = [hook for hook in hooks if hook in earlier]


def register_extensions(app: Flask) -> None:
    import server.models  # noqa: F401, PLC0415  (registers the tables)

    settings = app.config["GUANJIA"]
    # JSON columns written compactly (server.models.types.compact_json): smaller rows.
    if settings.database_url.startswith("sqlite"):
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30},
                                                            "json_serializer": compact_json})
    else:
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS",
                              {"pool_size": 20, "max_overflow": 20,
                               "json_serializer": compact_json,
                               "connect_args": {"cursor_factory": LazyDescriptionCursor}})
    db.init_app(app)
    migrate.init_app(app, db, directory=_migrations_dir())
    earlier = list(app.before_request_funcs.get(None, []))
    limiter.init_app(app)
    _limit_in_the_limited_views_only(app, earlier)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _tune_sqlite(db.engine)
        else:
            _ping_idle_connections(db.engine)
            _end_reads_with_commit(app)
        track_writes(db.engine)
    app.extensions["guanjia.store"] = CaseStore()
    # Services send background work through this; the workers deliver it.
    register_dispatcher(app, send_after_commit)

    catalog = load_catalog(settings.catalog_file)
    app.extensions[EXTENSION] = catalog
    app.extensions["guanjia.forms"] = FormRegistry(settings.forms_dir,
                                                   value_sources=_value_sources(catalog))
    _install_working_day_rule()
    configure_limits(seconds=settings.script_seconds, max_bytes=settings.script_max_bytes)
    app.extensions["guanjia.prepare_case_data"] = _catalog_expander()


def _value_sources(catalog: Any) -> dict[str, list[tuple[str, str]]]:
    return {"catalog_items": [(item.code, f"{item.name}（{item.department_name}）")
                              for item in catalog.items]}


def _migrations_dir() -> str:

    return str(Path(__file__).resolve().parent / "migrations")


def _install_working_day_rule() -> None:
    # The bundled years plus the notices administrators loaded, rechecked at each deadline
    # (server/services/calendar.py); nothing is read here, as migrations may not have run yet.

    install_calendar()


def _catalog_expander() -> Any:
    """Turn the application's chosen item codes into the ``items`` the process runs over
    (catalog facts plus ``waiting_for``, the prerequisites the case also includes), from the
    catalog of the county the case is filed for (``counting_for``, set by ``start_case``)."""

    def expand(data: dict[str, Any]) -> dict[str, Any]:
        codes = data.get("item_codes")
        if not codes or "items" in data:
            return data
        # The newest catalog of the county, even if another process saved it a moment ago.
        catalog = current_catalog(current_county(), refresh=True)
        return {**data, "items": case_items(codes, catalog=catalog)}

    return expand


def register_blueprints(app: Flask) -> None:
    # Every blueprint, always: the HTML workspace is part of the app, so a broken import in
    # it fails start-up loudly instead of serving the API alone.

    init_security_headers(app)
    init_request_guards(app)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    register_web(app)


def register_errors(app: Flask) -> None:

    register_error_handlers(app)
