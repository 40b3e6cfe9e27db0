"""The service plan (服务方案, seed 004 attachment 4) and the one-time notice from the catalog.

The steward's plan may add or drop approval items (004: 可根据实际情况增加或者减少): the case's
``items`` follow, audited ``plan_items_changed``, and the task sheets later go out for exactly
those items. The plan's timetable (倒排工期) and its material list are worked out here, not
typed: planned dates from prerequisites and promised limits (``server.rules.timetable``), and
the one-time notice (一次性告知) lists exactly the catalog materials of the case's items.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from server.engine import clock
from server.models import Case
from server.rules.catalog import Catalog
from server.rules.staging import stage_items
from server.rules.timetable import plan_timetable
from server.services.audit import record_event
from server.services.calendar import case_county, current_calendar
from server.services.catalog import case_items, catalog_for_case, current_catalog
from server.services.errors import ValidationFailedError

PLAN_FORM = "service_plan"
NOTICE_FORM = "one_time_notice"


def notice_for(items: list[dict[str, Any]], catalog: Catalog | None = None
               ) -> list[dict[str, Any]]:
    """Per item the catalog's materials (一次性告知材料清单), in the case's order, from the
    case's county's ``catalog`` (the prefecture's when not given)."""
    catalog = catalog if catalog is not None else current_catalog()
    out = []
    for item in items:
        code = str(item.get("code"))
        known = catalog.get(code) if code in catalog else None
        out.append({"code": code, "name": str(item.get("name") or code),
                    "department": str(item.get("department") or ""),
                    "department_name": known.department_name if known else "",
                    "materials": list(known.materials) if known else [],
                    "intermediaries": list(known.intermediaries) if known else []})
    return out


def notice_text(notice: list[dict[str, Any]]) -> str:
    """The notice as the printed record shows it: one numbered block per item."""
    blocks = []
    for n, entry in enumerate(notice, 1):
        head = f"{n}. {entry['name']}（{entry['department_name'] or entry['department']}）"
        lines = [f"   {m}" for m in entry["materials"]] or [
            "   （事项目录未列材料，请部门一次性告知）"]
        if entry["intermediaries"]:
            lines.append("   中介服务：" + "、".join(entry["intermediaries"]))
        blocks.append("\n".join([head, *lines]))
    return "\n".join(blocks)


def timetable(items: list[dict[str, Any]], target: date | None, county: str | None
              ) -> list[dict[str, Any]]:
    """Planned start and end per item, from today (or worked back from ``target``), counted in
    working days of ``county``'s calendar (its local days off: 火把节 …)."""
    cal = current_calendar(county=county)
    today = cal.local_date(clock.now())
    return [p.as_data() for p in plan_timetable(items, today, cal.is_working_day, target)]


def timetable_text(rows: list[dict[str, Any]]) -> str:
    return "\n".join(f"{r['name']}：{r['planned_start']} 至 {r['planned_end']}"
                     + ("（时间紧，需并联/容缺）" if r.get("tight") else "") for r in rows)


def _target(value: Any) -> date | None:
    if not value:
        return None
    return date.fromisoformat(str(value)[:10])


def form_defaults(form_key: str | None, data: dict[str, Any],
                  catalog: Catalog | None = None, county: str | None = None) -> dict[str, Any]:
    """Values a plan or notice form opens with, from the case's items (nothing retyped), its
    county's ``catalog`` and its ``county``'s calendar."""
    items = [i for i in data.get("items") or [] if isinstance(i, dict)]
    if form_key == PLAN_FORM:
        return {"plan_item_codes": [str(i.get("code")) for i in items],
                "plan_materials": notice_text(notice_for(items, catalog)),
                "plan_timeline": timetable_text(timetable(items, None, county))}
    if form_key == NOTICE_FORM:
        return {"notice_items": "、".join(str(i.get("name")) for i in items),
                "notice_materials": notice_text(notice_for(items, catalog)),
                "notice_time_limits": "；".join(
                    f"{i.get('name')} {i.get('promised_days')}"
                    + ("日" if i.get("limit_kind") == "calendar" else "个工作日")
                    for i in items)}
    return {}


def prepare_submission(case: Case, form_key: str | None, data: dict[str, Any],
                       cleaned: dict[str, Any], *, actor: str, role: str | None
                       ) -> dict[str, Any]:
    """The submission of a plan or notice completed with what the catalog says; the plan's
    item changes are audited in the caller's transaction. Items added come from the case's
    county's catalog. Raises ``ValidationFailedError`` (an item code not in that catalog)."""
    items = [i for i in data.get("items") or [] if isinstance(i, dict)]
    catalog = catalog_for_case(case, refresh=True)  # items added: the newest catalog
    if form_key == PLAN_FORM:
        current = {str(i.get("code")): i for i in items}
        if "plan_item_codes" in cleaned and not cleaned["plan_item_codes"] and current:
            raise ValidationFailedError("a plan needs at least one item",
                                        {"plan_item_codes": ["请至少保留一个审批事项"]})
        # Left out (an API caller that does not touch the items): the items stay as they are.
        codes = list(dict.fromkeys(str(c) for c in cleaned.get("plan_item_codes") or current))
        fresh = {i["code"]: i for i in case_items([c for c in codes if c not in current],
                                                  field="plan_item_codes",
                                                  catalog=catalog)}
        chosen = stage_items([current.get(c) or fresh[c] for c in codes])
        added = [c for c in codes if c not in current]
        dropped = [c for c in current if c not in codes]
        if added or dropped:
            names = {str(i["code"]): i.get("name") for i in [*items, *chosen]}
            record_event(case, "plan_items_changed", actor=actor, role=role,
                         payload={"added": [{"code": c, "name": names[c]} for c in added],
                                  "dropped": [{"code": c, "name": names[c]} for c in dropped]})
        rows = timetable(chosen, _target(cleaned.get("plan_target_date")), case_county(case))
        return {**cleaned, "plan_item_codes": codes, "items": chosen, "plan_timetable": rows,
                "plan_materials": notice_text(notice_for(chosen, catalog)),
                "plan_timeline": timetable_text(rows)}
    if form_key == NOTICE_FORM:
        notice = notice_for(items, catalog)
        return {**cleaned, "notice_list": notice, "notice_materials": notice_text(notice)}
    return cleaned
