"""The life of a report: prepared, written on, signed off, handed in, corrected.

Seed 001 四（四）: 「上述报送资料均需经本单位主要负责人审定同意并加盖公章后报送」 — so every
report is signed off by the 主要负责人 (group ``bureau_head``) before it is marked 已报送. The
monthly report carries the 跟踪反馈单, whose 进展情况 / 存在问题 / 下步计划 each case's lead steward
writes while the report is a draft. A correction after sign-off is a new version (a draft
again); the signed one stays as it was. Each change commits with its audit event
(``report_prepared``, ``report_refreshed``, ``report_note_written``, ``report_signed``,
``report_submitted``, ``report_corrected``), events of no case: a report spans many cases.

Each county keeps its own reports, counting its own cases (``Report.county``; "" is the
default county's, as a case naming none): its people read and write only those, another
county's report ids are not found; the prefecture reads every county's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from server.engine import clock
from server.extensions import db
from server.models import CaseTeam, County, Report, User
from server.rules.lights import Light, item_light
from server.services import audit, notifications
from server.services.calendar import county_settings, current_calendar, default_county
from server.services.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailedError,
)
from server.services.report_figures import (
    PREFECTURE,
    Period,
    build,
    period_of,
    periods_due_to_prepare,
)
from server.services.task_rows import calendar
from server.services.tenancy import county_scope

#: Who may read reports: leaders, the bureau, the supervision office, and the stewards (who
#: write the 跟踪反馈单). The enterprise and the departments' agents may not.
READERS = frozenset({"leader", "bureau", "bureau_head", "auditor", "admin", "steward"})
#: Who may prepare, refresh, hand in and correct: the bureau (招商部门).
CLERKS = frozenset({"bureau", "bureau_head"})
SIGNER = "bureau_head"  # 主要负责人 (seed 001 四（四）「主要负责人审定同意」)
NOTE_FIELDS = ("progress", "problems", "plan")
NOTE_MAX = 2000
STATE_WORDS = {"draft": "待审定", "signed": "已审定", "submitted": "已报送"}


def require_reader(user: User) -> None:
    """Raises ``PermissionDeniedError`` unless ``user`` may read reports."""
    if not (user.group_codes & READERS):
        raise PermissionDeniedError("only leaders, the bureau, stewards and the supervision "
                                    "office may read reports")


def _require(user: User, groups: frozenset[str], what: str) -> None:
    if not (user.group_codes & groups):
        raise PermissionDeniedError(what)


def _latest(kind: str, period: str, county: str) -> Report | None:
    # The default county's reports made before tenancy name no county ("").
    counties = [county, ""] if county and county == default_county() else [county]
    return db.session.execute(
        select(Report).where(Report.kind == kind, Report.period == period,
                             Report.county.in_(counties))
        .order_by(Report.version.desc()).limit(1)).scalar_one_or_none()


def county_of(user: User) -> str:
    """The county whose reports ``user`` prepares: the own, or the prefecture's own
    (``PREFECTURE``: every county, compared); "" when the installation has no county."""
    if user.county:
        return user.county
    return "" if default_county() is None else PREFECTURE


def _readable(user: User) -> list[str] | None:
    """The ``Report.county`` values ``user`` may read (None: all)."""
    scope = county_scope(user)
    if scope.counties is None:
        return None
    return sorted(scope.counties) + ([""] if scope.default in scope.counties else [])


def get(user: User, report_id: int) -> Report:
    """One report version. Raises ``PermissionDeniedError`` / ``NotFoundError`` (also for
    another county's report)."""
    require_reader(user)
    report = db.session.get(Report, report_id)
    readable = _readable(user)
    if report is None or (readable is not None and report.county not in readable):
        raise NotFoundError(f"no report {report_id}")
    return report


def versions(report: Report) -> list[Report]:
    """Every version of ``report``'s kind, period and county, newest first."""
    return list(db.session.execute(
        select(Report).where(Report.kind == report.kind, Report.period == report.period,
                             Report.county == report.county)
        .order_by(Report.version.desc())).scalars())


def listing(user: User) -> list[Report]:
    """The newest version of every report of ``user``'s counties, the latest due first."""
    require_reader(user)
    newest = (select(Report.kind, Report.period, Report.county,
                     func.max(Report.version).label("v"))
              .group_by(Report.kind, Report.period, Report.county).subquery())
    readable = _readable(user)
    return list(db.session.execute(
        select(Report).join(newest, (Report.kind == newest.c.kind)
                            & (Report.period == newest.c.period)
                            & (Report.county == newest.c.county)
                            & (Report.version == newest.c.v))
        .where(*([] if readable is None else [Report.county.in_(readable)]))
        .order_by(Report.due_on.desc(), Report.kind, Report.county)).scalars())


def _event(type_: str, report: Report, actor: str | None, **payload: Any) -> None:
    audit.record_event(None, type_, actor=actor, payload={
        "report_id": report.id, "kind": report.kind, "period": report.period,
        "version": report.version, **payload})


def _new(period: Period, actor: str, version: int, *, county: str, notes: str = "{}",
         reason: str = "") -> Report:
    now = clock.now()
    report = Report(kind=period.kind, period=period.key, county=county, version=version,
                    state="draft", due_on=period.due_on,
                    content=json.dumps(build(period, now, county), ensure_ascii=False),
                    notes=notes, prepared_by=actor, prepared_at=now,
                    correction_reason=reason)
    db.session.add(report)
    db.session.flush()
    return report


def _tell_signer_and_stewards(report: Report, period: Period) -> None:
    stewards: list[str] = []
    case_ids = [r["case_id"] for r in report.figures.get("rows", [])]
    # The stewards are the counties': the prefecture's report is not theirs to read.
    if case_ids and report.county != PREFECTURE:
        stewards = list(db.session.execute(
            select(CaseTeam.steward).where(CaseTeam.case_id.in_(case_ids))).scalars())
    notifications.notify(kind="new_task", title=f"待审定：{period.title}",
                         body=f"请于{period.due_on.isoformat()}前审定并报送。",
                         dedupe_key=f"report:{report.id}:prepared",
                         users=stewards, groups=[SIGNER],
                         county=report.county or default_county())


def prepare(kind: str, period_key: str, *, actor: str = "system", county: str = "") -> Report:
    """The report of a period for ``county`` ("": the default county), prepared now if it
    does not exist yet (idempotent: a redelivered task returns the existing one). Raises
    ``ValidationFailedError``."""
    period = period_of(kind, period_key)
    found = _latest(kind, period.key, county)
    if found is not None:
        return found
    report = _new(period, actor, 1, county=county)
    _event("report_prepared", report, actor)
    _tell_signer_and_stewards(report, period)
    db.session.commit()
    return report


def prepare_by(user: User, kind: str, period_key: str) -> Report:
    """A clerk prepares a report by hand (a missed month, or one before its day)."""
    _require(user, CLERKS, "only the bureau prepares reports")
    return prepare(kind, period_key, actor=user.username, county=county_of(user))


def prepare_due(today: date | None = None) -> list[Report]:
    """Everything the 1st of this month prepares (see ``periods_due_to_prepare``)."""

    today = today or calendar().local_date(clock.now())
    # Every county its own reports ("" alone when the installation has no county), and a
    # prefecture of several counties its monthly table with the counties compared.
    counties = list(db.session.execute(select(County.code).order_by(County.code)).scalars())
    due = periods_due_to_prepare(today)
    return [prepare(p.kind, p.key, county=county) for p in due
            for county in counties or [""]] + [
        prepare(p.kind, p.key, county=PREFECTURE) for p in due
        if p.kind == "monthly" and len(counties) > 1]


def _draft(report: Report) -> None:
    if report.state != "draft" or report.superseded_by is not None:
        raise ConflictError("this version is no longer a draft: correct it as a new version")


def refresh(user: User, report_id: int) -> Report:
    """Recount a draft's figures from the cases as they are now (the stewards' words kept)."""
    _require(user, CLERKS, "only the bureau recounts a report")
    report = get(user, report_id)
    _draft(report)
    period = period_of(report.kind, report.period)
    report.content = json.dumps(build(period, clock.now(), report.county), ensure_ascii=False)
    report.prepared_at = clock.now()
    _event("report_refreshed", report, user.username)
    db.session.commit()
    return report


def may_write_note(user: User, report: Report, case_id: str) -> bool:
    """The case's lead steward, while the monthly report is a draft."""
    if report.kind != "monthly" or report.state != "draft" or report.superseded_by:
        return False
    steward = db.session.execute(
        select(CaseTeam.steward).where(CaseTeam.case_id == case_id)).scalar_one_or_none()
    return steward is not None and steward == user.username


def write_note(user: User, report_id: int, case_id: str, data: dict[str, str]) -> Report:
    """The lead steward's 进展情况 / 存在问题 / 下步计划 for one case of a monthly draft.
    Raises ``PermissionDeniedError`` (not the case's lead steward), ``ConflictError`` (no
    longer a draft), ``ValidationFailedError`` (empty progress, too long, not in the report)."""
    report = get(user, report_id)
    if case_id not in {r["case_id"] for r in report.figures.get("rows", [])}:
        raise ValidationFailedError("the case is not in this report",
                                    {"case_id": ["本期情况表中没有该项目"]})
    _draft(report)
    if not may_write_note(user, report, case_id):
        raise PermissionDeniedError("only the case's lead steward writes its feedback")
    note = {k: str(data.get(k) or "").strip() for k in NOTE_FIELDS}
    errors = {k: [f"不超过{NOTE_MAX}字"] for k, v in note.items() if len(v) > NOTE_MAX}
    if not note["progress"]:
        errors["progress"] = ["请填写进展情况"]
    if errors:
        raise ValidationFailedError("the feedback is incomplete", errors)
    notes = report.case_notes
    notes[case_id] = {**note, "by": user.username, "at": clock.now().isoformat()}
    report.notes = json.dumps(notes, ensure_ascii=False)
    _event("report_note_written", report, user.username, case_id=case_id)
    db.session.commit()
    return report


def sign(user: User, report_id: int) -> Report:
    """The 主要负责人 signs off a draft (审定同意). Raises ``PermissionDeniedError`` /
    ``ConflictError``."""
    _require(user, frozenset({SIGNER}), "only the 主要负责人 (bureau_head) signs off reports")
    report = get(user, report_id)
    _draft(report)
    report.state, report.signed_by, report.signed_at = "signed", user.username, clock.now()
    _event("report_signed", report, user.username)
    db.session.commit()
    return report


def submit(user: User, report_id: int, on: str) -> Report:
    """Mark a signed report 已报送 on the day ``on`` (ISO date, not before the sign-off nor
    in the future), and tell the leaders. Raises ``PermissionDeniedError``,
    ``ConflictError`` (not signed), ``ValidationFailedError`` (a bad date)."""

    _require(user, CLERKS, "only the bureau marks a report handed in")
    report = get(user, report_id)
    if report.state != "signed" or report.superseded_by is not None:
        raise ConflictError("only a signed, current report can be handed in")
    today = calendar().local_date(clock.now())
    try:
        day = date.fromisoformat((on or "").strip())
    except ValueError:
        raise ValidationFailedError("not a date", {"submitted_on": ["请填写报送日期"]}) from None
    signed_day = calendar().local_date(report.signed_at) if report.signed_at else today
    if not signed_day <= day <= today:
        raise ValidationFailedError("date out of range", {"submitted_on": [
            f"报送日期应在审定日（{signed_day.isoformat()}）与今天之间"]})
    report.state, report.submitted_by = "submitted", user.username
    report.submitted_on, report.submitted_at = day, clock.now()
    _event("report_submitted", report, user.username, submitted_on=day.isoformat())
    period = period_of(report.kind, report.period)
    notifications.notify(kind="result_ready", title=f"已报送：{period.title}",
                         body=f"第{report.version}版，{day.isoformat()}报送，可在“报表”页查阅。",
                         dedupe_key=f"report:{report.id}:submitted",
                         groups=["leader", SIGNER], county=report.county or default_county())
    db.session.commit()
    return report


def correct(user: User, report_id: int, reason: str) -> Report:
    """A correction after sign-off: a new draft version (figures recounted, the stewards'
    words carried over); the signed version is kept. Raises ``PermissionDeniedError``,
    ``ConflictError`` (still a draft, or not the newest), ``ValidationFailedError``."""
    _require(user, CLERKS, "only the bureau corrects a report")
    report = get(user, report_id)
    if report.state == "draft" or report.superseded_by is not None:
        raise ConflictError("only the newest signed version can be corrected")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailedError("a correction needs its reason",
                                    {"reason": ["请填写更正原因"]})
    period = period_of(report.kind, report.period)
    newer = _new(period, user.username, report.version + 1, county=report.county,
                 notes=report.notes, reason=reason[:NOTE_MAX])
    report.superseded_by = newer.id
    _event("report_corrected", newer, user.username, replaces_version=report.version,
           reason=reason[:NOTE_MAX])
    _tell_signer_and_stewards(newer, period)
    db.session.commit()
    return newer


@dataclass(frozen=True)
class DueLight:
    light: str  # green | yellow | red | done
    words: str


def due_light(report: Report, now: datetime | None = None) -> DueLight:
    """The due date's light: done once handed in; otherwise lit as an approval item is, with
    the county's calendar and warning days (本县设置), the deadline the due day's close."""

    if report.state == "submitted" and report.submitted_on is not None:
        late = report.submitted_on > report.due_on
        return DueLight("done", "逾期报送" if late else "按时报送")
    now = now or clock.now()
    county = default_county()
    calendar = current_calendar(county=county)
    deadline = datetime.combine(report.due_on + timedelta(days=1), time(0), calendar.tz)
    light = item_light(deadline, now, calendar,
                       warn_working_days=county_settings(county).light_rule.min_days)
    return DueLight(light.code, {Light.RED: "已超期", Light.YELLOW: "即将到期",
                                 Light.GREEN: "未到期"}[light])
