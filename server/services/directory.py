"""The standing groups (roles, lanes, departments) every deployment starts with."""

from __future__ import annotations

from server.extensions import db
from server.services.users import ensure_group

ROLES = [
    ("enterprise", "项目建设单位", "Enterprise"),
    ("bureau", "投资促进局", "Investment bureau"),
    ("bureau_head", "投资促进局负责人", "Bureau head"),
    ("leader", "分管领导", "Leader"),
    ("window", "帮办代办专窗", "Service window"),
    ("steward", "项目管家", "Project steward"),
    ("expert", "审批专家", "Approval expert"),
    ("street", "街道/乡镇", "Street / town"),
    ("auditor", "督查室/审计", "Auditor"),
    ("designer", "流程设计", "Process designer"),
    ("admin", "系统管理员", "Administrator"),
]
DEPARTMENTS = [
    ("dept_fgj", "发改局", "Development and Reform Bureau"),
    ("dept_zrzy", "自然资源局", "Natural Resources Bureau"),
    ("dept_zjj", "住建局", "Housing and Construction Bureau"),
    ("dept_sthj", "生态环境局", "Ecology and Environment Bureau"),
    ("dept_scjg", "市场监管局", "Market Regulation Bureau"),
    ("dept_sw", "水务局", "Water Bureau"),
    ("dept_lc", "林草局", "Forestry and Grassland Bureau"),
    ("dept_yj", "应急管理局", "Emergency Management Bureau"),
    ("dept_sw_tax", "税务局", "Tax Bureau"),
]


def ensure_standard_groups() -> None:
    for code, name, name_en in ROLES:
        ensure_group(code, name, name_en, "role")
    for code, name, name_en in DEPARTMENTS:
        ensure_group(code, name, name_en, "department")
    db.session.flush()
