"""The fence for SQLAlchemy's internals (and its driver psycopg's), as
``server/engine/library.py`` is for SpiffWorkflow's.

The libraries have no public call for the things below; they are done here and nowhere else,
and ``tests/models/test_sqlalchemy_contract.py`` checks what they rely on, so a library
upgrade that changes it fails there first (see docs/engine.md, "What we take from
SQLAlchemy's insides").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.pq import ExecStatus
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm.state import InstanceState

#: The library versions this module was written and contract-tested against.
TESTED_VERSION = "2.1.9"
PSYCOPG_TESTED_VERSION = "3.3.9"


def mark_as_saved(instance: Any) -> None:
    """Treat everything loaded on ``instance`` as what the database now holds.

    For a row written by a Core UPDATE (the case's versioned write in ``services/store.py``):
    its attributes stop being "modified" and the session no longer counts it dirty, so commit
    runs no unit-of-work pass that would find nothing to write (a measured 0.5 ms per step).
    ``set_committed_value`` (the public call) commits one attribute but leaves the object in
    the session's modified set; ``InstanceState._commit_all`` is what a flush itself calls.
    """
    state: InstanceState[Any] = sa_inspect(instance)
    session = state.session
    state._commit_all(state.dict, session.identity_map if session is not None else None)


_ROWS = (ExecStatus.TUPLES_OK, ExecStatus.SINGLE_TUPLE, ExecStatus.TUPLES_CHUNK)


class LazyDescriptionCursor(psycopg.Cursor[Any]):
    """psycopg's cursor, whose ``description`` makes a column's entry when it is first read.

    psycopg builds a ``Column`` for every column of a result each time ``description`` is
    read, and SQLAlchemy reads it after every statement only to learn that rows came back:
    the columns themselves it takes from the statement's cached result map. The lock and
    task-list statements return ~40 columns, so that was about 1,000 objects per bench case
    (issue 18). Relied on: ``Column(cursor, index)`` describes the cursor's current result.
    """

    @property
    def description(self) -> Sequence[psycopg.Column] | None:  # type: ignore[override]
        result = self.pgresult
        # (As psycopg's own: columns, or none for a result that said it has rows.)
        if result is not None and (result.nfields or result.status in _ROWS):
            return _Columns(self, result)
        return None


class _Columns(Sequence[psycopg.Column]):
    __slots__ = ("_cursor", "_made", "_result")

    def __init__(self, cursor: psycopg.Cursor[Any], result: Any) -> None:
        self._cursor = cursor
        self._result = result
        self._made: dict[int, psycopg.Column] = {}

    def __len__(self) -> int:
        count: int = self._result.nfields
        return count

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        position = index + len(self) if index < 0 else index
        if not 0 <= position < len(self):
            raise IndexError(index)
        column = self._made.get(position)
        if column is None:
            if self._cursor.pgresult is not self._result:
                raise psycopg.InterfaceError("the cursor has moved on to another result")
            column = self._made[position] = psycopg.Column(self._cursor, position)
        return column
