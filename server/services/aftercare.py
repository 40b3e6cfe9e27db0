"""After-care and exit monitoring (项目建设跟踪与退出机制) of completed cases.

Seed 002 §三(四): 在项目签约时制定明确的投资强度、投资进度、开竣工时间及投产时间表 … 对因企业
自身原因造成“三个月不开工、两年不投产、三年不见效”的项目 … 予以清理，及时回收土地; 每半年 …
全面开展园区土地清理. When a case completes (not terminated) its project gets three
milestones counted from the completion day: 开工 3 months, 投产 2 years, 见效 3 years — the
seed's numbers, which a county may change (``AftercareSetting``, 本县设置). The sweep warns the
steward and leader before each milestone and opens a supervision task (督办) for the
responsible leader when one is missed; the half-yearly list (土地清理) names the missed ones.

Audit: after-care runs for years after the case's ``case_ended`` sealed its chain, and it is
the project's record, not the concierge service's; so its events are written case-less with
the after-care project's and case's ids in the payload, and the sealed case chain stays as
the archive signed it (no ``AFTER_SEAL`` entries are needed).
"""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select

from server.engine import clock
from server.extensions import db
from server.models import Case, CaseTeam, User
from server.models.aftercare import (
    MILESTONES,
    AftercareProject,
    AftercareSetting,
    Milestone,
    ProgressEntry,
    SupervisionTask,
)
from server.models.reserve import ReserveProject
from server.services.audit import record_event
from server.services.errors import NotFoundError, PermissionDeniedError, ValidationFailedError
from server.services.notifications import notify
from server.services.spreadsheet import Sheet, workbook
from server.services.tenancy import county_scope

BEIJING = ZoneInfo("Asia/Shanghai")
MILESTONE_NAMES = {"start_work": "开工", "production": "投产", "effect": "见效"}
READERS = ("leader", "bureau", "bureau_head", "window", "steward", "auditor")
RECORDERS = ("steward", "window", "bureau")
REVIEWERS = ("leader", "bureau_head", "bureau", "auditor")
DEFAULT_COUNTY = ""
LIMITS = {"start_work_months": (1, 24), "production_months": (1, 120),
          "effect_months": (1, 180), "warn_days": (0, 180)}


def local_today() -> date:
    return clock.now().astimezone(BEIJING).date()


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it has no such day)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def settings_for(county: str | None) -> AftercareSetting:
    """The county's months (or the installation's, or the seed's defaults)."""
    for code in (county or DEFAULT_COUNTY, DEFAULT_COUNTY):
        row = db.session.get(AftercareSetting, code)
        if row is not None:
            return row
    return AftercareSetting(county=county or DEFAULT_COUNTY, start_work_months=3,
                            production_months=24, effect_months=36, warn_days=15)


def save_settings(user: User, county: str, values: dict[str, Any]) -> AftercareSetting:
    """Set a county's milestone months and warning lead; audited ``aftercare_settings_saved``.

    Applies to projects that complete from now on. Raises ``PermissionDeniedError``
    (not an administrator) and ``ValidationFailedError`` (a number out of range).
    """
    if not user.in_group("admin"):
        raise PermissionDeniedError("only administrators change county settings")
    clean: dict[str, int] = {}
    errors: dict[str, list[str]] = {}
    for key, (low, high) in LIMITS.items():
        try:
            clean[key] = int(values.get(key, ""))
            if not low <= clean[key] <= high:
                raise ValueError
        except (TypeError, ValueError):
            errors[key] = [f"应为 {low}–{high} 的整数 / a whole number {low}–{high}"]
    if errors:
        raise ValidationFailedError("the after-care settings are not valid", errors)
    row = db.session.get(AftercareSetting, county)
    if row is None:
        row = AftercareSetting(county=county)
        db.session.add(row)
    for key, value in clean.items():
        setattr(row, key, value)
    row.updated_by, row.updated_at = user.username, clock.now()
    record_event(None, "aftercare_settings_saved", actor=user.username,
                 payload={"county": county, **clean})
    db.session.commit()
    return row


