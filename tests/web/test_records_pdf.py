"""Printable records as PDF: every record of a finished case downloads as a PDF whose text
is the record's title, the case reference, the submitted values and the signature lines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from server.engine.clock import FrozenClock
from server.services import records
from server.services.forms import FormRegistry
from tests.conftest import Api
from tests.helpers.api_cases import only_task, start
from tests.helpers.pdf import FIXTURE_FORMS, pdf_text, squeeze
from tests.web.helpers import Web

SHIPPED_FORMS = Path(__file__).parents[2] / "forms"






@pytest.fixture
def record_app(make_app: Any, tmp_path: Path) -> Flask:
    """The fixture forms, with the review filling the entrustment agreement (附件3) and the
    closing filling the completion sheet (附件7), as the concierge forms do."""
    forms = tmp_path / "forms"
    shutil.copytree(FIXTURE_FORMS, forms)
    for key, record in (("review", "附件3"), ("close", "附件7")):
        path = forms / f"{key}.form"
        form = json.loads(path.read_text(encoding="utf-8"))
        form.setdefault("properties", {})["record"] = record
        path.write_text(json.dumps(form, ensure_ascii=False), encoding="utf-8")
    app: Flask = make_app(GUANJIA_FORMS_DIR=str(forms))
    return app


def finish(api: Api) -> dict[str, Any]:
    case = start(api)
    review = only_task(api, "zhaoshang", "review")
    assert api.post(f"/tasks/{review['id']}/complete", "zhaoshang", json={"data": {
        "approved": True, "review_note": "材料齐全，同意受理"}}).status_code == 200
    for user in ("fgj", "zrzy"):
        for element, data in (("take_sheet", {"receiver": f"{user}领受人"}),
                              ("handle_item", {"outcome": "approved"}),
                              ("report_result", {})):
            task = only_task(api, user, element)
            response = api.post(f"/tasks/{task['id']}/complete", user, json={"data": data})
            assert response.status_code == 200, response.json
    close = only_task(api, "zhuanchuang", "close_case")
    assert api.post(f"/tasks/{close['id']}/complete", "zhuanchuang",
                    json={"data": {"closing_note": "全部事项办结，资料已移交"}}).status_code == 200
    assert api.get(f"/cases/{case['id']}", "zhaoshang").json["status"] == "completed"
    return case


def test_every_record_of_a_finished_case_downloads_as_a_pdf_with_its_text(
        record_app: Flask, frozen_clock: FrozenClock, tmp_path: Path) -> None:
    api = Api(record_app, record_app.test_client())
    case = finish(api)
    w = Web(record_app)
    w.login("qiye")
    base = f"/cases/{case['id']}/records"
    # form key → (title, a submitted value, the signature lines of its paper form)
    expected = {
        "review": ("审核", "材料齐全，同意受理", ["委托方（签字/盖章）", "受托方（签字/盖章）"]),
        "take_sheet": ("领取任务单", "领受人", ["签名"]),
        "handle": ("办理", "准予", ["签名"]),
        "close": ("办结", "全部事项办结，资料已移交",
                  ["申请单位（签字/盖章）", "受托方经办人（签字）"]),
    }
    for key, (title, value, signatures) in expected.items():
        page = w.text(f"{base}/{key}")
        assert f'href="{base}/{key}?format=pdf"' in page and "下载PDF" in page, key
        response = w.get(f"{base}/{key}?format=pdf")
        assert response.status_code == 200, (key, response.get_data(as_text=True)[:300])
        assert response.headers["Content-Type"] == "application/pdf"
        assert "attachment" in response.headers["Content-Disposition"]
        text = pdf_text(response.data, tmp_path)
        flat = squeeze(text)
        assert title in flat and case["reference"] in flat, (key, text)
        assert squeeze(value) in flat, (key, text)
        for line in signatures:
            assert line in flat, (key, line, text)
        assert flat.count("日期") >= len(signatures), (key, text)
        # The browser toolbar is not printed into the file.
        assert "下载PDF" not in flat and "打印" not in flat, (key, text)
    review = squeeze(pdf_text(w.get(f"{base}/review?format=pdf").data, tmp_path))
    assert "附件3" in review and "同意受理是" in review  # label and value side by side


def test_pdf_speaks_english_when_the_user_reads_english(
        record_app: Flask, frozen_clock: FrozenClock, tmp_path: Path) -> None:
    api = Api(record_app, record_app.test_client())
    case = start(api)
    review = only_task(api, "zhaoshang", "review")
    api.post(f"/tasks/{review['id']}/complete", "zhaoshang",
             json={"data": {"approved": True, "review_note": "材料齐全"}})
    w = Web(record_app)
    w.login("zhaoshang")
    w.get("/lang/en")
    response = w.get(f"/cases/{case['id']}/records/review?format=pdf")
    text = squeeze(pdf_text(response.data, tmp_path))
    assert "Principal(signature/seal)" in text and "Date" in text, text
    assert "材料齐全" in text  # the submitted value is the enterprise's own words


def test_another_enterprise_gets_403_for_the_pdf_too(
        record_app: Flask, frozen_clock: FrozenClock) -> None:
    api = Api(record_app, record_app.test_client())
    case = start(api, "qiye")
    review = only_task(api, "zhaoshang", "review")
    api.post(f"/tasks/{review['id']}/complete", "zhaoshang", json={"data": {"approved": True}})
    other = Web(record_app)
    other.login("qiye_b")
    response = other.get(f"/cases/{case['id']}/records/review?format=pdf")
    assert response.status_code == 403
    assert not response.data.startswith(b"%PDF")
    owner = Web(record_app)
    owner.login("qiye")
    assert owner.get(f"/cases/{case['id']}/records/review?format=pdf").data.startswith(b"%PDF")


def test_the_shipped_record_forms_print_the_signature_lines_of_their_paper_forms() -> None:
    shipped = FormRegistry(SHIPPED_FORMS)
    lines = {key: [s.label for s in records.signatories(shipped.get(key))]
             for key in ("entrustment_agreement", "task_sheet_receipt", "completion_sign",
                         "termination_sheet")}
    assert lines["entrustment_agreement"] == ["委托方（签字/盖章）", "受托方（签字/盖章）"]
    assert lines["task_sheet_receipt"] == ["交办人（签字）", "领受人（签字）"]
    assert "申请单位（签字/盖章）" in lines["completion_sign"]
    assert "申请单位（签字/盖章）" in lines["termination_sheet"]
    assert records.record_number(shipped.get("entrustment_agreement")) == "附件3"
