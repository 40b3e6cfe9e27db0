"""Counties as data: an administrator keeps each county's office hours, light thresholds and
行政许可法 Art. 32 setting, and marks the installation's default county.

Saving a county is audited (``county_saved``) and recounts its open deadlines and moves the
timers waiting on them, like a loaded notice. Bad data is refused with the field (and line)
that is wrong, and nothing changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from server.engine import clock
from server.extensions import db
from server.models import County, User
from server.rules.calendar_data import CalendarDataError
from server.rules.clock_law import Art32Mode
from server.rules.office_hours import parse_office_hours
from server.services.audit import record_event
from server.services.calendar import calendars_now, forget_calendars
from server.services.calendar_changes import RecomputedDeadline, recompute_open_deadlines
from server.services.errors import PermissionDeniedError, ValidationFailedError
from server.services.tenancy import require_keeper

CODE = re.compile(r"^[a-z][a-z0-9_]{1,19}$")
FIELDS = ("code", "name", "prefecture", "office_hours", "light_share_percent", "light_min_days",
          "art32_mode", "late_call_grace_minutes", "publicity_cap_days", "enterprise_reply_days",
          "return_visit_months", "towns", "is_default")

#: The demo county of the seeds (大姚县, seed 004), office hours as the issue gives them.
DAYAO: dict[str, Any] = {
    "code": "dayao", "name": "大姚县", "prefecture": "楚雄彝族自治州",
    "office_hours": "09:00-12:00 14:30-18:00", "light_share_percent": 20, "light_min_days": 1,
    "art32_mode": "restart", "late_call_grace_minutes": 30, "publicity_cap_days": 10,
    "enterprise_reply_days": 5, "return_visit_months": "1,3,6,12",
    # 大姚县's 8 towns and 4 townships (the county's setting: the seeds list no towns).
    "towns": "金碧镇、石羊镇、六苴镇、龙街镇、赵家店镇、新街镇、三岔河镇、桂花镇、"
             "湾碧傣族傈僳族乡、铁锁乡、三台乡、昙华乡",
    "is_default": False,
}
TOWN_SEPARATORS = re.compile(r"[、,，;；\s]+")


def town_list(text: str | None) -> list[str]:
    """The towns of a county's setting, in its order."""
    return [t for t in TOWN_SEPARATORS.split(text or "") if t]


@dataclass(frozen=True)
class SavedCounty:
    county: County
    created: bool
    recomputed: tuple[RecomputedDeadline, ...]


def settings_form(code: str) -> dict[str, Any] | None:
    """County ``code``'s settings as its form shows them (None: no such county), so that
    changing one setting does not mean retyping, or losing, the others."""
    row = db.session.get(County, code)
    return None if row is None else {key: getattr(row, key) for key in FIELDS}


def list_counties() -> list[County]:
    """Every county, the default first, then by code."""
    return list(db.session.execute(
        select(County).order_by(County.is_default.desc(), County.code)).scalars())


def _int(data: dict[str, Any], key: str, low: int, high: int,
         errors: dict[str, list[str]]) -> int:
    raw = data.get(key)
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        errors[key] = [f"not a whole number: {raw!r}"]
        return low
    if not low <= value <= high:
        errors[key] = [f"must lie between {low} and {high}, got {value}"]
    return value


def _visit_months(data: dict[str, Any], errors: dict[str, list[str]]) -> str:
    """The months after a completed case's end at which it is visited (004 §五(九) asks for
    回访 but names no intervals: the county's setting). Blank keeps the default 1,3,6,12."""
    raw = str(data.get("return_visit_months") or "").replace("，", ",").replace(" ", "")
    if not raw:
        return "1,3,6,12"
    try:
        months = sorted({int(part) for part in raw.split(",") if part})
    except ValueError:
        months = []
    if not months or not all(1 <= m <= 120 for m in months):
        errors["return_visit_months"] = [
            f"回访月份应为 1–120 的整数，用逗号分隔 / whole months 1 to 120, comma-separated: "
            f"{raw!r}"]
        return "1,3,6,12"
    return ",".join(str(m) for m in months)


def _towns(data: dict[str, Any], errors: dict[str, list[str]]) -> str:
    """The county's towns (乡镇) as the form gives them, cleaned: each up to 30 characters,
    at most 100, no repeats, joined by 、."""
    towns = list(dict.fromkeys(town_list(str(data.get("towns") or ""))))
    if len(towns) > 100 or any(len(t) > 30 for t in towns):
        errors["towns"] = ["至多 100 个乡镇，每个不超过 30 字，以顿号分隔 / at most 100 towns "
                           "of up to 30 characters, separated by 、"]
    return "、".join(towns)


