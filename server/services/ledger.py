"""The audit log as evidence: signed checkpoints, verification, inclusion proofs.

The audit service hashes each event *without* its ``seq`` (the database assigns it on insert),
while the pure ledger (``server.ledger``) hashes every field of what it is given but
``leaf_hash``. The two meet in ``ledger_record``: the ledger sees each event as a small
envelope ``{seq, case_id, case_seq, event_leaf}`` where ``event_leaf`` is the stored hash of the
event's content. The Merkle trees and checkpoints are built over envelopes, so they bind the
numbering and (through the stored hash) the content; ``verify`` checks each event's content
against its stored hash itself. Events outside any case (deployments) join the log tree under
the pseudo case ``NO_CASE``, numbered by their own ``seq``.

Beyond the hashes, ``verify`` checks what needs the audit key to forge (the keyed chain and its
anchors), the seals and chain of checkpoints (``chain_checks``) and the stored state against
the history (``coverage``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, event, func, select
from sqlalchemy.orm import Session

from server.engine import clock
from server.extensions import db
from server.ledger import chain, merkle
from server.ledger.canonical import HASH_NAME, canonical_event_bytes, event_leaf_hash, leaf_hash
from server.ledger.checkpoint import (
    LOG_SCOPE,
    checkpoint_digest,
    make_checkpoint,
    verify_checkpoint,
)
from server.ledger.verify import (
    ALTERED,
    INSERTED,
    REMOVED,
    Finding,
    verify_events,
)
from server.models import AuditEvent, Case, Checkpoint, User
from server.models.checkpoints import LedgerHead
from server.services import coverage
from server.services.audit import (
    audit_key,
    hashed_record,
    record_event,
    take_cases_ending,
    write_pending_events,
)
from server.services.chain_checks import (
    ADOPTED_EVENT,
    NO_CASE,
    SEAL_TYPE,
    STALE,
    UNSEALED,
    adoptions,
    anchor_file_findings,
    chain_findings,
    checkpoint_chain_findings,
    coverage_findings,
    scopes_of,
    seal_findings,
)
from server.services.chain_checks import AFTER_SEAL as AFTER_SEAL  # re-exported
from server.services.chain_checks import SEALED as SEALED  # re-exported
from server.services.errors import ConflictError, NotFoundError
from server.services.replay import reexecute_case
from server.services.tenancy import in_scope

PROOF_FORMAT = "guanjia-inclusion-proof"


def checkpoint_key(*, create: bool = True) -> str:
    """The audit key (settings, else the instance folder). Raises ``MissingKeyError``."""
    return audit_key(create=create)


def stored_hash_matches(event: AuditEvent) -> bool:
    """True iff the stored leaf hash covers the event's content as the audit service wrote it."""
    stored = event.leaf_hash
    return isinstance(stored, str) and stored.lower() == leaf_hash(
        canonical_event_bytes(hashed_record(event)))


def ledger_record(event: AuditEvent) -> dict[str, Any]:
    """The envelope of an event as ``server.ledger`` checks it (see the module docstring)."""
    return envelope(event.seq, event.case_id, event.case_seq, event.leaf_hash)


def envelope(seq: int, case_id: str | None, case_seq: int | None,
             event_leaf: str) -> dict[str, Any]:
    """An event's envelope from its number, place and stored leaf hash (``ledger_record``)."""
    if case_id is None:
        case_id, case_seq = NO_CASE, seq
    record: dict[str, Any] = {"seq": seq, "case_id": case_id, "case_seq": case_seq,
                              "event_leaf": event_leaf}
    record["leaf_hash"] = event_leaf_hash(record)
    return record


def full_record(event: AuditEvent) -> dict[str, Any]:
    """The whole event with a leaf hash over all of it, ``seq`` included (for case files,
    whose offline verifier hashes the events it holds; only built from verified history)."""
    record = event.as_record()
    record["leaf_hash"] = event_leaf_hash(record)
    return record


