"""What a case's archive (一事一档) must hold, from the path the case took.

Seed 004 §五(十): 建立咨询、申请、委托、办理、办结、送达、评价、回访全过程“一事一档”档案 — plus
the records of the steps that happened on the way: the service plan, the one-time notice, the
task sheets, joint-meeting minutes and supervision records. Pure: the completed steps of the
case in, the record codes (as the archive form's checklist names them) out.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Record code → its name on the archive form (forms/archive.form), in the form's order.
RECORDS: dict[str, str] = {
    "consultation": "咨询记录",
    "application": "申请受理表",
    "entrustment": "委托协议",
    "plan": "服务方案",
    "notice": "一次性告知书",
    "task_sheets": "任务分送单及回执",
    "handling": "办理过程资料",
    "meeting_minutes": "联席会议纪要",
    "supervision": "催办督办记录",
    "closure": "办结单或终止单",
    "delivery": "送达记录",
    "evaluation": "满意度评价表（或企业未评价记录）",
    "visits": "回访记录",
}
#: Records every case that reaches the archive has (004 §五(十): 咨询、申请、评价、回访).
ALWAYS = ("consultation", "application", "evaluation", "visits")
#: Records required where one of these steps was completed.
WHERE_DONE: dict[str, frozenset[str]] = {
    "entrustment": frozenset({"sign_entrustment_agreement"}),
    "plan": frozenset({"draft_service_plan"}),
    "notice": frozenset({"issue_one_time_notice"}),
    "task_sheets": frozenset({"issue_task_sheets"}),
    "handling": frozenset({"handle_item"}),
    "meeting_minutes": frozenset({"decide_in_joint_meeting"}),
    "supervision": frozenset({"urge_overdue_item", "supervise_overdue_item"}),
    "closure": frozenset({"fill_completion_sheet", "fill_termination_sheet"}),
    "delivery": frozenset({"notify_enterprise_of_result"}),
}


def required_records(completed_steps: Iterable[str]) -> list[str]:
    """The record codes a case with these completed steps must archive, in the form's order."""
    done = set(completed_steps)
    wanted = set(ALWAYS) | {code for code, steps in WHERE_DONE.items() if steps & done}
    return [code for code in RECORDS if code in wanted]


def missing_records(required: Iterable[str], held: Iterable[str],
                    excused: Iterable[str] = ()) -> list[str]:
    """Required records neither held nor excused by a leader's recorded exception."""
    have = set(held) | set(excused)
    return [code for code in required if code not in have]