def start_aftercare(case: Case) -> AftercareProject | None:
    """Open the after-care of a completed case (in the caller's transaction); idempotent.

    A terminated (or still running) case gets none.
    """
    if case.status != "completed" or case.ended_at is None:
        return None
    existing = db.session.execute(select(AftercareProject).where(
        AftercareProject.case_id == case.id)).scalar_one_or_none()
    if existing is not None:
        return existing
    setting = settings_for(case.county)
    completed_on = case.ended_at.astimezone(BEIJING).date()
    team = db.session.get(CaseTeam, case.id)
    reserve_leader = db.session.execute(select(ReserveProject.leader).where(
        ReserveProject.case_id == case.id)).scalar_one_or_none()
    summary = json.loads(case.summary or "{}")
    promised = summary.get("investment_wan")
    project = AftercareProject(
        case_id=case.id, completed_on=completed_on,
        leader=reserve_leader or (team.leader if team else ""),
        steward=team.steward if team else "",
        promised_investment_wan=float(promised) if promised is not None else None,
        invested_wan=0.0, created_at=clock.now())
    months = {"start_work": setting.start_work_months,
              "production": setting.production_months, "effect": setting.effect_months}
    project.milestones = [Milestone(kind=k, due_on=add_months(completed_on, months[k]))
                          for k in MILESTONES]
    db.session.add(project)
    db.session.flush()
    record_event(None, "aftercare_started", actor=None,
                 payload={"aftercare_id": project.id, "case_id": case.id,
                          "completed_on": completed_on.isoformat(),
                          "due": {m.kind: m.due_on.isoformat() for m in project.milestones},
                          "county_setting": months})
    return project


@dataclass(frozen=True)
class SweepResult:
    started: int
    warned: int
    missed: int


def sweep_milestones() -> SweepResult:
    """Start after-care of newly completed cases, warn before milestones, open supervision
    tasks for missed ones; each change with its audit event and notices, in one commit.

    Idempotent: a milestone is warned once and missed once (its timestamps say so).
    """
    started = 0
    waiting = db.session.execute(select(Case).where(
        Case.status == "completed",
        ~exists().where(AftercareProject.case_id == Case.id))).scalars().all()
    for completed in waiting:
        if start_aftercare(completed) is not None:
            started += 1
    today, now = local_today(), clock.now()
    warned = missed = 0
    open_rows = db.session.execute(
        select(Milestone, AftercareProject)
        .join(AftercareProject, AftercareProject.id == Milestone.aftercare_id)
        .where(Milestone.reached_on.is_(None), Milestone.missed_at.is_(None))).all()
    for milestone, project in open_rows:
        case = db.session.get(Case, project.case_id)
        assert case is not None
        name = MILESTONE_NAMES[milestone.kind]
        people = [p for p in (project.steward, project.leader) if p]
        if today > milestone.due_on:
            milestone.missed_at = now
            task = SupervisionTask(milestone_id=milestone.id, aftercare_id=project.id,
                                   assignee=project.leader, opened_at=now)
            db.session.add(task)
            db.session.flush()
            record_event(None, "aftercare_milestone_missed", actor=None,
                         payload={"aftercare_id": project.id, "case_id": case.id,
                                  "milestone": milestone.kind,
                                  "due_on": milestone.due_on.isoformat(),
                                  "supervision_task_id": task.id,
                                  "assignee": project.leader})
            notify(kind="overdue", title=f"督办：{case.title} 未按期{name}",
                   body=f"应于 {milestone.due_on.isoformat()} 前{name}（002 §三(四) 退出机制），"
                        f"请督办 / milestone {milestone.kind} missed; supervise",
                   dedupe_key=f"aftercare:missed:{milestone.id}",
                   users=people, groups=() if project.leader else ("leader",),
                   case_id=case.id)
            missed += 1
        elif milestone.warned_at is None and \
                today >= milestone.due_on - timedelta(days=settings_for(case.county).warn_days):
            milestone.warned_at = now
            record_event(None, "aftercare_milestone_warned", actor=None,
                         payload={"aftercare_id": project.id, "case_id": case.id,
                                  "milestone": milestone.kind,
                                  "due_on": milestone.due_on.isoformat()})
            notify(kind="warning", title=f"预警：{case.title} 应于 {milestone.due_on} 前{name}",
                   body="002 §三(四)：三个月不开工、两年不投产、三年不见效的项目予以清理",
                   dedupe_key=f"aftercare:warned:{milestone.id}", users=people,
                   case_id=case.id)
            warned += 1
    db.session.commit()
    return SweepResult(started, warned, missed)


