"""The ``guanjia`` command: set up the database, deploy the shipped process, seed, serve."""

from __future__ import annotations

import os
import signal
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import select

from server import create_app
from server.config import Settings
from server.extensions import db
from server.models import Case, Group, User
from server.rules.catalog import Catalog, CatalogError, parse_catalog
from server.services.accounts import set_user_county
from server.services.cases import start_case
from server.services.counties import ensure_demo_county
from server.services.directory import ensure_standard_groups
from server.services.errors import ServiceError, ValidationFailedError
from server.services.processes import deploy_directory
from server.services.users import end_sessions, ensure_enterprise, ensure_user, set_password
from workers.embedded import start_embedded_workers, stop_embedded_workers

DEMO_PASSWORD = "guanjia-demo"
DEMO_USERS: list[tuple[str, str, list[str]]] = [
    ("qiye", "示例企业经办人", ["enterprise"]),
    ("zhaoshang", "投资促进局 王科长", ["bureau"]),
    ("juzhang", "投资促进局 李局长", ["bureau_head"]),
    ("lingdao", "分管副县长 张领导", ["leader"]),
    ("zhuanchuang", "帮办代办专窗 赵窗口", ["window"]),
    ("guanjia", "项目管家 陈管家", ["steward"]),
    ("zhuanjia", "审批专家 孙专家", ["expert"]),
    ("fgj", "发改局 帮办员", ["dept_fgj"]),
    ("zrzy", "自然资源局 帮办员", ["dept_zrzy"]),
    ("zjj", "住建局 帮办员", ["dept_zjj"]),
    ("sthj", "生态环境局 帮办员", ["dept_sthj"]),
    ("scjg", "市场监管局 帮办员", ["dept_scjg"]),
    ("shuiwu", "水务局 帮办员", ["dept_sw"]),
    ("linchao", "林草局 帮办员", ["dept_lc"]),
    ("yingji", "应急管理局 帮办员", ["dept_yj"]),
    ("shuiwuju", "税务局 帮办员", ["dept_sw_tax"]),
    ("jiedao", "城关镇 街道干部", ["street"]),
    ("shenji", "督查室 审计员", ["auditor"]),
    ("ducha", "督查室 督查员", ["supervision"]),
    ("sheji", "流程设计员", ["designer"]),
    ("admin", "系统管理员", ["admin", "designer"]),
]

#: The demo's prefecture-wide user (楚雄州, no county): sees every county's cases.
PREFECTURE_DEMO_USER = ("zhoulingdao", "楚雄州 州领导")
#: The prefecture's departments that decide the demo catalog's 州-level items (issue 21): they
#: see only what a county hands up to them.
PREFECTURE_DEPARTMENT_USERS: list[tuple[str, str, list[str]]] = [
    ("zhou_fgj", "州发展和改革委员会 审批员", ["pref_dept_fgj"]),
    ("zhou_sthj", "州生态环境局 审批员", ["pref_dept_sthj"]),
    ("zhou_yj", "州应急管理局 审批员", ["pref_dept_yj"]),
    ("zhou_zrzy", "州自然资源和规划局 审批员", ["pref_dept_zrzy"]),
]


def upgrade_database(app: Flask) -> None:
    """Run every Alembic migration (SQLite and PostgreSQL alike)."""

    with app.app_context():
        # "heads": feature branches of the migration history apply side by side.
        upgrade(revision="heads")


def deploy_shipped(app: Flask) -> int:

    with app.app_context():
        ensure_standard_groups()
        settings = app.config["GUANJIA"]
        deployment = deploy_directory(settings.processes_dir, author="system")
        return deployment.number


def seed_demo(app: Flask) -> list[str]:
    """Demo users for every role and the demo county 大姚县 (embedded mode only)."""

    with app.app_context():
        ensure_standard_groups()
        # The seeds' county (大姚县, 楚雄彝族自治州) counts the demo's cases.
        county = ensure_demo_county(default=True)
        enterprise = ensure_enterprise("示例新能源科技有限公司", area="城关镇")
        ensure_enterprise("另一家制造有限公司", area="城关镇")
        for username, name, groups in DEMO_USERS:
            ensure_user(username, name, DEMO_PASSWORD, groups,
                        enterprise=enterprise if "enterprise" in groups else None,
                        area="城关镇" if "street" in groups else "", county=county.code)
        # A 州 leader belongs to the prefecture: every county's cases (server.services.tenancy).
        ensure_user(*PREFECTURE_DEMO_USER, DEMO_PASSWORD, ["leader"])
        for username, name, groups in PREFECTURE_DEPARTMENT_USERS:
            ensure_user(username, name, DEMO_PASSWORD, groups)
        db.session.commit()
        return ([u for u, _, _ in DEMO_USERS] + [PREFECTURE_DEMO_USER[0]]
                + [u for u, _, _ in PREFECTURE_DEPARTMENT_USERS])


def start_sample_case(app: Flask) -> str | None:


    with app.app_context():
        if db.session.execute(select(Case.id).limit(1)).first() is not None:
            return None
        user = db.session.execute(select(User).where(User.username == "qiye")).scalar_one()
        case = start_case(user, "concierge_service", sample_application())
        return case.reference


