"""The archive step's completeness check (一事一档, seed 004 §五(十)) and a leader's exception.

The window archives a case by ticking the records the archive holds; the step is refused while
a record the case's path requires is neither ticked nor excused by a leader's recorded exception
(audit event ``archive_exception_recorded``: which records, and why).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from server.extensions import db
from server.models import AuditEvent, Case, User, WorkItem
from server.rules.archive import RECORDS, missing_records, required_records
from server.services.audit import record_event
from server.services.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailedError,
)
from server.services.store import case_store, with_retries

ARCHIVE_FORM = "archive"
ARCHIVE_STEP = "archive_case"
EXCEPTION_EVENT = "archive_exception_recorded"
#: Who may excuse a missing record: the leaders (and administrators).
EXCUSERS = ("leader", "admin")
MAX_REASON = 2000


def completed_steps(case_id: str) -> set[str]:
    return set(db.session.execute(select(WorkItem.element_id).where(
        WorkItem.case_id == case_id, WorkItem.state == "completed")).scalars())


def excused_records(case_id: str) -> list[str]:
    """Records a leader excused for this case (every recorded exception counts)."""
    out: list[str] = []
    for payload in db.session.execute(select(AuditEvent.payload).where(
            AuditEvent.case_id == case_id, AuditEvent.type == EXCEPTION_EVENT)).scalars():
        out.extend(str(c) for c in (payload or {}).get("records", []))
    return out


def archive_status(case_id: str, held: Sequence[str] = ()) -> dict[str, Any]:
    """What the case's archive needs, what a leader excused, and what is still missing."""
    required = required_records(completed_steps(case_id))
    excused = excused_records(case_id)
    return {"required": required, "excused": excused,
            "missing": missing_records(required, held, excused)}


def names(codes: Sequence[str]) -> str:
    return "、".join(RECORDS.get(c, c) for c in codes)


def prepare_submission(case: Case, form_key: str | None, cleaned: dict[str, Any]
                       ) -> dict[str, Any]:
    """Refuse an archive that lacks a record the case's path requires; raises
    ``ValidationFailedError`` naming each missing record (nothing is written)."""
    if form_key != ARCHIVE_FORM:
        return cleaned
    status = archive_status(case.id, [str(c) for c in cleaned.get("archive_contents") or []])
    if status["missing"]:
        raise ValidationFailedError(
            f"the archive lacks records this case requires: {', '.join(status['missing'])}",
            {"archive_contents": [f"本案还缺：{names(status['missing'])}（补齐后勾选，或由领导"
                                  f"在案件页记录例外）"]})
    return {**cleaned, "archive_excused": status["excused"]}


def record_exception(user: User, case_id: str, records: Sequence[str], reason: str) -> None:
    """A leader's recorded decision that the archive may go without ``records``; commits.

    Raises ``NotFoundError``, ``PermissionDeniedError`` (not a leader or administrator),
    ``ConflictError`` (the case is not at its archive step), ``ValidationFailedError`` (no
    reason; a record the case does not require or an unknown one).
    """

    case = db.session.get(Case, case_id)
    if case is None:
        raise NotFoundError(f"case {case_id} does not exist")
    role = next((g for g in EXCUSERS if g in user.group_codes), None)
    if role is None:
        raise PermissionDeniedError("only leaders excuse a missing archive record")
    reason = (reason or "").strip()
    chosen = list(dict.fromkeys(str(r) for r in records if r))
    errors: dict[str, list[str]] = {}
    if not reason or len(reason) > MAX_REASON:
        errors["reason"] = [f"请说明理由（1–{MAX_REASON} 字）"]
    required = required_records(completed_steps(case_id))
    strangers = [r for r in chosen if r not in required]
    if not chosen or strangers:
        errors["records"] = ["请选择本案应归档而缺少的材料"
                             + (f"（本案不需要：{names(strangers)}）" if strangers else "")]
    if errors:
        raise ValidationFailedError("the exception cannot be recorded", errors)
    at_archive = db.session.execute(select(WorkItem.id).where(
        WorkItem.case_id == case_id, WorkItem.element_id == ARCHIVE_STEP,
        WorkItem.state == "ready")).first()
    if at_archive is None:
        raise ConflictError("the case is not waiting at its archive step")

    def locked() -> None:
        with case_store().locked(case_id) as live:
            record_event(live.case, EXCEPTION_EVENT, actor=user.username, role=role,
                         payload={"records": chosen, "names": names(chosen),
                                  "reason": reason})

    with_retries(locked)


def archive_view(user: User, case: Case, items: Sequence[WorkItem]) -> dict[str, Any] | None:
    """While the case waits at its archive step: the records its path requires (by name),
    those a leader excused, and whether ``user`` may excuse more; None otherwise."""
    if not any(i.element_id == ARCHIVE_STEP and i.state == "ready" for i in items):
        return None
    status = archive_status(case.id)
    return {"required": [(c, RECORDS[c]) for c in status["required"]],
            "excused": [(c, RECORDS.get(c, c)) for c in status["excused"]],
            "may_excuse": any(g in user.group_codes for g in EXCUSERS)}
