"""State covered by the history: what is stored must be what the audit log says happened.

The audit chain proves the *history*; an editor of the database could still leave the log
alone and change the state it describes. Three checks close that:

* at its end a case's state is sealed: an event (``case_state_sealed``, MAC'd like any other,
  and inside the sealing checkpoint) carries digests of its case row, its engine rows and its
  work items, and ``verify`` recomputes them from the stored rows;
* for every case, each completed work item must have its ``task_completed`` event with the
  same person and time, and the case's status must be the one its ``case_ended`` event gave;
* each deployment's files must match their content hashes and the ``deployment_created``
  event that recorded them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select

from server.extensions import db
from server.ledger.canonical import HASH_NAME, hash_bytes
from server.ledger.verify import ALTERED, Finding
from server.models import AuditEvent, Case, Deployment, EngineTask, WorkItem
from server.services.audit import record_event

STATE_EVENT = "case_state_sealed"
STATE = "state_changed"
_CASE_FIELDS = ("status", "ended_at", "summary", "envelope", "deployment_id", "process_id",
                "enterprise_id", "started_by", "started_at", "reference", "title", "area")
_ITEM_FIELDS = ("id", "element_id", "name", "state", "assignee", "claimed_by", "completed_by",
                "completed_at", "due_at", "candidate_groups", "form_key", "created_at")


def _digest(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_text)
    return hash_bytes(text.encode("utf-8"), HASH_NAME).hex()


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


# Built once (the seal reads them at the end of every case).
_CASE_ROW = select(*(Case.__table__.c[f] for f in _CASE_FIELDS)).where(
    Case.__table__.c.id == bindparam("case_id"))
_ENGINE_ROWS = (select(EngineTask.id, EngineTask.workflow, EngineTask.body)
                .where(EngineTask.case_id == bindparam("case_id")).order_by(EngineTask.id))
_ITEM_ROWS = (select(*(WorkItem.__table__.c[f] for f in _ITEM_FIELDS))
              .where(WorkItem.__table__.c.case_id == bindparam("case_id"))
              .order_by(WorkItem.__table__.c.id))


def state_digests(case_id: str) -> dict[str, str]:
    """Digests of a case's stored state: its row, its engine rows, its work items."""
    given = {"case_id": case_id}
    row = db.session.execute(_CASE_ROW, given).mappings().one()
    engine = db.session.execute(_ENGINE_ROWS, given).all()
    work = db.session.execute(_ITEM_ROWS, given).mappings().all()
    return {"case": _digest(dict(row)), "engine": _digest([list(r) for r in engine]),
            "work_items": _digest([dict(w) for w in work])}


def seal_state(case: Case) -> None:
    """Record the digests of an ended case's state (in the ending transaction)."""
    record_event(case, STATE_EVENT, actor=None, payload={"hash": HASH_NAME,
                                                         "digests": state_digests(case.id)})


_PARTS = {"case": "its case row (status, data summary, engine envelope, …)",
          "engine": "its engine rows", "work_items": "its work items (who completed what, when)"}


def state_findings(events: Sequence[AuditEvent], case_id: str | None) -> list[Finding]:
    """Cases whose stored state no longer matches their history (see the module docstring)."""
    out: list[Finding] = []
    by_case: dict[str, list[AuditEvent]] = {}
    for e in events:
        if e.case_id is not None:
            by_case.setdefault(e.case_id, []).append(e)
    query = select(Case.id, Case.status)
    completed = select(WorkItem).where(WorkItem.state == "completed")
    if case_id is not None:
        query = query.where(Case.id == case_id)
        completed = completed.where(WorkItem.case_id == case_id)
    items: dict[str, list[WorkItem]] = {}
    for item in db.session.execute(completed).scalars():
        items.setdefault(item.case_id, []).append(item)
    for cid, status in db.session.execute(query).all():
        mine = by_case.get(cid, [])
        sealed = [e for e in mine if e.type == STATE_EVENT]
        if sealed:
            last = sealed[-1]
            now = state_digests(cid)
            for part, digest in (last.payload.get("digests") or {}).items():
                if now.get(part) != digest:
                    out.append(Finding(STATE, last.seq, cid, last.case_seq,
                                       f"{_PARTS.get(part, part)} no longer match the state "
                                       "sealed when the case ended"))
        ended = [e for e in mine if e.type == "case_ended"]
        if ended and status != (ended[-1].payload or {}).get("status"):
            out.append(Finding(STATE, ended[-1].seq, cid, ended[-1].case_seq,
                               f"the case is stored as {status!r}, its history ended it as "
                               f"{(ended[-1].payload or {}).get('status')!r}"))
        elif not ended and status != "running":
            out.append(Finding(STATE, None, cid, None, f"the case is stored as {status!r} but "
                                                       "its history never ended it"))
        out += _completion_findings(cid, mine, items.get(cid, []))
    return out


def _completion_findings(case_id: str, events: Sequence[AuditEvent],
                         completed: Sequence[WorkItem]) -> list[Finding]:
    completions = {e.task_id: e for e in events if e.type == "task_completed" and e.task_id}
    out = []
    for item in completed:
        e = completions.get(item.id)
        if e is None:
            out.append(Finding(STATE, None, case_id, None,
                               f"work item {item.id} ({item.element_id}) is stored as completed "
                               f"by {item.completed_by!r}, but its history has no completion"))
        elif e.actor != item.completed_by or (item.completed_at is not None
                                              and item.completed_at != e.at):
            out.append(Finding(STATE, e.seq, case_id, e.case_seq,
                               f"work item {item.id} ({item.element_id}) is stored as completed "
                               f"by {item.completed_by!r}, its history says {e.actor!r}"))
    return out


def deployment_findings(events: Sequence[AuditEvent]) -> list[Finding]:
    """Deployments whose stored files no longer match their hashes or their recorded event."""
    recorded = {int(e.payload.get("deployment", 0)): e for e in events
                if e.type == "deployment_created" and isinstance(e.payload, dict)}
    out: list[Finding] = []
    for deployment in db.session.execute(select(Deployment).order_by(Deployment.number)
                                         ).scalars():
        event = recorded.get(deployment.number)
        seq = event.seq if event is not None else None
        where = f"deployment version {deployment.number}"
        for f in deployment.files:
            actual = hashlib.sha256(f.content.encode("utf-8")).hexdigest()
            if actual != f.sha256:
                out.append(Finding(ALTERED, seq, None, None,
                                   f"{where}: the stored content of {f.name} does not match "
                                   "its content hash"))
            elif event is not None and f.kind in {"bpmn", "dmn"} and (
                    event.payload.get("files") or {}).get(f.name) != f.sha256:
                out.append(Finding(ALTERED, seq, None, None,
                                   f"{where}: {f.name} is not the file its deployment event "
                                   "recorded"))
        if event is None:
            out.append(Finding(ALTERED, None, None, None,
                               f"{where} has no deployment_created event in the log"))
        elif event.payload.get("content_hash") != deployment.content_hash:
            out.append(Finding(ALTERED, seq, None, None,
                               f"{where}: its content hash is not the one its deployment event "
                               "recorded"))
    return out
