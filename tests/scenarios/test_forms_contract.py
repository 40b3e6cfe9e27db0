"""Every user task names a form that exists, and every form validates what it should.

Each form's schema is derived from its file (server.services.forms); a generated valid
submission passes and, field by field, a missing or malformed value is refused by name.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from server.rules.catalog import Catalog
from server.services.errors import ValidationFailedError
from server.services.forms import FormDefinition, FormField, parse_form

ROOT = Path(__file__).resolve().parents[2]
FORMS = ROOT / "forms"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
FORM_KEY = "{http://camunda.org/schema/1.0/bpmn}formKey"
VALUE_SOURCES = {"catalog_items": [(i.code, i.name) for i in Catalog.default()]}
# Values tried, in order, for a text field with a pattern; add one when a new pattern appears.
PATTERN_SAMPLES = ["0878-6222000", "91532326MA6N0Q1X2Y", "DY-2026-001", "abc"]


def load(path: Path) -> FormDefinition:
    return parse_form(path.read_bytes(), source=path.name, value_sources=VALUE_SOURCES)


def all_forms() -> list[Path]:
    return sorted(FORMS.glob("*.form"))


def form_keys() -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / "processes").glob("*.bpmn")):
        for node in etree.parse(str(path)).iter(f"{{{BPMN}}}userTask", f"{{{BPMN}}}startEvent"):
            key = node.get(FORM_KEY)
            if node.tag.endswith("userTask") or key:
                found.append((f"{path.stem}#{node.get('id')}", key or ""))
    return found


@pytest.mark.parametrize(("where", "key"), form_keys(), ids=[w for w, _ in form_keys()])
def test_every_user_task_names_a_form_that_exists(where: str, key: str) -> None:
    assert key, f"{where} has no camunda:formKey"
    path = FORMS / f"{key}.form"
    assert path.is_file(), f"{where} names form {key!r}, which does not exist"
    assert load(path).id == key


def picks_people(f: FormField) -> bool:
    """A field that picks users (the steward team): its choices are the users of the moment,
    so the form leaves them open and the service checks each person (test_accountability)."""
    return bool((f.component.get("properties") or {}).get("people"))


def valid_value(f: FormField) -> Any:
    rules = f.component.get("validate") or {}
    if picks_people(f):
        return ["someone"] if f.type in {"checklist", "taglist"} else "someone"
    if f.type == "number":
        return rules.get("min", 0) if rules.get("min") is not None else 1
    if f.type == "checkbox":
        return True
    if f.type in {"checklist", "taglist"}:
        return [f.options[0][0]]
    if f.type in {"select", "radio"}:
        return f.options[0][0]
    if f.type == "datetime":
        return "2026-11-23" if f.component.get("subtype") == "date" else "2026-11-23T09:00:00+08:00"
    if f.type == "dynamiclist":
        return []
    if rules.get("pattern"):
        pattern = re.compile(str(rules["pattern"]))
        matching = [s for s in PATTERN_SAMPLES if pattern.search(s)]
        assert matching, f"{f.key}: no sample matches {rules['pattern']!r}"
        return matching[0]
    return "x" * max(1, int(rules.get("minLength") or 1))


def invalid_value(f: FormField) -> Any:
    rules = f.component.get("validate") or {}
    if picks_people(f):
        return "not a list" if f.type in {"checklist", "taglist"} else "x" * 200
    if f.type in {"select", "radio"}:
        return "__not_an_option__"
    if f.type in {"checklist", "taglist"}:
        return ["__not_an_option__"]
    if f.type == "number":
        return "not a number" if rules.get("min") is None else rules["min"] - 1
    if f.type == "checkbox":
        return "perhaps"
    if f.type == "datetime":
        return "next Tuesday"
    if f.type == "dynamiclist":
        return "not a list"
    if rules.get("maxLength") is not None:
        return "x" * (int(rules["maxLength"]) + 1)
    return 12345  # not text


@pytest.mark.parametrize("path", all_forms(), ids=lambda p: p.stem)
def test_form_accepts_a_valid_submission_and_refuses_bad_fields(path: Path) -> None:
    form = load(path)
    assert form.fields, f"{form.id} has no input fields"
    schema = form.schema()
    assert set(schema().fields) == {f.key for f in form.fields}
    valid = {f.key: valid_value(f) for f in form.fields}
    cleaned = form.validate(valid)
    assert set(cleaned) == set(valid)
    # Required fields may not be left out; optional ones may.
    required = [f for f in form.fields if f.required]
    for f in form.fields:
        without = {k: v for k, v in valid.items() if k != f.key}
        if f.required:
            with pytest.raises(ValidationFailedError) as missing:
                form.validate(without)
            assert f.key in missing.value.errors
        else:
            assert f.key not in form.validate(without)
    assert required or form.validate({}) == {}
    for f in form.fields:
        with pytest.raises(ValidationFailedError) as bad:
            form.validate({**valid, f.key: invalid_value(f)})
        assert list(bad.value.errors) == [f.key], (f.key, bad.value.errors)
    # A key the form does not have is refused rather than stored.
    with pytest.raises(ValidationFailedError) as extra:
        form.validate({**valid, "__smuggled__": "x"})
    assert "__smuggled__" in extra.value.errors
