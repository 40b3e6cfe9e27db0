"""Exports of stored cases for auditors: XES, OCEL 2.0, CSV, and the one-file case archive.

Each export reads the database and hands plain dicts to the pure writers in ``server.ledger``.
Every event of a task that belongs to an approval item carries the item (id and name) and its
department, so each item's process can be mined. Personal data (contact names, phone and ID
numbers) is masked (``server.ledger.privacy``) unless an auditor asks for it with a purpose;
that request is itself an audit event. The case archive (一事一档) is built only from history
that verifies: an archive must never bless a tampered log.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from server.extensions import db
from server.ledger import csvexport, ocel, privacy, xes
from server.ledger.canonical import HASH_NAME
from server.ledger.casefile import build_casefile
from server.models import AuditEvent, Case, User, WorkItem
from server.models.audit import TASK_CREATED, TASKS_CREATED, opened_tasks
from server.services import ledger
from server.services.audit import record_event
from server.services.errors import ConflictError, NotFoundError, ValidationFailedError
from server.services.replay import require_auditor
from server.services.tenancy import CountyScope

MAX_CASES = 5000


def _cases(case_ids: Sequence[str] | None, scope: CountyScope | None = None) -> list[Case]:
    query = select(Case).order_by(Case.started_at, Case.id)
    if scope is not None:
        # Another county's case is as unknown as a made-up id.
        query = query.where(scope.case_condition())
    if case_ids is not None:
        query = query.where(Case.id.in_(list(case_ids)))
    found = list(db.session.execute(query.limit(MAX_CASES)).scalars())
    if case_ids is not None:
        missing = set(case_ids) - {c.id for c in found}
        if missing:
            raise NotFoundError(f"no such case: {', '.join(sorted(missing))}")
    return found


def case_attributes(case: Case, started: AuditEvent | None) -> dict[str, Any]:
    """The case-level attributes an export carries: summary, items, reference, status."""
    attrs: dict[str, Any] = json.loads(case.summary or "{}")
    start = (started.payload.get("new") if started is not None else None) or {}
    for key in ("project_name", "enterprise_name", "industry", "investment_wan", "items",
                "materials"):
        if key in start and key not in attrs:
            attrs[key] = start[key]
    attrs.update(reference=case.reference, process_id=case.process_id, status=case.status,
                 title=case.title, deployment=case.deployment.number,
                 started_at=case.started_at.isoformat())
    attrs.pop("item_count", None)
    return attrs


def _task_items(case_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Task id -> the approval item (code, name, department) its work item belongs to."""
    out: dict[str, dict[str, Any]] = {}
    for chunk in range(0, len(case_ids), 500):
        for task_id, context in db.session.execute(
                select(WorkItem.id, WorkItem.context)
                .where(WorkItem.case_id.in_(list(case_ids[chunk:chunk + 500])))):
            item = json.loads(context or "{}").get("item")
            if isinstance(item, dict) and item.get("code"):
                out[task_id] = item
    return out


def per_task_records(record: dict[str, Any]) -> list[dict[str, Any]]:
    """An event's record as the exports show it: a fan-out (``tasks_created``) as one
    ``task_created`` per task, as written before fan-outs were one event (each with the
    event's ``seq``, ``case_seq`` and ``leaf_hash``, and ``part``: its place in the list);
    any other event as it is."""
    if record["type"] != TASKS_CREATED:
        return [record]
    return [{**record, "type": TASK_CREATED, "task_id": task_id, "payload": opened, "part": k}
            for k, (task_id, opened) in enumerate(
                opened_tasks(record["type"], record["task_id"], record["payload"]), 1)]


def export_cases(case_ids: Sequence[str] | None = None, *, unmasked: bool = False,
                 scope: CountyScope | None = None) -> list[dict[str, Any]]:
    """``[{"case_id", "attributes", "events"}]`` of the given cases (all when None), of
    ``scope``'s counties (None: every county, for the CLI).

    Task events carry ``item_id``, ``item_name`` and ``department`` when the task belongs to
    an approval item. Personal data is masked unless ``unmasked`` (see
    ``personal_data_export``). Raises ``NotFoundError`` for an unknown case id.
    """
    cases = _cases(case_ids, scope)
    events: dict[str, list[AuditEvent]] = {c.id: [] for c in cases}
    for chunk in range(0, len(cases), 500):
        ids = [c.id for c in cases[chunk:chunk + 500]]
        for e in db.session.execute(select(AuditEvent).where(AuditEvent.case_id.in_(ids))
                                    .order_by(AuditEvent.seq)).scalars():
            events[str(e.case_id)].append(e)
    items = _task_items([c.id for c in cases])
    out = []
    for case in cases:
        mine = events[case.id]
        started = next((e for e in mine if e.type == "case_started"), None)
        records = []
        for e in mine:
            for record in per_task_records(e.as_record()):
                item = items.get(record["task_id"] or "")
                if item is not None:
                    record.update(item_id=str(item["code"]), item_name=item.get("name"),
                                  department=item.get("department"))
                records.append(record if unmasked else privacy.mask_event(record))
        attributes = case_attributes(case, started)
        out.append({"case_id": case.id,
                    "attributes": attributes if unmasked else privacy.mask(attributes),
                    "events": records})
    return out


