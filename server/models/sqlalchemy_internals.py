"""The fence for SQLAlchemy's internals, as ``server/engine/library.py`` is for SpiffWorkflow's.

SQLAlchemy has no public call for the one thing below; it is done here and nowhere else, and
``tests/models/test_sqlalchemy_contract.py`` checks what it relies on, so a library upgrade
that changes it fails there first (see docs/engine.md, "What we take from SQLAlchemy's
insides").
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm.state import InstanceState

#: The library version this module was written and contract-tested against.
TESTED_VERSION = "2.1.9"


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
