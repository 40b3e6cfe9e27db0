"""Who is who: the standing groups (roles, lanes, departments) every deployment starts with,
and the names pages show for people, groups and departments."""

from __future__ import annotations

from sqlalchemy import select

from server.extensions import db
from server.models import (
    Group,
    User,
)
from server.rules.catalog import default_departments
from server.rules.prefecture import PREFECTURE_DEPARTMENTS, prefecture_group
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
    ("supervision", "督查室（投诉举报）", "Supervision office"),
    ("designer", "流程设计", "Process designer"),
    ("admin", "系统管理员", "Administrator"),
]
#: The member units (seed 004 §五(一)), from the shipped ``server/data/departments.csv``; the
#: groups table holds them as ``kind = department`` and the admin page edits them there.
DEPARTMENTS = [(d.code, d.name, d.name_en) for d in default_departments().values()]


def ensure_standard_groups() -> None:
    for code, name, name_en in ROLES:
        ensure_group(code, name, name_en, "role")
    for code, name, name_en in DEPARTMENTS:
        ensure_group(code, name, name_en, "department")
    # The prefecture's departments (issue 21): their own kind, so county department lists
    # (catalog, filters, scorecards) do not offer them.
    for county_department, (name, name_en) in PREFECTURE_DEPARTMENTS.items():
        ensure_group(prefecture_group(county_department), name, name_en, "prefecture")
    db.session.flush()


# The one query of "tasks this user may work on"; shared so the list and the API agree.


def display_names(usernames: list[str]) -> dict[str, str]:
    """username → display name, for the users that exist."""
    if not usernames:
        return {}
    return {u: n for u, n in db.session.execute(
        select(User.username, User.display_name).where(User.username.in_(usernames)))}


def group_names() -> dict[str, tuple[str, str]]:

    return {g.code: (g.name, g.name_en) for g in db.session.execute(select(Group)).scalars()}


def departments() -> list[tuple[str, str, str]]:

    return [(g.code, g.name, g.name_en) for g in db.session.execute(
        select(Group).where(Group.kind == "department").order_by(Group.code)).scalars()]
