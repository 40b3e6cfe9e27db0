"""Moving selected running cases to a newer version when nothing they did or do has changed.

A dry run reads the case without its lock and writes nothing; a real move re-checks under
the case's lock (the case may have moved on since the dry run), rebuilds its workflow on the
new version's specs, points the case at the new deployment and audits ``case_migrated``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from server.engine.migration import MigrationPlan, plan_migration, rebase
from server.extensions import db
from server.models import Case, Deployment, EngineTask, User
from server.services import designer, tenancy
from server.services.audit import record_event
from server.services.calendar import case_county
from server.services.designer import require_designer
from server.services.errors import NotFoundError, ValidationFailedError
from server.services.store import case_store


@dataclass
class MigrationOutcome:
    """What happened (or, in a dry run, would happen) to one case."""

    case_id: str
    reference: str
    from_version: int
    to_version: int
    moved: bool = False
    blockers: list[str] = field(default_factory=list)
    elements: list[str] = field(default_factory=list)

    @property
    def safe(self) -> bool:
        return not self.blockers

    def as_dict(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "reference": self.reference,
                "from_version": self.from_version, "to_version": self.to_version,
                "safe": self.safe, "moved": self.moved, "blockers": self.blockers,
                "elements": self.elements}


class _Refused(Exception):
    """Raised inside the case lock so it rolls back and writes nothing."""


def running_cases(deployment_number: int | None = None, *, user: User | None = None
                  ) -> list[Case]:
    """Running cases (of ``deployment_number``), for ``user`` those of their county."""
    query = select(Case).where(Case.status == "running").order_by(Case.started_at)
    if user is not None:
        query = query.where(tenancy.county_scope(user).case_condition())
    if deployment_number is not None:
        query = query.join(Deployment, Case.deployment_id == Deployment.id).where(
            Deployment.number == deployment_number)
    return list(db.session.execute(query).scalars())


def _rows(case: Case) -> list[tuple[str, str, str]]:
    return [(r.id, r.workflow, r.body) for r in db.session.execute(
        select(EngineTask).where(EngineTask.case_id == case.id)).scalars()]


def _plan(case: Case, target: Deployment) -> MigrationPlan:
    store = case_store()
    if case.status != "running":
        return MigrationPlan(blockers=[f"the case has ended ({case.status})"])
    if target.county not in {None, case_county(case)}:
        return MigrationPlan(blockers=[f"version {target.number} is {target.county}'s; "
                                       "a case moves only to its own county's or the "
                                       "prefecture's"])
    if case.deployment.number >= target.number:
        return MigrationPlan(blockers=[f"the case already runs on version "
                                       f"{case.deployment.number}; only a newer version "
                                       "can be the target"])
    return plan_migration(store.engine, store.spec_set(case.deployment), store.spec_set(target),
                          case.process_id, case.envelope, _rows(case), case.state_version)


def migrate_cases(user: User, case_ids: list[str], to_version: int, *,
                  dry_run: bool = False) -> list[MigrationOutcome]:
    """Move each case that can move; the others stay and say why.

    Raises ``PermissionDeniedError`` (not a designer), ``NotFoundError`` (version or case),
    ``ValidationFailedError`` (no case selected).
    """
    require_designer(user)
    if not case_ids:
        raise ValidationFailedError("select at least one case", {"cases": ["empty"]})
    target = designer.get_deployment(user, to_version)
    outcomes = []
    for case_id in case_ids:
        case = db.session.get(Case, case_id)
        if case is None or not tenancy.in_scope(user, case):
            raise NotFoundError(f"case {case_id} does not exist")
        outcome = MigrationOutcome(case.id, case.reference, case.deployment.number, to_version)
        if dry_run:
            plan = _plan(case, target)
            outcome.blockers, outcome.elements = plan.blockers, plan.elements
            db.session.rollback()
        else:
            _move(user, case_id, target, outcome)
        outcomes.append(outcome)
    return outcomes


def _move(user: User, case_id: str, target: Deployment, outcome: MigrationOutcome) -> None:
    store = case_store()
    try:
        with store.locked(case_id) as live:
            case = live.case
            target = db.session.get(Deployment, target.id) or target
            plan = _plan(case, target)
            outcome.blockers, outcome.elements = plan.blockers, plan.elements
            if not plan.safe:
                raise _Refused
            runtime = rebase(store.engine, store.spec_set(target), case.process_id,
                             case.envelope, _rows(case), case.state_version)
            from_version = case.deployment.number
            case.deployment_id = target.id
            record_event(case, "case_migrated", actor=user.username,
                         role=next(iter(sorted(user.group_codes)), None),
                         payload={"from_deployment": from_version,
                                  "to_deployment": target.number,
                                  "elements": plan.elements})
            live.runtime = runtime
    except _Refused:
        return
    finally:
        # The cached workflow may be on either version; the database says which.
        store.forget(case_id)
    outcome.moved = True
