"""Issue 17 (part A): the project reserve becomes a case filed for its investor; filing for an
enterprise; who may keep the reserve. Real process, services and database (SQLite and
PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, select

from server.extensions import db
from server.models import AuditEvent, Case, Enterprise, User
from server.models.reserve import ReserveProject
from server.services import case_search, filing, reserve
from server.services.errors import ConflictError, PermissionDeniedError, ValidationFailedError
from tests.conftest import table_counts
from tests.scenarios.conftest import APPLICATION, Walker

RESERVE: dict[str, Any] = {
    "name": "金碧镇光伏组件项目", "investor": "企业甲", "credit_code": "91532326MA6NXXXX0K",
    "industry": "energy", "investment_wan": "120000", "area": "金碧镇", "leader": "lingdao",
    "department": "bureau", "liaison": "zhaoshang", "next_step": "洽谈用地", "next_step_on":
    "2026-12-10",
}
# The rest of the application, which the reserve does not know.
REST = {k: APPLICATION[k] for k in ("project_location", "policy_compliant", "project_summary",
                                    "service_mode", "item_codes", "contact_name",
                                    "contact_phone", "applicant_declaration")}


def _user(name: str) -> User:
    return db.session.execute(select(User).where(User.username == name)).scalar_one()


def _enterprise(name: str) -> Enterprise:
    return db.session.execute(select(Enterprise).where(Enterprise.name == name)).scalar_one()


def test_a_reserve_project_moves_from_talks_to_signed_and_becomes_the_investors_case(
        walker: Walker) -> None:
    def record() -> int:
        return reserve.record_project(_user("zhaoshang"), RESERVE).id
    rid = walker.run(record)

    def board() -> dict[str, list[str]]:
        columns = reserve.board(_user("lingdao"), reserve.ReserveQuery())
        return {stage: [p.name for p in rows] for stage, rows in columns.items()}
    assert walker.run(board) == {"talks": ["金碧镇光伏组件项目"], "signed": [], "landed": []}

    walker.run(lambda: reserve.evaluate(_user("lingdao"), rid, evaluated_on="2026-11-20",
                                        rating="on_track", note="用地已落实"))
    walker.run(lambda: reserve.move_stage(_user("juzhang"), rid, "signed",
                                          "2026年11月22日签订投资协议"))
    assert walker.run(board)["signed"] == ["金碧镇光伏组件项目"]

    def convert() -> str:
        case = reserve.convert(_user("zhuanchuang"), rid, dict(REST),
                               enterprise_id=_enterprise("企业甲").id)
        return case.id
    walker.case_id = walker.run(convert)

    data = walker.data()
    assert (data["project_name"], data["enterprise_name"], data["industry"], data["area"],
            data["investment_wan"], data["credit_code"]) == (
        "金碧镇光伏组件项目", "企业甲", "energy", "金碧镇", 120000, "91532326MA6NXXXX0K")
    assert data["investment_agreement_signed"] is True

    def state() -> dict[str, Any]:
        project = db.session.get(ReserveProject, rid)
        case = db.session.get(Case, walker.case_id)
        assert project is not None and case is not None
        mine, _ = case_search.visible_cases(_user("qiye"))
        others, _ = case_search.visible_cases(_user("qiye_b"))
        events = [(e.type, e.payload.get("from"), e.payload.get("to")) for e in
                  db.session.execute(select(AuditEvent).where(
                      AuditEvent.case_id.is_(None), AuditEvent.type.like("reserve_%"))
                      .order_by(AuditEvent.seq)).scalars()]
        return {"stage": project.stage, "case": project.case_id,
                "moves": [(c.from_stage, c.to_stage) for c in project.changes],
                "owner": case.enterprise_id, "started_by": case.started_by,
                "qiye_sees": [c.id for c in mine], "qiye_b_sees": [c.id for c in others],
                "events": events}
    seen = walker.run(state)
    assert seen["stage"] == "landed" and seen["case"] == walker.case_id
    assert seen["moves"] == [("talks", "signed"), ("signed", "landed")]
    # Owned by the enterprise exactly as if it had applied: it sees it, another does not.
    assert seen["owner"] == walker.run(lambda: _enterprise("企业甲").id)
    assert seen["started_by"] == "zhuanchuang"
    assert seen["qiye_sees"] == [walker.case_id] and seen["qiye_b_sees"] == []
    assert seen["events"] == [("reserve_project_recorded", None, None),
                              ("reserve_project_evaluated", None, None),
                              ("reserve_project_moved", "talks", "signed"),
                              ("reserve_project_converted", None, None),
                              ("reserve_project_moved", "signed", "landed")]
    filed = walker.events("application_filed_for_enterprise")
    assert [(e["actor"], e["payload"]["enterprise_name"]) for e in filed] == [
        ("zhuanchuang", "企业甲")]
    # The enterprise's own first task reaches the enterprise, not the filer.
    walker.accept()
    walker.reload()
    walker.do("zhuanchuang", "form_steward_team")
    walker.do("guanjia", "draft_service_plan")
    walker.do("qiye", "agree_service_plan")
    with pytest.raises(ConflictError):
        walker.run(lambda: reserve.convert(_user("zhuanchuang"), rid, dict(REST),
                                           enterprise_id=_enterprise("企业甲").id))


def test_a_projects_facts_are_corrected_with_an_audited_change(walker: Walker) -> None:
    rid = walker.run(lambda: reserve.record_project(_user("zhaoshang"), RESERVE).id)
    before = table_counts(walker.app)
    with pytest.raises(ValidationFailedError) as refused:
        walker.run(lambda: reserve.update_project(_user("zhaoshang"), rid,
                                                  {**RESERVE, "area": "火星"}))
    assert list(refused.value.errors) == ["area"]
    with pytest.raises(PermissionDeniedError):
        walker.run(lambda: reserve.update_project(_user("fgj"), rid,
                                                  {**RESERVE, "liaison": "zhuanchuang"}))
    assert table_counts(walker.app) == before
    walker.run(lambda: reserve.update_project(_user("zhaoshang"), rid,
                                              {**RESERVE, "liaison": "zhuanchuang",
                                               "investment_wan": "150000"}))

    def seen() -> tuple[str, float, list[dict[str, Any]]]:
        project = db.session.get(ReserveProject, rid)
        assert project is not None
        events = db.session.execute(select(AuditEvent).where(
            AuditEvent.type == "reserve_project_updated")).scalars().all()
        return project.liaison, project.investment_wan, [e.payload for e in events]
    assert walker.run(seen) == ("zhuanchuang", 150000.0, [
        {"reserve_id": rid, "liaison": "zhuanchuang", "investment_wan": 150000.0}])


@pytest.mark.parametrize(("field", "value"), [
    ("industry", "mining"), ("area", "北京市"), ("leader", "nobody"), ("leader", "qiye"),
    ("department", "dept_none"), ("investment_wan", "-5"), ("credit_code", "12345"),
    ("name", ""),
])
def test_bad_reserve_input_is_refused_naming_the_field_and_nothing_changes(
        walker: Walker, field: str, value: str) -> None:
    before = table_counts(walker.app)
    with pytest.raises(ValidationFailedError) as refused:
        walker.run(lambda: reserve.record_project(_user("zhaoshang"),
                                                  {**RESERVE, field: value}))
    assert list(refused.value.errors) == [field]
    assert table_counts(walker.app) == before


def test_stage_moves_need_a_reason_and_only_a_signed_project_converts(walker: Walker) -> None:
    rid = walker.run(lambda: reserve.record_project(_user("zhaoshang"), RESERVE).id)
    before = table_counts(walker.app)
    with pytest.raises(ValidationFailedError) as no_reason:
        walker.run(lambda: reserve.move_stage(_user("zhaoshang"), rid, "signed", "  "))
    assert list(no_reason.value.errors) == ["reason"]
    with pytest.raises(ValidationFailedError):
        walker.run(lambda: reserve.move_stage(_user("zhaoshang"), rid, "landed", "想落地"))
    with pytest.raises(ConflictError):
        walker.run(lambda: reserve.convert(_user("zhaoshang"), rid, dict(REST),
                                           enterprise_id=_enterprise("企业甲").id))
    with pytest.raises(ValidationFailedError) as bad_rating:
        walker.run(lambda: reserve.evaluate(_user("zhaoshang"), rid, evaluated_on="2026-11-20",
                                            rating="great", note=""))
    assert list(bad_rating.value.errors) == ["rating"]
    # Signed, but the application lacks its items: refused, the project stays signed.
    walker.run(lambda: reserve.move_stage(_user("zhaoshang"), rid, "signed", "已签约"))
    before = table_counts(walker.app)
    with pytest.raises(ValidationFailedError) as missing:
        walker.run(lambda: reserve.convert(_user("zhaoshang"), rid,
                                           {**REST, "item_codes": []},
                                           enterprise_id=_enterprise("企业甲").id))
    assert "item_codes" in missing.value.errors
    assert table_counts(walker.app) == before


@pytest.mark.parametrize("who", ["qiye", "fgj", "guanjia", "shenji"])
def test_enterprises_and_department_staff_may_not_keep_the_reserve(walker: Walker,
                                                                   who: str) -> None:
    rid = walker.run(lambda: reserve.record_project(_user("zhuanchuang"),
                                                    RESERVE).id)
    before = table_counts(walker.app)
    for attempt in (lambda: reserve.record_project(_user(who), RESERVE),
                    lambda: reserve.list_projects(_user(who), reserve.ReserveQuery()),
                    lambda: reserve.move_stage(_user(who), rid, "signed", "已签约"),
                    lambda: filing.file_for_enterprise(_user(who), dict(APPLICATION),
                                                       enterprise_id=1)):
        with pytest.raises(PermissionDeniedError):
            walker.run(attempt)
    assert table_counts(walker.app) == before


@pytest.mark.parametrize("who", ["zhaoshang", "juzhang", "lingdao", "zhuanchuang"])
def test_the_bureau_its_head_leaders_and_window_keep_the_reserve(walker: Walker,
                                                                 who: str) -> None:
    rid = walker.run(lambda: reserve.record_project(_user(who), RESERVE).id)
    walker.run(lambda: reserve.move_stage(_user(who), rid, "signed", "已签约"))
    names = walker.run(lambda: [p.name for p in reserve.list_projects(
        _user(who), reserve.ReserveQuery(stage="signed", industry="energy", area="金碧镇"))])
    assert names == ["金碧镇光伏组件项目"]
    assert walker.run(lambda: reserve.list_projects(
        _user(who), reserve.ReserveQuery(stage="talks"))) == []


NEW = filing.NewEnterprise(name="大姚新材料有限公司", credit_code="91532326MA6P1234XK",
                           contact_name="王芳", contact_phone="0878-6123456")


def _forget_new_enterprise() -> None:
    """Seeded tables outlive a test on PostgreSQL: remove the enterprise this test made."""
    enterprise = db.session.execute(select(Enterprise).where(
        Enterprise.name == NEW.name)).scalar_one_or_none()
    if enterprise is not None:
        for case in db.session.execute(select(Case).where(
                Case.enterprise_id == enterprise.id)).scalars():
            case.enterprise_id = None
        db.session.execute(delete(User).where(User.enterprise_id == enterprise.id))
        db.session.delete(enterprise)
    db.session.commit()


def test_the_window_files_for_a_new_enterprise_which_then_owns_the_case(walker: Walker) -> None:
    try:
        before = table_counts(walker.app)
        bad = filing.NewEnterprise(name=NEW.name, credit_code="91532326MA6P1234XO",
                                   contact_name="王芳", contact_phone="0878-6123456")
        with pytest.raises(ValidationFailedError) as refused:
            walker.run(lambda: filing.file_for_enterprise(_user("zhuanchuang"),
                                                          dict(APPLICATION), new=bad))
        assert list(refused.value.errors) == ["new_credit_code"]
        with pytest.raises(ValidationFailedError) as both:
            walker.run(lambda: filing.file_for_enterprise(_user("zhuanchuang"),
                                                          dict(APPLICATION), new=NEW,
                                                          enterprise_id=1))
        assert list(both.value.errors) == ["enterprise_id"]
        with pytest.raises(ValidationFailedError) as no_items:
            walker.run(lambda: filing.file_for_enterprise(
                _user("zhuanchuang"), {**APPLICATION, "item_codes": []}, new=NEW))
        assert "item_codes" in no_items.value.errors
        assert table_counts(walker.app) == before

        walker.case_id = walker.run(lambda: filing.file_for_enterprise(
            _user("zhaoshang"), {**APPLICATION, "credit_code": ""}, new=NEW).id)

        def owner() -> tuple[str | None, str, list[str], str]:
            case = db.session.get(Case, walker.case_id)
            assert case is not None
            account = db.session.execute(select(User).where(
                User.username == NEW.credit_code.lower())).scalar_one()
            return (case.enterprise.name if getattr(case, "enterprise", None) else
                    db.session.get(Enterprise, case.enterprise_id).name,  # type: ignore[union-attr]
                    account.username, sorted(account.group_codes), account.password_hash)
        name, username, groups, password = walker.run(owner)
        assert (name, groups, password) == (NEW.name, ["enterprise"], "")
        assert walker.data()["credit_code"] == NEW.credit_code
        assert walker.data()["enterprise_name"] == NEW.name
        filed = walker.events("application_filed_for_enterprise")
        assert [(e["actor"], e["payload"]["enterprise_registered"]) for e in filed] == [
            ("zhaoshang", True)]
        # A second registration of the same enterprise is refused: choose it instead.
        with pytest.raises(ValidationFailedError) as again:
            walker.run(lambda: filing.file_for_enterprise(_user("zhuanchuang"),
                                                          dict(APPLICATION), new=NEW))
        assert set(again.value.errors) == {"new_name", "new_credit_code"}
    finally:
        walker.run(_forget_new_enterprise)
