"""marshmallow schemas of the JSON API: requests and responses kept apart."""

from __future__ import annotations

import json
from typing import Any

from marshmallow import Schema, fields, validate


class RowResponse(Schema):
    """A response read from one object's attributes (a row, a page of rows), never a dict.

    marshmallow's own lookup also serves dicts and dotted paths, three calls deeper per
    field; a page of tasks is dumped on every task-list call (issue 18's profile).
    """

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        return getattr(obj, attr, default)


class Text(fields.String):
    """A string in a response: text is handed on as it is (``String`` passes every value,
    text included, through two more calls), anything else as ``String`` makes it."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if value.__class__ is str:
            return value
        return super()._serialize(value, attr, obj, **kwargs)


class TokenRequest(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class TokenResponse(Schema):
    token = fields.String()
    expires_in = fields.Integer(metadata={"description": "seconds"})
    username = fields.String()


class StartCaseRequest(Schema):
    process_id = fields.String(load_default="concierge_service",
                               validate=validate.Length(min=1, max=200))
    data = fields.Dict(keys=fields.String(), required=True)
    deployment = fields.Integer(load_default=None, validate=validate.Range(min=1),
                                metadata={"description": "version; the newest by default"})


class TerminateCaseRequest(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    reason_code = fields.String(required=True,
                                validate=validate.OneOf(["policy_change", "enterprise_request"]),
                                metadata={"description": "seed 004 §五(八)'s reason"})


class CompleteTaskRequest(Schema):
    data = fields.Dict(keys=fields.String(), required=True)


class ReassignTaskRequest(Schema):
    to = fields.String(required=True, allow_none=True, validate=validate.Length(min=1, max=80),
                       metadata={"description": "username; null hands the task back to its "
                                                "candidate groups"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class TaskQuery(Schema):
    scope = fields.String(load_default="all", validate=validate.OneOf(["mine", "groups", "all"]))
    department = fields.String(load_default=None)
    stage = fields.String(load_default=None)
    case_id = fields.String(load_default=None)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))


class WorkItemResponse(RowResponse):
    id = Text()
    case_id = Text()
    case_reference = fields.Function(lambda o: o.case.reference)
    case_title = fields.Function(lambda o: o.case.title)
    element_id = Text()
    name = Text()
    lane = Text()
    form_key = Text()
    candidate_groups = fields.Function(lambda o: o.group_codes)
    assignee = Text(allow_none=True)
    claimed_by = Text(allow_none=True)
    state = Text()
    stage = Text()
    due_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    completed_by = Text(allow_none=True)


class TaskPageResponse(RowResponse):
    items = fields.Nested(WorkItemResponse, many=True)
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class FormFieldResponse(Schema):
    key = fields.String()
    type = fields.String()
    label = fields.String()
    label_en = fields.String()
    required = fields.Boolean()
    options = fields.List(fields.List(fields.String()))


class FormResponse(Schema):
    id = fields.String()
    title = fields.String()
    components = fields.List(fields.Dict())
    fields_ = fields.List(fields.Nested(FormFieldResponse), data_key="fields",
                          attribute="fields")


class TaskDetailResponse(WorkItemResponse):
    form = fields.Nested(FormResponse, allow_none=True)
    context = fields.Function(lambda o: json.loads(o.context or "{}"))
    draft = fields.Function(lambda o: json.loads(o.draft) if o.draft else None)


class EventResponse(Schema):
    seq = fields.Integer()
    case_seq = fields.Integer()
    type = fields.String()
    actor = fields.String(allow_none=True)
    role = fields.String(allow_none=True)
    at = fields.DateTime()
    task_id = fields.String(allow_none=True)
    element_id = fields.String(allow_none=True)
    element_name = fields.String(allow_none=True)
    payload = fields.Dict()
    leaf_hash = fields.String()


class CaseResponse(RowResponse):
    id = Text()
    reference = Text()
    process_id = Text()
    deployment = fields.Function(lambda o: o.deployment.number)
    title = Text()
    status = Text()
    area = Text()
    started_by = Text()
    started_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    summary = fields.Function(lambda o: json.loads(o.summary or "{}"))


class CaseDetailResponse(CaseResponse):
    data = fields.Dict()
    tasks = fields.List(fields.Nested(WorkItemResponse))
    history = fields.List(fields.Nested(EventResponse))


class DeployRequest(Schema):
    files = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    comment = fields.String(load_default="")
    # A county's code (its override: only these files), "*" or absent for the prefecture's
    # library; a county designer's deployment is always their county's.
    county = fields.String(load_default=None, allow_none=True)


class DeploymentResponse(Schema):
    number = fields.Integer()
    content_hash = fields.String()
    author = fields.String()
    comment = fields.String()
    created_at = fields.DateTime()
    processes = fields.Function(lambda o: [d.process_id for d in o.definitions])
    files = fields.Function(lambda o: {f.name: f.sha256 for f in o.files})
    county = fields.String(allow_none=True)
    own_files = fields.Function(lambda o: [f.name for f in o.own_files])


class HandUpRequest(Schema):
    """A county department hands a 州-level item up (issue 21)."""

    note = fields.String(required=True, validate=validate.Length(min=1, max=4000),
                         metadata={"description": "the county's opinion (初审意见)"})


class HandupDecisionRequest(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["approve", "refuse"]))
    approval_number = fields.String(load_default="", validate=validate.Length(max=100),
                                    metadata={"description": "批文号, required to approve"})
    reason = fields.String(load_default="", validate=validate.Length(max=4000),
                           metadata={"description": "required to refuse (行政许可法 Art. 38)"})


class HandupResponse(Schema):
    id = fields.Integer()
    case_id = fields.String()
    case_reference = fields.Function(lambda o: o.case.reference)
    county_task_id = fields.String()
    item_code = fields.String()
    item_name = fields.String()
    county_department = fields.String()
    prefecture_group = fields.String()
    state = fields.String(metadata={"description": "sent | accepted | approved | refused"})
    note = fields.String()
    limit_days = fields.Integer()
    limit_kind = fields.String()
    sent_by = fields.String()
    sent_at = fields.DateTime()
    accepted_at = fields.DateTime(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    approval_number = fields.String()
    decision_reason = fields.String()
