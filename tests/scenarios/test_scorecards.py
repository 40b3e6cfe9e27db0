"""Department scorecards (效能, seed 004 六(二)): a month built with known items — one on time,
one late by two working days after a 补正 round, a 差评, an upheld complaint — shows exactly
those counts on the page, in the printable 通报, the PDF and the .xlsx; only leaders and the
supervision office may read them."""

from __future__ import annotations

import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy import select

from server.extensions import db
from server.models import User
from server.services import complaints, ledger
from tests.conftest import table_counts
from tests.scenarios.conftest import Walker
from tests.web.helpers import Web

CST = ZoneInfo("Asia/Shanghai")
ESCALATIONS = {"remind_item_due": "guanjia", "urge_overdue_item": "guanjia",
               "supervise_overdue_item": "lingdao"}


def _user(name: str) -> User:
    return db.session.execute(select(User).where(User.username == name)).scalar_one()


def _build_november(walker: Walker) -> str:
    """One case, two items: 市场监管局 on time; 住建局 after one 补正 round, two working days
    late; rated 差 (2); then an upheld complaint against 住建局 and one not upheld against
    市场监管局. Returns the case id."""
    case_id = walker.start(item_codes=["fire_acceptance_filing", "company_registration"])
    walker.accept()
    walker.hand_over()
    walker.do("scjg", "take_task_sheet")
    walker.do("scjg", "review_item_materials")
    walker.do("scjg", "handle_item")
    walker.do("zhuanchuang", "notify_enterprise_of_result")
    walker.do("zjj", "take_task_sheet")
    walker.do("zjj", "review_item_materials", acceptance_mode="supplement",
              supplement_request="缺消防设计图纸")
    walker.do("qiye", "supply_materials")
    walker.do("zjj", "review_item_materials")
    [handling] = walker.ready("handle_item")
    assert handling["due_at"] == datetime(2026, 11, 26, 17, 30, tzinfo=CST)  # 3 working days
    # Finished on Monday 30 November 10:00: Friday and Monday late (two working days).
    walker.advance(days=7, hours=1)
    for element, who in ESCALATIONS.items():
        while walker.ready(element):
            walker.do(who, element)
    walker.do("zjj", "handle_item")
    walker.do("zhuanchuang", "notify_enterprise_of_result")
    walker.do("guanjia", "fill_completion_sheet")
    walker.do("qiye", "sign_completion_sheet")
    walker.close(rating="2")
    assert walker.case()["status"] == "completed"
    walker.run(ledger.make_checkpoints)

    reference = walker.case()["reference"]

    def complain() -> None:
        upheld = complaints.file_complaint(_user("qiye"), {
            "subject": "department", "case": reference, "department": "dept_zjj",
            "content": "消防验收备案超期未办"})
        complaints.decide(_user("ducha"), upheld.id, {
            "investigation": "核实超期两个工作日", "result": "upheld",
            "feedback": "投诉成立，已通报住建局"})
        rejected = complaints.file_complaint(_user("zhuanchuang"), {
            "channel": "phone", "subject": "department", "department": "dept_scjg",
            "complainant_name": "王先生", "complainant_phone": "0878-6000000",
            "content": "登记窗口排队久"})
        complaints.decide(_user("ducha"), rejected.id, {
            "investigation": "当日排队正常", "result": "not_upheld", "feedback": "不成立"})
    walker.run(complain)
    return case_id


def _table(page: str) -> dict[str, list[str]]:
    body = page.split('id="scorecard"', 1)[1].split("</table>", 1)[0]
    rows = {}
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>",
                                                                       tr, re.S)]
        if cells:
            rows[cells[0]] = cells[1:]
    return rows


# 受理 办结 按时 按时率 逾期 未办结 逾期工作日 补正 差评 投诉成立 平均办理 平均承诺
EXPECTED = {
    "市场监管局": ["1", "1", "1", "100.0", "0", "0", "0", "0", "1", "0", "0.0", "1.0"],
    "住建局": ["1", "1", "0", "0.0", "1", "0", "2", "1", "1", "1", "5.0", "3.0"],
    "合计": ["2", "2", "1", "50.0", "1", "0", "2", "1", "2", "1", "2.5", "2.0"],
}


