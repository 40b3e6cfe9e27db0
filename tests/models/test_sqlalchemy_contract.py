"""Contracts with SQLAlchemy: what ``server/models/sqlalchemy_internals.py`` relies on.

When a library upgrade fails one of these, read docs/engine.md ("What we take from
SQLAlchemy's insides") before touching anything else: ``services/store.py`` writes every
step of a case through ``mark_as_saved``.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import version
from typing import Any

import pytest
from sqlalchemy import create_engine, event, inspect, select, update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from server.models import sqlalchemy_internals
from server.models.sqlalchemy_internals import mark_as_saved


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
