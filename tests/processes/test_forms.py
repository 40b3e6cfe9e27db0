"""Forms and diagrams agree: every formKey has a form file, every form is well formed."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from lxml import etree

from tests.helpers.diagram_walk import FORMS, PROCESSES

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "camunda": "http://camunda.org/schema/1.0/bpmn",
}
FORM_KEY = "{http://camunda.org/schema/1.0/bpmn}formKey"
CHOICES = {"radio", "select", "checklist", "taglist"}
INPUTS = CHOICES | {"textfield", "textarea", "number", "checkbox", "datetime"}

# Variables the diagrams read in conditions, scripts and expressions, and the form setting each.
READ_BY_DIAGRAMS = {
    "investment_wan": "application",
    "policy_compliant": "application",
    "review_decision": "application_review",
    "sign_decision": "acceptance_sign",
    "plan_decision": "service_plan_agreement",
    "satisfaction_level": "satisfaction_evaluation",
    "acceptance_mode": "item_acceptance",
    "item_outcome": "item_handling",
    "handling_opinion": "item_handling",
    "notify_method": "result_notice",
}


def form_keys_in_diagrams() -> dict[str, set[str]]:
    used: dict[str, set[str]] = {}
    for path in PROCESSES.glob("*.bpmn"):
        tree = etree.parse(str(path))
        for node in tree.iter():
            key = node.get(FORM_KEY)
            if key:
                used.setdefault(key, set()).add(f"{path.name}#{node.get('id')}")
    return used


def load_forms() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in FORMS.glob("*.form")}


def keyed(form: dict) -> list[dict]:
    return [c for c in form["components"] if "key" in c]


def test_every_form_key_names_an_existing_form() -> None:
    used = form_keys_in_diagrams()
    assert used, "no formKey found in processes/"
    missing = {
        key: sorted(where) for key, where in used.items() if not (FORMS / f"{key}.form").is_file()
    }
    assert not missing, f"formKey without forms/<key>.form: {missing}"


def test_every_form_is_used_by_a_diagram() -> None:
    unused = set(load_forms()) - set(form_keys_in_diagrams())
    assert not unused, f"forms no diagram uses: {sorted(unused)}"


def test_every_user_task_and_the_main_start_event_have_a_form() -> None:
    for path in PROCESSES.glob("*.bpmn"):
        tree = etree.parse(str(path))
        for task in tree.iterfind(".//bpmn:userTask", NS):
            assert task.get(FORM_KEY), f"{path.name}#{task.get('id')} has no camunda:formKey"
    main = etree.parse(str(PROCESSES / "concierge_service.bpmn"))
    starts = main.findall("./bpmn:process/bpmn:startEvent", NS)
    assert [s.get(FORM_KEY) for s in starts] == ["application"]


@pytest.mark.parametrize("name", sorted(p.stem for p in FORMS.glob("*.form")))
def test_form_is_well_formed(name: str) -> None:
    form = json.loads((FORMS / f"{name}.form").read_text(encoding="utf-8"))
    assert form["type"] == "default"
    assert form["id"] == name
    assert form["schemaVersion"] == 16
    components = form["components"]
    ids = [c["id"] for c in components]
    assert len(ids) == len(set(ids)), f"duplicate component ids in {name}"
    keys = [c["key"] for c in keyed(form)]
    assert keys, f"{name} has no input"
    assert len(keys) == len(set(keys)), f"duplicate keys in {name}: {keys}"
    for c in keyed(form):
        assert c["type"] in INPUTS, f"{name}.{c['key']}: unexpected type {c['type']}"
        assert re.fullmatch(r"[a-z][a-z0-9_]*", c["key"]), f"{name}.{c['key']} is not snake_case"
        label = c.get("label") or c.get("dateLabel")
        assert label and re.search(r"[\u4e00-\u9fff]", label), (
            f"{name}.{c['key']}: no Chinese label"
        )
        assert c.get("properties", {}).get("label_en"), f"{name}.{c['key']}: no properties.label_en"
        if c["type"] in CHOICES:
            assert c.get("values") or c.get("valuesKey"), f"{name}.{c['key']}: no values"
            values = [v["value"] for v in c.get("values", [])]
            assert len(values) == len(set(values)), f"{name}.{c['key']}: duplicate values"
        for rule in c.get("validate", {}):
            assert rule in {"required", "min", "max", "minLength", "maxLength", "pattern"}, rule
        if "pattern" in c.get("validate", {}):
            re.compile(c["validate"]["pattern"])


def test_keys_are_unique_across_forms() -> None:
    """All forms write into one case's data: the same key in two forms would overwrite."""
    counts = Counter(c["key"] for form in load_forms().values() for c in keyed(form))
    assert not [k for k, n in counts.items() if n > 1]


def test_variables_read_by_diagrams_come_from_forms() -> None:
    forms = load_forms()
    for variable, form_id in READ_BY_DIAGRAMS.items():
        keys = {c["key"]: c for c in keyed(forms[form_id])}
        assert variable in keys, f"{form_id} does not set {variable}"

    # The decisions and conditions compare against these option values.
    def values(form_id: str, key: str) -> set[str]:
        comp = next(c for c in keyed(forms[form_id]) if c["key"] == key)
        return {v["value"] for v in comp["values"]}

    assert {"approve", "reject"} == values("application_review", "review_decision")
    assert {"approve", "reject"} == values("acceptance_sign", "sign_decision")
    assert {"agree", "revise"} == values("service_plan_agreement", "plan_decision")
    assert {"accepted", "supplement", "missing_materials", "commitment"} == values(
        "item_acceptance", "acceptance_mode"
    )
    assert {"approved", "not_approved", "joint_meeting"} == values("item_handling", "item_outcome")
    assert {"1", "2", "3", "4", "5"} == values("satisfaction_evaluation", "satisfaction_level")
    assert {"policy_change", "enterprise_request", "other"} == values(
        "termination_sheet", "termination_reason"
    )


def test_application_offers_the_catalog_items() -> None:
    application = load_forms()["application"]
    items = next(c for c in keyed(application) if c["key"] == "item_codes")
    assert items["type"] == "checklist"
    # Options come from the item catalog at render time (server/data/catalog.csv).
    assert items["valuesKey"] == "catalog_items"
    assert items["validate"]["required"] is True
