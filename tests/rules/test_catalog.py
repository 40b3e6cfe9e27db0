"""The bundled item catalog and the validation of an edited one."""

from __future__ import annotations

import pytest

from server.rules.catalog import (
    LEVELS,
    PROJECT_STAGES,
    STAGES,
    Catalog,
    CatalogError,
    CatalogItem,
    UnknownCatalogItemError,
    default_departments,
    parse_catalog,
    parse_departments,
    prerequisite_cycle,
)
from server.rules.staging import done_codes, releasable, stage_items

HEADER = "code,name,department,stage,materials,statutory_days,promised_days\n"
FULL = ("code,name,department,stage,level,prerequisites,limit_kind,statutory_days,"
        "promised_days,legal_basis,materials,intermediaries\n")


def test_bundled_catalog_is_valid_and_covers_every_stage() -> None:
    catalog = Catalog.default()
    assert len(catalog) >= 40
    assert all(catalog.by_stage()[stage] for stage in STAGES)
    assert {item.department for item in catalog} <= set(default_departments())
    # Every item says where its limit comes from.
    assert all(item.legal_basis for item in catalog)


def test_bundled_departments_are_the_member_units_of_seed_004() -> None:
    names = {d.name for d in default_departments().values()}
    for unit in ("政务服务管理局", "投资促进局", "发改局", "工信局", "财政局", "自然资源局",
                 "市场监管局", "住建局", "林草局", "水务局", "农业农村局", "交通运输局",
                 "应急管理局", "文旅局", "卫健局", "教育体育局", "民族宗教局", "气象局", "税务局",
                 "生态环境局"):
        assert unit in names
    # The group codes existing users and tests rely on keep working.
    assert {"dept_fgj", "dept_zrzy", "dept_zjj", "dept_sthj", "dept_scjg", "dept_sw",
            "dept_lc", "dept_yj", "dept_sw_tax"} <= set(default_departments())


def test_bundled_catalog_has_the_domain_items() -> None:
    catalog = Catalog.default()
    filing = catalog.get("project_filing")
    assert (filing.name, filing.department, filing.stage) == (
        "企业投资项目备案", "dept_fgj", "立项用地规划许可")
    assert filing.promised_days == 3
    assert catalog.get("project_approval").statutory_days == 20
    assert catalog.get("construction_permit").department_name == "住建局"
    assert "project_filing" in catalog and "nope" not in catalog
    for code in ("farmland_conversion", "land_supply_plan", "temporary_land_use",
                 "geohazard_assessment", "mineral_overlay", "grassland_use",
                 "facility_agri_land_filing", "design_scheme_review", "civil_air_defense",
                 "lightning_design_review", "lightning_acceptance", "flood_impact_assessment",
                 "road_works_permit", "archaeological_survey", "power_connection",
                 "joint_completion_acceptance", "special_equipment_registration"):
        assert code in catalog, code


def test_levels_kinds_and_prerequisites_of_the_bundled_catalog() -> None:
    catalog = Catalog.default()
    # Decided above the county: the county forwards and tracks.
    assert catalog.get("hazardous_chemical_safety_conditions").level == "prefecture"
    assert catalog.get("env_impact_report").level == "prefecture"
    assert catalog.get("env_impact_report").level_name == "州（市）级"
    # 环评法 and 建筑法 say 日: calendar days.
    permit = catalog.get("construction_permit")
    assert (permit.limit_kind, permit.statutory_days) == ("calendar", 7)
    assert "《建筑法》第八条" in permit.legal_basis
    assert {"construction_planning_permit", "fire_design_review"} <= set(permit.prerequisites)
    # 施工许可's materials follow the amended rules: a funds commitment, quality measures.
    assert "建设资金已经落实承诺书" in permit.materials
    assert catalog.get("fire_design_review").limit_kind == "working"


def test_materials_are_a_tuple_of_documents() -> None:
    item = Catalog.default().get("company_registration")
    assert item.materials[0] == "公司登记（备案）申请书"
    assert all(m and ";" not in m for m in item.materials)


def test_as_case_item_matches_the_case_data_contract() -> None:
    item = Catalog.default().get("energy_review")
    assert item.as_case_item() == {
        "code": "energy_review",
        "name": "固定资产投资项目节能审查",
        "department": "dept_fgj",
        "promised_days": 10,
        "statutory_days": None,
        "limit_kind": "working",
        "level": "county",
        "stage": "立项用地规划许可",
        "prerequisites": ["project_filing", "project_approval"],
        "legal_basis": item.legal_basis,
    }


def test_unknown_code_raises() -> None:
    with pytest.raises(UnknownCatalogItemError):
        Catalog.default().get("no_such_item")


def test_an_older_file_without_the_new_columns_still_reads() -> None:
    text = "\ufeff" + HEADER + "x_item,某事项,dept_sw,竣工验收,甲；乙;丙,,2\n\n"
    (item,) = parse_catalog(text)
    assert item == CatalogItem(
        "x_item", "某事项", "dept_sw", "竣工验收", ("甲", "乙", "丙"), None, 2
    )
    assert (item.level, item.limit_kind, item.prerequisites) == ("county", "working", ())
    # An older stage name reads as the stage it belongs to now.
    (old,) = parse_catalog(HEADER + "y_item,某事项,dept_fgj,立项,甲,,2\n")
    assert old.stage == "立项用地规划许可"


