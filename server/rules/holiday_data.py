"""Regenerate ``server/data/holidays_cn.json`` from the ``chinesecalendar`` package.

Run ``python -m server.rules.holiday_data`` after upgrading ``chinesecalendar`` (it publishes
a new year once the State Council notice is out, usually in November). The clock reads the
generated file for published years, so a deployment can also add a year through an
administrator's pasted notice before the library catches up; for a year not yet published it
asks ``chinesecalendar`` only for the day of 清明 (a solar term), see
:mod:`server.rules.statutory_holidays`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import chinese_calendar
from chinese_calendar import Holiday

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "holidays_cn.json"


def build_holiday_data() -> dict[str, Any]:
    """The holiday and adjusted-workday tables of ``chinesecalendar`` with Chinese names.

    Every year from the library's first to its last is published. Raises ImportError when
    ``chinesecalendar`` is not installed.
    """

    names = {h.value: h.chinese for h in Holiday}
    rows: list[list[str]] = []
    for day, english in chinese_calendar.holidays.items():
        rows.append([day.isoformat(), "holiday", names.get(english, english)])
    for day, english in chinese_calendar.workdays.items():
        # The library names an adjusted working day after the holiday it pays for.
        rows.append([day.isoformat(), "workday", names.get(english, english) + "调休"])
    rows.sort()
    years = sorted({int(r[0][:4]) for r in rows})
    return {
        "source": f"chinesecalendar {chinese_calendar.__version__}",
        "regenerate": "python -m server.rules.holiday_data",
        "published_years": list(range(years[0], years[-1] + 1)),
        "days": rows,
    }


def dump_holiday_data(data: dict[str, Any]) -> str:
    """Serialise with one day per line, so a new year shows up as a readable diff."""
    head = {k: v for k, v in data.items() if k != "days"}
    lines = ["{"]
    for key, value in head.items():
        lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},")
    lines.append('  "days": [')
    days = [json.dumps(row, ensure_ascii=False) for row in data["days"]]
    lines.append(",\n".join(f"    {d}" for d in days))
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the data file (to the path given as the only argument, else the bundled one)."""
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else DATA_FILE
    target.write_text(dump_holiday_data(build_holiday_data()), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
