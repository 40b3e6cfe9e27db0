"""A throw-away database for a bench: a SQLite file, or a PostgreSQL database of its own.

    with scratch_database("postgresql", "tasklist") as (url, instance):
        app = build(url, instance, ...)

The PostgreSQL database is named with the bench's label and the process id (two benches at
once never drop each other's) and dropped at the end; the instance directory (SQLite file,
broker, uploads) is removed too unless ``BENCH_KEEP`` is set.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
