"""Document the API's real error answers in OpenAPI.

Litestar documents a 400 with its own ``{status_code, detail, extra}`` body, which this API never
sends: every error here is ``{"message": ..., "errors"?: {field: [messages]}}`` (app/lib/errors.py).
Schemathesis found the mismatch; this replaces the generated error responses of every API
operation with the statuses the API really answers and that one body.
"""

from __future__ import annotations

from typing import Any

from litestar.openapi.spec import OpenAPI, OpenAPIMediaType, OpenAPIResponse, Reference, Schema
from litestar.openapi.spec.enums import OpenAPIType

ERROR_STATUSES = {
    "400": "Malformed request (for example a body that is not JSON).",
    "401": "Missing, invalid, expired or revoked token.",
    "403": "Your role in this workspace may not do this.",
    "404": "Not found, or not in one of your workspaces.",
    "409": "Conflict with the resource's current state.",
    "422": "Invalid input; `errors` names each field.",
    "429": "Rate limit exceeded; see the Retry-After header.",
}
ERROR_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["message"],
    properties={
        "message": Schema(type=OpenAPIType.STRING),
        "errors": Schema(
            type=OpenAPIType.OBJECT,
            additional_properties=Schema(type=OpenAPIType.ARRAY, items=Schema(type=OpenAPIType.STRING)),
        ),
    },
)


def document_errors(openapi: OpenAPI, prefix: str = "/api/") -> None:
    openapi.components.schemas["Error"] = ERROR_SCHEMA
    content = {"application/json": OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Error"))}
    for path, item in (openapi.paths or {}).items():
        if not path.startswith(prefix):
            continue
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(item, method, None)
            if operation is None:
                continue
            responses = dict(operation.responses or {})
            for status, description in ERROR_STATUSES.items():
                responses[status] = OpenAPIResponse(description=description, content=content)
            operation.responses = responses


def declare_strict_bodies(openapi: OpenAPI) -> None:
    """Request bodies refuse unknown fields (msgspec ``forbid_unknown_fields``: 422 naming the field):
    say so with ``additionalProperties: false`` on every object schema a request body reaches."""
    components = openapi.components.schemas or {}
    seen: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, Reference):
            name = node.ref.rsplit("/", 1)[-1]
            if name not in seen and name in components:
                seen.add(name)
                visit(components[name])
            return
        if not isinstance(node, Schema):
            return
        if node.properties is not None and node.additional_properties is None:
            node.additional_properties = False
        children: list[Schema | Reference | None] = [
            *(node.properties or {}).values(),
            *(node.one_of or []),
            *(node.any_of or []),
            *(node.all_of or []),
            node.items,
        ]
        for child in children:
            visit(child)

    for item in (openapi.paths or {}).values():
        for method in ("put", "post", "patch", "delete"):
            operation = getattr(item, method, None)
            body = getattr(operation, "request_body", None)
            for media in (getattr(body, "content", None) or {}).values():
                visit(media.schema)


def tidy_query_parameters(openapi: OpenAPI) -> None:
    """Put an optional query parameter's constraints where they apply. Litestar renders
    ``str | None`` with ``pattern`` / ``format`` / ``maxLength`` beside ``oneOf: [string, null]``,
    and ``list[str] | None`` with ``maxItems`` and ``pattern`` beside ``oneOf: [array, null]``,
    where a validator (and schemathesis) ignores them: move them into the string branch, and into
    the array branch and its items."""
    for item in (openapi.paths or {}).values():
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(item, method, None)
            for parameter in getattr(operation, "parameters", None) or []:
                schema = getattr(parameter, "schema", None)
                if isinstance(schema, Schema) and schema.one_of:
                    _move_constraints(schema)


def _move_constraints(schema: Schema) -> None:
    for branch in schema.one_of or []:
        if not isinstance(branch, Schema):
            continue
        if branch.type == OpenAPIType.STRING:
            for name in ("pattern", "format", "max_length", "min_length"):
                if getattr(schema, name) is not None and getattr(branch, name) is None:
                    setattr(branch, name, getattr(schema, name))
        elif branch.type == OpenAPIType.ARRAY:
            if schema.max_items is not None:
                branch.max_items = schema.max_items
            if schema.pattern is not None and isinstance(branch.items, Schema):
                branch.items.pattern = schema.pattern
    for name in ("pattern", "format", "max_length", "min_length", "max_items"):
        setattr(schema, name, None)
