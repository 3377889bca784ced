"""The endpoints' docstrings are their OpenAPI descriptions (the house rule: docstrings on
endpoints feed the schema a client generator reads)."""

from __future__ import annotations

from typing import Any


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
