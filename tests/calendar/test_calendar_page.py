"""The administrator's calendar page, through the login form and real CSRF tokens."""

from __future__ import annotations

import re

from flask import Flask

from tests.conftest import table_counts
from tests.web.helpers import Web

PAGE = "/admin/calendar"


def year_rows(html: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-year="(\d+)">(.*?)</tr>', html))


def test_an_administrator_previews_then_loads_next_years_notice(app: Flask) -> None:
    admin = Web(app)
    admin.login("admin")
    html = admin.text(PAGE)
    years = year_rows(html)
    assert "2026" in years and "2027" not in years and "内置" in years["2026"]

    notice = "year 2027\n2027-01-01 holiday 元旦\n2027-02-06~2027-02-12 休 春节\n"
    before = table_counts(app)
    preview = admin.post(PAGE, {"notice": notice, "action": "preview"}, token_from=PAGE)
    assert preview.status_code == 200
    shown = preview.get_data(as_text=True)
    assert 'id="preview"' in shown and "2027-02-12" in shown and "春节" in shown
    assert "2027" not in year_rows(shown)  # a preview publishes nothing
    assert table_counts(app) == before

    loaded = admin.post(PAGE, {"notice": notice, "action": "load"}, token_from=PAGE)
    assert loaded.status_code == 302 and loaded.headers["Location"].endswith(PAGE)
    html = admin.text(PAGE)
    row = year_rows(html)["2027"]
    # 8 holidays (元旦 and seven days of 春节), loaded by the signed-in administrator.
    assert "管理员导入" in row and "<td>8</td>" in row and "admin" in row
    assert "已导入：2027（8 天）" in html


def test_a_bad_line_is_shown_with_its_number_and_nothing_is_loaded(app: Flask) -> None:
    admin = Web(app)
    admin.login("admin")
    before = table_counts(app)
    bad = "year 2027\n2027-01-01 holiday 元旦\n2027-02-30 休 春节\n"
    refused = admin.post(PAGE, {"notice": bad, "action": "load"}, token_from=PAGE)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'data-line="3"' in html and "第 3 行" in html and "2027-02-30" in html
    assert "2027-02-30 休 春节" in html  # what was typed stays in the box to be corrected
    assert table_counts(app) == before
    assert "2027" not in year_rows(admin.text(PAGE))


def test_staff_cannot_open_or_post_to_the_calendar_page(app: Flask) -> None:
    staff = Web(app)
    staff.login("zhaoshang")
    assert staff.get(PAGE).status_code == 403
    before = table_counts(app)
    posted = staff.post(PAGE, {"notice": "year 2027\n2027-01-01 holiday 元旦\n",
                               "action": "load"})
    assert posted.status_code == 403
    assert table_counts(app) == before