def _altered_content(events: Sequence[AuditEvent]) -> list[Finding]:
    return [Finding(ALTERED, e.seq, e.case_id, e.case_seq,
                    "content does not match its stored leaf hash")
            for e in events if not stored_hash_matches(e)]


def events_of(case_id: str | None = None) -> list[AuditEvent]:
    """Stored events of one case, or of the whole log, in ``seq`` order."""
    query = select(AuditEvent).order_by(AuditEvent.seq)
    if case_id is not None:
        query = query.where(AuditEvent.case_id == case_id)
    return list(db.session.execute(query).scalars())


def ledger_records(case_id: str | None = None) -> list[dict[str, Any]]:
    return [ledger_record(e) for e in events_of(case_id)]


def stored_checkpoints(scope: str | None = None) -> list[dict[str, Any]]:
    query = select(Checkpoint).order_by(Checkpoint.scope, Checkpoint.tree_size)
    if scope is not None:
        query = query.where(Checkpoint.scope == scope)
    return [c.as_checkpoint() for c in db.session.execute(query).scalars()]


# Built once: the seal runs these at the end of every case.
_LATEST = (select(Checkpoint).where(Checkpoint.scope == bindparam("scope"))
           .order_by(Checkpoint.tree_size.desc()).limit(1))
_EVENTS = AuditEvent.__table__
_CASE_LEAVES = (select(_EVENTS.c.seq, _EVENTS.c.case_seq, _EVENTS.c.leaf_hash, _EVENTS.c.mac)
                .where(_EVENTS.c.case_id == bindparam("case_id")).order_by(_EVENTS.c.seq))


def latest_checkpoint(scope: str) -> dict[str, Any] | None:
    row = db.session.execute(_LATEST, {"scope": scope}).scalar_one_or_none()
    return None if row is None else row.as_checkpoint()


# ---- checkpoints ------------------------------------------------------------------------------

@dataclass
class CheckpointRun:
    """What ``make_checkpoints`` signed, and which scopes it refused to sign (and why)."""

    made: list[dict[str, Any]] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


def _signed_at(now: datetime) -> str:
    return now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _checkpoint_scope(scope: str, events: list[AuditEvent], key: str, at_text: str,
                      now: datetime, run: CheckpointRun) -> None:
    previous = latest_checkpoint(scope)
    if not events or (previous is not None and len(events) <= previous["tree_size"]):
        return
    leaves = [ledger_record(e)["leaf_hash"] for e in events]
    bad = [f.seq for f in _altered_content(events)]
    if bad:
        run.refused[scope] = f"events {bad[:10]} do not match their stored hashes"
        return
    _sign_leaves(scope, leaves, previous, key, at_text, now, run)


def _sign_leaves(scope: str, leaves: list[str], previous: dict[str, Any] | None, key: str,
                 at_text: str, now: datetime, run: CheckpointRun) -> None:
    # Never sign over history that no longer matches what was signed before.
    if previous is not None and merkle.root(leaves[:previous["tree_size"]]) != previous["root"]:
        run.refused[scope] = (f"the first {previous['tree_size']} events no longer match the "
                              "checkpoint signed for them")
        return
    prev = "" if previous is None else checkpoint_digest(previous)
    cp = make_checkpoint(leaves, key, scope=scope, algorithm=HASH_NAME, at=at_text, prev=prev)
    db.session.add(Checkpoint(
        scope=scope, tree_size=cp["tree_size"], root=cp["root"], algorithm=cp["hash"],
        sig_alg=cp["sig_alg"], key_id=cp["key_id"], public_key=cp.get("public_key"),
        signature=cp["signature"], at=now, signed_at=cp["at"], prev=prev))
    run.made.append(cp)


def write_anchor(made: list[dict[str, Any]]) -> None:
    """Copy new checkpoints to the county's anchor file, outside the database (if set)."""
    path = current_app.config["GUANJIA"].checkpoint_anchor
    if path is None or not made:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        for cp in made:
            f.write(json.dumps(cp, ensure_ascii=False, sort_keys=True) + "\n")


