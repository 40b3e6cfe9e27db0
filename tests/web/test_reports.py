"""Seed 001's and 004's reports: a month of known cases gives the exact 情况表 rows and
counts (approval items, not tasks); the steward writes, the 主要负责人 signs off, the bureau
marks it 已报送 and the leaders hear of it; a correction is a new version; the .xlsx holds
the same figures; the quarter and the year are the sums of their months; who may not, 403."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import insert, select

from server.engine.clock import FrozenClock
from server.extensions import db
from server.models import AuditEvent, CaseTeam, Report
from server.services import report_books, report_figures
from server.services.errors import ValidationFailedError
from tests.conftest import table_counts
from tests.helpers.dashboard import county
from tests.helpers.notices import told
from tests.web.dashboard_seed import shipped_app


@pytest.fixture
def app(make_app: Any) -> Flask:
    return shipped_app(make_app)


def _prepare(app: Flask, kind: str, period: str) -> int:
    with app.app_context():
        report_id = report_books.prepare(kind, period).id
        db.session.remove()
    return report_id


def _report(app: Flask, report_id: int) -> Report:
    with app.app_context():
        report = db.session.get(Report, report_id)
        db.session.expunge(report)
        db.session.remove()
    return report


def _steward_for(app: Flask, case_ids: list[str], steward: str = "guanjia") -> None:
    with app.app_context():
        for case_id in case_ids:
            db.session.execute(insert(CaseTeam).values(
                case_id=case_id, steward=steward, leader="lingdao", co_agents="[]",
                updated_by="test"))
        db.session.commit()
        db.session.remove()


def _events(app: Flask, type_: str) -> list[dict[str, Any]]:
    with app.app_context():
        found = [e.payload for e in db.session.execute(
            select(AuditEvent).where(AuditEvent.type == type_)).scalars()]
        db.session.remove()
    return found


def test_the_november_report_has_the_exact_rows_and_counts_of_items(
        app: Flask, frozen_clock: FrozenClock) -> None:
    county(app)
    report = _report(app, _prepare(app, "monthly", "2026-11"))
    assert report.due_on == date(2026, 12, 5) and report.state == "draft"
    rows = {r["cells"][2]: r["cells"] for r in report.figures["rows"]}
    # Open at some moment of November: 旧厂 ended in October and is not listed.
    assert list(rows) == ["文旅小镇项目", "康养中心项目", "风电基地项目", "农业园项目",
                          "物流园项目"]
    # 审批事项 / 已办结 / 在办 / 超期 — items, and an item late by its own due moment.
    assert rows["风电基地项目"][4] == "能源（含绿色能源）"
    assert rows["风电基地项目"][8:12] == ["2", "0", "2", "2"]
    assert rows["文旅小镇项目"][8:12] == ["4", "2", "2", "2"]
    assert rows["农业园项目"][7] == "已终止" and rows["农业园项目"][12] == "2026-11-12"
    assert report.figures["totals"] == {"items": 6, "done_items": 2, "open_items": 4,
                                        "late_items": 4}
    # The 服务清单 lists each approval item with its department and how it stands.
    services = {s["item"]: s for s in report.figures["services"]}
    assert len(services) == 6
    assert services["建设项目用地预审与选址意见书"]["state"] == "超期在办"
    assert services["建设项目用地预审与选址意见书"]["department"] == "dept_zrzy"
    states = sorted(s["state"] for s in services.values())
    assert states == ["在办", "按时办结", "超期办结", "超期在办", "超期在办", "超期在办"]
    assert _events(app, "report_prepared")[0]["period"] == "2026-11"
    # Prepared again (a redelivered task): the same report, nothing new.
    assert _prepare(app, "monthly", "2026-11") == report.id
    assert len(_events(app, "report_prepared")) == 1


def test_steward_writes_bureau_head_signs_bureau_hands_in_and_a_correction_is_a_new_version(
        app: Flask, web: Any, frozen_clock: FrozenClock) -> None:
    ids = county(app)
    _steward_for(app, [ids[0]])
    report_id = _prepare(app, "monthly", "2026-11")
    base = f"/reports/{report_id}"
    steward, clerk, head, leader = web(), web(), web(), web()
    steward.login("guanjia")
    clerk.login("zhaoshang")
    head.login("juzhang")
    leader.login("lingdao")
    # The head of the bureau was told a draft awaits sign-off; the steward too.
    assert "待审定：重点招商项目情况表（2026年11月）" in head.text("/inbox")
    assert "待审定" in steward.text("/inbox")

    note = {"progress": "用地预审材料已补正", "problems": "林地指标待州级批复",
            "plan": "12月上旬协调林草局"}
    # Only the case's lead steward writes its feedback; an empty progress is refused.
    assert clerk.post(f"{base}/notes/{ids[0]}", note, token_from=base).status_code == 403
    assert steward.post(f"{base}/notes/{ids[1]}", note, token_from=base).status_code == 403
    refused = steward.post(f"{base}/notes/{ids[0]}", {**note, "progress": " "},
                           token_from=base)
    assert refused.status_code == 422 and "请填写进展情况" in refused.get_data(as_text=True)
    assert steward.post(f"{base}/notes/{ids[0]}", note, token_from=base).status_code == 302
    assert "林地指标待州级批复" in leader.text(base)

    # Only the 主要负责人 signs off; the bureau's clerk may not.
    assert clerk.post(f"{base}/sign", token_from=base).status_code == 403
    assert _report(app, report_id).state == "draft"
    # Handing in before sign-off is refused.
    assert clerk.post(f"{base}/submit", {"submitted_on": "2026-11-23"},
                      token_from=base).status_code == 409
    assert head.post(f"{base}/sign", token_from=base).status_code == 302
    signed = _report(app, report_id)
    assert signed.state == "signed" and signed.signed_by == "juzhang"
    # Signed: the feedback is closed.
    assert steward.post(f"{base}/notes/{ids[0]}", note, token_from=base).status_code == 409

    # A day in the future is not a day it was handed in.
    before = table_counts(app)
    bad = clerk.post(f"{base}/submit", {"submitted_on": "2026-12-01"}, token_from=base)
    assert bad.status_code == 422 and "报送日期应在审定日" in bad.get_data(as_text=True)
    assert table_counts(app) == before
    assert leader.post(f"{base}/submit", {"submitted_on": "2026-11-23"},
                       token_from=base).status_code == 403
    assert clerk.post(f"{base}/submit", {"submitted_on": "2026-11-23"},
                      token_from=base).status_code == 302
    page = leader.text(base)
    assert 'id="report-state">已报送' in page and "2026-11-23" in page
    assert "按时报送" in page
    assert "已报送：重点招商项目情况表（2026年11月）" in leader.text("/inbox")

    # A correction needs its reason, and makes version 2; version 1 stays as handed in.
    assert clerk.post(f"{base}/correct", {"reason": ""}, token_from=base).status_code == 422
    assert steward.post(f"{base}/correct", {"reason": "补报"}, token_from=base).status_code \
        == 403
    moved = clerk.post(f"{base}/correct", {"reason": "风电项目投资额更正"}, token_from=base)
    assert moved.status_code == 302
    newer_id = int(moved.headers["Location"].rsplit("/", 1)[1])
    old, newer = _report(app, report_id), _report(app, newer_id)
    assert (old.state, old.submitted_on, old.superseded_by) == ("submitted",
                                                                date(2026, 11, 23), newer_id)
    assert (newer.version, newer.state) == (2, "draft")
    assert newer.case_notes[ids[0]]["problems"] == "林地指标待州级批复"
    # The list shows the newest version; both remain readable.
    listing = leader.text("/reports")
    assert f"/reports/{newer_id}" in listing and "第2版" in listing
    assert "风电项目投资额更正" in leader.text(f"/reports/{newer_id}")
    assert [e["version"] for e in _events(app, "report_signed")] == [1]
    assert [e["replaces_version"] for e in _events(app, "report_corrected")] == [1]
    # The report events (of no case) keep the audit log's chain whole (the seeded cases,
    # inserted without a history, are findings of their own and left aside).
    with app.app_context():
        from server.services import ledger

        assert [str(f) for f in ledger.verify() if f.case_id not in ids] == []
        db.session.remove()


def test_the_xlsx_holds_the_same_figures_and_the_sign_off_lines(
        app: Flask, web: Any, frozen_clock: FrozenClock) -> None:
    ids = county(app)
    _steward_for(app, [ids[1]])
    report_id = _prepare(app, "monthly", "2026-11")
    report_page = f"/reports/{report_id}"
    steward, head = web(), web()
    steward.login("guanjia")
    head.login("juzhang")
    steward.post(f"{report_page}/notes/{ids[1]}", {"progress": "施工许可材料齐全"},
                 token_from=report_page)
    head.post(f"{report_page}/sign", token_from=report_page)
    response = head.get(f"{report_page}/xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["情况表", "跟踪反馈单", "服务清单"]
    sheet = [list(r) for r in book["情况表"].iter_rows(values_only=True)]
    assert sheet[0][0] == "重点招商项目情况表（2026年11月）"
    header = sheet[1]
    rows = {r[2]: dict(zip(header, r, strict=True)) for r in sheet[2:] if r[2]}
    assert [rows["文旅小镇项目"][k] for k in ("审批事项", "已办结事项", "在办事项", "超期事项")] \
        == [4, 2, 2, 2]
    assert rows["风电基地项目"]["行业"] == "能源（含绿色能源）"
    total = next(r for r in sheet if r[0] == "合计")
    assert total[8:12] == [6, 2, 4, 4]
    lines = [r[0] for r in sheet if r[0] and str(r[0]).startswith(("填报单位", "主要负责人"))]
    # The 主要负责人 is named by name (局长 in the test directory), with the day signed.
    assert "主要负责人审定：局长　审定日期：2026-11-23" in lines
    feedback = [list(r) for r in book["跟踪反馈单"].iter_rows(values_only=True)]
    assert any(r[2] == "文旅小镇项目" and r[4] == "施工许可材料齐全" for r in feedback)
    services = [list(r) for r in book["服务清单"].iter_rows(values_only=True)]
    assert sum(1 for r in services if isinstance(r[0], int)) == 6
    # The printable page carries the same tables and the sign-off line.
    printed = head.text(f"{report_page}/print")
    assert "重点招商信息跟踪反馈单（2026年11月）" in printed and "施工许可材料齐全" in printed
    assert "主要负责人审定：局长　审定日期：2026-11-23" in printed


def test_the_quarter_and_the_year_are_the_sums_of_their_months(
        app: Flask, frozen_clock: FrozenClock) -> None:
    county(app)
    october = _report(app, _prepare(app, "monthly", "2026-10"))
    november = _report(app, _prepare(app, "monthly", "2026-11"))
    quarter = _report(app, _prepare(app, "quarterly", "2026-Q4"))
    year = _report(app, _prepare(app, "annual", "2026"))
    assert quarter.due_on == date(2027, 1, 15) and year.due_on == date(2027, 1, 31)
    months = {m["month"]: m for m in quarter.figures["months"]}
    assert list(months) == ["2026-10", "2026-11", "2026-12"]
    # Each month of the quarter is that month's own report's summary.
    assert months["2026-10"] == october.figures["summary"]
    assert months["2026-11"] == november.figures["summary"]
    # October: three new (旧厂, 文旅, 康养), 旧厂 finished; 方案审查 done on time.
    assert {k: months["2026-10"][k] for k in ("new", "completed", "terminated", "items_done",
                                              "items_late")} \
        == {"new": 3, "completed": 1, "terminated": 0, "items_done": 1, "items_late": 0}
    # November: three new, 康养 finished, 农业园 terminated; 规划核实 done two days late.
    assert {k: months["2026-11"][k] for k in ("new", "completed", "terminated", "items_done",
                                              "items_late")} \
        == {"new": 3, "completed": 1, "terminated": 1, "items_done": 1, "items_late": 1}
    total = quarter.figures["total"]
    for key in report_figures.SUMMARY_FIELDS:
        assert total[key] == sum(m[key] for m in months.values()), key
    assert (total["new"], total["completed"], total["terminated"], total["items_done"],
            total["items_late"]) == (6, 2, 1, 2, 1)
    # The year: twelve months, summed; all the activity is in the fourth quarter.
    assert len(year.figures["months"]) == 12
    for key in report_figures.SUMMARY_FIELDS:
        assert year.figures["total"][key] == sum(m[key] for m in year.figures["months"])
        assert year.figures["total"][key] == total[key]


def test_the_departments_half_year_counts_items_per_department(
        app: Flask, frozen_clock: FrozenClock) -> None:
    county(app)
    half = _report(app, _prepare(app, "half_year", "2026-H2"))
    assert half.due_on == date(2026, 12, 25)  # seed 004: 12月25日前
    found = {d["department"]: {k: d[k] for k in report_figures.DEPARTMENT_FIELDS}
             for d in half.figures["departments"]}
    assert found == {
        "dept_zjj": {"started": 3, "done": 1, "on_time": 1, "late": 0, "open_at_end": 2,
                     "open_late_at_end": 1},
        "dept_zrzy": {"started": 2, "done": 1, "on_time": 0, "late": 1, "open_at_end": 1,
                      "open_late_at_end": 1},
        "dept_sthj": {"started": 1, "done": 0, "on_time": 0, "late": 0, "open_at_end": 1,
                      "open_late_at_end": 0},
    }
    assert half.figures["as_of"] == "2026-11-23"


def test_what_the_first_of_a_month_prepares_and_when_each_is_due(
        app: Flask, frozen_clock: FrozenClock) -> None:
    due = report_figures.periods_due_to_prepare
    assert [(p.kind, p.key, p.due_on) for p in due(date(2027, 1, 1))] == [
        ("monthly", "2026-12", date(2027, 1, 5)),
        ("quarterly", "2026-Q4", date(2027, 1, 15)),
        ("annual", "2026", date(2027, 1, 31))]
    assert [(p.kind, p.key, p.due_on) for p in due(date(2026, 6, 1))] == [
        ("monthly", "2026-05", date(2026, 6, 5)), ("half_year", "2026-H1", date(2026, 6, 30))]
    assert [p.key for p in due(date(2026, 11, 1))] == ["2026-10"]
    for kind, key in (("monthly", "2026-13"), ("quarterly", "2026-Q5"), ("annual", "26"),
                      ("half_year", "2026-H3"), ("weekly", "2026-11")):
        with pytest.raises(ValidationFailedError):
            report_figures.period_of(kind, key)
    with app.app_context():
        made = report_books.prepare_due(date(2026, 12, 1))
        assert [(r.kind, r.period) for r in made] == [("monthly", "2026-11"),
                                                      ("half_year", "2026-H2")]
        # Run again (a redelivered task): the same two.
        assert [r.id for r in report_books.prepare_due(date(2026, 12, 1))] == \
            [r.id for r in made]
        db.session.remove()


def test_the_due_light_turns_as_the_fifth_nears_and_passes(
        app: Flask, frozen_clock: FrozenClock) -> None:
    from datetime import UTC, datetime

    report_id = _prepare(app, "monthly", "2026-11")
    with app.app_context():
        report = db.session.get(Report, report_id)
        light = report_books.due_light
        assert light(report, datetime(2026, 12, 1, 1, tzinfo=UTC)).light == "green"
        assert light(report, datetime(2026, 12, 4, 1, tzinfo=UTC)).light == "yellow"
        assert light(report, datetime(2026, 12, 8, 1, tzinfo=UTC)).light == "red"
        db.session.remove()


@pytest.mark.parametrize("username", ["qiye", "zrzy", "fgj", "zhuanchuang"])
def test_enterprise_and_department_staff_get_403_and_nothing_changes(
        app: Flask, web: Any, frozen_clock: FrozenClock, username: str) -> None:
    county(app)
    report_id = _prepare(app, "monthly", "2026-11")
    before = table_counts(app)
    someone = web()
    someone.login(username)
    for path in ("/reports", f"/reports/{report_id}", f"/reports/{report_id}/xlsx",
                 f"/reports/{report_id}/print"):
        assert someone.get(path).status_code == 403, path
    for path, data in ((f"/reports/{report_id}/sign", {}),
                       (f"/reports/{report_id}/submit", {"submitted_on": "2026-11-23"}),
                       (f"/reports/{report_id}/correct", {"reason": "x"}),
                       ("/reports/prepare", {"kind": "monthly", "period": "2026-10"})):
        assert someone.post(path, data).status_code == 403, path
    assert 'href="/reports"' not in someone.text("/inbox")
    assert table_counts(app) == before


@pytest.mark.parametrize("username", ["lingdao", "zhaoshang", "juzhang", "shenji", "guanjia"])
def test_leaders_bureau_auditors_and_stewards_read_reports(
        app: Flask, web: Any, frozen_clock: FrozenClock, username: str) -> None:
    county(app)
    report_id = _prepare(app, "monthly", "2026-11")
    reader = web()
    reader.login(username)
    listing = reader.text("/reports")
    assert 'href="/reports"' in listing and f"/reports/{report_id}" in listing
    assert "2026-12-05" in listing and "未到期" in listing
    assert "文旅小镇项目" in reader.text(f"/reports/{report_id}")


def test_a_clerk_prepares_a_report_by_hand_and_a_bad_period_is_refused(
        app: Flask, web: Any, frozen_clock: FrozenClock) -> None:
    county(app)
    clerk, leader = web(), web()
    clerk.login("zhaoshang")
    leader.login("lingdao")
    before = table_counts(app)
    bad = clerk.post("/reports/prepare", {"kind": "quarterly", "period": "2026-Q9"},
                     token_from="/reports")
    assert bad.status_code == 422 and "2026-Q4" in bad.get_data(as_text=True)
    assert leader.post("/reports/prepare", {"kind": "quarterly", "period": "2026-Q4"},
                       token_from="/reports").status_code == 403
    assert table_counts(app) == before
    made = clerk.post("/reports/prepare", {"kind": "quarterly", "period": "2026-Q4"},
                      token_from="/reports")
    assert made.status_code == 302
    page = clerk.text(made.headers["Location"])
    assert "季度招商引资情况报告（2026年第4季度）" in page and "2027-01-15" in page
    with app.app_context():
        assert told(lambda n: n.title.startswith("待审定：季度")) == {"juzhang"}
        db.session.remove()


def test_the_pdf_is_the_printed_report_with_its_unit_period_and_sign_off_lines(
        app: Flask, web: Any, frozen_clock: FrozenClock, tmp_path: Any) -> None:
    from tests.helpers.pdf import pdf_text, squeeze

    county(app)
    report_id = _prepare(app, "quarterly", "2026-Q4")
    leader = web()
    leader.login("lingdao")
    response = leader.get(f"/reports/{report_id}/print?format=pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = squeeze(pdf_text(response.data, tmp_path))
    assert "季度招商引资情况报告（2026年第4季度）" in text
    assert "填报单位（盖章）" in text and "主要负责人审定" in text and "报送日期" in text
    # The total row of the quarter: 6 new, 2 finished, 1 terminated, 0 refused, 2 items.
    assert "合计62102" in text


def test_beat_prepares_the_reports_on_the_first_of_each_month() -> None:
    from celery.schedules import crontab

    from workers.schedule import beat_schedule
    from workers.settings import WorkerSettings
    from workers.tasks import prepare_due_reports

    entry = beat_schedule(WorkerSettings.from_env({}))["prepare-reports"]
    assert entry["task"] == prepare_due_reports.name == "guanjia.reports.prepare_due"
    assert entry["schedule"] == crontab(minute=5, hour=0, day_of_month=1)
    # The month's table is still written to files by the task that did so before.
    assert "monthly-report" in beat_schedule(WorkerSettings.from_env({}))
