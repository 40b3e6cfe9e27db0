"""Fixtures: every app-level test runs on SQLite and on PostgreSQL, with real migrations.

Each database is migrated and seeded with users once per session. Then, for every test:

- SQLite: a fresh copy of the seeded file (a file copy costs less than any transaction).
- PostgreSQL: one connection and one transaction, rolled back when the test ends; every
  session the app opens joins it through a savepoint (``_RolledBack``). The app still
  commits, runs its after-commit hooks and writes its audit rows in each step's transaction.
- PostgreSQL, tests marked ``real_commits`` (threads, worker or server processes, a second
  connection that changes rows behind the app's back; all of tests/workers and
  tests/browser): the tables are emptied before the test, as every test's were before
  issue 20. A second connection in a rolled-back test would wait for the test's own
  transaction and hang: the app's engine refuses to open one and says to mark the test.

A missing PostgreSQL fails the run: it is never skipped. Tests run in random order
(pytest-randomly): nothing may depend on an earlier test (see ``_engine_as_imported``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session as FlaskSession

from server import create_app
from server.config import Settings
from server.engine import clock as engine_clock
from server.engine import scripting

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PG_SERVER = os.environ.get("GUANJIA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
DATABASES = [d for d in os.environ.get("GUANJIA_TEST_DATABASES", "sqlite,postgresql").split(",")
             if d]
PASSWORD = "test-password"
TEST_USERS: list[tuple[str, str, list[str], str | None]] = [
    ("qiye", "企业甲经办人", ["enterprise"], "企业甲"),
    ("qiye_b", "企业乙经办人", ["enterprise"], "企业乙"),
    ("zhaoshang", "招商局", ["bureau"], None),
    ("juzhang", "局长", ["bureau_head"], None),
    ("lingdao", "领导", ["leader"], None),
    ("zhuanchuang", "专窗", ["window"], None),
    ("guanjia", "管家", ["steward"], None),
    ("guanjia2", "管家乙", ["steward"], None),
    ("lingdao2", "领导乙", ["leader"], None),
    ("fgj", "发改局", ["dept_fgj"], None),
    ("zrzy", "自然资源局", ["dept_zrzy"], None),
    ("zjj", "住建局", ["dept_zjj"], None),
    ("sthj", "生态环境局", ["dept_sthj"], None),
    ("scjg", "市场监管局", ["dept_scjg"], None),
    ("shuiwu", "水务局", ["dept_sw"], None),
    ("shenji", "审计", ["auditor"], None),
    ("ducha", "督查室", ["supervision"], None),
    ("sheji", "设计", ["designer"], None),
    ("admin", "管理员", ["admin", "designer"], None),
]
# What the engine holds process-wide before any app exists (see _engine_as_imported).
_ENGINE_AS_IMPORTED = (scripting._calendar, scripting._limits, engine_clock._process_clock)
# Users, groups and enterprises are seeded once per session; every other table is emptied.
SEEDED_TABLES = {"users", "groups", "enterprises", "user_groups", "alembic_version"}


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """End every run with its random order's seed (the header is hidden under -q)."""
    seed = getattr(config.option, "randomly_seed", None)
    if isinstance(seed, int) and getattr(config.option, "randomly_reorganize", True):
        terminalreporter.write_line(
            f"random order: --randomly-seed={seed} (replay: -p randomly --randomly-seed={seed}"
            f" or make test TEST_SEED={seed})")


@dataclass
class TestDatabase:
    kind: str
    url: str
    template: Path | None = None
    #: PostgreSQL: the seeded tables' rows, in insert order, put back before every test (a test
    #: that adds a member to a group or deactivates a user must not change the next test).
    seeded_rows: list[tuple[sa.Table, list[dict[str, Any]]]] | None = None
    #: PostgreSQL: a test committed for real since the tables were last emptied (the next
    #: test that runs in a rolled-back transaction empties them first).
    dirty: bool = False
    #: PostgreSQL: the sequences of the emptied tables (a rolled-back test restarts them, as
    #: TRUNCATE … RESTART IDENTITY does: a sequence is not rolled back, and the audit log's
    #: numbering must start at 1 for its chain to verify).
    sequences: list[str] | None = None