def seal_cases(case_ids: Sequence[str]) -> CheckpointRun:
    """Sign a checkpoint of each case that just ended, in the ending transaction (no commit).

    Called before the commit that writes ``case_ended`` (``_seal_ending_cases``).
    """
    key = checkpoint_key()
    now = clock.now()
    run = CheckpointRun()
    for case_id in case_ids:
        case = db.session.get(Case, case_id)
        if case is None:
            _checkpoint_scope(case_id, events_of(case_id), key, _signed_at(now), now, run)
            continue
        coverage.seal_state(case)  # the state it ends in, inside the seal
        _seal_from_chain(case, key, _signed_at(now), now, run)
    db.session.flush()
    return run


def _seal_from_chain(case: Case, key: str, at_text: str, now: datetime,
                     run: CheckpointRun) -> None:
    """Sign the ending case's leaves, vouched for by its keyed chain, without its events.

    Each event's content was hashed, and the leaf MAC'd into the chain, as it was recorded;
    the case row's anchor was rewritten by this very step. So the seal reads only each event's
    number, leaf and MAC, and checks the MACs from the first event to that anchor: a leaf
    changed, inserted or removed since it was written (even with its hash recomputed, which
    needs no secret) breaks the chain and the seal is refused, as an altered event was before.
    The root it signs covers the stored leaves, so ``verify`` still names any content that no
    longer matches its leaf. A case with history from before the chain (events without a MAC)
    is sealed as before: every event read and its content hashed again.
    """
    rows = db.session.execute(_CASE_LEAVES, {"case_id": case.id}).all()
    if not rows or any(not r.mac for r in rows):
        _checkpoint_scope(case.id, events_of(case.id), key, at_text, now, run)
        return
    previous = latest_checkpoint(case.id)
    if previous is not None and len(rows) <= previous["tree_size"]:
        return
    head = chain.Head(case.event_count or 0, case.ledger_leaf or "", case.ledger_mac or "")
    problems = chain.check_chain(
        chain.chain_key(key), case.id,
        [{"leaf_hash": r.leaf_hash, "mac": r.mac, "position": r.case_seq} for r in rows], head)
    if problems:
        named = [rows[p.index].seq for p in problems if p.index is not None]
        run.refused[case.id] = (f"events {named[:10]} are not vouched for by the case's chain"
                                if named else f"the case's chain: {problems[0].detail}")
        return
    leaves = [envelope(r.seq, case.id, r.case_seq, r.leaf_hash)["leaf_hash"] for r in rows]
    _sign_leaves(case.id, leaves, previous, key, at_text, now, run)


_ANCHOR = "guanjia.checkpoints_to_anchor"


@event.listens_for(Session, "before_commit")
def _seal_ending_cases(session: Session) -> None:
    # A case that ends is sealed in the same transaction: a signed checkpoint of all its
    # events, so any event added for it later is seen. Runs after the audit service wrote
    # the transaction's events (its listener was registered first: this module imports it).
    ending = take_cases_ending(session)
    if ending:
        run = seal_cases(ending)
        write_pending_events(session)
        session.info.setdefault(_ANCHOR, []).extend(run.made)


@event.listens_for(Session, "after_commit")
def _anchor_new_seals(session: Session) -> None:
    made = session.info.pop(_ANCHOR, None)
    if made:
        write_anchor(made)


@event.listens_for(Session, "after_rollback")
def _drop_new_seals(session: Session) -> None:
    session.info.pop(_ANCHOR, None)


