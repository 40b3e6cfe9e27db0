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


COUNTIES = "/admin/calendar/counties"
DAYAO = {"code": "dayao", "name": "大姚县", "prefecture": "楚雄彝族自治州",
         "office_hours": "09:00-12:00 14:30-18:00", "light_share_percent": "20",
         "light_min_days": "1", "art32_mode": "restart", "late_call_grace_minutes": "30",
         "publicity_cap_days": "10", "is_default": ""}


def county_rows(html: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-county="(\w+)">(.*?)</tr>', html))


def test_an_administrator_adds_a_county_and_loads_its_local_notice(app: Flask) -> None:
    from server.extensions import db
    from server.models import AuditEvent, CalendarDay

    admin = Web(app)
    admin.login("admin")
    saved = admin.post(COUNTIES, DAYAO, token_from=PAGE)
    assert saved.status_code == 302
    row = county_rows(admin.text(PAGE))["dayao"]
    assert "大姚县" in row and "楚雄彝族自治州" in row and "09:00-12:00 14:30-18:00" in row
    assert "材料补齐之日（受理）起重新计算" in row and "20%" in row

    local = "2026-08-06~2026-08-07 holiday 火把节\n"
    loaded = admin.post(PAGE, {"notice": local, "county": "dayao", "action": "load"},
                        token_from=PAGE)
    assert loaded.status_code == 302
    html = admin.text(PAGE)
    assert "2026-08-06 火把节" in county_rows(html)["dayao"]
    assert "已导入：2026（2 天）" in html
    with app.app_context():
        days = db.session.query(CalendarDay.day, CalendarDay.county).all()
        assert sorted((d.isoformat(), c) for d, c in days) == [
            ("2026-08-06", "dayao"), ("2026-08-07", "dayao")]
        types = [e.type for e in db.session.query(AuditEvent).order_by(AuditEvent.seq)]
        assert types[-2:] == ["county_saved", "calendar_notice_loaded"]
        db.session.remove()
    # A local notice publishes no national year.
    assert year_rows(html)["2026"].count("内置") == 1


def test_bad_county_data_is_refused_with_its_field_and_nothing_changes(app: Flask) -> None:
    admin = Web(app)
    admin.login("admin")
    before = table_counts(app)
    overlap = admin.post(COUNTIES, {**DAYAO, "office_hours": "09:00-12:00 11:30-18:00"},
                         token_from=PAGE)
    assert overlap.status_code == 422
    html = overlap.get_data(as_text=True)
    assert 'data-field="office_hours"' in html and 'data-line="1"' in html and "overlap" in html
    assert "11:30-18:00" in html  # what was typed stays to be corrected
    share = admin.post(COUNTIES, {**DAYAO, "light_share_percent": "150"}, token_from=PAGE)
    assert share.status_code == 422 and 'data-field="light_share_percent"' in share.get_data(
        as_text=True)
    unknown = admin.post(PAGE, {"notice": "2026-08-06 holiday 火把节", "county": "nowhere",
                                "action": "load"}, token_from=PAGE)
    assert unknown.status_code == 422 and "unknown county" in unknown.get_data(as_text=True)
    assert table_counts(app) == before
    assert county_rows(admin.text(PAGE)) == {}


def test_each_county_setting_stands_under_its_own_heading(app: Flask) -> None:
    """The counties table reads column by column: 公示期上限, 回访, the towns typed (乡镇, 、 or
    commas between them)."""
    admin = Web(app)
    admin.login("admin")
    saved = admin.post(COUNTIES, {**DAYAO, "is_default": "1", "publicity_cap_days": "15",
                                  "towns": "金碧镇，石羊镇 六苴镇"}, token_from=PAGE)
    assert saved.status_code == 302
    html = admin.text(PAGE)
    table = html[:html.index('id="county-form-box"')]
    head = re.findall(r"<th>(.*?)</th>", table.split("<thead>")[-1].split("</thead>")[0])
    row = table.split('<tr data-county="dayao">')[1].split("</tr>")[0]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    assert len(cells) == len(head)
    shown = dict(zip(head, cells, strict=True))
    assert shown["公示期上限（天）"] == "15"
    assert shown["办结后回访（月）"] == "1,3,6,12"
    assert shown["乡镇"] == "金碧镇、石羊镇、六苴镇"


def test_editing_a_county_opens_its_settings_and_changing_one_keeps_the_others(
        app: Flask) -> None:
    """编辑 on a county's row fills the form with what the county has: saving it with one
    setting changed leaves its towns, 补正 rule and caps as they were (an empty form used to
    put the defaults back and clear the towns)."""
    from lxml import html as lxml_html

    admin = Web(app)
    admin.login("admin")
    saved = admin.post(COUNTIES, {**DAYAO, "art32_mode": "pause", "publicity_cap_days": "15",
                                  "return_visit_months": "2,6", "towns": "金碧镇、石羊镇"},
                       token_from=PAGE)
    assert saved.status_code == 302
    listed = admin.text(PAGE)
    assert f'href="{PAGE}?edit=dayao#county-form-box"' in listed
    page = admin.text(PAGE, query_string={"edit": "dayao"})
    tree = lxml_html.fromstring(page)
    assert tree.get_element_by_id("county-form-box").get("open") is not None
    sent = dict(tree.get_element_by_id("county-form").form_values())
    assert sent["code"] == "dayao" and sent["towns"] == "金碧镇、石羊镇"
    assert sent["art32_mode"] == "pause" and sent["publicity_cap_days"] == "15"
    sent["late_call_grace_minutes"] = "45"
    assert admin.post(COUNTIES, sent, token_from=PAGE).status_code == 302
    row = county_rows(admin.text(PAGE))["dayao"]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    assert "45" in cells and "15" in cells and "2,6" in cells and "金碧镇、石羊镇" in cells
    assert "补正期间暂停计时，自收到材料起连续计算" in row
    # An unknown county opens the empty form, as adding one does.
    empty = lxml_html.fromstring(admin.text(PAGE, query_string={"edit": "nowhere"}))
    assert dict(empty.get_element_by_id("county-form").form_values())["code"] == ""
