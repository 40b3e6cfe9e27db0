"""Realistic audit events for the ledger tests: concierge cases with 1-2 KB payloads."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from server.ledger.canonical import event_leaf_hash

DEPARTMENTS = ["dept_fgj", "dept_zrzy", "dept_zjj", "dept_sthj", "dept_scjg"]
STEPS = [("case_started", "start", "提交申请", "enterprise"),
         ("task_claimed", "accept_review", "受理审核", "bureau"),
         ("task_completed", "accept_review", "受理审核", "bureau"),
         ("task_completed", "bureau_head_sign", "局长签批", "bureau_head"),
         ("timer_fired", "remind_department", "催办提醒", None),
         ("task_completed", "department_handle", "部门办理", "dept_zrzy"),
         ("clock_paused", "department_handle", "部门办理", "dept_zrzy"),
         ("task_completed", "steward_close", "管家办结", "steward")]


def case_attributes(n: int, rng: random.Random) -> dict[str, Any]:
    items = [{"code": f"ITEM-{k:03d}", "name": f"事项{k}", "department": rng.choice(DEPARTMENTS),
              "promised_days": rng.randint(1, 20)} for k in range(rng.randint(1, 4))]
    return {"case_id": f"case-{n:04d}", "project_name": f"年产{n}万吨新材料项目",
            "enterprise_name": f"某某新材料有限公司{n}", "industry": "新材料",
            "investment_wan": 12000.5 + n, "items": items, "status": "closed"}


def make_events(n_cases: int = 3, seed: int = 7, start_seq: int = 1) -> list[dict[str, Any]]:
    """Interleaved events of ``n_cases`` cases, seq global from ``start_seq``, hashed."""
    rng = random.Random(seed)
    t0 = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    per_case = [STEPS[: rng.randint(4, len(STEPS))] for _ in range(n_cases)]
    cursor = [0] * n_cases
    events: list[dict[str, Any]] = []
    seq = start_seq
    while any(c < len(s) for c, s in zip(cursor, per_case, strict=True)):
        c = rng.choice([i for i in range(n_cases) if cursor[i] < len(per_case[i])])
        etype, element, name, role = per_case[c][cursor[c]]
        cursor[c] += 1
        attrs = case_attributes(c, rng)
        ev: dict[str, Any] = {
            "seq": seq, "case_id": attrs["case_id"], "case_seq": cursor[c], "type": etype,
            "actor": None if role is None else f"{role}_user{rng.randint(1, 3)}", "role": role,
            "at": (t0 + timedelta(minutes=seq * 17)).isoformat().replace("+00:00", "Z"),
            "task_id": None if etype == "case_started" else f"t-{c}-{cursor[c]}",
            "element_id": element, "element_name": name,
            "payload": {"old": {"status": "open", "opinion": ""},
                        "new": {"status": "done", "opinion": "同意。" * rng.randint(40, 90),
                                "items": attrs["items"]}},
        }
        ev["leaf_hash"] = event_leaf_hash(ev)
        events.append(ev)
        seq += 1
    return events
