"""What the benches share: a throw-away database (a SQLite file, or a PostgreSQL database of
its own), an app on it with the test fixtures deployed (``fixture_app``), and ``p95``.

    with scratch_database("postgresql", "tasklist") as (url, instance):
        app = build(url, instance, ...)

The PostgreSQL database is named with the bench's label and the process id (two benches at
once never drop each other's) and dropped at the end; the instance directory (SQLite file,
broker, uploads) is removed too unless ``BENCH_KEEP`` is set.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

PG_SERVER = os.environ.get("GUANJIA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


@contextmanager
def scratch_database(kind: str, label: str) -> Iterator[tuple[str, Path]]:
    """The URL of a fresh ``kind`` (``sqlite`` | ``postgresql``) database, and an instance
    directory; both gone afterwards."""
    instance = Path(tempfile.mkdtemp(prefix=f"bench-{label}-{kind}-"))
    admin = None
    name = f"guanjia_bench_{label}_{os.getpid()}"
    if kind == "sqlite":
        url = f"sqlite:///{instance / 'bench.sqlite'}"
    else:
        admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        url = f"{PG_SERVER}/{name}"
    try:
        yield url, instance
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            admin.dispose()
        if os.environ.get("BENCH_KEEP") is None:
            shutil.rmtree(instance, ignore_errors=True)


def fixture_app(url: str, instance: Path, **env: str) -> Any:
    """The app on ``url`` with its schema and the test fixtures' diagrams and forms deployed;
    ``env`` adds or overrides ``GUANJIA_*`` settings."""
    from server import create_app
    from server.cli import deploy_shipped, upgrade_database
    from server.config import Settings

    root = Path(__file__).resolve().parent.parent
    app = create_app(Settings.from_env({
        "GUANJIA_MODE": "test", "GUANJIA_DATABASE_URL": url, "GUANJIA_INSTANCE_DIR": str(instance),
        "GUANJIA_SECRET_KEY": "bench",
        "GUANJIA_PROCESSES_DIR": str(root / "tests/fixtures/processes"),
        "GUANJIA_FORMS_DIR": str(root / "tests/fixtures/forms"),
        "GUANJIA_BROKER_URL": f"sqla+sqlite:///{instance / 'broker.sqlite'}", **env}))
    upgrade_database(app)
    deploy_shipped(app)
    return app


def p95(times: list[float]) -> float:
    """The 95th percentile of ``times`` (the benches' one definition: never below the median,
    as picking a sorted sample by index was with few samples)."""
    if len(times) < 2:
        return times[0]
    return statistics.quantiles(times, n=20, method="inclusive")[-1]
