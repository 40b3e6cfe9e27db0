"""Deploy refuses tasks guanjia cannot run, naming element and line; nothing is stored.

A service task with a Java delegate waited forever with no incident, and a plain or manual
task became work no group could take (issue 15).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from tests.conftest import table_counts
from tests.designer.conftest import MAIN_BPMN, Designer

NAME = "parallel_items.bpmn"
CLOSE = re.search(r'<bpmn:userTask id="close_case".*?</bpmn:userTask>', MAIN_BPMN, re.S)
assert CLOSE is not None
FLOWS = "<bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>"


def with_close_case(element: str) -> str:
    """The fixture with its 办结 task replaced by ``element`` (same id and flows)."""
    assert CLOSE is not None
    return MAIN_BPMN.replace(CLOSE.group(0), element)


def close_case_line() -> int:
    return MAIN_BPMN[:MAIN_BPMN.index('id="close_case"')].count("\n") + 1


def refused(designer: Designer, app: Flask, bpmn: str) -> dict[str, Any]:
    designer.api.token("sheji")
    before = table_counts(app)
    response = designer.deploy("sheji", {NAME: bpmn})
    assert response.status_code == 422, response.json
    assert table_counts(app) == before
    body: dict[str, Any] = response.json
    return body


@pytest.mark.parametrize(("attrs", "named"), [
    ('camunda:delegateExpression="${notifyBean}"', "delegateExpression"),
    ('camunda:class="gov.county.Notify"', "gov.county.Notify"),
    ('camunda:expression="${mailer.send(case)}"', "mailer.send"),
    ('camunda:type="external" camunda:topic="notify"', "external topic 'notify'"),
    ("", "service task"),
])
def test_a_service_task_guanjia_cannot_run_is_refused_with_its_place(
        designer: Designer, app: Flask, attrs: str, named: str) -> None:
    body = refused(designer, app, with_close_case(
        f'<bpmn:serviceTask id="close_case" name="办结" {attrs}>{FLOWS}</bpmn:serviceTask>'))
    assert body["element_id"] == "close_case"
    assert body["line"] == close_case_line() and body["file"] == NAME
    assert named in body["detail"] and "no implementation" in body["detail"]


def test_a_send_task_is_refused(designer: Designer, app: Flask) -> None:
    body = refused(designer, app, with_close_case(
        f'<bpmn:sendTask id="close_case" camunda:class="x.Send">{FLOWS}</bpmn:sendTask>'))
    assert body["element_id"] == "close_case" and "send task" in body["detail"]


@pytest.mark.parametrize("kind", ["manualTask", "task"])
def test_a_plain_or_manual_task_no_group_could_take_is_refused(
        designer: Designer, app: Flask, kind: str) -> None:
    body = refused(designer, app, with_close_case(
        f'<bpmn:{kind} id="close_case" name="办结">{FLOWS}</bpmn:{kind}>'))
    assert body["element_id"] == "close_case" and body["line"] == close_case_line()
    assert "no group can take" in body["detail"]


@pytest.mark.parametrize("attrs", ['', 'camunda:candidateUsers="sheji"'])
def test_a_user_task_with_no_group_and_no_assignee_is_refused(
        designer: Designer, app: Flask, attrs: str) -> None:
    body = refused(designer, app, with_close_case(
        f'<bpmn:userTask id="close_case" name="办结" camunda:formKey="close" {attrs}>'
        f'{FLOWS}</bpmn:userTask>'))
    assert body["element_id"] == "close_case"
    assert "no one could take it" in body["detail"]


def test_an_assignee_who_is_no_user_is_refused(designer: Designer, app: Flask) -> None:
    body = refused(designer, app, with_close_case(
        '<bpmn:userTask id="close_case" name="办结" camunda:formKey="close" '
        f'camunda:assignee="nobody_here">{FLOWS}</bpmn:userTask>'))
    assert body["element_id"] == "close_case" and "nobody_here" in body["detail"]


@pytest.mark.parametrize("attrs", ['camunda:assignee="sheji"',
                                   'camunda:candidateGroups="${item_group}"'])
def test_a_task_someone_can_take_deploys(designer: Designer, app: Flask, attrs: str) -> None:
    """A known assignee deploys; an expression is known only when the case reaches it."""
    response = designer.deploy("sheji", {NAME: with_close_case(
        f'<bpmn:userTask id="close_case" name="办结" camunda:formKey="close" {attrs}>'
        f'{FLOWS}</bpmn:userTask>')})
    assert response.status_code == 201, response.json
