"""Domain errors and the handlers that turn every failure into a clear JSON answer.

Bodies follow the seed API (Laravel-style): ``{"message": ..., "errors": {field: [msg]}}`` for 422.
Nothing unexpected ever leaks a stack trace or a database error; it is logged instead.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from asyncpg.exceptions import InvalidCatalogNameError
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.status_codes import (
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

logger = logging.getLogger("athena.errors")
# A handler's ``opt`` key for its query parameters' names as sent, by argument name
# (``{"workflow_uuids_brackets": "workflow_uuids[]"}``); filled by ``app.lib.query_forms``.
QUERY_ALIASES_KEY = "_athena_query_aliases"


class AppError(Exception):
    status_code = 400

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"message": self.message, **self.extra}


class NotFoundError(AppError):
    status_code = HTTP_404_NOT_FOUND

    def __init__(self, resource: str = "Resource") -> None:
        super().__init__(f"{resource} not found.")


class ForbiddenError(AppError):
    status_code = 403


class ConflictError(AppError):
    status_code = HTTP_409_CONFLICT


class FieldValidationError(AppError):
    """422 naming the offending field(s)."""

    status_code = HTTP_422_UNPROCESSABLE_ENTITY

    def __init__(self, field: str, message: str, **more: str) -> None:
        errors = {field: [message]} | {k: [v] for k, v in more.items()}
        super().__init__(message, errors=errors)


def _json(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(content=body, status_code=status, media_type=MediaType.JSON, headers=headers)


def app_error_handler(_: Request[Any, Any, Any], exc: AppError) -> Response[Any]:
    return _json(exc.body(), exc.status_code, getattr(exc, "headers", None))


_NAMED_FIELD = re.compile(r"field `([^`]+)`")


def _error_key(key: str, message: str) -> str:
    """Name the field itself when msgspec reports it in the message of its parent object."""
    named = _NAMED_FIELD.search(message)
    if named is None:
        return key
    return named.group(1) if key == "data" else f"{key}.{named.group(1)}"


_BODY_PATH = re.compile(r"`\$\.data\.([^`]+)`$")


def _body_path(exc: ValidationException) -> str | None:
    """The body field's path from msgspec's own message. Litestar strips every ``data.`` from the
    key it builds, so ``execution_data.metadata`` would otherwise be reported as ``execution_metadata``."""
    match = _BODY_PATH.search(str(exc.__cause__)) if isinstance(exc.__cause__, msgspec.ValidationError) else None
    return match.group(1) if match else None


def _query_aliases(request: Request[Any, Any, Any]) -> dict[str, str]:
    handler = request.scope.get("route_handler")
    aliases = handler.opt.get(QUERY_ALIASES_KEY) if handler is not None else None
    return aliases if isinstance(aliases, dict) else {}


def validation_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors: dict[str, list[str]] = {}
    body_path = _body_path(exc)
    aliases = _query_aliases(request)
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            message = str(item.get("message", "is invalid"))
            key = str(item.get("key") or "body")
            if item.get("source") == "body" and body_path is not None:
                key = body_path
            elif item.get("source") == "query":
                # Litestar names a query parameter by the handler's argument: name it as sent.
                key = aliases.get(key, key)
            errors.setdefault(_error_key(key, message), []).append(message)
    if not errors and isinstance(exc.__cause__, KeyError) and exc.__cause__.args:
        # Litestar reports a missing required parameter without a key; its name is the KeyError's.
        name = str(exc.__cause__.args[0])
        message = f"The {name} field is required."
        return _json({"message": message, "errors": {name: [message]}}, HTTP_422_UNPROCESSABLE_ENTITY)
    if not errors:
        errors["body"] = [str(exc.detail)]
    first_key, first_msgs = next(iter(errors.items()))
    return _json(
        {"message": f"The {first_key} field is invalid: {first_msgs[0]}", "errors": errors},
        HTTP_422_UNPROCESSABLE_ENTITY,
    )


def http_error_handler(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    headers = dict(exc.headers or {})
    if isinstance(exc, NotAuthorizedException):
        headers.setdefault("WWW-Authenticate", "Bearer")
    body: dict[str, Any] = {"message": exc.detail}
    return _json(body, exc.status_code, headers)


# PostgreSQL error codes that mean "not now" rather than "never": 08 connection exceptions, 53
# insufficient resources (53300 too many connections), 57P operator intervention (57P01 admin
# shutdown, 57P03 starting up or shutting down), 55000 with the database not accepting connections,
# 3D000 a database that is not there (yet). asyncpg raises these at connect time with no wrapper
# class SQLAlchemy recognises, so they arrived as a bare DBAPIError (a 500 without Retry-After).
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P", "3D000")


def _database_unavailable(exc: DBAPIError) -> bool:
    if isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated:
        return True
    sqlstate = str(getattr(exc.orig, "sqlstate", None) or "")
    if sqlstate == "55000":  # object not in prerequisite state: only its connect-time meaning
        return "not currently accepting connections" in str(exc.orig)
    return sqlstate.startswith(_UNAVAILABLE_SQLSTATES)


def database_error_handler(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Any]:
    if _database_unavailable(exc):
        logger.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc.orig)
        return _json(
            {"message": "The database is unavailable right now; nothing was changed. Try again shortly."},
            HTTP_503_SERVICE_UNAVAILABLE,
            {"Retry-After": "2"},
        )
    if str(getattr(exc.orig, "sqlstate", None) or "").startswith("22"):
        # PostgreSQL "data exception": the client sent a value it cannot store (a NUL character in
        # text or JSON, a number out of range). Bad input, not a server fault.
        logger.warning("data exception on %s %s: %s", request.method, request.url.path, exc.orig)
        message = "A value in the request cannot be stored (for example a NUL character or a number out of range)."
        return _json({"message": message, "errors": {"body": [message]}}, HTTP_422_UNPROCESSABLE_ENTITY)
    return internal_error_handler(request, exc)


def connection_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The database refused or dropped the connection before SQLAlchemy could wrap the error."""
    logger.warning("backend unavailable on %s %s: %r", request.method, request.url.path, exc)
    return _json(
        {"message": "The database is unavailable right now; nothing was changed. Try again shortly."},
        HTTP_503_SERVICE_UNAVAILABLE,
        {"Retry-After": "2"},
    )


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _json({"message": "Internal server error."}, HTTP_500_INTERNAL_SERVER_ERROR)


exception_handlers: dict[Any, Any] = {
    AppError: app_error_handler,
    ValidationException: validation_handler,
    HTTPException: http_error_handler,
    DBAPIError: database_error_handler,
    OSError: connection_error_handler,
    InvalidCatalogNameError: connection_error_handler,
    TimeoutError: connection_error_handler,
    HTTP_500_INTERNAL_SERVER_ERROR: internal_error_handler,
    Exception: internal_error_handler,
}
