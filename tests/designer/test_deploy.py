"""Deployment through the designer: every fault is refused naming its element; nothing stored."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from server.services.users import REVISION_FILE
from tests.conftest import table_counts
from tests.designer.conftest import MAIN_BPMN, Designer

NAME = "parallel_items.bpmn"


def refused(designer: Designer, app: Flask, bpmn: str, user: str = "sheji") -> dict[str, Any]:
    designer.api.token(user)  # signing in is not part of what is measured
    before = table_counts(app)
    response = designer.deploy(user, {NAME: bpmn})
    assert response.status_code == 422, response.json
    assert table_counts(app) == before
    body: dict[str, Any] = response.json
    return body


def test_a_valid_change_deploys_as_a_new_version(designer: Designer, app: Flask) -> None:
    response = designer.deploy("sheji", {NAME: MAIN_BPMN.replace('name="审核"', 'name="初审"')},
                               comment="rename review")
    assert response.status_code == 201, response.json
    assert response.json["number"] == 2
    assert response.json["processes"] == ["item_work", "parallel_case"]


def test_a_missing_form_is_named_with_its_element_and_line(designer: Designer,
                                                            app: Flask) -> None:
    body = refused(designer, app, MAIN_BPMN.replace('camunda:formKey="close"',
                                                    'camunda:formKey="no_such_form"'))
    assert body["element_id"] == "close_case"
    line = MAIN_BPMN[:MAIN_BPMN.index('id="close_case"')].count("\n") + 1
    assert "no_such_form" in body["detail"] and body["line"] == line


def test_a_bad_timer_is_refused(designer: Designer, app: Flask) -> None:
    body = refused(designer, app, MAIN_BPMN.replace('"PT30M"', '"PT-5X"'))
    assert body["problems"][0]["element_id"] == "sheet_not_taken"
    assert "PT-5X" in body["detail"]


def test_an_unquoted_bad_timer_is_refused(designer: Designer, app: Flask) -> None:
    body = refused(designer, app, MAIN_BPMN.replace('"PT30M"', "PT-5X"))
    assert body["element_id"] == "sheet_not_taken"


def test_a_condition_with_a_syntax_error_is_refused(designer: Designer, app: Flask) -> None:
    body = refused(designer, app, MAIN_BPMN.replace("approved == True", "approved == = True"))
    assert body["element_id"] == "f3"
    assert "condition" in body["detail"]


def test_a_script_outside_the_sandbox_is_refused(designer: Designer, app: Flask) -> None:
    body = refused(designer, app, MAIN_BPMN.replace(
        'item_result = {"code"', 'kind = item.__class__\nitem_result = {"code"'))
    assert body["element_id"] == "record_result"


def test_an_unknown_group_is_refused(designer: Designer, app: Flask) -> None:
    body = refused(designer, app, MAIN_BPMN.replace('camunda:candidateGroups="window"',
                                                    'camunda:candidateGroups="windows"'))
    assert body["element_id"] == "close_case" and "windows" in body["detail"]


def test_a_called_process_must_exist(designer: Designer, app: Flask) -> None:
    body = refused(designer, app, MAIN_BPMN.replace('calledElement="item_work"',
                                                    'calledElement="item_works"'))
    assert any(p["element_id"] == "handle_items" for p in body["problems"]), body


def test_every_fault_is_listed_at_once(designer: Designer, app: Flask) -> None:
    body = refused(designer, app, MAIN_BPMN.replace('"PT30M"', '"PT-5X"').replace(
        "approved == True", "approved ==").replace('formKey="close"', 'formKey="nope"'))
    assert {p["element_id"] for p in body["problems"]} >= {"sheet_not_taken", "f3",
                                                           "close_case"}


def test_an_xml_entity_is_refused(designer: Designer, app: Flask) -> None:
    xxe = MAIN_BPMN.replace('<?xml version="1.0" encoding="UTF-8"?>',
                            '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE d [<!ENTITY x '
                            'SYSTEM "file:///etc/passwd">]>').replace('name="审核"',
                                                                      'name="&x;"')
    body = refused(designer, app, xxe)
    assert "DTD" in body["detail"] and body["line"] == 2


@pytest.mark.parametrize("user", ["zhaoshang", "shenji"])
def test_only_designers_deploy(designer: Designer, app: Flask, user: str) -> None:
    designer.api.token(user)
    before = table_counts(app)
    response = designer.deploy(user, {NAME: MAIN_BPMN.replace('name="审核"', 'name="初审"')})
    assert response.status_code == 403
    assert table_counts(app) == before


def test_a_50_mb_upload_is_refused_naming_the_limit(designer: Designer, app: Flask) -> None:
    designer.api.token("sheji")
    before = table_counts(app)
    content = MAIN_BPMN.encode() + b"<!--" + b"x" * (50 * 1024 * 1024) + b"-->"
    body = (b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"" +
            NAME.encode() + b"\"\r\nContent-Type: application/xml\r\n\r\n" + content +
            b"\r\n--b--\r\n")
    response = designer.call("POST", "/api/upload", "sheji", data=body,
                             content_type="multipart/form-data; boundary=b")
    assert response.status_code == 413
    assert f"{app.config['GUANJIA'].max_xml_bytes:,} bytes" in response.json["detail"]
    assert table_counts(app) == before


def test_a_file_over_the_diagram_limit_is_refused(designer: Designer, app: Flask) -> None:
    limit = app.config["GUANJIA"].max_xml_bytes
    body = refused(designer, app, MAIN_BPMN + "<!--" + "x" * limit + "-->")
    assert f"{limit:,} bytes" in body["detail"]


def test_export_writes_the_deployed_files(designer: Designer, app: Flask, tmp_path: Any) -> None:
    from click.testing import CliRunner

    from server.cli_designer import export

    designer.deploy("sheji", {NAME: MAIN_BPMN.replace('name="审核"', 'name="初审"')})
    env = {"GUANJIA_MODE": "test", "GUANJIA_SECRET_KEY": "x",
           "GUANJIA_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "GUANJIA_INSTANCE_DIR": str(tmp_path / "inst"),
           "GUANJIA_BROKER_URL": f"sqla+sqlite:///{tmp_path / 'b.sqlite'}"}
    result = CliRunner(env=env).invoke(export, ["--to", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    written = (tmp_path / "out" / NAME).read_text(encoding="utf-8")
    assert 'name="初审"' in written
    result = CliRunner(env=env).invoke(export, ["--deployment", "1", "--to", str(tmp_path / "v1")])
    assert 'name="审核"' in (tmp_path / "v1" / NAME).read_text(encoding="utf-8")


def _files(root: Any) -> list[Any]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != REVISION_FILE)


@pytest.mark.parametrize("form_id", ["../../escaped", "/tmp/escaped", "a/b", "..", "x" * 65,
                                     "中文", 7])
def test_a_form_id_that_is_not_a_plain_name_is_refused_and_nothing_is_written(
        designer: Designer, app: Flask, tmp_path: Any, form_id: Any) -> None:
    import json

    forms_dir = app.config["GUANJIA"].forms_dir
    designer.api.token("sheji")
    before = table_counts(app)
    # (The API's principal revision, instance/principals.rev, is the sign-in's, made on the
    # first token check: not a file the deploy writes.)
    files_before = _files(tmp_path)
    content = json.dumps({"type": "default", "id": form_id, "components": [
        {"type": "textfield", "key": "note", "label": "备注"}]})
    response = designer.call("POST", "/api/forms", "sheji", json={"content": content})
    assert response.status_code == 422, response.json
    assert "form id" in response.json["detail"]
    assert table_counts(app) == before
    assert _files(tmp_path) == files_before
    assert not (forms_dir.parent.parent / "escaped.form").exists()
