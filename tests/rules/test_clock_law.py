"""The lawful item clock: Art. 32 restart, Art. 45 and 公示 pauses with caps, referral, lights."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.rules.clock_law import (
    PAUSE_KINDS,
    Art32Mode,
    LightRule,
    item_deadline,
    pause_kind,
    warning_instant,
)
from server.rules.lights import Light, explain_light, item_light
from server.rules.workdays import SHANGHAI, LimitKind, WorkCalendar


def cst(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> str:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI).isoformat()


def at(y: int, m: int, d: int, hh: int = 17, mm: int = 30) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.default()


def test_expert_review_of_five_working_days_moves_a_20_day_item_by_five(cal: WorkCalendar
                                                                         ) -> None:
    clock = {"received_at": cst(2026, 11, 2), "started_at": cst(2026, 11, 2), "pauses": []}
    plain = item_deadline(clock, 20, cal)
    assert plain.at == at(2026, 11, 30)
    # 专家评审 from Monday 11/9 to Monday 11/16: 11/10–11/16 are 5 working days.
    clock["pauses"] = [{"start": cst(2026, 11, 9), "end": cst(2026, 11, 16),
                        "kind": "expert_review", "reason": "专家评审会", "cap_days": 10}]
    reviewed = item_deadline(clock, 20, cal)
    assert cal.working_days_between(plain.at, reviewed.at) == 5
    assert reviewed.at == at(2026, 12, 7)


def test_a_pause_longer_than_its_cap_credits_only_the_cap(cal: WorkCalendar) -> None:
    clock = {"started_at": cst(2026, 11, 2), "pauses": [
        {"start": cst(2026, 11, 9), "end": cst(2026, 11, 16), "kind": "testing", "cap_days": 3}]}
    assert item_deadline(clock, 20, cal).at == at(2026, 12, 3)  # 11/30 + 3 working days


def test_an_open_capped_pause_holds_the_light_until_its_cap_runs_out(cal: WorkCalendar) -> None:
    clock = {"started_at": cst(2026, 11, 2), "pauses": [
        {"start": cst(2026, 11, 5), "end": None, "kind": "hearing", "cap_days": 5}]}
    due = item_deadline(clock, 5, cal)
    assert due.paused and due.at == at(2026, 11, 16)  # 11/9 + 5 working days (the full cap)
    assert due.resumes_at == at(2026, 11, 12)
    # Frozen at the pause start (Thursday 11/5, 2 working days before 11/9's original due).
    assert item_light(due, datetime.fromisoformat(cst(2026, 11, 11)), cal) is Light.GREEN
    # Past the cap the clock runs again and is judged now.
    assert item_light(due, datetime.fromisoformat(cst(2026, 11, 16, 18)), cal) is Light.RED


def test_art_32_restart_runs_the_period_from_the_day_the_materials_are_complete(
        cal: WorkCalendar) -> None:
    # Received Monday 11/2; 补正 asked Tuesday 11/3; complete materials Thursday 11/12.
    clock = {"received_at": cst(2026, 11, 2), "started_at": cst(2026, 11, 2), "pauses": [
        {"start": cst(2026, 11, 3), "end": cst(2026, 11, 12), "reason": "补正",
         "kind": "supplement"}]}
    # Art. 32 (五) + Art. 42: 受理 on 11/12, 20 working days from then: 12/10.
    restart = item_deadline(clock, 20, cal, art32_mode=Art32Mode.RESTART)
    assert restart.at == at(2026, 12, 10)
    # The county's "pause" setting: from 11/2, 补正 (11/4–11/12, 7 working days) left out.
    paused = item_deadline(clock, 20, cal, art32_mode="pause")
    assert paused.at == at(2026, 12, 9)
    # An old record without kinds: its pauses were 补正.
    old = {"started_at": cst(2026, 11, 2), "pauses": [
        {"start": cst(2026, 11, 3), "end": cst(2026, 11, 12), "reason": "补正"}]}
    assert item_deadline(old, 20, cal) == restart


def test_an_open_supplement_stops_the_clock(cal: WorkCalendar) -> None:
    clock = {"started_at": cst(2026, 11, 2), "pauses": [
        {"start": cst(2026, 11, 3), "end": None, "kind": "supplement"}]}
    assert item_deadline(clock, 3, cal).paused_since == datetime.fromisoformat(cst(2026, 11, 3))


def test_a_calendar_day_statute_counts_weekends(cal: WorkCalendar) -> None:
    # 建筑法: 施工许可 within 7 日 (calendar days). Monday 11/2 + 7 = Monday 11/9; as working
    # days it would be Wednesday 11/11.
    clock = {"started_at": cst(2026, 11, 2), "pauses": []}
    assert item_deadline(clock, 7, cal, limit_kind="calendar").at == at(2026, 11, 9)
    assert item_deadline(clock, 7, cal, limit_kind=LimitKind.WORKING).at == at(2026, 11, 11)
    # A calendar-day pause counts calendar days: 专家评审 Friday 11/6 to Monday 11/9 = 3 days.
    clock["pauses"] = [{"start": cst(2026, 11, 6), "end": cst(2026, 11, 9),
                        "kind": "expert_review", "cap_days": 5}]
    assert item_deadline(clock, 7, cal, limit_kind="calendar").at == at(2026, 11, 12)


def test_a_referred_item_never_goes_red_on_the_county(cal: WorkCalendar) -> None:
    clock = {"started_at": cst(2026, 11, 2), "pauses": [
        {"start": cst(2026, 11, 4), "end": None, "kind": "referral", "reason": "上报州审批"}]}
    due = item_deadline(clock, 3, cal)
    assert due.referred
    for later in (cst(2026, 11, 5), cst(2026, 12, 31), cst(2027, 3, 1)):
        verdict = explain_light(due, datetime.fromisoformat(later), cal)
        assert verdict.light is not Light.RED
        assert verdict.state_zh == "上级审批中"
    # Back from the prefecture on 11/20: 12 working days (11/5–11/20) were not the county's.
    clock["pauses"][0]["end"] = cst(2026, 11, 20)
    assert item_deadline(clock, 3, cal).at == at(2026, 11, 23)


def test_the_light_rule_is_data(cal: WorkCalendar) -> None:
    due = item_deadline({"started_at": cst(2026, 11, 2), "pauses": []}, 20, cal)  # 11/30
    now = datetime.fromisoformat(cst(2026, 11, 25))  # 3 working days left
    default = LightRule()
    assert default.threshold(20) == 4 and default.threshold(3) == 1 and default.threshold(None) == 1
    verdict = explain_light(due, now, cal, rule=default, limit_days=20)
    assert verdict.light is Light.YELLOW
    assert "20%" in verdict.reason_zh and "剩余3个工作日" in verdict.reason_zh
    # A county that warns at 10 % only turns yellow at 2 days; without a rule: 1 working day.
    assert item_light(due, now, cal, rule=LightRule(share=0.1), limit_days=20) is Light.GREEN
    assert item_light(due, now, cal) is Light.GREEN
    with pytest.raises(ValueError, match="between 0 and 1"):
        LightRule(share=1.5)


def test_the_warning_instant_follows_the_threshold(cal: WorkCalendar) -> None:
    due = item_deadline({"started_at": cst(2026, 11, 2), "pauses": []}, 20, cal)  # Mon 11/30
    now = datetime.fromisoformat(cst(2026, 11, 2))
    assert warning_instant(due, 4, cal, now) == at(2026, 11, 24)  # Tue: 4 working days before
    assert warning_instant(due, 1, cal, now) == at(2026, 11, 27)  # the Friday before
    late = datetime.fromisoformat(cst(2026, 11, 30, 9))
    assert warning_instant(due, 4, cal, late) == at(2026, 11, 30, 13, 0)  # within four hours


def test_every_pause_kind_names_its_article() -> None:
    assert pause_kind("expert_review").article_zh == "《中华人民共和国行政许可法》第四十五条"
    assert pause_kind("supplement").article_zh.startswith("《中华人民共和国行政许可法》第三十二条")
    assert pause_kind("referral").article_zh == "《中华人民共和国行政许可法》第四十三条"
    assert {k for k, v in PAUSE_KINDS.items() if "第四十五条" in v.article_zh} == {
        "hearing", "tender", "auction", "inspection", "testing", "quarantine", "appraisal",
        "expert_review"}
    with pytest.raises(ValueError, match="unknown pause kind"):
        pause_kind("lunch")
