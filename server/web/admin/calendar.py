"""The working-day calendar page: published years, and pasting next year's holiday notice."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from server.rules.workdays import DayKind, Notice
from server.services import calendar
from server.services.errors import ValidationFailedError
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
})

EXAMPLE = ("year 2027\n2027-01-01 holiday 元旦\n2027-02-06~2027-02-12 休 春节\n"
           "2027-02-14 班 春节调休")


def _page(*, text: str = "", notice: Notice | None = None,
          error: ValidationFailedError | None = None, status: int = 200) -> Any:
    return render_template(
        "admin/calendar.html", years=calendar.published_years(), text=text, notice=notice,
        error=error, error_line=error.extra.get("line") if error else None,
        example=EXAMPLE, holiday=DayKind.HOLIDAY), status


@bp.get("/calendar")
def calendar_page() -> Any:
    return _page()


@bp.post("/calendar")
def calendar_load() -> Any:
    """Preview (``action=preview``) or load a pasted notice; 422 with the bad line."""
    text = request.form.get("notice", "")
    try:
        if request.form.get("action") == "preview":
            return _page(text=text, notice=calendar.preview_notice(text))
        result = calendar.load_notice(me(), text)
    except ValidationFailedError as exc:
        return _page(text=text, error=exc, status=422)
    years = "、".join(str(y) for y in result.years)
    flash(f"{t('已导入')}：{years}（{result.days} {t('天')}）；"
          f"{t('重新计算的期限')}：{len(result.recomputed)}", "success")
    return redirect(url_for("admin.calendar_page"))