def _settings(url: str, instance: Path, **extra: str) -> Settings:
    env = {
        "GUANJIA_MODE": "test",
        "GUANJIA_DATABASE_URL": url,
        "GUANJIA_INSTANCE_DIR": str(instance),
        "GUANJIA_SECRET_KEY": "test-secret",
        "GUANJIA_PROCESSES_DIR": str(FIXTURES / "processes"),
        "GUANJIA_FORMS_DIR": str(FIXTURES / "forms"),
        "GUANJIA_BROKER_URL": f"sqla+sqlite:///{instance / 'broker.sqlite'}",
    }
    env.update(extra)
    return Settings.from_env(env)


def _seed_users(app: Flask) -> None:
    from server.cli import upgrade_database
    from server.extensions import db
    from server.services.directory import ensure_standard_groups
    from server.services.users import ensure_enterprise, ensure_user

    upgrade_database(app)
    with app.app_context():
        ensure_standard_groups()
        for username, name, groups, enterprise in TEST_USERS:
            ent = ensure_enterprise(enterprise) if enterprise else None
            ensure_user(username, name, PASSWORD, groups, enterprise=ent)
        db.session.commit()
        db.engine.dispose()


@pytest.fixture(scope="session", params=DATABASES)
def database(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabase]:
    kind = request.param
    instance = tmp_path_factory.mktemp(f"template-{kind}")
    if kind == "sqlite":
        path = instance / "template.sqlite"
        url = f"sqlite:///{path}"
        _seed_users(create_app(_settings(url, instance)))
        yield TestDatabase(kind, url, path)
        return
    if kind != "postgresql":
        raise pytest.UsageError(f"unknown test database {kind}")
    name = f"guanjia_test_{os.getpid()}"
    admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required for the test suite and is not reachable at "
                    f"{PG_SERVER}: {exc}", pytrace=False)
    url = f"{PG_SERVER}/{name}"
    _seed_users(create_app(_settings(url, instance)))
    yield TestDatabase(kind, url, seeded_rows=_seeded_rows(url), sequences=_sequences(url))
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


def _seeded_rows(url: str) -> list[tuple[sa.Table, list[dict[str, Any]]]]:
    from server.extensions import db

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        snapshot = [(table, [dict(row) for row in conn.execute(sa.select(table)).mappings()])
                    for table in db.metadata.sorted_tables if table.name in SEEDED_TABLES]
    engine.dispose()
    return snapshot


def _sequences(url: str) -> list[str]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        names = list(conn.execute(sa.text(
            "SELECT DISTINCT s.relname FROM pg_class s"
            " JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')"
            " JOIN pg_class t ON t.oid = d.refobjid"
            " WHERE s.relkind = 'S' AND t.relname <> ALL(:seeded) ORDER BY 1"),
            {"seeded": sorted(SEEDED_TABLES)}).scalars())
    engine.dispose()
    return names


def _fresh_url(database: TestDatabase, tmp_path: Path) -> str:
    if database.kind == "sqlite":
        assert database.template is not None
        target = tmp_path / "guanjia.sqlite"
        shutil.copyfile(database.template, target)
        return f"sqlite:///{target}"
    assert database.seeded_rows is not None
    engine = sa.create_engine(database.url)
    with engine.begin() as conn:
        tables = [t for t in sa.inspect(conn).get_table_names() if t not in SEEDED_TABLES]
        seeded = [table for table, _rows in database.seeded_rows]
        # The audit table refuses TRUNCATE by trigger; tests clean it as the replica role.
        conn.exec_driver_sql("SET session_replication_role = replica")
        conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        # The seeded users, groups and memberships as they were seeded (ids kept, sequences
        # left where they are so a new row never takes a seeded id).
        conn.exec_driver_sql(f"TRUNCATE {', '.join(t.name for t in seeded)} CASCADE")
        for table, rows in database.seeded_rows:
            if rows:
                conn.execute(table.insert(), rows)
    engine.dispose()
    return database.url


