"""Incidents: background steps that gave up after their retries, and retrying them.

A worker opens an incident when a step (firing a timer, continuing a case, mailing a notice)
still fails after its last retry. The step's own transaction was rolled back, so the case is
exactly as before; the incident makes the failure visible on the case and lets a person send
the step again once the cause (SMTP down, a script error fixed by a new deployment) is gone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from server.engine import clock
from server.extensions import db
from server.models import Case, Incident
from server.services.errors import ConflictError, NotFoundError

OPEN, RETRYING, RESOLVED = "open", "retrying", "resolved"


def step_key(task_name: str, args: list[Any]) -> str:
    """The name of one background step: its task and its ids."""
    return ":".join([task_name, *(str(a) for a in args)])[:300]


def open_incident(*, task_name: str, args: list[Any], error: str, attempts: int,
                  case_id: str | None = None) -> Incident:
    """Open (or update the open) incident for a step that gave up; commits."""
    db.session.rollback()
    key = step_key(task_name, args)
    now = clock.now()
    if case_id is not None and db.session.get(Case, case_id) is None:
        case_id = None
    incident = db.session.execute(
        select(Incident).where(Incident.key == key, Incident.state.in_([OPEN, RETRYING]))
        .order_by(Incident.id.desc()).limit(1)).scalar_one_or_none()
    if incident is None:
        incident = Incident(key=key, case_id=case_id, task_name=task_name, task_args=list(args),
                            attempts=0, created_at=now)
        db.session.add(incident)
    incident.error = error[-4000:]
    incident.attempts = (incident.attempts or 0) + attempts
    incident.state = OPEN
    incident.updated_at = now
    db.session.commit()
    return incident


def resolve_step(task_name: str, args: list[Any], *, by: str | None = None) -> int:
    """Close the open incidents of a step that has now succeeded; commits when any."""
    key = step_key(task_name, args)
    exists = db.session.execute(select(Incident.id).where(
        Incident.key == key, Incident.state.in_([OPEN, RETRYING])).limit(1)).first()
    if exists is None:
        return 0
    now = clock.now()
    values: dict[str, Any] = {"state": RESOLVED, "resolved_at": now, "updated_at": now}
    if by is not None:
        values["resolved_by"] = by  # otherwise whoever pressed retry keeps the credit
    result = db.session.execute(
        update(Incident).where(Incident.key == key, Incident.state.in_([OPEN, RETRYING]))
        .values(**values)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


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
    """Send the failed step again; the incident is resolved when it succeeds; commits.

    Raises ``NotFoundError``, ``ConflictError`` (already resolved).
    """
    from workers.dispatch import send_after_commit

    incident = get_incident(incident_id)
    if incident.state == RESOLVED:
        raise ConflictError(f"incident {incident_id} is already resolved")
    incident.state = RETRYING
    incident.updated_at = clock.now()
    incident.resolved_by = actor
    send_after_commit(incident.task_name, list(incident.task_args))
    db.session.commit()
    return incident