def personal_data_export(user: User, fmt: str, case_ids: Sequence[str] | None,
                         purpose: str) -> None:
    """Allow one unmasked export: an auditor, with a stated purpose, audited; commits.

    Raises ``PermissionDeniedError`` (not an auditor), ``ValidationFailedError`` (no purpose).
    """

    require_auditor(user)
    if not purpose.strip():
        raise ValidationFailedError("say why the personal data is needed",
                                    {"purpose": ["required"]})
    record_event(None, "personal_data_exported", actor=user.username, role="auditor",
                 payload={"format": fmt, "cases": sorted(case_ids) if case_ids else "all",
                          "purpose": purpose.strip()})
    db.session.commit()


def to_xes(case_ids: Sequence[str] | None = None, *, unmasked: bool = False,
           scope: CountyScope | None = None) -> bytes:
    """IEEE 1849-2016 XES bytes of the cases (of ``scope``). Raises ``NotFoundError``."""
    return xes.to_xes(export_cases(case_ids, unmasked=unmasked, scope=scope),
                      log_name="guanjia")


def to_ocel(case_ids: Sequence[str] | None = None, *, unmasked: bool = False,
            scope: CountyScope | None = None) -> bytes:
    """OCEL 2.0 JSON bytes (projects, items, departments, materials) of the cases (of
    ``scope``). Raises ``NotFoundError``."""
    return json.dumps(ocel.to_ocel(export_cases(case_ids, unmasked=unmasked, scope=scope)),
                      ensure_ascii=False, indent=1).encode("utf-8")


def to_csv(case_ids: Sequence[str] | None = None, *, unmasked: bool = False,
           scope: CountyScope | None = None) -> bytes:
    """CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese) of the cases (of
    ``scope``). Raises ``NotFoundError``."""
    events = [e for c in export_cases(case_ids, unmasked=unmasked, scope=scope)
              for e in c["events"]]
    return csvexport.events_to_csv_bytes(events)


# ---- the case archive (一事一档) --------------------------------------------------------------

def submitted_forms(case: Case) -> dict[str, bytes]:
    """Every form submission of the case as JSON files: the start form and each completion."""
    files: dict[str, bytes] = {}
    for e in db.session.execute(select(AuditEvent).where(
            AuditEvent.case_id == case.id,
            AuditEvent.type.in_(["case_started", "task_completed"]))
            .order_by(AuditEvent.case_seq)).scalars():
        name = "application" if e.type == "case_started" else (e.element_id or "task")
        body = {"case_seq": e.case_seq, "type": e.type, "element_id": e.element_id,
                "element_name": e.element_name, "task_id": e.task_id, "actor": e.actor,
                "role": e.role, "at": e.at.isoformat(), "data": e.payload.get("new") or {},
                "previous": e.payload.get("old")}
        files[f"forms/{e.case_seq:06d}-{name}.json"] = json.dumps(
            body, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
    return files


def casefile(case_id: str, *, records: Mapping[str, bytes] | None = None,
             created_at: str | None = None) -> tuple[Case, bytes]:
    """The zip archive of one case (``tools/verify_casefile.py`` checks it offline).

    ``records``: printable records (name → bytes), stored under ``files/records/``.
    Raises ``NotFoundError``; ``ConflictError`` when the case's history does not verify.
    """
    case = db.session.get(Case, case_id)
    if case is None:
        raise NotFoundError(f"case {case_id} does not exist")
    findings = ledger.verify(case_id)
    if findings:
        raise ConflictError("the case's history does not verify: "
                            + "; ".join(str(f) for f in findings[:5]))
    events = ledger.events_of(case_id)
    records_in = [ledger.full_record(e) for e in events]
    started = next((e for e in events if e.type == "case_started"), None)
    extra = submitted_forms(case)
    for name, data in (records or {}).items():
        extra[f"records/{name}"] = data
    # The archive's events carry leaves over their whole content, seq included (what the
    # offline verifier recomputes), so it gets a checkpoint of its own, signed now.
    data = build_casefile(case_id, records_in, key=ledger.checkpoint_key(), extra_files=extra,
                          case_attributes=case_attributes(case, started),
                          algorithm=HASH_NAME, created_at=created_at)
    return case, data