def require_reader(user: User) -> None:
    if not user.in_group(*READERS):
        raise PermissionDeniedError("after-care is for the bureau, leaders, window and stewards")


def list_projects(user: User) -> list[AftercareProject]:
    """The after-care projects of ``user``'s counties' cases, the newest completion first."""
    require_reader(user)
    return list(db.session.execute(
        select(AftercareProject).where(AftercareProject.case_id.in_(
            county_scope(user).case_ids()))
        .order_by(AftercareProject.completed_on.desc(), AftercareProject.id.desc())).scalars())


def _in_scope(user: User, project: AftercareProject) -> bool:
    case = db.session.get(Case, project.case_id)
    return case is not None and county_scope(user).covers_case(case)


def get_project(user: User, aftercare_id: int) -> AftercareProject:
    """Raises ``PermissionDeniedError``, ``NotFoundError`` (also for another county's)."""
    require_reader(user)
    project = db.session.get(AftercareProject, aftercare_id)
    if project is None or not _in_scope(user, project):
        raise NotFoundError(f"after-care project {aftercare_id} does not exist")
    return project


def record_progress(user: User, aftercare_id: int, *, milestone: str, happened_on: str,
                    invested_wan: str = "", note: str = "") -> ProgressEntry:
    """The steward records a milestone reached and/or the amount invested so far.

    Audited ``aftercare_progress_recorded``. Raises ``PermissionDeniedError`` and
    ``ValidationFailedError`` (unknown milestone, a date before the case's completion or in
    the future, a negative amount, nothing to record); nothing changes then.
    """
    if not user.in_group(*RECORDERS):
        raise PermissionDeniedError("the steward, window or bureau records progress")
    project = get_project(user, aftercare_id)
    errors: dict[str, list[str]] = {}
    if milestone and milestone not in MILESTONES:
        errors["milestone"] = ["未知的节点 / unknown milestone"]
    when: date | None = None
    try:
        when = date.fromisoformat(happened_on.strip())
    except ValueError:
        errors["happened_on"] = ["日期格式应为 YYYY-MM-DD / a date YYYY-MM-DD"]
    if when is not None and when < project.completed_on:
        errors["happened_on"] = [f"日期不能早于项目办结日 {project.completed_on.isoformat()} / "
                                 f"a date before the case's completion is refused"]
    elif when is not None and when > local_today():
        errors["happened_on"] = ["日期不能晚于今天 / a date in the future is refused"]
    amount: float | None = None
    if invested_wan.strip():
        try:
            amount = float(invested_wan)
            if amount < 0:
                raise ValueError
        except ValueError:
            errors["invested_wan"] = ["累计投资应为不小于0的数（万元） / a number ≥ 0"]
    if not milestone and amount is None and "invested_wan" not in errors:
        errors["milestone"] = ["请选择达到的节点或填写累计投资 / a milestone or an amount"]
    if errors:
        raise ValidationFailedError("the progress entry is not valid", errors)
    assert when is not None
    entry = ProgressEntry(milestone=milestone, happened_on=when, invested_wan=amount,
                          note=note.strip(), recorded_by=user.username,
                          recorded_at=clock.now())
    project.progress.append(entry)
    if milestone:
        for m in project.milestones:
            if m.kind == milestone and m.reached_on is None:
                m.reached_on = when
    if amount is not None:
        project.invested_wan = amount
    record_event(None, "aftercare_progress_recorded", actor=user.username,
                 payload={"aftercare_id": project.id, "case_id": project.case_id,
                          "milestone": milestone, "happened_on": when.isoformat(),
                          "invested_wan": amount, "note": note.strip()})
    db.session.commit()
    return entry


