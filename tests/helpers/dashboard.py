"""A county and a moment in it for dashboard and report figures."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask

from tests.web.dashboard_seed import SeedCase, SeedItem, seed_cases


def at(month: int, day: int, hour: int = 1) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def county(app: Flask) -> list[str]:
    """A county with known counts; the frozen clock stands at Mon 2026-11-23 09:00 local."""
    return seed_cases(app, [
        SeedCase("风电基地项目", "绿能新能源有限公司", "energy", at(11, 2),
                 credit_code="91530100MA6KXYZ12Q", project_code="2611-530100-04-01-123456",
                 reference="GJ-2026-0001", area="城关镇", items=[
                     SeedItem("land_pre_review", "dept_zrzy", at(11, 18), owner="zrzy"),
                     SeedItem("env_impact_report", "dept_sthj", at(11, 23, 9))]),
        SeedCase("文旅小镇项目", "山水文旅有限公司", "culture_tourism", at(10, 15), items=[
            SeedItem("construction_permit", "dept_zjj", at(12, 20)),
            SeedItem("fire_design_review", "dept_zjj", at(11, 20)),
            SeedItem("design_scheme_review", "dept_zjj", at(11, 1), state="completed",
                     completed_at=at(10, 30)),
            SeedItem("planning_verification", "dept_zrzy", at(11, 1), state="completed",
                     completed_at=at(11, 3))]),
        SeedCase("物流园项目", "通达物流有限公司", "logistics", at(11, 5)),
        SeedCase("康养中心项目", "康宁医疗有限公司", "health", at(10, 20), status="completed",
                 ended_at=at(11, 10)),
        SeedCase("农业园项目", "丰收农业有限公司", "agriculture", at(11, 3),
                 status="terminated", ended_at=at(11, 12)),
        SeedCase("旧厂改造项目", "老厂有限公司", "manufacturing", at(10, 1), status="completed",
                 ended_at=at(10, 30)),
    ])
