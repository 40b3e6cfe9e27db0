"""The task page: form from the .form file, Chinese inline errors, drafts, attachments, and
the refusals (other department, no CSRF token, expired session) that change nothing."""

from __future__ import annotations

import io
import json
import re
from typing import Any

from flask import Flask

from server.engine.clock import FrozenClock
from tests.conftest import Api, table_counts
from tests.helpers.api_cases import only_task, start
from tests.web.helpers import Web


def to_take_sheet(api: Api) -> dict[str, Any]:
    start(api)
    review = only_task(api, "zhaoshang", "review")
    assert api.post(f"/tasks/{review['id']}/complete", "zhaoshang",
                    json={"data": {"approved": True, "review_note": "符合条件"}}).status_code == 200
    return only_task(api, "fgj", "take_sheet")


def test_task_page_renders_the_form_and_the_case_context(web: Any, api: Api,
                                                         frozen_clock: FrozenClock) -> None:
    sheet = to_take_sheet(api)
    w: Web = web()
    w.login("fgj")
    html = w.text(f"/tasks/{sheet['id']}")
    assert 'name="receiver"' in html and "接收人" in html and '<b class="req">*</b>' in html
    assert "储能电池基地" in html  # project summary
    # the earlier decision with the review form's labels
    assert "同意受理" in html and "符合条件" in html
    # who decided, by display name: the username stays out of the page's body
    assert "招商局" in html and "zhaoshang" not in html.split("<main")[1]


