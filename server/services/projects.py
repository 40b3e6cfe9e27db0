"""The project as a whole: its facts (项目代码, ownership, type, land contract date), its
whole-project target and clock, and the stage bar 立项用地规划许可 → … → 竣工验收.

The facts come with the application and the steward corrects them (audited
``project_recorded``); a malformed 项目代码 is refused group by group and changes nothing.
The clock runs in calendar days (seed 003: 天) from the land transfer contract — the date
recorded, or else the day the case's 土地出让合同 item was done — until 施工许可 is done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from server.engine import clock
from server.extensions import db
from server.models import Case, CaseProject, User
from server.rules.project import (
    OWNERSHIPS,
    PROJECT_TYPES,
    ProjectClock,
    ProjectTarget,
    StageStep,
    default_targets,
    project_clock,
    project_code_problems,
    stage_bar,
    target_for,
)
from server.services import access, tenancy
from server.services.audit import record_event
from server.services.calendar import current_calendar
from server.services.errors import NotFoundError, PermissionDeniedError, ValidationFailedError
from server.services.item_progress import ItemProgress

#: The items whose completion starts and stops the whole-project clock (seed 003).
LAND_CONTRACT_ITEM = "land_transfer_contract"
PERMIT_ITEM = "construction_permit"
EDITORS = ("steward", "window", "bureau")
FIELDS = ("project_code", "ownership", "project_type", "land_contract_on")


def _today() -> date:
    return current_calendar().local_date(clock.now())


def check_facts(data: dict[str, Any]) -> dict[str, Any]:
    """The project facts in ``data`` (application field names accepted), cleaned.

    Raises ``ValidationFailedError`` naming each bad field; nothing is written.
    """
    errors: dict[str, list[str]] = {}
    code = str(data.get("project_code") or "").strip() or None
    if code:
        problems = project_code_problems(code, this_year=_today().year)
        if problems:
            errors["project_code"] = problems
    ownership = data.get("ownership") or None
    if ownership is not None and ownership not in OWNERSHIPS:
        errors["ownership"] = [f"所有制应为{'、'.join(v[0] for v in OWNERSHIPS.values())}之一"]
    project_type = data.get("project_type") or None
    if project_type is not None and project_type not in PROJECT_TYPES:
        errors["project_type"] = ["项目类型不在可选范围内"]
    land = data.get("land_contract_on", data.get("land_contract_signed_on")) or None
    land_on: date | None = None
    if land is not None:
        try:
            land_on = date.fromisoformat(str(land)[:10])
        except ValueError:
            errors["land_contract_on"] = [f"日期格式应为 YYYY-MM-DD，实为 {land!r}"]
    if errors:
        raise ValidationFailedError("the project facts are not valid", errors)
    return {"project_code": code, "ownership": ownership, "project_type": project_type,
            "land_contract_on": land_on}


def record_from_application(case: Case, facts: dict[str, Any], *, actor: str) -> None:
    """Write the project row of a new case (in the caller's transaction)."""
    db.session.add(CaseProject(case_id=case.id, updated_by=actor, updated_at=clock.now(),
                               **facts))


def update_project(user: User, case: Case, data: dict[str, Any]) -> CaseProject:
    """Correct the project facts of ``case``; audited. Raises ``PermissionDeniedError``,
    ``ValidationFailedError`` (located, nothing changed), ``NotFoundError``."""
    tenancy.require_in_scope(user, case)
    if not user.in_group(*EDITORS) or not access.can_see_case(user, case):
        raise PermissionDeniedError("only the steward, the window or the bureau may record it")
    facts = check_facts(data)
    row = db.session.get(CaseProject, case.id)
    if row is None:
        if db.session.get(Case, case.id) is None:
            raise NotFoundError(f"case {case.id} does not exist")
        row = CaseProject(case_id=case.id)
        db.session.add(row)
    old = {k: _plain(getattr(row, k)) for k in FIELDS}
    for key, value in facts.items():
        setattr(row, key, value)
    row.updated_by, row.updated_at = user.username, clock.now()
    record_event(case, "project_recorded", actor=user.username,
                 role=next((g for g in EDITORS if g in user.group_codes), None),
                 payload={"old": old, "new": {k: _plain(v) for k, v in facts.items()}})
    db.session.commit()
    return row


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


@dataclass
class ProjectView:
    facts: CaseProject | None
    ownership_name: str
    type_name: str
    target: ProjectTarget | None
    land_contract_on: date | None
    clock: ProjectClock | None
    stages: list[StageStep]


def project_view(case: Case, progress: list[ItemProgress],
                 targets: tuple[ProjectTarget, ...] | None = None) -> ProjectView:
    """The project's facts, target, clock and stage bar for the case page and the portal."""
    row = db.session.get(CaseProject, case.id)
    done = {p.code: p for p in progress if p.state == "done"}
    cal = current_calendar()
    land = row.land_contract_on if row is not None else None
    if land is None and LAND_CONTRACT_ITEM in done and done[LAND_CONTRACT_ITEM].finished_at:
        land = cal.local_date(done[LAND_CONTRACT_ITEM].finished_at)  # type: ignore[arg-type]
    target = target_for(targets or default_targets(), row.project_type if row else None,
                        row.ownership if row else None, case.area or "")
    permit = done.get(PERMIT_ITEM)
    finished = cal.local_date(permit.finished_at) if permit and permit.finished_at else None
    ticking = project_clock(target, land, _today(), finished) if target and land else None
    items = [{"code": p.code, "stage": p.stage} for p in progress if p.state != "dropped"]
    return ProjectView(
        row, OWNERSHIPS.get(row.ownership or "", ("", ""))[0] if row else "",
        PROJECT_TYPES.get(row.project_type or "", ("", ""))[0] if row else "",
        target, land, ticking, stage_bar(items, set(done)))
