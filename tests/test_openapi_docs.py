"""The endpoints' docstrings are their OpenAPI descriptions (the house rule: docstrings on
endpoints feed the schema a client generator reads)."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.conftest import World


async def test_endpoint_docstrings_are_operation_descriptions(app: Any) -> None:
    paths = app.openapi_schema.to_schema()["paths"]
    listing = paths["/api/v1/workflow-executions"]["get"]
    assert listing["description"].startswith("Paginated executions of the workspaces you belong to.")
    assert "last_page" in listing["description"]
    operations = [op for methods in paths.values() for op in methods.values() if isinstance(op, dict)]
    described = [op for op in operations if op.get("description")]
    # Every API operation says what it does (a handler without a docstring would show up here).
    undocumented = sorted(op["operationId"] for op in operations if op not in described)
    assert not undocumented, undocumented


# Issue 20 item 7: every query parameter that takes one of a few words declares them (enum or
# pattern), with a value the server accepts and one it refuses (422) on each.
ENUMERATED = {
    ("/api/v1/audit", "action"): ("flag", "launch"),
    ("/api/v1/audit/export", "action"): ("retry_request", "launch"),
    ("/api/v1/workflow-approvals", "status"): ("pending,approved", "open"),
    ("/api/v1/workflow-approvals", "assigned"): ("me", "you"),
    ("/api/v1/workflow-approvals", "decided_by"): ("me", "you"),
    ("/api/v1/workflow-executions/count", "time_axis"): ("started", "ended"),
    ("/api/v1/metrics/workflow-executions", "time_axis"): ("active", "ended"),
    ("/api/v1/metrics/workflow-executions", "interval"): ("week", "year"),
    ("/api/v1/metrics/workflows", "time_axis"): ("stopped", "ended"),
    ("/api/v1/workflow-executions", "status"): ("failed,running", "done"),
    ("/api/v1/workflow-executions", "with"): ("workflow,workflowExecutionData", "secrets"),
}


def _string_schema(schema: dict[str, Any]) -> dict[str, Any]:
    for option in schema.get("oneOf", [schema]):
        if option.get("type") == "array":
            return dict(option["items"])
        if option.get("type") == "string":
            return dict(option)
    raise AssertionError(schema)


def _declared_accepts(schema: dict[str, Any], value: str) -> bool:
    if "enum" in schema:
        return value in schema["enum"]
    assert "pattern" in schema, schema  # neither enum nor pattern: the values are undeclared
    return re.search(schema["pattern"], value) is not None


async def test_enumerated_query_parameters_declare_their_values(
    app: Any, client: httpx.AsyncClient, world: World
) -> None:
    paths = app.openapi_schema.to_schema()["paths"]
    scope = {"workspace_uuid": world.ws["A"], "start_date": "2026-01-01", "end_date": "2026-01-31"}
    for (path, name), (good, bad) in ENUMERATED.items():
        params = {p["name"]: p for p in paths[path]["get"]["parameters"] if p["in"] == "query"}
        schema = _string_schema(params[name]["schema"])
        assert _declared_accepts(schema, good), (path, name, schema)
        assert not _declared_accepts(schema, bad), (path, name, schema)
        # ... and the server agrees with what is declared.
        base = {k: v for k, v in scope.items() if k in params}
        ok = await client.get(path, params=base | {name: good}, headers=world.admin_a.headers)
        assert ok.status_code == 200, (path, name, ok.text)
        refused = await client.get(path, params=base | {name: bad}, headers=world.admin_a.headers)
        assert refused.status_code == 422 and name in refused.json()["errors"], (path, name, refused.text)
