"""When an approval item can be worked (前置事项): pure rules over a case's ``items``.

An item waits while one of its prerequisites *that is in the same case* is not yet done;
prerequisites the case does not include are treated as satisfied (the enterprise holds the
permit already, or the county handles it outside this service) — the steward adds the item to
the plan when it must be tracked. "Done" means finished with the outcome ``approved``: a refused
prerequisite keeps its dependants waiting until the steward decides (并联/容缺, or drops them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: Outcomes of a finished item that satisfy the items waiting for it: approved, or dropped
#: from the plan (then it is no longer in the case, like any prerequisite the case lacks).
SATISFYING_OUTCOMES = frozenset({"approved", "dropped"})


def stage_items(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``items`` with ``waiting_for``: the item's prerequisites that this case also includes."""
    codes = {str(i.get("code")) for i in items}
    return [{**i, "waiting_for": [p for p in i.get("prerequisites") or [] if p in codes]}
            for i in items]


def done_codes(results: Iterable[Mapping[str, Any]]) -> set[str]:
    """Codes of finished items whose outcome satisfies their dependants."""
    return {str(r.get("code")) for r in results
            if isinstance(r, Mapping) and r.get("outcome") in SATISFYING_OUTCOMES}


def open_prerequisites(item: Mapping[str, Any], done: set[str]) -> list[str]:
    """The prerequisites ``item`` still waits for."""
    return [p for p in item.get("waiting_for") or [] if p not in done]


def releasable(waiting: Iterable[Mapping[str, Any]], done: set[str]) -> list[str]:
    """Codes of waiting items whose prerequisites are all done, in the order given."""
    return [str(i.get("code")) for i in waiting if not open_prerequisites(i, done)]
