"""Printed records of forms submitted once per approval item, and coded values in words.

A department's forms (task sheet, handling) are submitted once per approval item: the record
prints every submission under its item, department, submitter and time, in the order they
were submitted. Select values, industry codes and dates print as a person reads them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from server.engine.clock import FrozenClock
from tests.conftest import Api, table_counts
from tests.helpers.api_cases import only_task, start
from tests.helpers.pdf import FIXTURE_FORMS, pdf_text, squeeze
from tests.web.helpers import Web

INDUSTRY = {"type": "select", "key": "industry", "label": "行业分类",
            "values": [{"label": "工业制造", "value": "manufacturing"},
                       {"label": "能源（含绿色能源）", "value": "energy"}]}
HANDLED_ON = {"type": "datetime", "key": "handled_on", "subtype": "date", "dateLabel": "办结日期"}
NOTIFIED_AT = {"type": "datetime", "key": "notified_at", "subtype": "datetime",
               "dateLabel": "告知时间"}


@pytest.fixture
def coded_app(make_app: Any, tmp_path: Path) -> Flask:
    """The fixture forms, with the application asking the industry and the handling form
    asking its date and the time the enterprise was told (as the concierge forms do)."""
    forms = tmp_path / "forms"
    shutil.copytree(FIXTURE_FORMS, forms)
    for key, extra in (("application", [INDUSTRY]), ("handle", [HANDLED_ON, NOTIFIED_AT])):
        path = forms / f"{key}.form"
        form = json.loads(path.read_text(encoding="utf-8"))
        form["components"] += extra
        path.write_text(json.dumps(form, ensure_ascii=False), encoding="utf-8")
    app: Flask = make_app(GUANJIA_FORMS_DIR=str(forms))
    return app


def handle_both(api: Api, outcomes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Start a case, review it, and let the departments take and handle their items in the
    order of ``outcomes`` (user → handling data)."""
    case = start(api)
    review = only_task(api, "zhaoshang", "review")
    assert api.post(f"/tasks/{review['id']}/complete", "zhaoshang",
                    json={"data": {"approved": True}}).status_code == 200
    for user, data in outcomes.items():
        for element, body in (("take_sheet", {"receiver": f"{user}领受人"}),
                              ("handle_item", data)):
            task = only_task(api, user, element)
            response = api.post(f"/tasks/{task['id']}/complete", user, json={"data": body})
            assert response.status_code == 200, response.json
    return case


def sections_of(page: str) -> list[str]:
    """The printed sections of a record page, in order."""
    return page.split('<section class="submission">')[1:]


def test_two_departments_handling_prints_both_submissions_in_order(
        app: Flask, frozen_clock: FrozenClock, tmp_path: Path) -> None:
    api = Api(app, app.test_client())
    # 自然资源局 handles first although its item is listed second.
    case = handle_both(api, {"zrzy": {"outcome": "denied"}, "fgj": {"outcome": "approved"}})
    w = Web(app)
    w.login("qiye")
    base = f"/cases/{case['id']}/records"

    first, second = sections_of(w.text(f"{base}/handle"))
    # the submitter by name; the login stays off paper (issue 19)
    assert "建设用地规划许可证" in first and "自然资源局" in first and "zrzy" not in first
    assert "不予" in first and "denied" not in first
    assert "企业投资项目备案" in second and "发改局" in second and "fgj" not in second
    assert "准予" in second and "approved" not in second
    for section in (first, second):
        assert "2026-11-23 09:00" in section  # submitted at 01:00 UTC, printed in China time
        assert "签名" in section  # each department signs its own part

    receipts = sections_of(w.text(f"{base}/take_sheet"))
    assert [("zrzy领受人" in s, "fgj领受人" in s) for s in receipts] == [(True, False),
                                                                        (False, True)]

    flat = squeeze(pdf_text(w.get(f"{base}/handle?format=pdf").data, tmp_path))
    assert flat.index("建设用地规划许可证") < flat.index("企业投资项目备案"), flat
    for text in ("自然资源局", "发改局", "不予", "准予", "2026-11-2309:00"):
        assert text in flat, (text, flat)
    assert "approved" not in flat and "denied" not in flat


def test_a_form_submitted_once_keeps_its_single_layout(
        app: Flask, frozen_clock: FrozenClock) -> None:
    api = Api(app, app.test_client())
    case = start(api)
    review = only_task(api, "zhaoshang", "review")
    api.post(f"/tasks/{review['id']}/complete", "zhaoshang",
             json={"data": {"approved": True, "review_note": "材料齐全"}})
    w = Web(app)
    w.login("qiye")
    page = w.text(f"/cases/{case['id']}/records/review")
    assert not sections_of(page) and "审批事项" not in page
    assert "材料齐全" in page and "提交人" in page and "2026-11-23 09:00" in page
    # A form nobody submitted yet has no record, and asking for one changes nothing.
    before = table_counts(app)
    w.text(f"/cases/{case['id']}/records/handle", status=404)
    assert table_counts(app) == before


def test_select_values_industry_codes_and_dates_print_in_words(
        coded_app: Flask, frozen_clock: FrozenClock, tmp_path: Path) -> None:
    api = Api(coded_app, coded_app.test_client())
    response = api.post("/cases", "qiye", json={"process_id": "parallel_case", "data": {
        "project_name": "储能电池基地", "investment_wan": 120000, "industry": "energy",
        "items": [{"code": "project_filing", "name": "企业投资项目备案",
                   "department": "dept_fgj", "promised_days": 3}]}})
    assert response.status_code == 201, response.json
    case = response.json
    review = only_task(api, "zhaoshang", "review")
    api.post(f"/tasks/{review['id']}/complete", "zhaoshang", json={"data": {"approved": True}})
    take = only_task(api, "fgj", "take_sheet")
    api.post(f"/tasks/{take['id']}/complete", "fgj", json={"data": {"receiver": "张三"}})
    handle = only_task(api, "fgj", "handle_item")
    done = api.post(f"/tasks/{handle['id']}/complete", "fgj", json={"data": {
        "outcome": "approved", "handled_on": "2026-11-20", "notified_at": "2026-11-20T15:30"}})
    assert done.status_code == 200, done.json

    w = Web(coded_app)
    w.login("qiye")
    page = w.text(f"/cases/{case['id']}/records/handle")
    assert "行业：能源（含绿色能源）" in page and "energy" not in page
    assert "准予" in page and "approved" not in page
    assert "2026年11月20日</td>" in page and "2026-11-20" not in page  # a date, no time
    assert "2026年11月20日 15:30" in page  # a date-time field keeps its time
    flat = squeeze(pdf_text(w.get(f"/cases/{case['id']}/records/handle?format=pdf").data,
                            tmp_path))
    assert "能源（含绿色能源）" in flat and "2026年11月20日" in flat and "energy" not in flat

    w.get("/lang/en")
    english = w.text(f"/cases/{case['id']}/records/handle")
    assert "Industry：能源（含绿色能源）" in english and "2026-11-20</td>" in english