class _OneConnectionSession(FlaskSession):
    """The app's session class, always on the test's connection (Flask-SQLAlchemy's own picks
    the app's engine and would open a second connection outside the test's transaction)."""

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None,
                 **kwargs: Any) -> Any:
        return bind if bind is not None else self.bind


class _RolledBack:
    """One connection and one transaction for the whole test, rolled back at its end.

    Every session the app opens (a request, a service call, an app context in the test) joins
    that transaction: ``session.commit()`` releases a savepoint, ``rollback()`` returns to it
    (SQLAlchemy's ``join_transaction_mode="create_savepoint"``), so the app's code runs as it
    does in production: it commits, its after-commit hooks run, its audit rows are written in
    the step's transaction. Nothing outlives the test; no table is emptied.
    """

    def __init__(self, app: Flask, sequences: list[str]) -> None:
        from server.extensions import db
        from server.services import store

        with app.app_context():
            self.connection = db.engine.connect()
        self.transaction = self.connection.begin()
        self.connection.execute(sa.text(
            "SELECT setval(name::regclass, 1, false) FROM unnest(CAST(:names AS text[])) name"),
            {"names": sequences})
        # A savepoint is a fresh transaction to the app: "has it written yet?" starts over
        # (server/services/store.py lets a read-only step's transaction go while scripts run).
        sa.event.listen(self.connection, "savepoint",
                        lambda connection, _name: connection.info.pop(store._WROTE, None))
        self.original = db.session
        factory = self.original.session_factory
        db.session = sa.orm.scoped_session(
            sa.orm.sessionmaker(**{**factory.kw, "class_": _OneConnectionSession,
                                   "bind": self.connection,
                                   "join_transaction_mode": "create_savepoint"}),
            scopefunc=self.original.registry.scopefunc)

    def end(self) -> None:
        from server.extensions import db

        # Each app context closed its own session as it ended (Flask-SQLAlchemy's teardown).
        db.session = self.original
        self.transaction.rollback()
        self.connection.close()


def _second_connection(*_args: Any) -> None:
    # It would wait for the test's own transaction (a row it wrote, a lock it holds): a hang.
    raise RuntimeError("a test in one rolled-back transaction opened a second database "
                       "connection (a thread, another session on the engine): mark it "
                       "@pytest.mark.real_commits")


#: Where every test needs real commits: worker processes, a live server in a thread.
_REAL_COMMITS = (ROOT / "tests" / "workers", ROOT / "tests" / "browser")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept, dropped = [], []
    for item in items:
        if any(folder in item.path.parents for folder in _REAL_COMMITS) \
                or item.get_closest_marker("worker") or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.real_commits)
        # What only PostgreSQL has (its triggers, row locks) is deselected on SQLite, not
        # skipped: a skip in the run's summary should only ever mean something is missing.
        callspec = getattr(item, "callspec", None)
        if item.get_closest_marker("postgres_only") and callspec is not None \
                and callspec.params.get("database", "postgresql") != "postgresql":
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _one_transaction(request: pytest.FixtureRequest, database: TestDatabase) -> bool:
    """Whether this test runs inside one rolled-back transaction: on PostgreSQL, unless it is
    marked ``real_commits`` (it needs several connections or processes). On SQLite each test
    already has a fresh copy of the seeded file, which costs less than any transaction."""
    return database.kind == "postgresql" and request.node.get_closest_marker(
        "real_commits") is None