def test_submitting_an_invalid_form_shows_chinese_errors_and_changes_nothing(
        app: Flask, web: Any, api: Api, frozen_clock: FrozenClock) -> None:
    sheet = to_take_sheet(api)
    w: Web = web()
    w.login("fgj")
    before = table_counts(app)
    response = w.post(f"/tasks/{sheet['id']}", {"receiver": "  ", "action": "submit"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'id="err-receiver">\s*<span>此项为必填</span>', html)
    assert "请修改标红的内容后再提交" in html
    assert table_counts(app) == before


def test_select_errors_are_in_chinese_too(web: Any, api: Api,
                                          frozen_clock: FrozenClock) -> None:
    sheet = to_take_sheet(api)
    w: Web = web()
    w.login("fgj")
    assert w.post(f"/tasks/{sheet['id']}", {"receiver": "张三", "action": "submit"}
                  ).status_code == 302
    handle = only_task(api, "fgj", "handle_item")
    response = w.post(f"/tasks/{handle['id']}", {"outcome": "maybe", "action": "submit"})
    assert response.status_code == 422
    assert "请从选项中选择" in response.get_data(as_text=True)


def test_draft_is_kept_and_submit_completes_the_task(app: Flask, web: Any, api: Api,
                                                     frozen_clock: FrozenClock) -> None:
    sheet = to_take_sheet(api)
    w: Web = web()
    w.login("fgj")
    saved = w.post(f"/tasks/{sheet['id']}", {"receiver": "李四", "action": "draft"})
    assert saved.status_code == 302
    assert 'value="李四"' in w.text(f"/tasks/{sheet['id']}")
    done = w.post(f"/tasks/{sheet['id']}", {"receiver": "李四", "action": "submit"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/tasks")
    assert [t["element_id"] for t in api.tasks("fgj")] == ["handle_item"]
    case = api.get(f"/cases/{sheet['case_id']}", "zhaoshang").json
    completed = [e for e in case["history"] if e["type"] == "task_completed"]
    assert completed[-1]["payload"]["new"] == {"receiver": "李四"}


def test_another_department_cannot_see_or_complete_the_task(
        app: Flask, web: Any, api: Api, frozen_clock: FrozenClock) -> None:
    sheet = to_take_sheet(api)
    w: Web = web()
    w.login("sthj")  # 生态环境局: no item of this case is theirs
    before = table_counts(app)
    assert w.get(f"/tasks/{sheet['id']}").status_code == 403
    assert w.post(f"/tasks/{sheet['id']}", {"receiver": "x", "action": "submit"}
                  ).status_code == 403
    assert w.post(f"/tasks/{sheet['id']}", {"receiver": "x", "action": "draft"}
                  ).status_code == 403
    assert w.post(f"/tasks/{sheet['id']}/claim").status_code == 403
    assert w.get(f"/cases/{sheet['case_id']}").status_code == 403
    # 自然资源局 has its own sheet in the case, but this one is 发改局's.
    z: Web = web()
    z.login("zrzy")
    assert z.post(f"/tasks/{sheet['id']}", {"receiver": "x", "action": "submit"}
                  ).status_code == 403
    assert table_counts(app) == before


def test_a_post_without_csrf_token_is_refused(app: Flask, web: Any, api: Api,
                                              frozen_clock: FrozenClock) -> None:
    sheet = to_take_sheet(api)
    w: Web = web()
    w.login("fgj")
    before = table_counts(app)
    response = w.client.post(f"/tasks/{sheet['id']}", data={"receiver": "x",
                                                            "action": "submit"})
    assert response.status_code == 400
    forged = w.client.post(f"/tasks/{sheet['id']}", data={"receiver": "x", "action": "submit",
                                                          "csrf_token": "forged"})
    assert forged.status_code == 400
    assert w.client.post("/logout").status_code == 400
    assert table_counts(app) == before


def test_expired_session_sends_to_sign_in_and_keeps_what_was_typed(
        app: Flask, web: Any, api: Api, frozen_clock: FrozenClock) -> None:
    sheet = to_take_sheet(api)
    w: Web = web()
    w.login("fgj")
    token = w.token(f"/tasks/{sheet['id']}")
    with w.client.session_transaction() as session:
        session["seen"] = session["seen"] - 3 * 3600  # idle for three hours
    before = table_counts(app)
    response = w.client.post(f"/tasks/{sheet['id']}", data={
        "receiver": "王五（过期前填写）", "action": "draft", "csrf_token": token})
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]
    assert table_counts(app) == before
    signed_in = w.login("fgj", at=response.headers["Location"])
    assert signed_in.headers["Location"].endswith(f"/tasks/{sheet['id']}")
    html = w.text(f"/tasks/{sheet['id']}")
    assert 'value="王五（过期前填写）"' in html and "已恢复" in html
    # Offered once, not saved behind the user's back.
    assert 'value="王五（过期前填写）"' not in w.text(f"/tasks/{sheet['id']}")


def test_a_lost_session_cookie_also_keeps_the_typed_form(app: Flask, web: Any, api: Api,
                                                        frozen_clock: FrozenClock) -> None:
    sheet = to_take_sheet(api)
    w: Web = web()
    w.login("fgj")
    token = w.token(f"/tasks/{sheet['id']}")
    w.client.delete_cookie("session")
    response = w.client.post(f"/tasks/{sheet['id']}", data={
        "receiver": "赵六", "action": "submit", "csrf_token": token})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert w.login("fgj", at=response.headers["Location"]).headers["Location"].endswith(
        f"/tasks/{sheet['id']}")
    assert 'value="赵六"' in w.text(f"/tasks/{sheet['id']}")


def test_attachments_respect_size_and_type_and_stay_in_the_case(
        make_app: Any, frozen_clock: FrozenClock) -> None:
    from tests.conftest import Api as ApiClient

    app = make_app(GUANJIA_MAX_UPLOAD_BYTES="2048")
    api = ApiClient(app, app.test_client())
    sheet = to_take_sheet(api)
    w = Web(app)
    w.login("fgj")
    path = f"/tasks/{sheet['id']}/attachments"
    ok = w.post(path, {"file": (io.BytesIO(b"%PDF-1.4 test"), "规划图.pdf", "application/pdf")},
                content_type="multipart/form-data")
    assert ok.status_code == 302
    html = w.text(f"/tasks/{sheet['id']}")
    assert "规划图.pdf" in html
    too_big = w.post(path, {"file": (io.BytesIO(b"x" * 4096), "big.pdf", "application/pdf")},
                     content_type="multipart/form-data")
    assert too_big.status_code == 422 and "文件超过大小上限" in too_big.get_data(as_text=True)
    wrong = w.post(path, {"file": (io.BytesIO(b"MZ"), "tool.exe", "application/octet-stream")},
                   content_type="multipart/form-data")
    assert wrong.status_code == 422 and "不支持的文件类型" in wrong.get_data(as_text=True)
    link = re.search(r'href="(/attachments/[^"]+)"', html)
    assert link
    download = w.get(link.group(1))
    assert download.get_data() == b"%PDF-1.4 test"
    assert "规划图.pdf" in download.headers["Content-Disposition"] or \
        "filename*=UTF-8" in download.headers["Content-Disposition"]
    download.close()
    other = Web(app)
    other.login("qiye_b")
    assert other.get(link.group(1)).status_code == 403
    owner = Web(app)
    owner.login("qiye")
    mine = owner.get(link.group(1))
    assert mine.status_code == 200
    mine.close()
    case = api.get(f"/cases/{sheet['case_id']}", "zhaoshang").json
    added = [e for e in case["history"] if e["type"] == "attachment_added"]
    assert [e["payload"]["filename"] for e in added] == ["规划图.pdf"]
    stored = list((app.config["GUANJIA"].instance_dir / "attachments").rglob("*"))
    assert len([p for p in stored if p.is_file()]) == 1  # refused uploads left nothing


def test_english_labels_come_from_the_form(tmp_path: Any, make_app: Any,
                                           frozen_clock: FrozenClock) -> None:
    import shutil

    from tests.conftest import FIXTURES

    forms = tmp_path / "forms"
    shutil.copytree(FIXTURES / "forms", forms)
    sheet_form = json.loads((forms / "take_sheet.form").read_text())
    sheet_form["components"][0]["properties"] = {"label_en": "Received by"}
    (forms / "take_sheet.form").write_text(json.dumps(sheet_form, ensure_ascii=False))
    app = make_app(GUANJIA_FORMS_DIR=str(forms))
    from tests.conftest import Api as ApiClient

    sheet = to_take_sheet(ApiClient(app, app.test_client()))
    w = Web(app)
    w.login("fgj")
    assert "接收人" in w.text(f"/tasks/{sheet['id']}")
    w.get("/lang/en")
    html = w.text(f"/tasks/{sheet['id']}")
    assert "Received by" in html and "接收人" not in html
    response = w.post(f"/tasks/{sheet['id']}", {"action": "submit"})
    assert "Missing data for required field." in response.get_data(as_text=True)
