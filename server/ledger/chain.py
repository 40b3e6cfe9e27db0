"""The keyed hash chain of the audit log: evidence that needs a secret to forge.

A leaf hash (``canonical.leaf_hash``) uses no secret: anyone who can edit a row can recompute
it. So every event also carries a MAC under the audit key, which the database never holds::

    mac_n  = HMAC(K, "event" | scope | n | leaf_(n-1) | leaf_n)      (leaf_0 = "")

``scope`` is the case id (``n`` its ``case_seq``), or ``NO_CASE`` for events of no case (``n``
their position in ``seq`` order). Because each MAC commits to its predecessor's leaf, an edited
event (hash recomputed) breaks its own MAC and its successor's; an inserted event has no valid
MAC; a removed event breaks its successor's. Removing the *newest* events leaves no successor to
break, so each scope also keeps an anchor, rewritten with every write::

    head   = HMAC(K, "head" | scope | count | leaf_count)

which nobody without ``K`` can roll back to an earlier count. ``K`` is derived from the
checkpoint key of the settings (``chain_key``).

History written before the chain existed is *adopted* once (``guanjia audit adopt-chain``): a
MAC'd event records, per scope, how many events came before the chain and the Merkle root of
their leaves; the chain of that scope starts after them as if fresh (position n+1, after
``""``). Pure functions; no database.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import merkle
from .canonical import HASH_NAME

NO_CASE = "~log"  # the scope of events that belong to no case
_DOMAIN = b"guanjia-audit-chain-v1"


@functools.lru_cache(maxsize=8)
def chain_key(checkpoint_key: str | bytes) -> bytes:
    """The MAC key derived from the configured checkpoint key (HMAC secret or Ed25519 seed)."""
    raw = checkpoint_key.encode("utf-8") if isinstance(checkpoint_key, str) else checkpoint_key
    if not raw:
        raise ValueError("the audit key is empty")
    return hmac.new(raw, _DOMAIN, hashlib.sha256).digest()


def event_mac(key: bytes, scope: str, position: int, previous_leaf: str, leaf: str) -> str:
    """The MAC of the event at ``position`` (from 1) of ``scope``, after ``previous_leaf``."""
    msg = f"event|{scope}|{position}|{previous_leaf}|{leaf}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def head_mac(key: bytes, scope: str, count: int, last_leaf: str) -> str:
    """The anchor of a scope holding ``count`` events, the newest with leaf ``last_leaf``."""
    msg = f"head|{scope}|{count}|{last_leaf}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


@dataclass
class Head:
    """A scope's anchor as stored: how many events, the newest leaf, and the MAC over both."""

    count: int
    last_leaf: str
    mac: str


def extend(key: bytes, scope: str, head: Head | None, leaves: Sequence[str]) -> tuple[
        list[str], Head]:
    """MACs of ``leaves`` appended to ``scope`` after ``head`` (``None``: empty), and the new
    head."""
    count, previous = (head.count, head.last_leaf) if head is not None else (0, "")
    macs = []
    for leaf in leaves:
        count += 1
        macs.append(event_mac(key, scope, count, previous, leaf))
        previous = leaf
    return macs, Head(count, previous, head_mac(key, scope, count, previous))


@dataclass(frozen=True)
class ChainProblem:
    """One event (or the anchor) of a scope that the chain does not vouch for.

    ``index`` is the event's position in the list given to ``check_chain`` (``None`` for the
    anchor). ``what`` is ``"forged"`` (the event's own MAC fails), ``"unlinked"`` (its MAC
    fails only because its predecessor differs: the event before it was changed or removed),
    ``"unsigned"`` (no MAC at all) or ``"anchor"``.
    """

    index: int | None
    what: str
    detail: str


def check_chain(key: bytes, scope: str, events: Sequence[dict[str, Any]],
                head: Head | None, adopted: tuple[int, str] | None = None,
                algorithm: str = HASH_NAME) -> list[ChainProblem]:
    """Check the MACs of a scope's stored events (in chain order) and its anchor.

    Each event needs ``leaf_hash`` and ``mac``, and may give its ``position`` (a case's
    ``case_seq``; default: its place in the list, from 1). Returns the problems, empty when
    the chain and its anchor vouch for exactly these events. ``adopted``: (count, Merkle root)
    of the events written before the chain, from the adoption record. Never raises for
    malformed values.
    """
    out: list[ChainProblem] = []
    previous = ""
    broken_before = False
    expected = 1
    skip = 0
    if adopted is not None:
        count, root = adopted
        legacy = [e for e in events if isinstance(e.get("position", 0), int)
                  and e.get("position", 0) <= count] if events and "position" in events[0] \
            else list(events[:count])
        try:
            same = merkle.root([str(e.get("leaf_hash")) for e in legacy], algorithm) == root
        except ValueError:
            same = False
        if len(legacy) != count or not same:
            out.append(ChainProblem(None, "adopted", f"the {count} events written before the "
                                                     "chain no longer match the adoption record "
                                                     "(altered, removed or inserted)"))
        skip, expected = len(legacy), count + 1
    for i, e in enumerate(events):
        if i < skip:
            continue
        leaf, mac = str(e.get("leaf_hash") or ""), e.get("mac")
        position = e.get("position", i + 1)
        if position != expected:
            broken_before = True  # a gap (or a repeat) in the numbering: named by the caller
        expected = position + 1 if isinstance(position, int) else expected + 1
        if not isinstance(mac, str) or not mac:
            out.append(ChainProblem(i, "unsigned", "carries no MAC: written outside guanjia "
                                                   "(or before the keyed chain: run guanjia "
                                                   "audit adopt-chain once after upgrading)"))
            broken_before = True
        elif hmac.compare_digest(mac.lower(), event_mac(key, scope, position, previous, leaf)):
            broken_before = False
        elif broken_before:
            out.append(ChainProblem(i, "unlinked", "its MAC does not link it to the event stored "
                                                   "before it, which was changed or removed"))
        else:
            out.append(ChainProblem(i, "forged", "its MAC does not match its content and place "
                                                 "(altered, forged or inserted; a valid MAC "
                                                 "needs the audit key)"))
            broken_before = True
        previous = leaf
    count = expected - 1
    if head is None:
        if count:
            out.append(ChainProblem(None, "anchor", "events are stored but the scope's anchor "
                                                    "is missing"))
        return out
    if head.count == count and head.last_leaf != previous:
        out.append(ChainProblem(None, "anchor", f"the anchor names another newest event than "
                                                f"the stored event {count}: the newest events "
                                                "were removed (or replaced) and the counter "
                                                "rewritten"))
    elif head.count != count:
        out.append(ChainProblem(None, "anchor", f"the anchor was written after event "
                                                f"{head.count} but the newest stored is event "
                                                f"{count} (events removed from the end, or "
                                                "added after it)"))
    elif not hmac.compare_digest(str(head.mac).lower(),
                                 head_mac(key, scope, head.count, head.last_leaf)):
        out.append(ChainProblem(None, "anchor", "the anchor's MAC does not match: it was "
                                                "rewritten without the audit key"))
    return out