def make_checkpoints(now: datetime | None = None) -> CheckpointRun:
    """Sign the whole log and every case changed since its last checkpoint; commits.

    A scope whose earlier signed history no longer matches, or with an event that does not
    match its stored hash, is refused (listed in ``refused``) rather than blessed.
    Raises ``CheckpointError`` for a malformed key.
    """
    key = checkpoint_key()
    now = now or clock.now()
    at_text = _signed_at(now)
    run = CheckpointRun()
    _checkpoint_scope(LOG_SCOPE, events_of(), key, at_text, now, run)
    signed = (select(Checkpoint.scope, func.max(Checkpoint.tree_size).label("size"))
              .group_by(Checkpoint.scope).subquery())
    changed = db.session.execute(
        select(Case.id).outerjoin(signed, signed.c.scope == Case.id)
        .where(Case.event_count > func.coalesce(signed.c.size, 0)).order_by(Case.started_at)
    ).scalars().all()
    for case_id in changed:
        _checkpoint_scope(case_id, events_of(case_id), key, at_text, now, run)
    db.session.commit()
    write_anchor(run.made)
    return run


def checkpoint_if_new_events() -> CheckpointRun:
    """Beat's periodic run: sign only when events were written since the last log checkpoint."""
    last = latest_checkpoint(LOG_SCOPE)
    count = db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    db.session.rollback()
    if last is not None and count <= last["tree_size"]:
        return CheckpointRun()
    return make_checkpoints()


# ---- verification -----------------------------------------------------------------------------

def _counter_findings(case_ids: Sequence[str], records: list[dict[str, Any]]) -> list[Finding]:
    """Compare each case's events with the counter its row keeps, written in the same step."""
    out: list[Finding] = []
    counts: dict[str, int] = {row[0]: row[1] for row in db.session.execute(
        select(Case.id, Case.event_count).where(Case.id.in_(case_ids)))}
    by_case: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_case.setdefault(r["case_id"], []).append(r)
    for case_id in case_ids:
        if case_id == NO_CASE:
            continue
        mine = by_case.get(case_id, [])
        if case_id not in counts:
            out += [Finding(INSERTED, r["seq"], case_id, r["case_seq"],
                            "event of a case that does not exist") for r in mine]
            continue
        count = counts[case_id] or 0
        out += [Finding(INSERTED, r["seq"], case_id, r["case_seq"],
                        f"beyond the case's own event counter ({count})")
                for r in mine if r["case_seq"] > count]
        top = max((r["case_seq"] for r in mine), default=0)
        out += [Finding(REMOVED, None, case_id, n,
                        f"the case counted {count} events, {len(mine)} are stored")
                for n in range(top + 1, count + 1)]
    return out


def verify(case_id: str | None = None, *, now: datetime | None = None,
           reexecute: bool = False) -> list[Finding]:
    """Name every altered, removed or inserted event of one case or of the whole log.

    Checks each event's content against its leaf hash, its keyed MAC and its place in the
    chain, each scope's anchor, the numbering, the signed checkpoints (their signatures, their
    chain, their age against the county's period), the anchor file, the seal of ended cases
    and the stored state against the history (``coverage``). With ``reexecute`` it also runs
    each case's recorded inputs through the engine again and names each case whose stored
    state is not where they lead (slow: one engine run per case).
    Raises ``NotFoundError`` for a case with neither a row nor events,
    ``MissingKeyError`` when no audit key is configured, ``CheckpointError`` for a malformed
    key.
    """
    key = checkpoint_key(create=False)
    events = events_of(case_id)
    records = [ledger_record(e) for e in events]
    if case_id is not None:
        if not records and db.session.get(Case, case_id) is None:
            raise NotFoundError(f"case {case_id} does not exist")
        checkpoints = stored_checkpoints(case_id)
        findings = verify_events(records, checkpoints, key=key, whole_log=False,
                                 algorithm=HASH_NAME)
        case_ids: list[str] = [case_id]
    else:
        checkpoints = stored_checkpoints()
        findings = verify_events(records, checkpoints, key=key, whole_log=True,
                                 algorithm=HASH_NAME)
        # The pseudo case's numbers are the log's seq: its "gaps" are other cases' events.
        findings = [f for f in findings
                    if not (f.kind == REMOVED and f.case_id == NO_CASE and f.seq is None)]
        case_ids = sorted({r["case_id"] for r in records}
                          | set(db.session.execute(select(Case.id)).scalars()))
    findings = _altered_content(events) + findings
    extra = (_counter_findings(case_ids, records) + chain_findings(events, case_id, key)
             + seal_findings(events, checkpoints) + checkpoint_chain_findings(checkpoints)
             + coverage.state_findings(events, case_id))
    if case_id is None:
        extra += coverage.deployment_findings(events)
        extra += coverage_findings(events, checkpoints, now or clock.now())
        extra += anchor_file_findings(checkpoints)
    if reexecute:
        extra += _reexecution_findings(case_ids)
    seen = {(f.kind, f.seq, f.case_id, f.case_seq) for f in findings}
    for f in extra:
        if (f.kind, f.seq, f.case_id, f.case_seq) not in seen:
            seen.add((f.kind, f.seq, f.case_id, f.case_seq))
            findings.append(f)
    return findings