def test_bad_rows_are_reported_with_their_line_numbers() -> None:
    text = (
        HEADER
        + "good_item,好,dept_fgj,立项,甲,20,3\n"
        + "Bad-Code,坏,dept_xx,开工,,0,x\n"
        + '"quoted_item","多行\n名称",dept_zjj,施工许可,甲,5,9\n'
        + "good_item,重复,dept_fgj,立项,甲,,1\n"
        + "short_row,缺,dept_fgj\n"
    )
    with pytest.raises(CatalogError) as err:
        parse_catalog(text)
    by_line: dict[int, list[str]] = {}
    for line, message in err.value.problems:
        by_line.setdefault(line, []).append(message)
    assert sorted(by_line) == [3, 4, 6, 7]
    assert len(by_line[3]) == 6  # code, department, stage, materials, statutory, promised
    assert any(m.startswith("unknown department 'dept_xx'") for m in by_line[3])
    assert by_line[4] == ["promised_days 9 exceeds statutory_days 5"]
    assert by_line[6] == ["duplicate code 'good_item'"]
    assert by_line[7] == ["expected 7 fields"]
    assert "line 3: code must be snake_case" in str(err.value)


def test_unknown_prerequisite_level_and_kind_are_located() -> None:
    text = (FULL
            + "a_item,甲,dept_fgj,立项用地规划许可,county,,working,,3,依据,材料,\n"
            + "b_item,乙,dept_fgj,工程建设许可,city,a_item;nope,hours,,3,依据,材料,\n")
    with pytest.raises(CatalogError) as err:
        parse_catalog(text)
    assert err.value.problems == [
        (3, f"unknown level 'city'; use one of {', '.join(LEVELS)}"),
        (3, "unknown limit_kind 'hours'; use one of working, calendar"),
    ]
    text = FULL + "b_item,乙,dept_fgj,工程建设许可,county,a_item,working,,3,依据,材料,\n"
    with pytest.raises(CatalogError, match="line 2: unknown prerequisite 'a_item' of item"):
        parse_catalog(text)


def test_a_prerequisite_cycle_is_named_item_by_item() -> None:
    text = (FULL
            + "a_item,甲,dept_fgj,立项用地规划许可,county,c_item,working,,3,依据,材料,\n"
            + "b_item,乙,dept_fgj,工程建设许可,county,a_item,working,,3,依据,材料,\n"
            + "c_item,丙,dept_zjj,施工许可,county,b_item,working,,3,依据,材料,\n"
            + "d_item,丁,dept_zjj,施工许可,county,d_item,working,,3,依据,材料,\n")
    with pytest.raises(CatalogError) as err:
        parse_catalog(text)
    assert (5, "item 'd_item' lists itself as a prerequisite") in err.value.problems
    assert (2, "prerequisite cycle: a_item → c_item → b_item → a_item") in err.value.problems
    assert prerequisite_cycle({"x": ["y"], "y": []}) is None


def test_unknown_department_is_judged_against_the_departments_given() -> None:
    departments = parse_departments("code,name,name_en\ndept_new,新部门,New\n")
    text = HEADER + "x_item,某事项,dept_new,其他,甲,,2\n"
    assert parse_catalog(text, departments).get("x_item").department_name == "新部门"
    with pytest.raises(CatalogError, match="line 2: unknown department 'dept_new'"):
        parse_catalog(text)
    with pytest.raises(CatalogError, match="line 3: duplicate department 'dept_a'"):
        parse_departments("code,name\ndept_a,甲\ndept_a,乙\n")


def test_missing_column_and_empty_catalog() -> None:
    with pytest.raises(CatalogError, match="line 1: missing column.*promised_days"):
        parse_catalog("code,name,department,stage,materials,statutory_days\n")
    with pytest.raises(CatalogError, match="no items"):
        parse_catalog(HEADER)


def test_items_wait_only_for_prerequisites_in_the_same_case() -> None:
    catalog = Catalog.default()
    items = stage_items([catalog.get(c).as_case_item() for c in
                         ("construction_permit", "construction_planning_permit",
                          "project_filing")])
    waiting = {i["code"]: i["waiting_for"] for i in items}
    # 施工许可 waits for the planning permit only: its other prerequisites are not in the case.
    assert waiting == {"construction_permit": ["construction_planning_permit"],
                       "construction_planning_permit": [], "project_filing": []}
    assert releasable(items, set()) == ["construction_planning_permit", "project_filing"]
    done = done_codes([{"code": "construction_planning_permit", "outcome": "approved"}])
    assert releasable(items, done) == ["construction_permit", "construction_planning_permit",
                                       "project_filing"]
    # A refused prerequisite does not open its dependants.
    refused = done_codes([{"code": "construction_planning_permit", "outcome": "not_approved"}])
    assert "construction_permit" not in releasable(items, refused)
    assert PROJECT_STAGES == ("立项用地规划许可", "工程建设许可", "施工许可", "竣工验收")
