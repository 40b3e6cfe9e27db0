"""The working-day calendar page: published years, counties and their calendars, and pasting a
national or a county's holiday notice."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for

from server.rules.workdays import DayKind, Notice
from server.schemas.views import CalendarNoticeForm, CountyEditQuery, CountyForm
from server.services import calendar, calendar_changes, counties
from server.services.errors import ValidationFailedError
from server.web import params
from server.web.admin import bp
from server.web.i18n import EN, t
from server.web.session import me

# This page's words; kept here so the page is one place to read (i18n.EN is the shared table).
EN.update({
    "工作日历": "Working-day calendar", "已发布年份": "Published years", "年份": "Year",
    "来源": "Source", "内置": "Bundled", "管理员导入": "Loaded", "导入人": "Loaded by",
    "导入时间": "Loaded at", "放假天数": "Holidays", "调休上班天数": "Adjusted working days",
    "导入节假日安排通知": "Load a holiday notice", "通知内容": "Notice",
    "预览": "Preview", "导入": "Load", "预览结果": "Preview", "将发布年份": "Years to publish",
    "日期": "Date", "放假": "Holiday", "上班": "Working day",
    "通知无法识别": "The notice cannot be read", "第 {line} 行": "line {line}",
    "已导入": "Loaded", "天": "days", "重新计算的期限": "Deadlines recomputed",
    "未发布年份按周一至周五计算，期限标为暂定。":
        "Years not yet published count Monday to Friday; their deadlines are provisional.",
    "未发布年份：法定节假日（元旦、春节、清明、劳动节、端午、中秋、国庆）照常放假，其余按周一至周五计算；调休尚不可知，期限标为暂定。":
        "Years not yet published: the statutory holidays (New Year, Spring Festival, Qingming, "
        "Labour Day, Dragon Boat, Mid-Autumn, National Day) apply, other days count Monday to "
        "Friday; the adjusted days are unknown, so deadlines are provisional.",
    "县（市、区）与本地日历": "Counties and their calendars", "代码": "Code", "名称": "Name",
    "所属州（市）": "Prefecture", "办公时间": "Office hours", "黄灯规则": "Yellow light",
    "补正（行政许可法第三十二条）": "Supplement (Administrative Licensing Law Art. 32)",
    "报到宽限（分钟）": "Late-call grace (minutes)", "公示期上限（天）": "Publicity cap (days)",
    "本县默认": "Default county", "本地节假日": "Local days off", "保存": "Save",
    "新增县": "Add a county", "乡镇": "Towns",
    "本县设置：种子文件未列乡镇；政策按乡镇定向推送，以顿号分隔。":
        "The county's setting (the seeds list no towns): policies are pushed by town; "
        "separate them with 、.", "编辑": "Edit", "适用范围": "Applies to",
    "全国（国务院通知）": "National (State Council notice)",
    "黄灯：剩余时间不超过时限的比例（%）": "Yellow: time left at most this share of the limit (%)",
    "黄灯：至少提前（工作日）": "Yellow: at least this many days ahead",
    "材料补齐之日（受理）起重新计算": "Restart from the day the materials are complete (受理)",
    "补正期间暂停计时，自收到材料起连续计算": "Pause during 补正; count from first receipt",
    "以上为本县设置；法律未规定之处由本县确定。":
        "These are the county's settings; where the law is silent the county decides.",
    "县设置无法保存": "The county cannot be saved", "已保存": "Saved",
    "每行一个季节：MM-DD~MM-DD 时段…；无日期的一行适用于其余日期。":
        "One season a line: MM-DD~MM-DD periods…; a line without dates covers the other days.",
    "无": "none",
    "剩余不超过时限的 {share}%，且至少 {days} 个工作日":
        "at most {share}% of the limit left, and at least {days} working day(s)",
})

EXAMPLE = ("year 2027\n2027-01-01 holiday 元旦\n2027-02-06~2027-02-12 休 春节\n"
           "2027-02-14 班 春节调休")


def _page(*, text: str = "", notice: Notice | None = None,
          error: ValidationFailedError | None = None, status: int = 200, county: str = "",
          county_error: ValidationFailedError | None = None,
          county_form: dict[str, Any] | None = None) -> Any:
    rows = counties.list_counties()
    local = {c.code: list(calendar.current_calendar(county=c.code).local_special_days())
             for c in rows}
    return render_template(
        "admin/calendar.html", years=calendar.published_years(), text=text, notice=notice,
        error=error, error_line=error.extra.get("line") if error else None,
        example=EXAMPLE, holiday=DayKind.HOLIDAY, counties=rows, local=local,
        county=county, county_error=county_error, county_form=county_form or {},
        settings={c.code: calendar.settings_of(c) for c in rows}), status


@bp.get("/calendar")
def calendar_page() -> Any:
    """The page; ``?edit=<county>`` opens the county form filled with that county's settings."""
    edit = params.query(CountyEditQuery)["edit"]
    return _page(county_form=counties.settings_form(edit) if edit else None)


@bp.post("/calendar")
def calendar_load() -> Any:
    """Preview (``action=preview``) or load a pasted notice; 422 with the bad line."""
    sent = params.posted(CalendarNoticeForm)
    text, county = sent["notice"], sent["county"]
    try:
        if sent["action"] == "preview":
            calendar.require_county(county or None)
            return _page(text=text, notice=calendar.preview_notice(text), county=county)
        result = calendar_changes.load_notice(me(), text, county=county or None)
    except ValidationFailedError as exc:
        if "notice" not in exc.errors:
            exc.errors["notice"] = [str(exc)]
        return _page(text=text, error=exc, status=422, county=county)
    years = "、".join(str(y) for y in result.years)
    flash(f"{t('已导入')}：{years}（{result.days} {t('天')}）；"
          f"{t('重新计算的期限')}：{len(result.recomputed)}", "success")
    return redirect(url_for("admin.calendar_page"))


@bp.post("/calendar/counties")
def county_save() -> Any:
    """Create or change a county; 422 naming the bad field (and the office-hours line)."""
    form = params.posted(CountyForm)
    try:
        saved = counties.save_county(me(), form)
    except ValidationFailedError as exc:
        return _page(county_error=exc, county_form=form, status=422)
    flash(f"{t('已保存')}：{saved.county.name}；{t('重新计算的期限')}：{len(saved.recomputed)}",
          "success")
    return redirect(url_for("admin.calendar_page"))
