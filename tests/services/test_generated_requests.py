"""Generated requests against every operation of the OpenAPI: never a 500, never a change
from a refused request. Bounded (about 2,000 examples per database) to fit the CI budget."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Api, table_counts
from tests.helpers.api_cases import start

# Text as an attacker types it: any code point, lone surrogates and NUL included.
TEXT = st.text(alphabet=st.characters(codec=None, categories=None), max_size=40) | st.sampled_from(
    ["", "\x00", "\ud800", "../../x", "10000000000000000001", "-1", "typename", "x" * 300])
SCALAR = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT
JSON = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(TEXT, inner, max_size=4), max_leaves=12)
FIELDS = ["username", "password", "process_id", "data", "deployment", "reason", "to",
          "files", "comment", "typename"]
BODY = st.dictionaries(st.sampled_from(FIELDS) | TEXT, JSON, max_size=5) | JSON


def _operations(api: Api) -> list[tuple[str, str]]:
    spec = api.get("/openapi.json", None).json
    return [(method.upper(), path) for path, ops in spec["paths"].items() for method in ops]


def _quote(text: str) -> str:
    """Percent-encode as a client would; a lone surrogate goes out as its raw bytes."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def _encode(body: Any) -> bytes:
    # json.dumps escapes lone surrogates as \\ud800, exactly as a client would send them.
    return json.dumps(body).encode()


@settings(max_examples=1000, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_generated_requests_never_fail_with_a_server_error(api: Api, data: st.DataObject
                                                           ) -> None:
    if not getattr(api, "_prepared", False):
        start(api)
        for user in ("zhaoshang", "sheji", "lingdao", "qiye"):
            api.token(user)
        api._prepared = True  # type: ignore[attr-defined]
        api._ops = _operations(api)  # type: ignore[attr-defined]
        api._before = table_counts(api.app)  # type: ignore[attr-defined]
    method, template = data.draw(st.sampled_from(api._ops))  # type: ignore[attr-defined]
    path = template
    for name in ("case_id", "task_id"):
        path = path.replace("{" + name + "}", _quote(data.draw(TEXT.filter(bool),
                                                                label=name)))
    query = data.draw(st.dictionaries(st.sampled_from(["page", "per_page", "scope", "stage",
                                                       "department", "case_id"]),
                                      TEXT, max_size=3))
    user = data.draw(st.sampled_from([None, "zhaoshang", "sheji", "lingdao", "qiye"]))
    headers = {"Content-Type": "application/json"}
    if user:
        headers["Authorization"] = f"Bearer {api.token(user)}"
    body = _encode(data.draw(BODY)) if method == "POST" else None
    response = api.client.open(f"/api/v1{path}", method=method, headers=headers,
                               query_string="&".join(f"{k}={_quote(v)}" for k, v in
                                                     query.items()), data=body)
    assert response.status_code < 500, (method, path, query, body, response.data[:300])
    if response.status_code >= 400:
        assert response.content_type == "application/problem+json", (method, path)
    elif method == "POST" and path not in {"/auth/token"}:
        # A generated request that was accepted changed the service on purpose: the
        # baseline moves with it.
        api._before = table_counts(api.app)  # type: ignore[attr-defined]
    if response.status_code >= 400 or method == "GET" or path == "/auth/token":
        after = table_counts(api.app)
        if path == "/auth/token":  # tokens and audited failures are what sign-in writes
            for table in ("api_tokens", "audit_events"):
                after[table] = api._before[table]  # type: ignore[attr-defined]
            api._before = {**after}  # type: ignore[attr-defined]
        assert after == api._before, (method, path, body)  # type: ignore[attr-defined]
