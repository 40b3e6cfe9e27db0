"""Incidents: background steps that gave up after their retries, and retrying them.

A worker opens an incident when a step (firing a timer, continuing a case, mailing a notice)
still fails after its last retry. The step's own transaction was rolled back, so the case is
exactly as before; the incident makes the failure visible on the case and lets a person send
the step again once the cause (SMTP down, a script error fixed by a new deployment) is gone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select

from server.engine import clock
from server.engine.errors import ScriptLimitError
from server.extensions import db
from server.models import Case, Incident
from server.services.audit import record_event
from server.services.background import send_after_commit
from server.services.errors import ConflictError, NotFoundError

OPEN, RETRYING, RESOLVED = "open", "retrying", "resolved"
T = TypeVar("T")


def step_key(task_name: str, args: list[Any]) -> str:
    """The name of one background step: its task and its ids."""
    return ":".join([task_name, *(str(a) for a in args)])[:300]


def open_incident(*, task_name: str, args: list[Any], error: str, attempts: int,
                  case_id: str | None = None) -> Incident:
    """Open (or update the open) incident for a step that gave up, audited; commits."""
    db.session.rollback()
    if case_id is not None and db.session.get(Case, case_id) is None:
        case_id = None

    def change(case: Case | None) -> Incident:
        key = step_key(task_name, args)
        now = clock.now()
        incident = db.session.execute(
            select(Incident).where(Incident.key == key, Incident.state.in_([OPEN, RETRYING]))
            .order_by(Incident.id.desc()).limit(1)).scalar_one_or_none()
        if incident is None:
            incident = Incident(key=key, case_id=case_id, task_name=task_name,
                                task_args=list(args), attempts=0, created_at=now)
            db.session.add(incident)
        incident.error = error[-4000:]
        incident.attempts = (incident.attempts or 0) + attempts
        incident.state = OPEN
        incident.updated_at = now
        db.session.flush()  # the event names the incident by its id
        record_event(case, "incident_opened", actor=None, at=now, payload={
            "incident": incident.id, "task": task_name, "args": list(args),
            "attempts": incident.attempts, "error": error[-500:]})
        return incident

    return _audited(case_id, change)


#: Retrying a script-limit incident runs the case on in the background (the step a person
#: started is theirs to send again; a background step finds its own work).
CONTINUE_CASE = "guanjia.cases.continue_case"


def report_script_limit(case_id: str, error: ScriptLimitError) -> Incident:
    """Open an incident on the case whose script or condition went over a sandbox limit."""
    where = f"{error.element_id}: " if error.element_id else ""
    return open_incident(task_name=CONTINUE_CASE, args=[case_id], error=f"{where}{error}",
                         attempts=1, case_id=case_id)


def resolve_step(task_name: str, args: list[Any], *, by: str | None = None) -> int:
    """Close the open incidents of a step that has now succeeded, audited; commits when any."""
    key = step_key(task_name, args)
    found = db.session.execute(select(Incident.case_id).where(
        Incident.key == key, Incident.state.in_([OPEN, RETRYING]))).scalars().all()
    if not found:
        return 0

    def change(case: Case | None) -> int:
        now = clock.now()
        of_case = Incident.case_id.is_(None) if case is None else Incident.case_id == case.id
        incidents = db.session.execute(select(Incident).where(
            Incident.key == key, Incident.state.in_([OPEN, RETRYING]), of_case)).scalars().all()
        for incident in incidents:
            incident.state, incident.resolved_at, incident.updated_at = RESOLVED, now, now
            if by is not None:
                incident.resolved_by = by  # otherwise whoever pressed retry keeps the credit
            record_event(case, "incident_resolved", actor=incident.resolved_by, at=now,
                         payload={"incident": incident.id, "task": task_name,
                                  "args": list(args), "attempts": incident.attempts})
        return len(incidents)

    return sum(_audited(case_id, change) for case_id in sorted(set(found), key=str))


def list_incidents(case_id: str | None = None, *, include_resolved: bool = False
                   ) -> list[Incident]:
    """Incidents of one case (or of all cases), newest first; open ones only by default."""
    query = select(Incident)
    if case_id is not None:
        query = query.where(Incident.case_id == case_id)
    if not include_resolved:
        query = query.where(Incident.state.in_([OPEN, RETRYING]))
    return list(db.session.execute(query.order_by(Incident.id.desc())).scalars())


def get_incident(incident_id: int) -> Incident:
    """Raises ``NotFoundError``."""
    incident = db.session.get(Incident, incident_id)
    if incident is None:
        raise NotFoundError(f"incident {incident_id} does not exist")
    return incident


def retry_incident(incident_id: int, *, actor: str | None = None) -> Incident:
    """Send the failed step again, audited; the incident is resolved when it succeeds; commits.

    Raises ``NotFoundError``, ``ConflictError`` (already resolved).
    """

    def change(case: Case | None) -> Incident:
        incident = get_incident(incident_id)
        if incident.state == RESOLVED:
            raise ConflictError(f"incident {incident_id} is already resolved")
        now = clock.now()
        incident.state = RETRYING
        incident.updated_at = now
        incident.resolved_by = actor
        record_event(case, "incident_retried", actor=actor, at=now, payload={
            "incident": incident.id, "task": incident.task_name,
            "args": list(incident.task_args)})
        send_after_commit(incident.task_name, list(incident.task_args))
        return incident

    return _audited(get_incident(incident_id).case_id, change)


def _audited(case_id: str | None, change: Callable[[Case | None], T]) -> T:
    """Run ``change`` and commit it with its audit event: in the case's history when there is
    a case, in the service's otherwise.

    The event takes the case's next number under the case row's lock (FOR UPDATE; on SQLite
    every transaction begins IMMEDIATE), so no step numbers its events alongside. Not
    ``case_store().locked``: the workflow is left as it is, and in eager mode a mail that
    gives up becomes an incident inside a step's commit, while that step holds its lock.
    """
    try:
        result = change(_case_for_update(case_id) if case_id is not None else None)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return result


def _case_for_update(case_id: str) -> Case | None:
    query = select(Case).where(Case.id == case_id).execution_options(populate_existing=True)
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(of=Case)
    return db.session.execute(query).scalar_one_or_none()
