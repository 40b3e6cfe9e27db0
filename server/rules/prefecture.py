"""The prefecture's (楚雄州's) own departments, to which a county hands up the approval items its
catalog marks ``prefecture`` (州（市）级审批).

A county department's item goes to the prefecture department of the same line (发改局 →
州发展和改革委员会); each is a group ``pref_<county department code>`` whose users belong to the
prefecture (``User.county`` NULL). The names are the usual names of 楚雄州's departments; a
department missing here is named 州 + the county department's name.
"""

from __future__ import annotations

PREFIX = "pref_"

#: county department code → (prefecture department name, English name).
PREFECTURE_DEPARTMENTS: dict[str, tuple[str, str]] = {
    "dept_fgj": ("州发展和改革委员会", "Prefecture Development and Reform Commission"),
    "dept_zrzy": ("州自然资源和规划局", "Prefecture Natural Resources and Planning Bureau"),
    "dept_zjj": ("州住房和城乡建设局", "Prefecture Housing and Urban-Rural Development Bureau"),
    "dept_sthj": ("州生态环境局", "Prefecture Ecology and Environment Bureau"),
    "dept_scjg": ("州市场监督管理局", "Prefecture Market Regulation Bureau"),
    "dept_sw": ("州水务局", "Prefecture Water Affairs Bureau"),
    "dept_lc": ("州林业和草原局", "Prefecture Forestry and Grassland Bureau"),
    "dept_yj": ("州应急管理局", "Prefecture Emergency Management Bureau"),
}


def prefecture_group(county_department: str) -> str:
    """The group code of the prefecture department that decides a county department's
    州-level items."""
    return PREFIX + county_department


def is_prefecture_group(code: str) -> bool:
    return code.startswith(PREFIX)


def prefecture_department_name(county_department: str, county_name: str = "") -> tuple[str, str]:
    """(Chinese, English) name of the prefecture department of ``county_department``."""
    if county_department in PREFECTURE_DEPARTMENTS:
        return PREFECTURE_DEPARTMENTS[county_department]
    return "州" + (county_name or county_department), "Prefecture " + county_department
