"""What a printed record says: submitted values as text, and one section per submission.

Option labels, 是/否 and lists come from ``formview.display``; a record adds what paper
needs beyond it: dates written out (2024年5月1日) and the codes of the concierge forms
(行业, 阶段) by their Chinese names, whichever form printed them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from server.rules.workdays import SHANGHAI
from server.services.case_pages import Submission
from server.services.forms import FormDefinition, FormField
from server.services.records import STAGES
from server.web import formview, words
from server.web.i18n import lang

DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@dataclass
class Section:
    """One submission of the record's form, as printed under its own heading."""

    submission: Submission
    pairs: list[tuple[str, str]]
    item_name: str
    department: str
    submitter: str


def sections(form: FormDefinition | None, found: list[Submission],
             codes: dict[str, dict[str, str]], groups: dict[str, tuple[str, str]],
             names: dict[str, str]) -> list[Section]:
    """The printed sections of the submissions, in their order.

    ``codes`` are the labels of coded fields, ``groups`` the departments' names (code →
    (zh, en)), ``names`` the users' display names.
    """
    out = []
    for s in found:
        department = str(s.approval_item.get("department") or "")
        zh, en = groups.get(department, (department, department))
        who = s.item.completed_by or ""
        out.append(Section(
            s, record_pairs(form, s.data, codes), str(s.approval_item.get("name") or ""),
            en if lang() == "en" else zh,
            names.get(who) or who))  # the person's name; the login stays off paper
    return out


def case_facts(summary: dict[str, Any], stage: str,
               codes: dict[str, dict[str, str]]) -> list[tuple[str, str]]:
    """(phrase, text) the record's heading adds to the case: its industry and the stage."""
    facts = []
    industry = str(summary.get("industry") or "")
    if industry:
        facts.append(("行业", code_text("industry", industry, codes) or industry))
    if stage:
        facts.append(("阶段", code_text("stage", stage, codes) or stage))
    return facts


def record_pairs(form: FormDefinition | None, data: dict[str, Any],
                 codes: dict[str, dict[str, str]]) -> list[tuple[str, str]]:
    """(label, text) of submitted data in the form's order; unknown keys last."""
    known = {f.key: f for f in form.fields} if form is not None else {}
    pairs = [(formview.label_of(f), value_text(f, data.get(f.key), codes))
             for f in known.values() if f.key in data]
    pairs += [(k, value_text(None, v, codes, key=k)) for k, v in data.items() if k not in known]
    return pairs


def value_text(f: FormField | None, value: Any, codes: dict[str, dict[str, str]],
               *, key: str = "") -> str:
    """A submitted value as the record prints it (a field's own options come first)."""
    if isinstance(value, str) and not (f is not None and f.options):
        written = code_text(f.key if f is not None else key, value, codes) \
            or date_text(value, _subtype(f))
        if written:
            return written
    return formview.display(f, value)


def code_text(key: str, value: str, codes: dict[str, dict[str, str]]) -> str:
    """The name of a concierge code (行业, 阶段); "" when ``value`` is none of them."""
    if key == "stage" and value in STAGES:
        return words.stage_name(value)
    return codes.get(key, {}).get(value, "")


def _subtype(f: FormField | None) -> str:
    if f is None or f.type != "datetime":
        return ""
    return str(f.component.get("subtype") or "date")  # form-js's default, as the page renders


def date_text(value: str, subtype: str = "") -> str:
    """2024-05-01 → 2024年5月1日 (ISO in English); "" when the text is not a date.

    A value of a date-time field (``subtype`` "date" or "datetime", as form-js names them)
    may carry a time: a date field drops it, a date-time field keeps it, in China time when
    the value names its offset.
    """
    try:
        if DATE_ONLY.match(value):
            day, clock = date.fromisoformat(value), ""
        elif subtype in {"date", "datetime"} and DATE_TIME.match(value):
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is not None:
                moment = moment.astimezone(SHANGHAI)
            day = moment.date()
            clock = moment.strftime(" %H:%M") if subtype == "datetime" else ""
        else:
            return ""
    except ValueError:
        return ""
    written = day.isoformat() if lang() == "en" else f"{day.year}年{day.month}月{day.day}日"
    return written + clock
