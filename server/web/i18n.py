"""Chinese first, English on request: Flask-Babel picks the locale, a table translates.

The workspace's own words are few and stable, so they live in one dict (Chinese → English)
rather than gettext catalogs; form labels come from the forms (``properties.label_en``).
Marshmallow's English messages are turned into Chinese ones for the inline form errors.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, session
from flask_babel import Babel, get_locale

LANGUAGES = ("zh", "en")
babel = Babel()

EN: dict[str, str] = {
    "管家": "Guanjia", "重大项目帮办代办": "Concierge service for major projects",
    "待办": "Tasks", "案件": "Cases", "企业门户": "Enterprise portal", "收件箱": "Inbox",
    "管理": "Admin", "退出": "Sign out", "登录": "Sign in", "用户名": "Username",
    "密码": "Password", "用户名或密码错误": "Wrong username or password",
    "修改密码": "Change password", "当前密码": "Current password", "新密码": "New password",
    "再次输入新密码": "New password again", "两次输入的新密码不一致": "The new passwords differ",
    "密码已修改，请用新密码登录": "Password changed; sign in with the new password",
    "密码规则": "Password rules",
    "登录尝试过多，请 {minutes} 分钟后再试":
        "Too many sign-in attempts; try again in {minutes} minutes",
    "我的待办": "My tasks", "组内待办": "My groups' tasks", "全部待办": "All my tasks",
    "部门": "Department", "阶段": "Stage", "灯色": "Light", "到期前": "Due before",
    "筛选": "Filter", "清除": "Clear", "排序": "Sort", "按到期日": "By due date",
    "到期日倒序": "Due date, latest first", "最新创建": "Newest first",
    "任务": "Task", "项目": "Project", "案件编号": "Reference", "办理人": "Handled by",
    "候选组": "Candidate groups", "到期": "Due", "剩余时间": "Time left", "操作": "Actions",
    "认领": "Claim", "释放": "Release", "办理": "Open", "共": "Total", "条": "",
    "第": "Page", "页": "", "上一页": "Previous", "下一页": "Next", "全部": "All",
    "绿灯": "Green", "黄灯": "Yellow", "红灯": "Red", "无期限": "No deadline",
    "暂无待办": "No open tasks", "保存草稿": "Save draft", "提交": "Submit",
    "草稿已保存": "Draft saved", "任务已提交": "Task submitted",
    "请修改标红的内容后再提交": "Please correct the fields marked in red",
    "项目概况": "Project summary", "此前的决定": "Earlier decisions", "附件": "Attachments",
    "上传": "Upload", "上传附件": "Upload a file", "文件": "File", "大小": "Size",
    "上传人": "Uploaded by", "时间": "Time", "暂无附件": "No attachments",
    "流程图": "Diagram", "时间线": "Timeline", "事项": "Items", "文书": "Records",
    "谁在办理": "Who is working on what", "状态": "Status", "进行中": "Running",
    "已完成": "Completed", "已办结": "Completed", "已取消": "Cancelled", "已终止": "Terminated",
    "待办理": "Open", "已认领": "Claimed by", "开始": "Started", "完成": "Finished",
    "在线申请": "Apply online", "我的项目": "My projects", "办理进度": "Progress",
    "节点": "Step", "提交申请": "Submit application", "申请已提交": "Application submitted",
    "用户": "Users", "组与部门": "Groups and departments", "企业": "Enterprises",
    "新建用户": "New user", "姓名": "Name", "所属组": "Groups", "区域": "Area",
    "所属县": "County", "州(市)级：所有县": "Prefecture: every county",
    "用户只能看到并办理本县的案件；州(市)级用户可看到所有县。":
        "A user sees and handles only the cases of their county; a prefecture user sees every "
        "county's.",
    "启用": "Active", "保存": "Save", "已保存": "Saved", "代码": "Code", "名称": "Name",
    "英文名称": "English name", "类型": "Type", "角色": "Role", "成员数": "Members",
    "新增": "Add", "打印": "Print", "下载PDF": "Download PDF", "返回": "Back",
    "出错了": "Something went wrong", "无权访问": "Forbidden", "未找到": "Not found",
    "暂无通知": "No notifications", "标为已读": "Mark as read", "未读": "Unread",
    "登录已过期，请重新登录；您填写的内容已保留。":
        "Your session expired; sign in again. What you typed has been kept.",
    "请先登录。": "Please sign in.", "已恢复您登录过期前填写的内容，请检查后保存。":
        "What you typed before your session expired is back; check it and save.",
    "办理情况": "Handling", "提交人": "Submitted by", "提交时间": "Submitted at",
    "暂无记录": "Nothing recorded yet", "签名": "Signature", "日期": "Date",
    "所有案件": "All cases", "发起人": "Started by", "开始时间": "Started",
    "暂无案件": "No cases", "该流程没有图形信息": "This process has no diagram layout",
    "文书打印": "Printable records", "已完成的表单": "Completed forms",
    "认领成功": "Task claimed", "已释放": "Task released", "附件已上传": "File uploaded",
    "语言": "Language", "当前": "Current", "剩余": "left", "逾期": "overdue",
    "请选择": "Please choose", "选择审批事项": "Choose the approval items",
    "办理中": "In progress", "超期": "Overdue", "项目名称": "Project name",
    "项目建设单位": "Enterprise", "行业": "Industry", "投资额（万元）": "Investment (10k CNY)",
    "审批事项数": "Approval items", "案件开始": "Case started", "任务生成": "Task opened",
    "{n} 项任务已派发": "{n} tasks dispatched",
    "任务完成": "Task completed", "任务认领": "Task claimed", "任务释放": "Task released",
    "任务取消": "Task cancelled", "案件结束": "Case ended",
    "流程事件": "Process event", "定时触发": "Timer fired", "审批事项": "Approval item",
    "转办": "Reassign", "转办给": "Reassign to", "退回候选组": "Back to the candidate groups",
    "转办理由": "Reason", "确认转办": "Reassign task", "已转办": "Task reassigned",
    "转办未完成，请检查转办对象和理由":
        "The task was not reassigned; check the person and the reason",
    "任务转办": "Task reassigned", "后台步骤失败": "Background step failed",
    "重试后台步骤": "Background step retried", "后台步骤恢复": "Background step recovered",
}
# Error pages and the words for codes (issue 19).
EN.update({
    "您没有查看此页面的权限；如需办理，请联系投资促进局或系统管理员。":
        "You may not see this page; ask the investment promotion bureau or the administrator.",
    "您要找的页面或记录不存在，可能已被删除或链接有误。":
        "The page or record does not exist; it may have been removed or the link is wrong.",
    "无法执行此操作": "This cannot be done here",
    "此页面不接受这种请求，请从页面上的按钮重新操作。":
        "This page does not take that request; use the buttons on the page.",
    "系统内部出错，您的操作未完成；请稍后重试，若仍不行请联系系统管理员。":
        "Something went wrong inside guanjia and nothing was done; try again later or ask the"
        " administrator.",
})
# Approval items, prerequisites, the timetable and the whole project (issue 11).
EN.update({
    "审批事项": "Approval items", "审批层级": "Level", "承诺时限": "Promised limit",
    "个工作日": "working days", "日（自然日）": "calendar days", "县级": "County",
    "州（市）级": "Prefecture", "省级": "Province", "县级转报": "Forwarded by the county",
    "县级转报，上级审批中": "Forwarded by the county; decided above",
    "待交办": "Not yet handed over", "待前置事项": "Waiting for prerequisites",
    "已推送任务单": "Task sheet sent", "等待": "Waiting for",
    "前置事项已办结": "prerequisites done", "未计时": "Clock not running",
    "并联/容缺提前办理": "Run early (parallel / on trust)", "方式": "Mode", "理由": "Reason",
    "并联办理": "In parallel", "容缺办理": "On trust (missing materials)",
    "记录决定并推送任务单": "Record the decision and send the task sheet",
    "决定未记录，请选择方式并填写理由":
        "Not recorded: choose a mode and give a reason",
    "已记录决定": "Decision recorded",
    "前置事项办结，任务单推送": "Prerequisites done, task sheet sent",
    "服务方案调整事项": "Plan changed the items",
    "目录事项数": "Catalog items", "修改": "Edit",
    "并联/容缺提前办理或撤销": "Run early (parallel / on trust) or drop",
    "从服务方案撤销": "Drop from the plan", "记录决定": "Record the decision",
    "已从方案撤销": "Dropped from the plan",
    "事项信息": "About this item", "法定时限": "Statutory limit", "无法定时限": "none set by law",
    "法定依据": "Legal basis", "申报材料": "Materials", "中介服务": "Intermediary services",
    "事项目录为示例，由本县按本地清单替换。":
        "The item catalog is an example; the county replaces it with its own lists.",
    "工作日": "working days", "自然日": "calendar days", "企业设立": "Company set-up",
    "其他": "Other",
    "项目代码": "Project code", "未赋码": "not assigned", "土地出让合同": "Land contract",
    "未签订": "not signed", "全流程目标": "Whole-project target", "天（自然日）": "calendar days",
    "自土地出让合同": "from the land contract of", "至施工许可": "to the construction permit",
    "已用": "used", "天": "days", "已取得施工许可": "construction permit obtained",
    "土地出让合同签订后开始计时": "the clock starts when the land contract is signed",
    "目标天数与预警天数为本县设置（server/data/project_targets.csv）":
        "target and warning days are the county's setting (server/data/project_targets.csv)",
    "登记项目信息": "Record project facts", "投资主体性质": "Ownership", "项目类型": "Project type",
    "土地出让合同签订日期": "Land contract signed on", "民营": "Private", "外资": "Foreign",
    "国有": "State-owned", "房屋建筑": "Building", "简易低风险厂房": "Simple low-risk factory",
    "项目信息未保存，请检查标红的内容": "Project facts not saved; check the fields in red",
    "立项用地规划许可": "Project approval and land-use planning",
    "工程建设许可": "Construction planning",
    "施工许可": "Construction permit", "竣工验收": "Completion acceptance",
    "时间表（计划与实际）": "Timetable (plan and actual)", "计划与实际对照": "Plan and actual",
    "延误": "late", "计划": "Plan", "实际": "Actual", "延误事项": "Late items",
    "灰色：计划（服务方案倒排工期）；蓝色：办理中；绿色：已办结；红色：延误；红色虚线：今天。":
        "Grey: plan (worked back in the service plan); blue: in hand; green: done; red: late;"
        " dashed red: today.",
    "事项目录中以下部门尚未建立，任务单将无人领受：":
        "The catalog names departments that do not exist; nobody would take their sheets:",
    "部门即数据：在此新增或改名；事项目录以部门代码引用部门，目录为示例，由本县替换。":
        "Departments are data: add or rename them here; the item catalog names them by code "
        "and is an example a county replaces.",
})

_MESSAGES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Missing data for required field\.$"), "此项为必填"),
    (re.compile(r"^Field may not be null\.$"), "此项为必填"),
    (re.compile(r"^必填 / required$"), "此项为必填"),
    (re.compile(r"^Not a valid number\.$"), "请输入数字"),
    (re.compile(r"^Not a valid integer\.$"), "请输入整数"),
    (re.compile(r"^Not a valid boolean\.$"), "请选择是或否"),
    (re.compile(r"^Not a valid string\.$"), "请输入文字"),
    (re.compile(r"^Not a valid list\.$"), "请至少选择一项"),
    (re.compile(r"^Must be greater than or equal to (.+) and less than or equal to (.+)\.$"),
     r"须在 \1 与 \2 之间"),
    (re.compile(r"^Must be greater than or equal to (.+)\.$"), r"不能小于 \1"),
    (re.compile(r"^Must be less than or equal to (.+)\.$"), r"不能大于 \1"),
    (re.compile(r"^Must be one of: .*\.$"), "请从选项中选择"),
    (re.compile(r"^Shorter than minimum length (\d+)\.$"), r"至少 \1 个字符"),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), r"不能超过 \1 个字符"),
    (re.compile(r"^Length must be between (\d+) and (\d+)\.$"), r"长度须在 \1 到 \2 个字符之间"),
    (re.compile(r"^String does not match expected pattern\.$"), "格式不正确"),
    (re.compile(r"^not an ISO-8601 date or date-time$"), "请输入有效的日期"),
    (re.compile(r"^Unknown field\.$"), "表单中没有此项"),
]

# The case's named team (issue 13).
EN.update({
    "项目管家服务团队": "Steward team", "项目管家（牵头代办员）": "Project steward (lead agent)",
    "包保（挂钩联系）领导": "Responsible leader", "协同代办员": "Co-agents",
    "调整服务团队": "Change the team", "调整理由": "Reason", "确认调整": "Change the team",
    "调整记入案件时间线；原管家、原领导手中的未办任务转给新人员。":
        "The change is recorded on the timeline; open tasks of the former steward or leader "
        "go to the new one.",
    "团队未调整，请检查人员和理由": "The team was not changed; check the people and the reason",
    "已调整服务团队": "Team changed",
    "归档材料核对": "Archive check",
    "按本案经过的步骤应归档（004 第五条第（十）项）：":
        "Records this case's steps require (seed 004 §5(10)): ",
    "领导已记录例外：": "Excused by a leader: ", "记录归档例外": "Excuse missing records",
    "缺少的材料": "Missing records", "例外理由": "Reason", "记录例外": "Record the exception",
    "例外未记录，请选择材料并填写理由":
        "The exception was not recorded; choose the records and give a reason",
    "已记录归档例外": "Exception recorded", "归档例外": "Archive exception",
})

def lang() -> str:
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh"


def t(text: str, **values: Any) -> str:
    """Translate a workspace phrase into the current language."""
    out = EN.get(text, text) if lang() == "en" else text
    return out.format(**values) if values else out


def error_zh(message: str) -> str:
    for pattern, replacement in _MESSAGES:
        if pattern.match(message):
            return pattern.sub(replacement, message)
    return message


def field_errors(errors: dict[str, Any]) -> dict[str, list[str]]:
    """Service validation errors (field → messages) in the reader's language."""
    out: dict[str, list[str]] = {}
    for key, messages in errors.items():
        if isinstance(messages, dict):  # a list field: index → messages
            flat = [m for v in messages.values() for m in (v if isinstance(v, list) else [v])]
        else:
            flat = list(messages) if isinstance(messages, list) else [str(messages)]
        if lang() == "en":
            out[key] = [str(m).replace("必填 / required", "Required") for m in flat]
        else:
            out[key] = [error_zh(str(m)) for m in flat]
    return out


def _select_locale() -> str:
    # Chinese unless the reader chose English with the switch.
    chosen = session.get("lang")
    return str(chosen) if chosen in LANGUAGES else "zh"


def init_i18n(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "zh")
    babel.init_app(app, locale_selector=_select_locale)
    app.jinja_env.globals.update(t=t, lang=lang)
