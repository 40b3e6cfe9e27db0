"""The dashboard and its drill-down list of open approval items."""

from __future__ import annotations

from typing import Any

from flask import render_template, url_for
from flask_login import login_required

from server.schemas.views import DashboardItemsQuery, DashboardQuery
from server.services import dashboard, rollups
from server.services.counties import list_counties
from server.services.directory import display_names, group_names
from server.web import params
from server.web.dashboard import bp
from server.web.i18n import EN, lang, t
from server.web.session import me

EN.update({
    "驾驶舱": "Dashboard", "在办审批事项": "Approval items in hand", "在办项目": "Running projects",
    "本月案件": "Cases this month", "新受理": "New", "已终止": "Terminated",
    "红灯事项": "Red items", "责任部门": "Department",
    "责任人": "Named owner", "超期": "Overdue", "未指定": "Not named",
    "{n}个工作日": "{n} working day(s)", "超期{n}个工作日": "{n} working day(s) overdue",
    "今日超期": "Overdue today", "查看全部红灯事项": "All red items",
    "没有超期事项": "Nothing is overdue", "按部门": "By department", "按阶段": "By stage",
    "按行业": "By industry", "各部门按时办结率": "On-time rate by department",
    "已办结的审批事项中，在到期时刻前办结的比例（累计）":
        "share of finished approval items done by their due moment (all time)",
    "按时": "On time", "按时办结率": "On-time rate", "暂无已办结事项": "No finished items yet",
    "未指定部门": "No department", "暂无事项": "No items", "到期时间": "Due",
    "按审批事项计数（不含报到、提醒等环节任务）；灯色按各县日历和本县设置的预警天数计算。":
        "Counts are of approval items (not check-ins or reminders); lights follow each "
        "county's calendar and the county's warning days.",
    "项目名称、企业、统一社会信用代码、项目代码或案件编号":
        "Project, enterprise, credit code, project code or case number",
    "搜索": "Search", "全部灯色": "All lights", "全部部门": "All departments",
    "全部阶段": "All stages", "区域": "Area", "受理自": "Started from", "至": "to",
    "查询": "Search", "其他": "Other", "未填写": "Not given", "按月趋势": "By month",
    "近六个月受理、办结、终止的案件":
        "cases started, finished and terminated in the last six months",
    "月份": "Month",
    "各县（市）对比": "Counties compared", "县（市）": "County",
    "全州": "Whole prefecture", "在办事项": "Items in hand", "红灯（超期）": "Red (overdue)",
    "红灯项目": "Red projects", "本月新受理": "New this month", "差评": "Bad ratings",
    "投诉": "Complaints", "其中成立": "upheld", "已办结事项": "Items finished",
    "点击县名查看该县驾驶舱，数字打开对应清单；各县数字与该县领导所见一致。":
        "A county's name opens its dashboard, a number the list it counts; each county's "
        "figures are those its own leaders see.",
    "差评：企业满意度评价不高于2级的案件；投诉：受理的投诉举报（其中成立：调查结论为成立或部分成立）；"
    "按时办结率：已办结审批事项中在到期时刻前办结的比例（累计）。":
        "Bad ratings: cases the enterprise rated 2 or lower; complaints: complaints filed "
        "(upheld: found upheld or partly upheld); on-time rate: share of finished approval "
        "items done by their due moment (all time).",
    "各县在办审批事项": "Items in hand by county", "返回全州": "Back to the whole prefecture",
})

PER_PAGE = 50


@bp.get("")
@login_required
def index() -> Any:
    """Open items and projects by light, department, stage and industry; the red list; this
    month's cases; on-time rates; for the prefecture, the counties compared (``?county=``:
    one county's dashboard, as its own leaders see it). 403 for anyone but leaders, the bureau
    and the auditors; 404 for a county not the user's."""
    user = me()
    county = params.query(DashboardQuery)["county"]
    counties: list[rollups.CountyRow] = []
    if not county and rollups.is_prefecture(user):
        both = rollups.rollup(user)
        view, counties = both.overview, both.counties
    else:
        view = dashboard.overview(user, county=county)
    first, nxt = dashboard.month_range()
    keep: dict[str, Any] = {"county": county} if county else {}
    return render_template("dashboard/index.html", o=view, groups=group_names(),
                           chart_spec=_chart_spec(view, counties, keep),
                           owners=display_names(sorted({i.owner for i in view.red
                                                        if i.owner})),
                           month_from=first.isoformat(), month_to=nxt.isoformat(),
                           counties=counties if len(counties) > 1 else [], county=county,
                           keep=keep, prefecture=rollups.is_prefecture(user),
                           county_names={c.code: c.name for c in list_counties()})


def _chart_spec(view: dashboard.Overview, counties: list[rollups.CountyRow],
                keep: dict[str, Any]) -> dict[str, Any]:
    """What GuanjiaCharts draws: open items by department and light (stacked, each bar
    opening its list), the months' cases and, for the prefecture, open items by county and
    light (each bar opening that county's list); ``keep``: the county the page shows."""
    names = group_names()
    codes = [code for code, _ in view.items_by_department]
    lights = (("red", "红灯"), ("yellow", "黄灯"), ("green", "绿灯"))
    trends = view.trends
    return {
        "counties": {
            "labels": [c.name for c in counties], "stacked": True, "horizontal": True,
            "datasets": [{"label": t(name), "color": light,
                          "data": [c.items[light] for c in counties],
                          "links": [url_for("dashboard.items", county=c.code, light=light)
                                    for c in counties]} for light, name in lights]},
        "departments": {
            "labels": [(names[c][1] if lang() == "en" else names[c][0]) if c in names
                       else (c or t("未指定部门")) for c in codes],
            "stacked": True, "horizontal": True,
            "datasets": [{"label": t(name), "color": light,
                          "data": [counts[light] for _, counts in view.items_by_department],
                          "links": [url_for("dashboard.items", department=c, light=light,
                                            **keep) for c in codes]}
                         for light, name in lights]},
        "trends": {
            "labels": [m.start.strftime("%Y-%m") for m in trends],
            "datasets": [
                {"label": t("新受理"), "color": "blue", "data": [m.new for m in trends],
                 "links": [url_for("cases.index", started_from=m.start.isoformat(),
                                   started_to=m.end.isoformat(), **keep) for m in trends]},
                {"label": t("已办结"), "color": "green", "data": [m.completed for m in trends],
                 "links": [url_for("cases.index", status="completed",
                                   ended_from=m.start.isoformat(), ended_to=m.end.isoformat(),
                                   **keep) for m in trends]},
                {"label": t("已终止"), "color": "red", "data": [m.terminated for m in trends],
                 "links": [url_for("cases.index", status="terminated",
                                   ended_from=m.start.isoformat(), ended_to=m.end.isoformat(),
                                   **keep) for m in trends]}]},
    }


@bp.get("/items")
@login_required
def items() -> Any:
    """The open approval items one dashboard number counts (light, department, stage,
    industry; of one county of the user's), paged; 403 as the dashboard, 404 for a county
    not the user's."""
    query = params.query(DashboardItemsQuery)
    page = query.pop("page")
    county = query.pop("county")
    wanted = dashboard.ItemFilter(**query)
    shown, total = dashboard.filtered_page(me(), wanted, page, PER_PAGE, county=county)
    return render_template("dashboard/items.html", items=shown, total=total, page=page,
                           pages=max(1, -(-total // PER_PAGE)), wanted=wanted, county=county,
                           county_names={c.code: c.name for c in list_counties()},
                           groups=group_names(),
                           owners=display_names(sorted({i.owner for i in shown if i.owner})))
