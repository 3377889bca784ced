"""What the client raises: one class per kind of API answer, plus a stop of the execution."""

from __future__ import annotations

from typing import Any

import httpx


class AthenaError(Exception):
    """An error answer of the API (``status``, its ``message`` and the whole JSON ``body``)."""

    def __init__(self, status: int, message: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(f"HTTP {status}: {message}" if status else message)
        self.status = status
        self.message = message
        self.body: dict[str, Any] = body or {}


class Unauthorized(AthenaError):
    """401: no token, or an invalid, expired or revoked one."""


class PermissionDenied(AthenaError):
    """403: your role in that workspace may not do this (or the four-eyes rule)."""


class NotFound(AthenaError):
    """404: unknown, deleted or foreign (another tenant's ids answer exactly like unknown ones)."""


class Conflict(AthenaError):
    """409: the change conflicts with the current state (``body`` says how: ``current_status``...)."""


class ValidationFailed(AthenaError):
    """422: a field is invalid; ``errors`` maps each field to its messages."""

    @property
    def errors(self) -> dict[str, list[str]]:
        return dict(self.body.get("errors") or {})


class RateLimited(AthenaError):
    """429 that outlasted the retries."""


class Unavailable(AthenaError):
    """502/503/504 that outlasted the retries (a database outage answers 503 with ``Retry-After``)."""


class ConnectionFailed(AthenaError):
    """The server could not be reached (or the connection dropped) on every attempt."""

    def __init__(self, message: str, cause: httpx.TransportError | None = None) -> None:
        super().__init__(0, message)
        self.cause = cause


class ExecutionStopped(Exception):
    """The execution was stopped (cancelled or deleted) by someone else: the engine should stop
    working on it. ``with client.execution(...)`` ends quietly when this is raised inside it."""

    def __init__(self, execution_uuid: str, status: str = "cancelled") -> None:
        super().__init__(f"execution {execution_uuid} was stopped ({status})")
        self.execution_uuid = execution_uuid
        self.status = status


_BY_STATUS: dict[int, type[AthenaError]] = {
    401: Unauthorized,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    422: ValidationFailed,
    429: RateLimited,
    502: Unavailable,
    503: Unavailable,
    504: Unavailable,
}


def error_for(response: httpx.Response) -> AthenaError:
    """The exception an error answer maps to, with the server's ``message``."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {"message": response.text[:500]}
    cls = _BY_STATUS.get(response.status_code, AthenaError)
    return cls(response.status_code, str(body.get("message", "")), body)