def _reexecution_findings(case_ids: Sequence[str]) -> list[Finding]:

    out = []
    for cid in case_ids:
        case = db.session.get(Case, cid) if cid != NO_CASE else None
        if case is None:
            continue
        result = reexecute_case(case)
        if not result.ok:
            out.append(Finding(coverage.STATE, None, cid, None,
                               f"re-executing its recorded inputs: {result.detail}"))
    return out


def verification_summary(case_id: str | None = None) -> str:
    """What a clean ``verify`` rested on, in words, claiming no checkpoint that is not there."""
    events = events_of(case_id)
    scope = case_id or LOG_SCOPE
    latest = latest_checkpoint(scope)
    text = (f"{len(events)} event(s), each matching its content and its MAC in the keyed "
            "chain, with the chain's anchor")
    if latest is None:
        minutes = current_app.config["GUANJIA"].checkpoint_max_age_minutes
        return text + (f"; no signed checkpoint exists yet (allowed while every event is "
                       f"younger than the county's period of {minutes} minutes)")
    return text + (f"; the newest signed checkpoint ({latest['sig_alg']}, {latest['at']}) "
                   f"covers {latest['tree_size']} of them")


def adopt_chain(actor: str) -> dict[str, int]:
    """Bring history written before the keyed chain under it, once; commits.

    Refuses (``ConflictError``) when anything but the missing MACs is wrong with the log: an
    adoption must not bless tampered history. Returns scope -> events adopted.
    """
    events = events_of()
    scopes = scopes_of(events)
    if adoptions(scopes.get(NO_CASE, [])):
        raise ConflictError("the chain was adopted already")
    wrong = [f for f in verify() if not ("carries no MAC" in f.detail
                                         or "anchor is missing" in f.detail
                                         or f.kind in {STALE, UNSEALED})]
    if wrong:
        raise ConflictError("the log does not verify apart from its missing MACs: "
                            + "; ".join(str(f) for f in wrong[:5]))
    mac_key = chain.chain_key(checkpoint_key())
    record: dict[str, dict[str, Any]] = {}
    for scope, mine in scopes.items():
        legacy = []
        for e in mine:
            if e.mac:
                break
            legacy.append(e)
        if not legacy:
            continue
        record[scope] = {"count": len(legacy),
                         "root": merkle.root([e.leaf_hash for e in legacy], HASH_NAME)}
        if scope == NO_CASE or len(legacy) < len(mine):
            continue  # the chain already runs after them (it started fresh at n+1)
        case = db.session.get(Case, scope)
        if case is not None:
            case.ledger_leaf = ""
            case.ledger_mac = chain.head_mac(mac_key, scope, len(legacy), "")
    if not record:
        return {}
    log = record.get(NO_CASE)
    if log is not None and db.session.get(LedgerHead, NO_CASE) is None:
        n = log["count"]
        db.session.add(LedgerHead(scope=NO_CASE, count=n, last_leaf="",
                                  mac=chain.head_mac(mac_key, NO_CASE, n, "")))
        db.session.flush()
    record_event(None, ADOPTED_EVENT, actor=actor, payload={"hash": HASH_NAME,
                                                            "scopes": record})
    # Cases that ended before the chain are sealed now, as they would have been at their end.
    ended = [scope for scope, mine in scopes.items() if scope in record
             and any(e.type == SEAL_TYPE for e in mine)]
    made = seal_cases(ended).made if ended else []
    db.session.commit()
    write_anchor(made)
    return {scope: v["count"] for scope, v in record.items()}