def test_the_scorecard_of_a_known_month_counts_items_delays_supplements_ratings_complaints(
        walker: Walker) -> None:
    case_id = _build_november(walker)
    # A complaint about the sealed case is allowed after its seal: the chain still checks.
    assert walker.run(ledger.verify, case_id) == []

    leader = Web(walker.app)
    assert leader.login("lingdao").status_code == 302
    page = leader.text("/supervision/scorecards?period=month&at=2026-11")
    assert "2026年11月" in page
    assert _table(page) == EXPECTED
    # The quarter holds the same month; December received and finished nothing.
    assert _table(leader.text("/supervision/scorecards?period=quarter&at=2026-Q4")) == EXPECTED
    december = _table(leader.text("/supervision/scorecards?period=month&at=2026-12"))
    assert december == {"合计": ["0", "0", "0", "—", "0", "0", "0", "0", "0", "0", "—", "—"]}
    bad = leader.get("/supervision/scorecards?period=month&at=2026-13")
    assert bad.status_code == 422 and 'id="err-at"' in bad.get_data(as_text=True)

    # The printable 通报 and its PDF carry the same table and cite 004.
    printed = leader.text("/supervision/scorecards/print?period=month&at=2026-11")
    assert _table(printed) == EXPECTED and "004号文件六（二）" in printed
    pdf = leader.get("/supervision/scorecards/print?period=month&at=2026-11&format=pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")

    # The .xlsx holds the same figures, numbers as numbers.
    ducha = Web(walker.app)
    assert ducha.login("ducha").status_code == 302
    response = ducha.get("/supervision/scorecards.xlsx?period=month&at=2026-11")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert sheet is not None
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0][0] == "各部门帮办代办效能统计（2026年11月）"
    header = values[1]
    assert list(header[:4]) == ["部门", "受理事项", "办结事项", "按时办结"]
    rows = {r[0]: r[1:] for r in values[2:] if r[0] in EXPECTED}
    # openpyxl reads 100.0 back as 100: compare as numbers.
    assert {k: [None if v is None else float(v) for v in r] for k, r in rows.items()} == {
        k: [None if v == "—" else float(v) for v in r] for k, r in EXPECTED.items()}
    assert rows["住建局"][6] == 2 and isinstance(rows["住建局"][6], int)


def test_enterprises_departments_and_the_bureau_may_not_read_scorecards(
        walker: Walker) -> None:
    before = table_counts(walker.app)
    for username in ("qiye", "zjj", "zhaoshang", "zhuanchuang"):
        web = Web(walker.app)
        assert web.login(username).status_code == 302
        for path in ("/supervision/scorecards", "/supervision/scorecards/print",
                     "/supervision/scorecards.xlsx",
                     "/supervision/scorecards/print?format=pdf"):
            assert web.get(path).status_code == 403, (username, path)
        # …and their navigation does not offer them.
        assert "/supervision/scorecards" not in web.text("/portal" if username == "qiye"
                                                         else "/tasks")
    for username in ("lingdao", "juzhang", "ducha"):
        web = Web(walker.app)
        assert web.login(username).status_code == 302
        assert 'id="scorecard"' in web.text("/supervision/scorecards")
        assert "/supervision/scorecards" in web.text("/inbox")
    assert table_counts(walker.app) == before


def test_an_item_still_open_past_its_due_moment_counts_as_overdue_with_its_working_days(
        walker: Walker) -> None:
    walker.start(item_codes=["company_registration"])  # 市场监管局, 1 working day
    walker.accept()
    walker.hand_over()
    walker.do("scjg", "take_task_sheet")
    walker.do("scjg", "review_item_materials")
    [handling] = walker.ready("handle_item")
    assert handling["due_at"] == datetime(2026, 11, 24, 17, 30, tzinfo=CST)
    walker.advance(days=3, hours=1)  # Thursday 26 November 10:00: Wednesday and Thursday late
    leader = Web(walker.app)
    assert leader.login("lingdao").status_code == 302
    table = _table(leader.text("/supervision/scorecards?period=month&at=2026-11"))
    assert table["市场监管局"] == ["1", "0", "0", "—", "1", "1", "2", "0", "0", "0", "—", "—"]
