"""athena-client: report workflow runs to Athena Monitor from any engine (sync and asyncio).

from athena_client import AthenaClient

with AthenaClient("http://127.0.0.1:8000", token) as client:
    with client.execution(workflow_uuid) as run:
        with run.node("fetch") as node:
            node.output = {"rows": 3}
        decision = run.review("Approve the import", payload={"rows": 3})
"""

from athena_client._http import IDEMPOTENCY_HEADER, NO_RETRIES, RetryPolicy
from athena_client._runcore import Decision
from athena_client.aclient import AsyncAthenaClient
from athena_client.arun import AsyncNode, AsyncReview, AsyncRun
from athena_client.client import AthenaClient
from athena_client.errors import (
    AthenaError,
    Conflict,
    ConnectionFailed,
    ExecutionStopped,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthorized,
    Unavailable,
    ValidationFailed,
)
from athena_client.run import Node, Review, Run
from athena_client.watch import ExecutionWatch

__all__ = [
    "IDEMPOTENCY_HEADER",
    "NO_RETRIES",
    "AsyncAthenaClient",
    "AsyncNode",
    "AsyncReview",
    "AsyncRun",
    "AthenaClient",
    "AthenaError",
    "Conflict",
    "ConnectionFailed",
    "Decision",
    "ExecutionStopped",
    "ExecutionWatch",
    "Node",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "RetryPolicy",
    "Review",
    "Run",
    "Unauthorized",
    "Unavailable",
    "ValidationFailed",
]