def save_promise(user: User, aftercare_id: int, *, intensity: str,
                 land_mu: str) -> AftercareProject:
    """Record the investment intensity promised in the investment contract (万元/亩) and the
    land area (亩), so the page compares it with the amount invested (seed 002 §三(四):
    在项目签约时制定明确的投资强度). Audited ``aftercare_promise_recorded``.

    Raises ``PermissionDeniedError`` and ``ValidationFailedError`` (not positive numbers).
    """
    if not user.in_group(*RECORDERS):
        raise PermissionDeniedError("the steward, window or bureau records the promise")
    project = get_project(user, aftercare_id)
    errors: dict[str, list[str]] = {}
    values: dict[str, float] = {}
    for key, raw in (("promised_intensity", intensity), ("land_mu", land_mu)):
        try:
            values[key] = float(raw)
            if values[key] <= 0:
                raise ValueError
        except ValueError:
            errors[key] = ["应为大于0的数 / a number above 0"]
    if errors:
        raise ValidationFailedError("the promise is not valid", errors)
    project.promised_intensity, project.land_mu = values["promised_intensity"], values["land_mu"]
    record_event(None, "aftercare_promise_recorded", actor=user.username,
                 payload={"aftercare_id": project.id, "case_id": project.case_id, **values})
    db.session.commit()
    return project


def intensity_reached(project: AftercareProject) -> float | None:
    """The investment intensity reached so far (万元/亩), when the land area is known."""
    if not project.land_mu:
        return None
    return round(project.invested_wan / project.land_mu, 1)


def supervision_tasks(user: User, *, open_only: bool = True) -> list[SupervisionTask]:
    """The supervision tasks assigned to ``user`` (leaders see theirs)."""
    stmt = select(SupervisionTask).where(SupervisionTask.assignee == user.username)
    if open_only:
        stmt = stmt.where(SupervisionTask.closed_at.is_(None))
    return list(db.session.execute(stmt.order_by(SupervisionTask.opened_at)).scalars())


def tasks_of(project: AftercareProject) -> list[SupervisionTask]:
    return list(db.session.execute(select(SupervisionTask).where(
        SupervisionTask.aftercare_id == project.id).order_by(SupervisionTask.id)).scalars())


def close_supervision(user: User, task_id: int, opinion: str) -> SupervisionTask:
    """The responsible leader closes a supervision task with an opinion (限期整改, 收回土地 …);
    audited ``aftercare_supervision_closed``."""
    task = db.session.get(SupervisionTask, task_id)
    project = db.session.get(AftercareProject, task.aftercare_id) if task else None
    if task is None or project is None or not _in_scope(user, project):
        raise NotFoundError(f"supervision task {task_id} does not exist")
    if task.assignee != user.username and not (not task.assignee and user.in_group("leader")):
        raise PermissionDeniedError("only the responsible leader closes this supervision task")
    if task.closed_at is not None:
        raise ValidationFailedError("already closed", {"opinion": ["已办结 / already closed"]})
    if not opinion.strip():
        raise ValidationFailedError("an opinion is required",
                                    {"opinion": ["请填写督办意见 / the opinion is required"]})
    task.closed_at, task.closed_by, task.opinion = clock.now(), user.username, opinion.strip()
    record_event(None, "aftercare_supervision_closed", actor=user.username,
                 payload={"supervision_task_id": task.id, "aftercare_id": task.aftercare_id,
                          "opinion": task.opinion})
    db.session.commit()
    return task