# ---- inclusion proofs -------------------------------------------------------------------------

def event_proof(seq: int, user: User | None = None) -> dict[str, Any]:
    """A self-contained JSON proof that event ``seq`` is in the signed log.

    Holds the event as stored, its envelope (the leaf), the audit path and the newest log
    checkpoint covering it. Raises ``NotFoundError`` (no such event, or for ``user`` an event
    of a case of another county), ``ConflictError`` (no checkpoint covers it yet, or the log
    no longer matches that checkpoint).
    """
    events = events_of()
    index = next((i for i, e in enumerate(events) if e.seq == seq), None)
    if index is not None and user is not None and events[index].case_id is not None:
        case = db.session.get(Case, events[index].case_id)
        if case is not None and not in_scope(user, case):
            index = None
    if index is None:
        raise NotFoundError(f"event {seq} does not exist")
    cp = latest_checkpoint(LOG_SCOPE)
    if cp is None or cp["tree_size"] <= index:
        raise ConflictError(f"no checkpoint covers event {seq} yet; run guanjia audit checkpoint")
    leaves = [ledger_record(e)["leaf_hash"] for e in events[:cp["tree_size"]]]
    if merkle.root(leaves, cp["hash"]) != cp["root"] or not stored_hash_matches(events[index]):
        raise ConflictError("the log no longer matches its checkpoint; run guanjia audit verify")
    return {
        "format": PROOF_FORMAT, "version": 1, "event": events[index].as_record(),
        "envelope": ledger_record(events[index]), "index": index, "tree_size": cp["tree_size"],
        "hash": cp["hash"], "proof": merkle.inclusion_proof(leaves, index, cp["hash"]),
        "checkpoint": cp,
        "how_to_check": "event without seq and leaf_hash -> canonical JSON -> H(0x00||bytes) = "
                        "envelope.event_leaf = event.leaf_hash; envelope without leaf_hash -> "
                        "H(0x00||canonical JSON) = envelope.leaf_hash; RFC 6962 audit path from "
                        "it at index in tree_size -> checkpoint.root; checkpoint signature.",
    }


def check_proof(doc: dict[str, Any], key: str) -> list[str]:
    """Problems with an inclusion proof document (empty when it holds); needs no database.

    ``key`` verifies the checkpoint: the HMAC secret, or ``ed25519-pub:<hex>``.
    """
    try:
        alg, cp, event, env = doc["hash"], doc["checkpoint"], dict(doc["event"]), doc["envelope"]
        problems = []
        if doc.get("format") != PROOF_FORMAT:
            problems.append("not a guanjia inclusion proof")
        stored = event.pop("leaf_hash")
        event.pop("seq")
        if leaf_hash(canonical_event_bytes(event), alg) != stored or env["event_leaf"] != stored:
            problems.append("the event's content does not match its leaf hash")
        if env["seq"] != doc["event"]["seq"] or event_leaf_hash(env, alg) != env["leaf_hash"]:
            problems.append("the envelope does not match the event")
        if cp.get("scope") != LOG_SCOPE or cp.get("tree_size") != doc["tree_size"] \
                or cp.get("hash") != alg:
            problems.append("the checkpoint is not the log checkpoint the proof names")
        if not merkle.verify_inclusion(env["leaf_hash"], doc["index"], doc["tree_size"],
                                       doc["proof"], cp["root"], alg):
            problems.append("the inclusion path does not lead to the checkpoint's root")
        if not verify_checkpoint(cp, key):
            problems.append("the checkpoint is not signed by the given key")
        return problems
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return [f"malformed proof: {exc}"]
