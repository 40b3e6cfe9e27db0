"""Contracts with SQLAlchemy: what ``server/models/sqlalchemy_internals.py`` relies on.

When a library upgrade fails one of these, read docs/engine.md ("What we take from
SQLAlchemy's insides") before touching anything else: ``services/store.py`` writes every
step of a case through ``mark_as_saved``.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import version
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, event, inspect, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from server.models import sqlalchemy_internals
from server.models.sqlalchemy_internals import LazyDescriptionCursor, mark_as_saved


class _Base(DeclarativeBase):
    pass


class _Row(_Base):
    __tablename__ = "contract_rows"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    version: Mapped[int]


@pytest.fixture()
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(_Row(id=1, name="草稿", version=1))
        session.commit()
        yield session
    engine.dispose()


def _statements(session: Session) -> list[str]:
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(session.get_bind(), "before_cursor_execute", record)
    return sent


def _written_by_core(session: Session) -> _Row:
    """The store's way: change the object, write the changed column with Core."""
    row = session.get(_Row, 1)
    assert row is not None
    row.name = "已受理"
    session.connection().execute(update(_Row).where(_Row.id == 1, _Row.version == 1)
                                 .values(name=row.name, version=2))
    row.version = 2
    return row


def test_the_installed_library_is_the_version_the_fence_was_checked_against() -> None:
    # A new version may pass every contract below; this one makes the upgrade a decision.
    assert version("SQLAlchemy") == sqlalchemy_internals.TESTED_VERSION


def test_without_the_fence_commit_runs_a_flush_for_a_row_core_already_wrote(
        session: Session) -> None:
    # Why the fence exists: the object stays dirty and the flush writes it a second time.
    row = _written_by_core(session)
    assert row in session.dirty
    sent = _statements(session)
    session.flush()
    assert any(s.startswith("UPDATE") for s in sent)


def test_a_row_marked_as_saved_is_clean_and_its_flush_sends_nothing(session: Session) -> None:
    row = _written_by_core(session)
    mark_as_saved(row)
    state = inspect(row)
    assert not state.modified
    assert not state.attrs.name.history.has_changes()
    assert not state.attrs.version.history.has_changes()
    assert row not in session.dirty
    sent = _statements(session)
    session.flush()
    assert sent == []
    # What it holds is what was written, in memory and in the database.
    assert (row.name, row.version) == ("已受理", 2)
    assert session.execute(select(_Row.name, _Row.version)).one() == ("已受理", 2)


def test_a_row_marked_as_saved_still_writes_its_next_change(session: Session) -> None:
    row = _written_by_core(session)
    mark_as_saved(row)
    row.name = "已办结"
    assert row in session.dirty
    session.commit()
    session.expire_all()
    assert session.execute(select(_Row.name)).scalar_one() == "已办结"


def test_an_object_outside_a_session_is_marked_too() -> None:
    row = _Row(id=2, name="新", version=1)
    mark_as_saved(row)
    assert not inspect(row).attrs.name.history.has_changes()


# ---- psycopg: the description made column by column (LazyDescriptionCursor) -----------------
def _connect(url: str) -> psycopg.Connection[Any]:
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(conninfo, cursor_factory=LazyDescriptionCursor)


_QUERY = "SELECT 1 AS one, '案'::text AS name, now() AS at, NULL::jsonb AS doc"


def test_the_installed_driver_is_the_version_the_fence_was_checked_against() -> None:
    assert version("psycopg") == sqlalchemy_internals.PSYCOPG_TESTED_VERSION


@pytest.mark.postgres_only
def test_the_lazy_description_is_psycopgs_own(database: Any) -> None:
    with _connect(database.url) as conn:
        lazy = conn.cursor()
        plain = psycopg.Cursor(conn)
        lazy.execute(_QUERY)
        plain.execute(_QUERY)
        got, expected = lazy.description, plain.description
        assert got is not None and expected is not None
        assert len(got) == len(expected) == 4
        assert [tuple(c) for c in got] == [tuple(c) for c in expected]
        assert [c.name for c in got[1:3]] == ["name", "at"] and got[-1].name == "doc"
        with pytest.raises(IndexError):
            got[4]
        # A statement without rows has none, as psycopg says; one with no columns has [].
        lazy.execute("SET LOCAL statement_timeout = 0")
        assert lazy.description is None
        lazy.execute("SELECT")
        assert lazy.description is not None and len(lazy.description) == 0


@pytest.mark.postgres_only
def test_a_description_read_after_the_cursor_moved_on_says_so(database: Any) -> None:
    with _connect(database.url) as conn:
        cursor = conn.cursor()
        cursor.execute(_QUERY)
        earlier = cursor.description
        cursor.execute("SELECT 2 AS two")
        assert earlier is not None
        with pytest.raises(psycopg.InterfaceError):
            earlier[0]


@pytest.mark.postgres_only
def test_sqlalchemy_reads_rows_and_names_through_the_lazy_description(database: Any) -> None:
    engine = create_engine(database.url,
                           connect_args={"cursor_factory": LazyDescriptionCursor})
    try:
        with engine.connect() as conn:
            for _ in range(2):  # the second run takes the cached result map
                row = conn.execute(text(_QUERY)).mappings().one()
                assert (row["one"], row["name"], row["doc"]) == (1, "案", None)
    finally:
        engine.dispose()
