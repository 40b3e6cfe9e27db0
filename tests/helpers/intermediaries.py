"""A registered 环评 agency service and a case in handling (intermediary scenarios)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from server.engine.clock import FrozenClock
from tests.scenarios.conftest import ROOT, Walker
from tests.web.helpers import Web

EIA = "环境影响评价文件编制"  # the catalog's name for 环评报告编制 (catalog.csv, env_impact_*)


SERVICE = {"name": EIA, "basis": "《中华人民共和国环境影响评价法》第十九条",
           "limit_days": "5", "fee_standard": "市场调节价，双方协商",
           "regulator": "楚雄州生态环境局大姚分局", "complaint_phone": "0878-6221234"}


def _market(walker: Walker) -> None:
    bureau = Web(walker.app)
    bureau.login("zhaoshang")
    for service in (SERVICE, {**SERVICE, "name": "勘测定界", "basis": "《土地管理法实施条例》",
                              "regulator": "大姚县自然资源局"}):
        assert bureau.post("/agencies/services", service,
                           token_from="/agencies").status_code == 302
    listed = bureau.text("/agencies")
    assert EIA in listed and "0878-6221234" in listed and "5 个工作日" in listed
    from server.extensions import db
    from server.models import IntermediaryService

    ids = dict(walker.run(lambda: db.session.execute(
        select(IntermediaryService.name, IntermediaryService.id)).all()))
    for agency, service, qualification in (
            ("云南甲环评咨询有限公司", EIA, "环境影响评价（报告书类别）"),
            ("乙测绘院", "勘测定界", "乙级测绘资质")):
        made = bureau.post("/agencies/registrations",
                           {"agency_name": agency, "service_id": str(ids[service]),
                            "qualification": qualification}, token_from="/agencies")
        assert made.status_code == 302, made.get_data(as_text=True)[:500]


def case_in_handling(make_app: Any, clock: FrozenClock) -> Walker:
    """A 环评报告表 case whose item the department has accepted: handling is open."""
    app = make_app(GUANJIA_PROCESSES_DIR=str(ROOT / "processes"),
                   GUANJIA_FORMS_DIR=str(ROOT / "forms"))
    walker = Walker(app, clock)
    walker.start(item_codes=["env_impact_form"])
    walker.accept()
    walker.hand_over()
    walker.do("sthj", "take_task_sheet")
    walker.do("sthj", "review_item_materials", acceptance_mode="accepted")
    return walker
