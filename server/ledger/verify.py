"""Name every event of a stored audit log that was altered, removed, inserted or reordered.

What can be proven, and how precisely:

* Content changed, stored leaf hash left alone → that event, exactly (``altered``).
* Content changed *and* leaf hash recomputed → the first signed checkpoint after it no longer
  matches; the event is named exactly when checkpoints are dense (one per write, cheap with
  ``merkle.Accumulator``), otherwise the finding lists the candidates between the last matching
  and the first failing checkpoint.
* Removed → a gap in ``seq`` (whole log) or ``case_seq`` (a case), or fewer leaves than a
  checkpoint signed (``removed``).
* Inserted → a duplicate ``seq`` / ``case_seq`` (the checkpoints decide which duplicate is the
  intruder when they cover it), or a ``case_seq`` out of order with ``seq`` (``reordered``).
* Events after the last checkpoint are protected only by the sequence checks: an event
  appended at the very end of the log, with the next numbers, cannot be told from a real one.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from . import merkle
from .canonical import HASH_NAME, UnknownHashError, event_leaf_hash
from .checkpoint import LOG_SCOPE, CheckpointError, verify_checkpoint

ALTERED, REMOVED, INSERTED, REORDERED, BAD_CHECKPOINT = (
    "altered", "removed", "inserted", "reordered", "bad_checkpoint")
_MAX_LISTED_GAP = 200  # past this many missing numbers, one finding names the whole range


@dataclass(frozen=True)
class Finding:
    """One thing wrong with the log.

    ``kind`` is one of ``altered``, ``removed``, ``inserted``, ``reordered``,
    ``bad_checkpoint``. ``seq``/``case_id``/``case_seq`` name the event (for ``removed``, the
    numbers it would have had; ``None`` where unknown). ``candidates`` lists the ``seq`` of
    every event that may be the culprit when the evidence cannot single one out.
    """

    kind: str
    seq: int | None
    case_id: str | None
    case_seq: int | None
    detail: str
    candidates: tuple[int, ...] = ()

    def __str__(self) -> str:
        where = []
        if self.seq is not None:
            where.append(f"seq {self.seq}")
        if self.case_id is not None:
            where.append(f"case {self.case_id}")
        if self.case_seq is not None:
            where.append(f"case_seq {self.case_seq}")
        return f"{self.kind}: {', '.join(where) or '-'}: {self.detail}"


class _Findings:
    """Ordered, de-duplicated findings (one per kind and event)."""

    def __init__(self) -> None:
        self._items: dict[tuple[Any, ...], Finding] = {}

    def add(self, f: Finding) -> None:
        self._items.setdefault((f.kind, f.seq, f.case_id, f.case_seq, f.candidates), f)

    def has(self, kind: str, seq: int | None = None, case_id: str | None = None,
            case_seq: int | None = None) -> bool:
        return any(f.kind == kind and (seq is None or f.seq == seq)
                   and (case_id is None or f.case_id == case_id)
                   and (case_seq is None or f.case_seq == case_seq) for f in self._items.values())

    def list(self) -> list[Finding]:
        return list(self._items.values())


def _valid_shape(e: Any) -> bool:
    return (isinstance(e, dict) and type(e.get("seq")) is int and isinstance(e.get("case_id"), str)
            and type(e.get("case_seq")) is int)


def _gaps(present: Iterable[int], lo: int, hi: int) -> list[tuple[int, int]]:
    """Missing ranges [a, b] of integers in lo..hi."""
    out, expect = [], lo
    for n in sorted(set(present)):
        if n > expect:
            out.append((expect, n - 1))
        expect = max(expect, n + 1)
    if expect <= hi:
        out.append((expect, hi))
    return out


def _lis_keep(values: Sequence[int]) -> set[int]:
    """Indexes of one longest strictly increasing subsequence of ``values``."""
    tails: list[int] = []
    tail_idx: list[int] = []
    prev = [-1] * len(values)
    for i, v in enumerate(values):
        j = bisect.bisect_left(tails, v)
        if j == len(tails):
            tails.append(v)
            tail_idx.append(i)
        else:
            tails[j] = v
            tail_idx[j] = i
        prev[i] = tail_idx[j - 1] if j else -1
    keep, i = set(), tail_idx[-1] if tail_idx else -1
    while i != -1:
        keep.add(i)
        i = prev[i]
    return keep


def _stored_leaf(e: dict[str, Any], computed: str) -> str:
    # The stored hash, when well formed, is what the audit service committed to at write time;
    # using it in the tree separates "content edited" (already named) from "hash rewritten".
    h = e.get("leaf_hash")
    if isinstance(h, str) and len(h) == len(computed):
        try:
            bytes.fromhex(h)
        except ValueError:
            return computed
        return h.lower()
    return computed


def verify_events(events: Sequence[dict[str, Any]], checkpoints: Sequence[dict[str, Any]] = (),
                  *, key: str | bytes | None, whole_log: bool | None = None,
                  algorithm: str | None = None) -> list[Finding]:
    """Check stored events against their leaf hashes, their numbering and signed checkpoints.

    ``events``: a case's events or the whole log (any order). ``checkpoints``: dicts from
    ``checkpoint.make_checkpoint``; those scoped ``"log"`` are checked only when ``whole_log``,
    those scoped to a case against that case's events. ``key`` verifies their signatures;
    ``None`` skips that (say so explicitly: only when the checkpoints were verified already).
    ``whole_log`` defaults to "events span more than one case". ``algorithm`` defaults to the
    checkpoints' ``hash`` (else ``HASH_NAME``).

    Returns findings, empty when nothing is wrong. Raises ``CheckpointError`` for a malformed
    ``key`` and ``UnknownHashError`` when the algorithm is not available here.
    """
    out = _Findings()
    good = []
    for e in events:
        if _valid_shape(e):
            good.append(e)
        else:
            seq = e.get("seq") if isinstance(e, dict) and type(e.get("seq")) is int else None
            out.add(Finding(ALTERED, seq, None, None, "malformed event (seq, case_id, case_seq)"))
    ordered = sorted(good, key=lambda e: e["seq"])  # stable: duplicates keep stored order
    if whole_log is None:
        whole_log = len({e["case_id"] for e in ordered}) > 1
    if algorithm is None:
        algs = {cp.get("hash") for cp in checkpoints if isinstance(cp, dict)}
        algorithm = algs.pop() if len(algs) == 1 else HASH_NAME
    if not isinstance(algorithm, str):
        raise UnknownHashError(f"unsupported hash algorithm {algorithm!r}")

    # 1. Each event against its own stored hash.
    computed = [event_leaf_hash(e, algorithm) for e in ordered]
    leaves = []
    for e, h in zip(ordered, computed, strict=True):
        stored = e.get("leaf_hash")
        if not isinstance(stored, str) or stored.lower() != h:
            out.add(Finding(ALTERED, e["seq"], e["case_id"], e["case_seq"],
                            "content does not match its stored leaf hash"))
        leaves.append(_stored_leaf(e, h))

    # 2. Numbering.
    dup_candidates: list[list[int]] = []  # positions in `ordered` that share a number
    if whole_log and ordered:
        by_seq: dict[int, list[int]] = {}
        for i, e in enumerate(ordered):
            by_seq.setdefault(e["seq"], []).append(i)
        dup_candidates += [ix for ix in by_seq.values() if len(ix) > 1]
        for a, b in _gaps(by_seq, 1, ordered[-1]["seq"]):
            if b - a < _MAX_LISTED_GAP:
                for s in range(a, b + 1):
                    out.add(Finding(REMOVED, s, None, None, "seq missing from the log"))
            else:
                out.add(Finding(REMOVED, a, None, None, f"seq {a}..{b} missing from the log"))
    by_case: dict[str, list[int]] = {}
    for i, e in enumerate(ordered):
        by_case.setdefault(e["case_id"], []).append(i)
    for case_id, ix in by_case.items():
        css = [ordered[i]["case_seq"] for i in ix]
        by_cs: dict[int, list[int]] = {}
        for i, cs in zip(ix, css, strict=True):
            by_cs.setdefault(cs, []).append(i)
        dup_candidates += [g for g in by_cs.values() if len(g) > 1]
        keep = _lis_keep(css)
        for k, i in enumerate(ix):
            if k not in keep and len(by_cs[css[k]]) == 1:
                e = ordered[i]
                out.add(Finding(REORDERED, e["seq"], case_id, e["case_seq"],
                                "case_seq out of order with seq"))
        for a, b in _gaps(by_cs, 1, max(css)):
            for cs in range(a, min(b, a + _MAX_LISTED_GAP) + 1):
                before = [ordered[i]["seq"] for i in ix if ordered[i]["case_seq"] < cs]
                after = [ordered[i]["seq"] for i in ix if ordered[i]["case_seq"] > cs]
                out.add(Finding(REMOVED, None, case_id, cs,
                                f"case_seq missing (between seq {max(before, default=None)} "
                                f"and {min(after, default=None)})"))

    # 3. Checkpoints, per scope.
    scopes: dict[str, list[dict[str, Any]]] = {}
    for cp in checkpoints:
        if key is not None:
            try:
                ok = verify_checkpoint(cp, key)
            except CheckpointError:
                raise
            if not ok:
                out.add(Finding(BAD_CHECKPOINT, None, None, None,
                                f"checkpoint {cp.get('scope')!r} size {cp.get('tree_size')} "
                                "is malformed or not signed by the configured key"))
                continue
        if cp.get("hash") != algorithm:
            out.add(Finding(BAD_CHECKPOINT, None, None, None,
                            f"checkpoint uses {cp.get('hash')!r}, log verified with {algorithm}"))
            continue
        scope = cp.get("scope")
        if scope == LOG_SCOPE and not whole_log:
            continue
        if scope != LOG_SCOPE and scope not in by_case and not whole_log:
            continue  # another case's checkpoint
        scopes.setdefault(str(scope), []).append(cp)

    for scope, cps in scopes.items():
        positions = list(range(len(ordered))) if scope == LOG_SCOPE else by_case.get(scope, [])
        _check_scope(scope, cps, ordered, leaves, positions, dup_candidates, algorithm, out)

    # 4. Duplicates the checkpoints could not attribute.
    for group in dup_candidates:
        if any(out.has(INSERTED, ordered[i]["seq"], ordered[i]["case_id"]) for i in group):
            continue
        same_seq = len({ordered[i]["seq"] for i in group}) == 1
        # A real event keeps the seq the database gave it at write time, so of two events
        # claiming one case_seq the later seq is the intruder; for equal seqs we cannot tell.
        suspects = group if same_seq else sorted(group, key=lambda i: ordered[i]["seq"])[1:]
        for i in suspects:
            e = ordered[i]
            out.add(Finding(INSERTED, e["seq"], e["case_id"], e["case_seq"],
                            ("duplicate seq" if same_seq else "duplicate case_seq")
                            + " (no checkpoint decides which one is original)",
                            tuple(ordered[j]["seq"] for j in group)))
    return out.list()


def _check_scope(scope: str, cps: list[dict[str, Any]], ordered: list[dict[str, Any]],
                 leaves: list[str], positions: list[int], dup_candidates: list[list[int]],
                 algorithm: str, out: _Findings) -> None:
    """Compare the scope's tree with each of its checkpoints; adds findings to ``out``."""
    case_id = None if scope == LOG_SCOPE else scope
    tree = [leaves[i] for i in positions]
    cps = sorted(cps, key=lambda c: c["tree_size"])

    def first_failure(tree_leaves: list[str]) -> tuple[int, int] | None:
        """(last matching size, first failing checkpoint size), or None if all match."""
        last_ok = 0
        for cp in cps:
            n = cp["tree_size"]
            if n > len(tree_leaves):
                continue  # reported as removal below
            if merkle.root(tree_leaves[:n], algorithm) != cp["root"]:
                return last_ok, n
            last_ok = n
        return None

    # seq (whole log) and case_seq (a case) count from 1, so a tree of size n holds numbers
    # 1..n; any of those absent was removed. Gaps in the middle were named already.
    biggest = cps[-1]["tree_size"]
    if biggest > len(tree):
        field = "seq" if case_id is None else "case_seq"
        present = {ordered[i][field] for i in positions}
        for n in range(1, min(biggest, len(tree) + _MAX_LISTED_GAP) + 1):
            if n in present:
                continue
            if case_id is None and not out.has(REMOVED, n):
                out.add(Finding(REMOVED, n, None, None,
                                f"log has {len(tree)} events, a checkpoint signed {biggest}"))
            elif case_id is not None and not out.has(REMOVED, None, case_id, n):
                out.add(Finding(REMOVED, None, case_id, n,
                                f"case has {len(tree)} events, a checkpoint signed {biggest}"))

    failure = first_failure(tree)
    if failure is None:
        return
    # Try the duplicates in this scope: if dropping one makes every checkpoint match, that one
    # was inserted.
    in_scope = set(positions)
    for group in dup_candidates:
        if not set(group) <= in_scope:
            continue
        for i in group:
            trial = [leaves[j] for j in positions if j != i]
            if first_failure(trial) is None:
                e = ordered[i]
                out.add(Finding(INSERTED, e["seq"], e["case_id"], e["case_seq"],
                                "its removal restores every checkpoint root"))
                return
    lo, hi = failure
    suspects = [ordered[positions[p]] for p in range(lo, min(hi, len(positions)))]
    explained = any(out.has(REMOVED, case_id=case_id) or out.has(REMOVED, e["seq"])
                    or out.has(INSERTED, e["seq"]) or out.has(REORDERED, e["seq"])
                    for e in suspects) or (case_id is None and out.has(REMOVED))
    if explained:
        return  # the mismatch follows from a removal/insertion already named
    if len(suspects) == 1:
        e = suspects[0]
        out.add(Finding(ALTERED, e["seq"], e["case_id"], e["case_seq"],
                        f"content and leaf hash rewritten: checkpoint {scope!r} of size {hi} "
                        "no longer matches"))
    else:
        out.add(Finding(ALTERED, None, case_id, None,
                        f"one or more events rewritten with their leaf hashes between tree "
                        f"sizes {lo} and {hi} (checkpoint {scope!r})",
                        tuple(e["seq"] for e in suspects)))
