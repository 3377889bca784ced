"""Document the API's real error answers in OpenAPI.

Litestar documents a 400 with its own ``{status_code, detail, extra}`` body, which this API never
sends: every error here is ``{"message": ..., "errors"?: {field: [messages]}}`` (app/lib/errors.py).
Schemathesis found the mismatch; this replaces the generated error responses of every API
operation with the statuses the API really answers and that one body.
"""

from __future__ import annotations

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
    if openapi.components.schemas is None:
        openapi.components.schemas = {}
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
