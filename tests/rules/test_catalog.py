"""The bundled item catalog and the validation of an edited one."""

from __future__ import annotations

import pytest

from server.rules.catalog import (
    DEPARTMENTS,
    STAGES,
    Catalog,
    CatalogError,
    CatalogItem,
    UnknownCatalogItemError,
    parse_catalog,
)

HEADER = "code,name,department,stage,materials,statutory_days,promised_days\n"


def test_bundled_catalog_is_valid_and_covers_every_stage() -> None:
    catalog = Catalog.default()
    assert len(catalog) >= 20
    assert all(catalog.by_stage()[stage] for stage in STAGES)
    assert {item.department for item in catalog} <= set(DEPARTMENTS)


def test_bundled_catalog_has_the_domain_items() -> None:
    catalog = Catalog.default()
    filing = catalog.get("project_filing")
    assert (filing.name, filing.department, filing.stage) == (
        "企业投资项目备案",
        "dept_fgj",
        "立项",
    )
    assert filing.promised_days == 3
    assert catalog.get("project_approval").statutory_days == 20
    assert catalog.get("construction_permit").department_name == "住建局"
    assert "project_filing" in catalog and "nope" not in catalog


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
    }


def test_unknown_code_raises() -> None:
    with pytest.raises(UnknownCatalogItemError):
        Catalog.default().get("no_such_item")


def test_parse_accepts_bom_fullwidth_semicolons_and_empty_statutory() -> None:
    text = "\ufeff" + HEADER + "x_item,某事项,dept_sw,竣工验收,甲；乙;丙,,2\n\n"
    (item,) = parse_catalog(text)
    assert item == CatalogItem(
        "x_item", "某事项", "dept_sw", "竣工验收", ("甲", "乙", "丙"), None, 2
    )


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
    assert by_line[4] == ["promised_days 9 exceeds statutory_days 5"]
    assert by_line[6] == ["duplicate code 'good_item'"]
    assert by_line[7] == ["expected 7 fields"]
    assert "line 3: code must be snake_case" in str(err.value)


def test_missing_column_and_empty_catalog() -> None:
    with pytest.raises(CatalogError, match="line 1: missing column.*promised_days"):
        parse_catalog("code,name,department,stage,materials,statutory_days\n")
    with pytest.raises(CatalogError, match="no items"):
        parse_catalog(HEADER)
