"""A 大姚 case whose 州-level item (环境影响报告书审批, decided by 州生态环境局) is open with 大姚's
生态环境局, beside 姚安 and the prefecture's departments (issue 21's hand-up)."""

from __future__ import annotations

from typing import Any

from server.engine.clock import FrozenClock
from tests.conftest import PASSWORD
from tests.helpers.tenancy import make_counties
from tests.scenarios.conftest import ROOT, Walker

#: The prefecture's departments: users of no county, in the prefecture groups only.
PREFECTURE_DEPARTMENTS = {"zhou_sthj": ["pref_dept_sthj"], "zhou_yj": ["pref_dept_yj"]}


def prefecture_item_in_handling(make_app: Any, clock: FrozenClock) -> tuple[Walker, str]:
    """The walker and the open ``handle_item`` task of a 大姚 case's 环评报告书 (level
    prefecture in the shipped catalog)."""
    app = make_app(GUANJIA_PROCESSES_DIR=str(ROOT / "processes"),
                   GUANJIA_FORMS_DIR=str(ROOT / "forms"))
    make_counties(app)
    with app.app_context():
        from server.extensions import db
        from server.services.directory import ensure_standard_groups
        from server.services.users import ensure_user

        ensure_standard_groups()
        for username, groups in PREFECTURE_DEPARTMENTS.items():
            ensure_user(username, f"楚雄州 {username}", PASSWORD, groups, county=None)
        db.session.commit()
        db.session.remove()
    walker = Walker(app, clock)
    walker.start(item_codes=["env_impact_report"])
    walker.accept()
    walker.hand_over()
    walker.do("sthj", "take_task_sheet")
    walker.do("sthj", "review_item_materials", acceptance_mode="accepted")
    [task] = walker.ready("handle_item")
    assert task["item_code"] == "env_impact_report"
    return walker, task["id"]