@pytest.fixture
def make_app(database: TestDatabase, tmp_path: Path,
             request: pytest.FixtureRequest) -> Iterator[Any]:
    """Build an app on a clean database; keyword settings override the test defaults."""
    apps: list[Flask] = []
    rolled_back: list[_RolledBack] = []
    one_transaction = _one_transaction(request, database)
    if one_transaction and not database.dirty:
        url = database.url
    else:
        url = _fresh_url(database, tmp_path)
        database.dirty = not one_transaction

    def build(deploy: bool = True, **env: str) -> Flask:
        from server.cli import deploy_shipped
        from server.extensions import db

        app = create_app(_settings(url, tmp_path / "instance", **env), TESTING=True)
        app.config["TEST_DATABASE_KIND"] = database.kind
        if one_transaction:
            if not rolled_back:
                assert database.sequences is not None
                rolled_back.append(_RolledBack(app, database.sequences))
            with app.app_context():
                sa.event.listen(db.engine, "checkout", _second_connection)
        if deploy:
            deploy_shipped(app)
        apps.append(app)
        return app

    yield build
    from server.extensions import db

    for transaction in rolled_back:
        transaction.end()
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app: Any) -> Flask:
    application: Flask = make_app()
    return application


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(autouse=True)
def _engine_as_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts with the engine as imported: no working-day calendar, the default
    script limits, the system clock.

    ``create_app`` installs the engine's calendar (with the county's office hours) and script
    limits process-wide, and a test may set the process clock; in one test process a later
    test (in random order, any test) would otherwise count with an earlier test's app, or
    with the app the session's database fixture built. What a test installs is put back
    after it.
    """
    calendar, limits, clock = _ENGINE_AS_IMPORTED
    monkeypatch.setattr(scripting, "_calendar", calendar)
    monkeypatch.setattr(scripting, "_limits", limits)
    monkeypatch.setattr(engine_clock, "_process_clock", clock)


@pytest.fixture
def frozen_clock() -> Iterator[engine_clock.FrozenClock]:
    """Engine time stands still at a Monday morning in Beijing until the test moves it."""
    clock = engine_clock.FrozenClock(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))
    previous = engine_clock.set_clock(clock)
    yield clock
    engine_clock.set_clock(previous)


class Api:
    """A thin JSON client that signs in as any seeded user."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.app = app
        self.client = client
        self._tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        if username not in self._tokens:
            response = self.client.post("/api/v1/auth/token",
                                        json={"username": username, "password": PASSWORD})
            assert response.status_code == 200, response.json
            self._tokens[username] = response.json["token"]
        return self._tokens[username]

    def call(self, method: str, path: str, user: str | None, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {})
        if user is not None:
            headers["Authorization"] = f"Bearer {self.token(user)}"
        return self.client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    def get(self, path: str, user: str | None, **kwargs: Any) -> Any:
        return self.call("GET", path, user, **kwargs)

    def post(self, path: str, user: str | None, **kwargs: Any) -> Any:
        return self.call("POST", path, user, **kwargs)

    def tasks(self, user: str, **query: Any) -> list[dict[str, Any]]:
        response = self.get("/tasks", user, query_string={"per_page": 200, **query})
        assert response.status_code == 200, response.json
        items: list[dict[str, Any]] = response.json["items"]
        return items


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> Api:
    return Api(app, client)


def table_counts(app: Flask) -> dict[str, Any]:
    """Every table's row count plus each case's version: 'nothing changed' made checkable."""
    from server.extensions import db

    with app.app_context():
        counts: dict[str, Any] = {}
        for table in db.metadata.sorted_tables:
            counts[table.name] = db.session.execute(
                sa.select(sa.func.count()).select_from(table)).scalar()
        counts["versions"] = sorted(db.session.execute(
            sa.text("SELECT id, state_version FROM cases")).all())
        counts["work_item_states"] = sorted(db.session.execute(
            sa.text("SELECT id, state, claimed_by FROM work_items")).all())
        db.session.remove()
        return counts
