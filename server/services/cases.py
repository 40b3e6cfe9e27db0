"""Starting cases and reading them back."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy import exists, select

from server.engine import clock
from server.engine.errors import ScriptError
from server.engine.scripting import counting_for
from server.extensions import db
from server.models import AuditEvent, Case, Deployment, Enterprise, User, WorkItem
from server.services import access, handups, tenancy
from server.services.audit import record_event
from server.services.calendar import default_county, require_county
from server.services.case_state import jsonable, record_step_events, summary_of
from server.services.errors import NotFoundError, PermissionDeniedError, ValidationFailedError
from server.services.forms import form_registry
from server.services.processes import get_deployment, latest_deployment
from server.services.projects import check_facts, record_from_application
from server.services.store import case_store


def _check_instance_counts(data: dict[str, Any], cap: int) -> None:
    """Refuse a start whose lists would fan out wider than the county allows."""
    errors = {key: [f"{len(value)} 项，超过本县设置的上限 {cap} 项 / {len(value)} entries; "
                    f"the county's limit is {cap} (GUANJIA_MAX_INSTANCES)"]
              for key, value in data.items() if isinstance(value, list) and len(value) > cap}
    if errors:
        raise ValidationFailedError(f"the case would run more than {cap} parallel items",
                                    errors)


def start_case(user: User, process_id: str, data: dict[str, Any], *,
               deployment_number: int | None = None, for_enterprise: Enterprise | None = None,
               also: Callable[[Case], None] | None = None) -> Case:
    """Start a case on the newest deployment of ``process_id`` (or the one named).

    ``for_enterprise``: the bureau or window files for that enterprise, which owns the case as
    if it had applied itself; ``also`` writes the caller's own rows and audit events in the
    same transaction (``server.services.filing``).

    Raises ``NotFoundError`` (no such process or version), ``ValidationFailedError`` (start
    form), ``PermissionDeniedError`` (the user may not apply).
    """
    county = tenancy.filing_county(user, str(data.get("county") or "") or None)
    if county is not None:
        require_county(county)
    # The county's diagrams and forms: its own override, else the prefecture's (issue 21).
    runs_in = county or default_county()
    deployment: Deployment | None
    if deployment_number is not None:
        deployment = get_deployment(deployment_number)
        if process_id not in {d.process_id for d in deployment.definitions} or \
                deployment.county not in {None, runs_in}:
            raise NotFoundError(f"process {process_id!r} is not in version {deployment_number}")
    else:
        deployment = latest_deployment(process_id, county=runs_in)
    if deployment is None:
        raise NotFoundError(f"process {process_id!r} is not deployed")
    store = case_store()
    spec_set = store.spec_set(deployment)
    form_key = spec_set.start_forms.get(process_id)
    if form_key:
        data = form_registry().get(form_key, deployment_id=deployment.id).validate(data)
    # The case's county is known before anything is written: its catalog expands the items.
    county = tenancy.filing_county(user, str(data.get("county") or "") or None)
    if county is not None:
        require_county(county)
    prepare = current_app.extensions.get("guanjia.prepare_case_data")
    if prepare is not None:
        with counting_for(county or default_county()):
            data = prepare(data)
    _check_instance_counts(data, current_app.config["GUANJIA"].max_instances)
    if not user.in_group("enterprise", "bureau", "window", "admin"):
        raise PermissionDeniedError("only an enterprise or the bureau/window can start a case")
    # 项目代码 and the project's facts: refused field by field before anything is written.

    facts = check_facts(data)
    now = clock.now()
    case = Case(
        id=str(uuid.uuid4()),
        reference=f"GJ-{now:%Y%m%d}-{uuid.uuid4().hex[:6].upper()}",
        deployment_id=deployment.id, process_id=process_id,
        title=str(data.get("project_name") or spec_set.names.get(process_id, process_id)),
        enterprise_id=for_enterprise.id if for_enterprise is not None else user.enterprise_id,
        area=str(data.get("area") or user.area or ""),
        started_by=user.username, started_at=now,
    )
    # The answer names the version: no second read of the deployment after the commit.
    case.deployment = deployment

    case.county = county
    try:
        with counting_for(county or default_county()):
            runtime, result = store.engine.start(spec_set, process_id, data)
    except ScriptError as exc:
        raise ValidationFailedError(f"the case could not start: {exc}",
                                    {"_process": [str(exc)]}) from exc
    db.session.add(case)
    db.session.flush()
    record_from_application(case, facts, actor=user.username)
    record_event(case, "case_started", actor=user.username,
                 role=next(iter(sorted(user.group_codes)), None),
                 payload={"process_id": process_id, "deployment": deployment.number,
                          "new": jsonable(data)})
    store.save(case, result, context=summary_of(data))
    record_step_events(case, result, actor=None)
    if also is not None:
        also(case)
    db.session.commit()
    runtime.version = case.state_version
    store.keep(case.id, runtime)
    return case


def get_case(user: User, case_id: str) -> Case:
    """Return a case the user may see; raises ``NotFoundError`` (also for another county's
    case) / ``PermissionDeniedError``."""
    case = db.session.get(Case, case_id)
    if case is None or not tenancy.in_scope(user, case):
        raise NotFoundError(f"case {case_id} does not exist")
    has_work = db.session.execute(select(exists().where(
        WorkItem.case_id == case_id,
        (WorkItem.completed_by == user.username) | (WorkItem.claimed_by == user.username)
        | WorkItem.candidate_groups.in_(sorted(user.group_codes))))).scalar()
    # A prefecture department reads the cases handed up to it (handups), no other.
    has_work = bool(has_work) or handups.handed_up_to(user, case_id)
    if not access.can_see_case(user, case, has_work_in_case=has_work):
        raise PermissionDeniedError("you may not see this case")
    return case


def case_history(case: Case) -> list[AuditEvent]:
    return list(db.session.execute(
        select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.case_seq)
    ).scalars())


def case_work_items(case: Case) -> list[WorkItem]:
    return list(db.session.execute(
        select(WorkItem).where(WorkItem.case_id == case.id).order_by(WorkItem.created_at)
    ).scalars())


def ready_work_items(case_ids: list[str]) -> dict[str, list[WorkItem]]:
    """Case id → its open (ready) tasks, oldest first, as ``case_work_items`` orders them;
    one query for a page of cases."""
    found: dict[str, list[WorkItem]] = {}
    if not case_ids:
        return found
    for item in db.session.execute(
            select(WorkItem).where(WorkItem.case_id.in_(case_ids), WorkItem.state == "ready")
            .order_by(WorkItem.created_at)).scalars():
        found.setdefault(item.case_id, []).append(item)
    return found