def validate_county(data: dict[str, Any]) -> dict[str, Any]:
    """The cleaned values of a county form. Raises ValidationFailedError naming each bad field
    (office hours with their line)."""
    errors: dict[str, list[str]] = {}
    code = str(data.get("code") or "").strip().lower()
    if not CODE.match(code):
        errors["code"] = ["2–20 lower-case letters, digits or _, starting with a letter"]
    name = str(data.get("name") or "").strip()
    if not name:
        errors["name"] = ["required"]
    hours_text = str(data.get("office_hours") or "").strip()
    line = None
    try:
        hours_text = parse_office_hours(hours_text).text
    except CalendarDataError as exc:
        errors["office_hours"] = [str(exc)]
        line = exc.line
    mode = str(data.get("art32_mode") or Art32Mode.RESTART.value)
    if mode not in {m.value for m in Art32Mode}:
        errors["art32_mode"] = [f"unknown setting {mode!r}; use restart or pause"]
    cleaned = {
        "code": code, "name": name[:50],
        "prefecture": str(data.get("prefecture") or "").strip()[:50],
        "office_hours": hours_text, "art32_mode": mode,
        "light_share_percent": _int(data, "light_share_percent", 0, 100, errors),
        "light_min_days": _int(data, "light_min_days", 0, 30, errors),
        "late_call_grace_minutes": _int(data, "late_call_grace_minutes", 0, 480, errors),
        "publicity_cap_days": _int(data, "publicity_cap_days", 1, 365, errors),
        # Left blank (an older form or file): the default of 5 working days.
        "enterprise_reply_days": (_int(data, "enterprise_reply_days", 1, 60, errors)
                                  if str(data.get("enterprise_reply_days") or "").strip()
                                  else 5),
        "return_visit_months": _visit_months(data, errors),
        "towns": _towns(data, errors),
        "is_default": str(data.get("is_default") or "").lower() in {"1", "true", "on", "yes"},
    }
    if errors:
        first = next(iter(errors))
        error = ValidationFailedError(f"the county cannot be saved: {first}: {errors[first][0]}",
                                      errors)
        error.extra["line"] = line
        raise error
    return cleaned


def save_county(user: User, data: dict[str, Any]) -> SavedCounty:
    """Create or change a county; audited, recounts its open deadlines. Raises
    PermissionDeniedError for a non-administrator, for a county's administrator changing
    another county, adding one, or making theirs the default (the prefecture's to decide), and
    ValidationFailedError for bad data (nothing is stored then)."""
    if not user.in_group("admin"):
        raise PermissionDeniedError("only administrators keep counties")
    cleaned = validate_county(data)
    row = db.session.get(County, cleaned["code"])
    created = row is None
    require_keeper(user, None if row is None else row.code, "the settings")
    if row is not None and cleaned["is_default"] != row.is_default:
        require_keeper(user, None, "the default county")
    olds = calendars_now()
    before = {k: getattr(row, k) for k in FIELDS} if row is not None else {}
    if cleaned["is_default"]:
        # One default per installation: the previous one stops being it.
        db.session.execute(update(County).where(County.code != cleaned["code"],
                                                County.is_default.is_(True))
                           .values(is_default=False, revision=County.revision + 1))
    if row is None:
        row = County(code=cleaned["code"], revision=0)
        db.session.add(row)
    for key in FIELDS:
        setattr(row, key, cleaned[key])
    row.revision = (row.revision or 0) + 1
    row.updated_by = user.username
    row.updated_at = clock.now()
    changes = {k: {"old": before.get(k), "new": cleaned[k]} for k in FIELDS
               if before.get(k) != cleaned[k]}
    record_event(None, "county_saved", actor=user.username, at=row.updated_at,
                 payload={"county": row.code, "created": created, "changes": changes})
    db.session.commit()
    forget_calendars()
    recomputed = recompute_open_deadlines(olds, actor=user.username, county=row.code) \
        if changes else []
    return SavedCounty(row, created, tuple(recomputed))


def ensure_demo_county(*, default: bool = False) -> County:
    """The demo county 大姚县 (seeds); created once, never overwritten."""
    row = db.session.get(County, DAYAO["code"])
    if row is None:
        row = County(**{**DAYAO, "is_default": default}, revision=1, updated_by="system",
                     updated_at=clock.now())
        db.session.add(row)
        db.session.flush()
        forget_calendars()
    return row
