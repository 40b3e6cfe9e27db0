"""What the keyed chain, the seals and the checkpoints say about a stored audit log.

The checks ``server.services.ledger.verify`` adds to the numbering and Merkle checks of
``server.ledger.verify``: each event's MAC and each scope's anchor (``server.ledger.chain``),
history adopted from before the chain, events after a case's seal, sealed cases whose seal is
gone, checkpoints removed from their chain, the age of the newest log checkpoint against the
county's period, and the anchor file kept outside the database. Each returns ``Finding``s.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from server.extensions import db
from server.ledger import chain
from server.ledger.checkpoint import LOG_SCOPE, checkpoint_digest
from server.ledger.verify import ALTERED, BAD_CHECKPOINT, INSERTED, REMOVED, Finding
from server.models import AuditEvent, Case
from server.models.checkpoints import LedgerHead
from server.services import coverage

NO_CASE = chain.NO_CASE  # the pseudo case of events that belong to no case
#: The event that seals a case: after it only these may still be recorded for the case.
SEAL_TYPE = "case_ended"
AFTER_SEAL = frozenset({"case_opened_by_auditor", "case_exported", "incident_opened",
                        "incident_resolved", "incident_retried", coverage.STATE_EVENT,
                        # A complaint about a case may come, and be handled, after its end.
                        "complaint_filed", "complaint_referred",
                        "complaint_department_answered", "complaint_answered",
                        "complaint_rated",
                        # Periodic return visits come months after the case ended (issue 13).
                        "return_visits_scheduled", "return_visit_opened",
                        "return_visit_recorded",
                        # An agency delivers and is rated after the case ended (issue 17).
                        "agency_work_delivered", "agency_rated"})
STALE, SEALED, UNSEALED = "stale", "after_seal", "unsealed"
ADOPTED_EVENT = "ledger_chain_adopted"


def scopes_of(events: Sequence[AuditEvent]) -> dict[str, list[AuditEvent]]:
    """Events per chain scope, in chain order (``case_seq`` in a case, ``seq`` otherwise)."""
    out: dict[str, list[AuditEvent]] = {}
    for e in events:
        out.setdefault(e.case_id or NO_CASE, []).append(e)
    for scope, mine in out.items():
        if scope != NO_CASE:
            mine.sort(key=lambda e: (e.case_seq or 0, e.seq))
    return out


def chain_findings(events: Sequence[AuditEvent], case_id: str | None,
                    key: str) -> list[Finding]:
    """What the keyed chain and the anchors say (see ``server.ledger.chain``)."""
    mac_key = chain.chain_key(key)
    scopes = scopes_of(events)
    cases = select(Case.id, Case.event_count, Case.ledger_leaf, Case.ledger_mac)
    if case_id is not None:
        cases = cases.where(Case.id == case_id)
    heads = {r.id: chain.Head(r.event_count or 0, r.ledger_leaf or "", r.ledger_mac or "")
             for r in db.session.execute(cases) if r.ledger_mac}
    if case_id is None:
        for h in db.session.execute(select(LedgerHead)).scalars():
            heads[h.scope] = chain.Head(h.count, h.last_leaf, h.mac)
    if case_id is None:
        adopted = adoptions(scopes.get(NO_CASE, []))
    else:
        # One case alone: trust an adoption record only if its own MAC holds in the log's chain.
        log = list(db.session.execute(select(AuditEvent).where(AuditEvent.case_id.is_(None))
                                      .order_by(AuditEvent.seq)).scalars())
        log_rows = [{"leaf_hash": e.leaf_hash, "mac": e.mac} for e in log]
        bad = {p.index for p in chain.check_chain(mac_key, NO_CASE, log_rows, None,
                                                  adoptions(log).get(NO_CASE))}
        adopted = adoptions([e for i, e in enumerate(log) if i not in bad])
    out: list[Finding] = []
    for scope in sorted(set(scopes) | set(heads)):
        mine = scopes.get(scope, [])
        where = None if scope == NO_CASE else scope
        rows: list[dict[str, Any]] = [
            {"leaf_hash": e.leaf_hash, "mac": e.mac} if scope == NO_CASE else
            {"leaf_hash": e.leaf_hash, "mac": e.mac, "position": e.case_seq} for e in mine]
        newest = (mine[-1].case_seq or 0) if mine and scope != NO_CASE else len(mine)
        for p in chain.check_chain(mac_key, scope, rows, heads.get(scope), adopted.get(scope)):
            if p.index is not None:
                e = mine[p.index]
                kind = INSERTED if p.what == "unsigned" else ALTERED
                out.append(Finding(kind, e.seq, e.case_id, e.case_seq, p.detail))
                continue
            if p.what == "adopted":
                out.append(Finding(ALTERED, None, where, None, p.detail))
                continue
            head = heads.get(scope)
            if head is not None and head.count > newest:
                out += [Finding(REMOVED, None, where, n, "removed from the end: " + p.detail)
                        for n in range(newest + 1, head.count + 1)]
            elif head is not None and head.count < newest:
                out += [Finding(INSERTED, e.seq, e.case_id, e.case_seq,
                                "added after the anchored end: " + p.detail)
                        for e in mine if (e.case_seq or 0) > head.count]
            elif "removed" in p.detail:
                out.append(Finding(REMOVED, None, where, None, p.detail))
            else:
                out.append(Finding(ALTERED, None, where, None, p.detail))
    return out



def adoptions(log_events: Sequence[AuditEvent]) -> dict[str, tuple[int, str]]:
    """Scope -> (events before the chain, their Merkle root), from the adoption record(s)."""
    out: dict[str, tuple[int, str]] = {}
    for e in log_events:
        if e.type == ADOPTED_EVENT and isinstance(e.payload, dict):
            for scope, v in (e.payload.get("scopes") or {}).items():
                if isinstance(v, dict) and isinstance(v.get("count"), int):
                    out.setdefault(scope, (v["count"], str(v.get("root"))))
    return out



def seal_findings(events: Sequence[AuditEvent],
                   checkpoints: Sequence[dict[str, Any]]) -> list[Finding]:
    """Events recorded for a case after it was sealed, and sealed cases whose seal is gone."""
    out: list[Finding] = []
    signed: dict[str, int] = {}
    for cp in checkpoints:
        if cp.get("scope") != LOG_SCOPE:
            signed[cp["scope"]] = max(signed.get(cp["scope"], 0), cp["tree_size"])
    for scope, mine in scopes_of(events).items():
        if scope == NO_CASE:
            continue
        seal = next((e for e in mine if e.type == SEAL_TYPE), None)
        if seal is None:
            continue
        for e in mine:
            if (e.case_seq or 0) > (seal.case_seq or 0) and e.type not in AFTER_SEAL:
                out.append(Finding(SEALED, e.seq, e.case_id, e.case_seq,
                                   f"{e.type} recorded after the case was sealed by "
                                   f"{SEAL_TYPE} (seq {seal.seq})"))
        if signed.get(scope, 0) < (seal.case_seq or 0):
            out.append(Finding(UNSEALED, seal.seq, scope, seal.case_seq,
                               "the case ended but no checkpoint seals it (its sealing "
                               "checkpoint is missing)"))
    return out


def checkpoint_chain_findings(checkpoints: Sequence[dict[str, Any]]) -> list[Finding]:
    """Each version 2 checkpoint names the digest of the one before it in its scope."""
    out: list[Finding] = []
    by_scope: dict[str, list[dict[str, Any]]] = {}
    for cp in checkpoints:
        by_scope.setdefault(str(cp.get("scope")), []).append(cp)
    for scope, cps in by_scope.items():
        cps.sort(key=lambda c: c["tree_size"])
        before: dict[str, Any] | None = None
        for cp in cps:
            if "prev" in cp:
                want = "" if before is None else checkpoint_digest(before)
                if cp["prev"] != want:
                    out.append(Finding(BAD_CHECKPOINT, None,
                                       None if scope == LOG_SCOPE else scope, None,
                                       f"checkpoint {scope!r} of size {cp['tree_size']} follows "
                                       "a checkpoint that is no longer stored: checkpoints "
                                       "were removed"))
            before = cp
    return out


def coverage_findings(events: Sequence[AuditEvent], checkpoints: Sequence[dict[str, Any]],
                       now: datetime) -> list[Finding]:
    """Events older than the county's period that no log checkpoint covers."""
    minutes = current_app.config["GUANJIA"].checkpoint_max_age_minutes
    limit = now - timedelta(minutes=minutes)
    covered = max((cp["tree_size"] for cp in checkpoints if cp.get("scope") == LOG_SCOPE),
                  default=0)
    late = [e for e in events[covered:] if _aware(e.at) < limit]
    if not late:
        return []
    what = ("no checkpoint of the log exists" if covered == 0
            else f"the newest log checkpoint covers only the first {covered} events")
    return [Finding(STALE, late[0].seq, None, None,
                    f"{what}, yet {len(late)} event(s) are older than the county's period of "
                    f"{minutes} minutes (the oldest from {_aware(late[0].at):%Y-%m-%d %H:%M} "
                    "UTC): checkpoints are missing, were removed, or are not being made")]


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def anchor_file_findings(checkpoints: Sequence[dict[str, Any]]) -> list[Finding]:
    """Every checkpoint copied to the anchor file must still be in the database, unchanged."""
    path = current_app.config["GUANJIA"].checkpoint_anchor
    if path is None or not path.exists():
        return []
    stored = {(cp.get("scope"), cp.get("tree_size")): cp.get("root") for cp in checkpoints}
    out: list[Finding] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            cp = json.loads(line)
            where = (cp["scope"], cp["tree_size"])
        except (ValueError, KeyError, TypeError):
            out.append(Finding(BAD_CHECKPOINT, None, None, None,
                               f"line {number} of the anchor file {path} is unreadable"))
            continue
        if where not in stored:
            out.append(Finding(BAD_CHECKPOINT, None, None, None,
                               f"checkpoint {where[0]!r} of size {where[1]} is in the anchor "
                               f"file {path} but missing from the database"))
        elif stored[where] != cp.get("root"):
            out.append(Finding(BAD_CHECKPOINT, None, None, None,
                               f"checkpoint {where[0]!r} of size {where[1]} differs from the "
                               f"copy in the anchor file {path}"))
    return out