# ---- the half-yearly land review (每半年 … 土地清理) -----------------------------------------

def half_of(day: date) -> str:
    return f"{day.year}-H{1 if day.month <= 6 else 2}"


def half_end(half: str) -> date:
    """The last day of ``YYYY-H1`` / ``YYYY-H2``; raises ``ValidationFailedError``."""
    try:
        year, part = half.split("-H")
        if part not in ("1", "2"):
            raise ValueError
        return date(int(year), 6, 30) if part == "1" else date(int(year), 12, 31)
    except ValueError as exc:
        raise ValidationFailedError("the half-year is not valid",
                                    {"half": ["应为 YYYY-H1 或 YYYY-H2 / YYYY-H1 or YYYY-H2"]}
                                    ) from exc


@dataclass(frozen=True)
class LandReviewRow:
    aftercare_id: int
    case_id: str
    reference: str
    title: str
    enterprise: str
    area: str
    milestone: str
    due_on: date
    reached_on: date | None
    days_late: int
    leader: str
    invested_wan: float
    promised_investment_wan: float | None


def land_review(user: User, half: str) -> list[LandReviewRow]:
    """Every milestone missed by the end of ``half`` (or by today in the current half)."""
    if not user.in_group(*REVIEWERS):
        raise PermissionDeniedError("the land review is for the leaders and the bureau")
    cutoff = min(half_end(half), local_today())
    rows = db.session.execute(
        select(Milestone, AftercareProject, Case)
        .join(AftercareProject, AftercareProject.id == Milestone.aftercare_id)
        .join(Case, Case.id == AftercareProject.case_id)
        .where(Milestone.due_on < cutoff, county_scope(user).case_condition())
        .order_by(Milestone.due_on, Case.reference)).all()
    out = []
    for milestone, project, case in rows:
        if milestone.reached_on is not None and milestone.reached_on <= milestone.due_on:
            continue
        if milestone.reached_on is not None and milestone.reached_on <= cutoff:
            # Reached late but before the review: still listed, as the seed's 履约差.
            late = (milestone.reached_on - milestone.due_on).days
        else:
            late = (cutoff - milestone.due_on).days
        summary = json.loads(case.summary or "{}")
        out.append(LandReviewRow(
            aftercare_id=project.id, case_id=case.id, reference=case.reference,
            title=case.title, enterprise=str(summary.get("enterprise_name") or ""),
            area=case.area or "", milestone=milestone.kind, due_on=milestone.due_on,
            reached_on=milestone.reached_on, days_late=late, leader=project.leader,
            invested_wan=project.invested_wan,
            promised_investment_wan=project.promised_investment_wan))
    return out


def land_review_xlsx(user: User, half: str, names: dict[str, str]) -> bytes:
    """The land review as one .xlsx sheet; ``names`` maps usernames to display names."""

    rows = land_review(user, half)
    return workbook([Sheet(
        name="土地清理",
        title=f"{half} 半年度土地清理名单（002 §三(四)：三个月不开工、两年不投产、三年不见效）",
        headers=["案件编号", "项目名称", "项目单位", "乡镇", "未按期节点", "应达日期", "实际日期",
                 "逾期天数", "责任领导", "累计投资（万元）", "计划总投资（万元）"],
        rows=[[r.reference, r.title, r.enterprise, r.area, MILESTONE_NAMES[r.milestone],
               r.due_on, r.reached_on, r.days_late, names.get(r.leader, r.leader),
               r.invested_wan, r.promised_investment_wan] for r in rows],
        notes=["里程碑期限为本县设置，默认取 002 §三(四) 之数：开工3个月、投产24个月、见效36个月，"
               "自帮办代办办结之日起算。"])])


def when_local(at: datetime | None) -> str:
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if at else ""