def sample_application() -> dict[str, Any]:
    return {
        "project_name": "年产10GWh储能电池生产基地项目",
        "enterprise_name": "示例新能源科技有限公司",
        "industry": "energy",
        "project_location": "城关镇工业园区",
        "investment_wan": 120000,
        "policy_compliant": True,
        "investment_agreement_signed": True,
        "project_summary": "建设年产10GWh储能电池生产线及配套设施，总用地约300亩。",
        "service_mode": "full",
        "contact_name": "刘经理",
        "contact_phone": "13800000000",
        "applicant_declaration": True,
        "item_codes": ["company_registration", "project_filing", "land_use_planning_permit",
                       "env_impact_report", "construction_permit"],
        "project_code": f"{date.today().year}-532326-04-01-000001",
        "ownership": "private", "project_type": "building",
        "land_contract_signed_on": (date.today() - timedelta(days=20)).isoformat(),
    }


@click.group()
def main() -> None:
    """guanjia 管家 — 重大招商引资项目帮办代办."""


@main.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema and deploy the shipped processes."""
    app = create_app()
    upgrade_database(app)
    click.echo(f"database ready; deployment {deploy_shipped(app)} is current")


@main.command("set-password")
@click.argument("username")
@click.option("--create-admin", is_flag=True,
              help="create USERNAME as an administrator when there is no such user")
@click.password_option("--password", help="the new password (asked for when not given)")
def set_password_command(username: str, create_admin: bool, password: str) -> None:
    """Set a user's password under the password rules (the first administrator, a reset)."""

    app = create_app()
    with app.app_context():
        try:
            _set_password(username, password, create_admin=create_admin)
        finally:  # a short command: its connections close on the way out
            db.session.remove()
            db.engine.dispose()
    click.echo(f"密码已设置 / password set for {username}")


def _set_password(username: str, password: str, *, create_admin: bool) -> None:

    user = db.session.execute(db.select(User).where(User.username == username)
                              ).scalar_one_or_none()
    if user is None and not create_admin:
        raise click.ClickException(f"没有用户 {username} / no user {username} "
                                   "(--create-admin creates one)")
    if user is None:
        ensure_standard_groups()
        user = User(username=username, display_name=username,
                    groups=[db.session.get(Group, "admin")])
        db.session.add(user)
    try:
        set_password(user, password, by="cli")
    except ValidationFailedError as exc:
        db.session.rollback()
        raise click.ClickException("; ".join(exc.errors["password"])) from None
    if user.id is not None:
        end_sessions(user)
    db.session.commit()


@main.command("seed-demo")
def seed_demo_command() -> None:
    """Create demo users (password guanjia-demo) and a sample case."""
    app = create_app()
    users = seed_demo(app)
    reference = start_sample_case(app)
    click.echo(f"demo users: {', '.join(users)} (password {DEMO_PASSWORD})")
    if reference:
        click.echo(f"sample case {reference} started")


@main.command("user-county")
@click.argument("username")
@click.argument("county")
def user_county(username: str, county: str) -> None:
    """Put a user in a county (its code), or in the prefecture with '*' (every county)."""
    app = create_app()
    with app.app_context():
        try:
            user = set_user_county(username, county, actor="cli")
            shown = f"{user.username}: {user.county or '* (prefecture: every county)'}"
        except ServiceError as exc:
            click.echo(str(exc), err=True)
            raise SystemExit(1) from exc
        finally:  # a short command: its connections close on the way out
            db.session.remove()
            db.engine.dispose()
    click.echo(shown)


@main.command("catalog-check")
@click.argument("catalog_file", required=False, type=click.Path(exists=True, dir_okay=False))
def catalog_check(catalog_file: str | None) -> None:
    """Check a county's item catalog CSV (default: the shipped one); errors by line."""


    try:
        catalog = (parse_catalog(Path(catalog_file).read_text("utf-8")) if catalog_file
                   else Catalog.default())
    except CatalogError as exc:
        for line, message in exc.problems:
            click.echo(f"line {line}: {message}", err=True)
        raise SystemExit(1) from exc
    by_stage = ", ".join(f"{stage} {len(items)}" for stage, items in catalog.by_stage().items())
    click.echo(f"{len(catalog)} items valid ({by_stage})")


@main.command("run")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--no-worker", is_flag=True, help="do not start the embedded worker and beat")
def run(host: str, port: int, no_worker: bool) -> None:
    """Embedded mode: database, demo data, web server (and the embedded worker)."""
    settings = Settings.from_env()
    app = create_app(settings)
    upgrade_database(app)
    number = deploy_shipped(app)
    if settings.embedded:
        seed_demo(app)
        reference = start_sample_case(app)
        if reference:
            click.echo(f"sample case {reference} started")
        click.echo(f"demo users: {', '.join(u for u, _, _ in DEMO_USERS)}; "
                   f"password {DEMO_PASSWORD}")
    click.echo(f"deployment {number}; serving on http://{host}:{port}/")
    children = []
    if not no_worker:

        children = start_embedded_workers(settings)
    # SIGTERM (a service manager, `kill`) ends the server like Ctrl-C does, so the worker and
    # beat stop with it instead of running on orphaned (a second `make run` ran two beats).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        app.run(host=host, port=port, threaded=True, use_reloader=False)
    finally:
        if children:
            stop_embedded_workers(children)


from server.cli_audit import audit as _audit  # noqa: E402

main.add_command(_audit)
from server.cli_designer import export as _export  # noqa: E402

main.add_command(_export)
from server.cli_calendar import calendar as _calendar  # noqa: E402

main.add_command(_calendar)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
    os._exit(0)
