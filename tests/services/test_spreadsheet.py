"""The one .xlsx writer: what a clerk opens is what the report said, and nothing runs."""

from datetime import date
from io import BytesIO

from openpyxl import load_workbook

from server.services.spreadsheet import Sheet, workbook


def test_workbook_holds_title_headers_and_typed_rows() -> None:
    data = workbook([Sheet(name="情况表", title="重点招商项目情况表（2026年11月）",
                           headers=["项目名称", "投资额（万元）", "申请日期"],
                           rows=[["光伏组件厂", 52000, date(2026, 11, 3)],
                                 ["=HYPERLINK(1)", 1.5, None]])])
    ws = load_workbook(BytesIO(data))["情况表"]
    assert ws["A1"].value == "重点招商项目情况表（2026年11月）"
    assert [c.value for c in ws[2]] == ["项目名称", "投资额（万元）", "申请日期"]
    assert ws["A3"].value == "光伏组件厂" and ws["B3"].value == 52000
    assert ws["C3"].value.date() == date(2026, 11, 3)
    # An enterprise's text that looks like a formula stays text.
    assert ws["A4"].value == "=HYPERLINK(1)" and ws["A4"].data_type == "s"
    assert ws.freeze_panes == "A3"
