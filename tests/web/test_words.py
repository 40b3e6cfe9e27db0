"""Words, not codes (issue 19): every role's task list, task page, case page and portal name
stages, industries, users and approval items in words and give times as 2026-11-23 09:30."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask

from server.engine.clock import FrozenClock
from server.services.records import STAGES
from tests.scenarios.conftest import ROOT, Walker
from tests.web.helpers import Web

ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
LOCAL = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")
USERNAMES = ("qiye", "zhaoshang", "guanjia", "zhuanchuang", "sthj", "juzhang")


def industries() -> dict[str, str]:
    form = json.loads((ROOT / "forms" / "application.form").read_text(encoding="utf-8"))
    [field] = [c for c in form["components"] if c.get("key") == "industry"]
    return {v["value"]: v["label"] for v in field["values"]}


def visible_text(html: str) -> str:
    """What a reader sees: no scripts, styles, tags or attribute values."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def no_codes(text: str, where: str) -> None:
    for code in [*STAGES, *industries()]:
        assert not re.search(rf"(?<![\w/-]){code}(?![\w/-])", text), (where, code)
    for username in USERNAMES:
        assert not re.search(rf"(?<![\w/-]){username}(?![\w/-])", text), (where, username)
    assert not ISO.search(text), (where, ISO.search(text))


def handling(make_app: Any, clock: FrozenClock) -> tuple[Walker, str]:
    app: Flask = make_app(GUANJIA_PROCESSES_DIR=str(ROOT / "processes"),
                          GUANJIA_FORMS_DIR=str(ROOT / "forms"))
    walker = Walker(app, clock)
    walker.start(item_codes=["env_impact_form"])
    walker.accept()
    walker.hand_over()
    walker.do("sthj", "take_task_sheet")
    walker.do("sthj", "review_item_materials", acceptance_mode="accepted")
    [task] = walker.ready("handle_item")
    return walker, task["id"]


def test_every_role_reads_stages_industries_users_items_and_times_in_words(
        make_app: Any, frozen_clock: FrozenClock) -> None:
    walker, task_id = handling(make_app, frozen_clock)
    case_page = f"/cases/{walker.case_id}"

    # The department: its task list (with the stage filter), the task page, the case page.
    sthj = Web(walker.app)
    sthj.login("sthj")
    tasks = sthj.text("/tasks")
    text = visible_text(tasks)
    no_codes(text, "sthj /tasks")
    assert "事项办理" in text  # the stage, in words
    assert re.search(r'<option value="handling"[^>]*>事项办理</option>', tasks)
    assert re.search(r"部门办理审批事项 · \S*环境影响", text), "the task names its item"
    assert LOCAL.search(text)
    page = visible_text(sthj.text(f"/tasks/{task_id}"))
    no_codes(page, "sthj task page")
    assert industries()["manufacturing"] in page  # 项目概况: the form's own label
    no_codes(visible_text(sthj.text(case_page)), "sthj case page")

    # The bureau and the steward: the case page with its history and who is working.
    for username in ("zhaoshang", "guanjia"):
        staff = Web(walker.app)
        staff.login(username)
        html = visible_text(staff.text(case_page))
        no_codes(html, f"{username} case page")
        assert industries()["manufacturing"] in html and "事项办理" in html
        assert "生态环境局" in html  # sthj by name, who accepted and works the item
        no_codes(visible_text(staff.text("/tasks")), f"{username} /tasks")

    # The enterprise: its portal and its case's progress.
    qiye = Web(walker.app)
    qiye.login("qiye")
    no_codes(visible_text(qiye.text("/portal")), "portal")
    progress = visible_text(qiye.text(f"/portal/cases/{walker.case_id}"))
    no_codes(progress, "portal case")
    assert "申请受理" in progress and "部门办理审批事项 · " in progress

    # The auditor: the audit index names each case's status in words.
    shenji = Web(walker.app)
    shenji.login("shenji")
    audit = visible_text(shenji.text("/audit/"))
    no_codes(audit, "audit index")
    assert "进行中" in audit and not re.search(r"\brunning\b", audit)


def test_not_found_and_server_errors_are_chinese_pages_for_browsers_and_problems_for_the_api(
        make_app: Any) -> None:
    app: Flask = make_app()
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom-for-test")
    def boom() -> str:
        raise RuntimeError("kaput")

    w = Web(app)
    w.login("zhaoshang")
    missing = w.get("/cases/no-such-case")
    assert missing.status_code == 404
    html = missing.get_data(as_text=True)
    assert "404 · 未找到" in html and "页面或记录不存在" in html and "Not Found" not in html
    assert "not found" not in visible_text(html).lower()
    broken = w.get("/boom-for-test")
    assert broken.status_code == 500
    html = broken.get_data(as_text=True)
    assert "500 · 出错了" in html and "操作未完成" in html and "Internal Server Error" not in html
    # The API keeps its problem documents.
    api = w.get("/api/cases/no-such-case")
    assert api.status_code in (401, 404) and api.content_type.startswith("application/problem+json")
