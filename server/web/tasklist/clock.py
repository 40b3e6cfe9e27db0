"""The item clock on the task page: a department stops and restarts its item's clock for an
Art. 45 procedure or a 公示, and sends an item up for the prefecture's or province's decision.
Thin views over :mod:`server.services.clock_pauses`; the article of each is shown."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import flash, redirect, url_for
from flask_login import login_required

from server.engine import clock
from server.rules.clock_law import PAUSE_KINDS, REFERRAL, SUPPLEMENT
from server.rules.lights import explain_light
from server.schemas.views import ItemClockForm
from server.services import access, clock_pauses
from server.services.calendar import (
    case_county,
    county_settings,
    current_calendar,
    item_schedule,
)
from server.services.errors import ConflictError, ValidationFailedError
from server.web import params
from server.web.i18n import EN, lang, t
from server.web.session import me
from server.web.tasklist import bp

EN.update({
    "办理时限与计时": "Time limit and clock", "暂停计时": "Stop the clock",
    "恢复计时": "Restart the clock", "上报上级审批": "Refer upward",
    "上级审批已办结，恢复计时": "Back from the higher level: restart the clock",
    "暂停事由": "Reason", "所需时间（天，书面告知申请人）":
        "Time needed (days, notified to the applicant in writing)",
    "暂停类型": "Kind", "上报层级": "Level", "州（市）": "prefecture", "省": "province",
    "上级办理结果": "Outcome at the higher level", "依据": "Basis",
    "上级审批中": "With the higher level",
    "计时记录": "Clock record", "进行中": "running", "灯色依据": "Why this light",
    "时限种类": "Limit kind", "工作日": "working days", "自然日": "calendar days",
    "计时已暂停": "Clock stopped", "计时已恢复": "Clock restarted", "已上报上级审批":
        "Referred upward", "已恢复本县计时": "The county's clock runs again",
    "补正按本县设置": "补正 by this county's setting",
    "计时暂停": "Clock stopped", "计时恢复": "Clock restarted",
    "上级审批办结": "Back from the higher level", "期限重新计算": "Deadline recomputed",
    "定时调整": "Timer moved", "县设置变更": "County settings changed",
    "导入节假日通知": "Holiday notice loaded",
})


def item_clock_view(item: Any) -> dict[str, Any] | None:
    """What the task page shows of an open 办理 task's clock (None for other tasks)."""
    record = clock_pauses.clock_of(item.id)
    if record is None:
        return None
    county = case_county(item.case)
    settings = county_settings(county)
    calendar = current_calendar(county=county)
    engine_item = clock_pauses.item_of(item.id) or {}
    schedule = item_schedule(engine_item, record, clock.now(), calendar=calendar,
                                          settings=settings)
    verdict = explain_light(schedule.deadline, clock.now(), calendar, rule=settings.light_rule,
                            limit_days=schedule.limit_days, limit_kind=schedule.limit_kind)
    pauses = []
    for p in record.get("pauses") or []:
        spec = PAUSE_KINDS.get(str(p.get("kind") or SUPPLEMENT))
        pauses.append({"label": spec.label_zh if spec else p.get("kind"),
                       "article": p.get("article") or (spec.article_zh if spec else ""),
                       "reason": p.get("reason") or "",
                       "start": datetime.fromisoformat(p["start"]) if p.get("start") else None,
                       "end": datetime.fromisoformat(p["end"]) if p.get("end") else None,
                       "cap_days": p.get("cap_days"),
                       "level": clock_pauses.LEVELS.get(str(p.get("level") or ""), "")})
    open_ = [p for p in record.get("pauses") or [] if p.get("end") is None]
    return {
        "pauses": pauses, "verdict": verdict,
        "reason": verdict.reason_en if lang() == "en" else verdict.reason_zh,
        "deadline": schedule.deadline,
        "limit_kind": schedule.limit_kind.value, "limit_days": schedule.limit_days,
        "art32": settings.art32_mode.label_zh, "county": settings.name,
        "open_kind": str(open_[-1].get("kind")) if open_ else None,
        "can_act": access.acting_role(me(), item) is not None,
        "kinds": [k for k in PAUSE_KINDS.values() if k.department_action and k.code != REFERRAL],
        "levels": clock_pauses.LEVELS, "publicity_cap": settings.publicity_cap_days,
        # The catalog's 审批层级 (room 11's ``level``; missing: county) preselects the referral.
        "item_level": str(engine_item.get("level") or "county"),
    }


@bp.app_context_processor
def _clock_helpers() -> dict[str, Any]:
    return {"item_clock_view": item_clock_view}


@bp.post("/tasks/<task_id>/clock")
@login_required
def task_clock(task_id: str) -> Any:
    """Stop, restart or refer an item's clock (``action`` = pause | resume | refer | return);
    a refused request is flashed with its reason and changes nothing."""
    form = params.posted(ItemClockForm)
    action = form["action"]
    try:
        if action == "pause":
            clock_pauses.start_pause(me(), task_id, kind=form["kind"], reason=form["reason"],
                                     cap_days=form["cap_days"])
            flash(t("计时已暂停"), "success")
        elif action == "resume":
            clock_pauses.end_pause(me(), task_id)
            flash(t("计时已恢复"), "success")
        elif action == "refer":
            clock_pauses.refer_upward(me(), task_id, level=form["level"],
                                      reason=form["reason"])
            flash(t("已上报上级审批"), "success")
        elif action == "return":
            clock_pauses.return_from_referral(me(), task_id, outcome=form["outcome"])
            flash(t("已恢复本县计时"), "success")
        else:
            raise ValidationFailedError(f"unknown action {action!r}", {"action": [action]})
    except (ValidationFailedError, ConflictError) as exc:
        flash(str(exc.detail), "error")
    return redirect(url_for("tasklist.task", task_id=task_id))
