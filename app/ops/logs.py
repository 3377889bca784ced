"""Structured logs: one JSON object per line, the request id on every line, secrets scrubbed.

``LOG_FORMAT=json`` (the default under ``athena serve``) or ``text``; ``LOG_LEVEL`` sets the level.
The request id comes from a sane ``X-Request-ID`` header or is generated, is echoed in the response
(and in the WebSocket handshake answer), and sits in a contextvar so every log line written while
the request or socket runs carries it, including uvicorn's access line.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import logging.config
import re
import uuid
from contextvars import ContextVar
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
request_id_var: ContextVar[str | None] = ContextVar("athena_request_id", default=None)
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

# Belt and braces: nothing should log a secret, but if a message or traceback ever carries one,
# it is masked before it leaves the process.
_REDACTIONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [redacted]"),
    (re.compile(r"ath_[A-Za-z0-9_-]{6,}"), "ath_[redacted]"),
    (re.compile(r"(?i)(://[^:/@\s]+:)[^@\s]+@"), r"\1[redacted]@"),
    (
        re.compile(
            r"(?i)((?:password|passwd|secret|token|api_key|cookie|authorization|session)[\"']?\s*[:=]\s*[\"']?)"
            r"[^\s\"',;&]+"
        ),
        r"\1[redacted]",
    ),
]

# LogRecord attributes that are not "extra" fields.
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def redact(text: str) -> str:
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def new_request_id(header_value: str | None) -> str:
    """Keep the caller's id when it is short and plain (so a proxy's id links its lines to ours)."""
    if header_value and _SANE_REQUEST_ID.match(header_value):
        return header_value
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", "request_id", ...extra}``, secrets redacted."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, _version, status = record.args
            entry.update(client=client, method=method, path=redact(str(path)), status=status)
        for key, value in vars(record).items():
            if key not in _RESERVED and key not in entry and key not in {"request_id", "color_message"}:
                entry[key] = value if isinstance(value, int | float | bool | type(None)) else redact(str(value))
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
        return redact(super().format(record))


def logging_config(fmt: str, level: str = "INFO") -> dict[str, Any]:
    """A dictConfig: one stderr handler on the root logger; uvicorn's loggers propagate to it."""
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"main": {"()": JsonFormatter if fmt == "json" else TextFormatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "main",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            name: {"handlers": [], "propagate": True, "level": level}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "athena", "litestar")
        },
    }


def configure_logging(fmt: str, level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(fmt, level))


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Litestar middleware (HTTP and WebSocket): sets the request id and echoes it to the client."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        header = next((v for k, v in scope.get("headers", ()) if k == b"x-request-id"), b"")
        request_id = new_request_id(header.decode("latin-1"))

        async def send_with_id(message: Message) -> None:
            if message["type"] in {"http.response.start", "websocket.accept"}:
                headers = [*message.get("headers", ())]
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        token = request_id_var.set(request_id)
        try:
            await app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)

    return middleware
