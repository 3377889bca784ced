"""``EventMessage``: the envelope of one committed event (docs/events.md), built by ONE function,
``event_message``, whether the event was just committed (``CommittedEvent.to_message``) or is read
back from its row (``replay.message_from_row``) or arrives from another instance (``decode``).

A frozen msgspec struct with a read-only mapping view (``message["seq"]``) like ``ExecutionSummary``;
``encode`` gives the JSON the API socket and the bus send."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec

from app.domain.executions.summary import ExecutionSummary


class EventMessage(msgspec.Struct, frozen=True):
    seq: int
    type: str
    workspace_uuid: str
    execution_uuid: str | None
    version: int
    status: str | None
    occurred_at: str
    execution: ExecutionSummary

    def __getitem__(self, key: str) -> Any:
        if key not in _FIELDS:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in _FIELDS else default

    def __contains__(self, key: object) -> bool:
        return key in _FIELDS

    def keys(self) -> tuple[str, ...]:
        return self.__struct_fields__

    def __iter__(self) -> Iterator[str]:
        return iter(self.__struct_fields__)

    def to_dict(self) -> dict[str, Any]:
        plain: dict[str, Any] = msgspec.to_builtins(self)  # a struct becomes a dict
        return plain


_FIELDS = frozenset(EventMessage.__struct_fields__)
_encoder = msgspec.json.Encoder()


def event_message(
    *, seq: int, type: str, workspace_uuid: str, version: int, occurred_at: str, execution: ExecutionSummary
) -> EventMessage:
    """THE envelope: ``execution_uuid`` and ``status`` are the payload's."""
    return EventMessage(
        seq=seq,
        type=type,
        workspace_uuid=workspace_uuid,
        execution_uuid=execution.get("uuid"),
        version=version,
        status=execution.get("status"),
        occurred_at=occurred_at,
        execution=execution,
    )


def encode(message: EventMessage) -> bytes:
    """Compact UTF-8 JSON, the same bytes for every socket."""
    return _encoder.encode(message)


def decode(message: dict[str, Any] | EventMessage) -> EventMessage:
    """A message another instance sent (JSON-decoded) as the struct it was encoded from."""
    if isinstance(message, EventMessage):
        return message
    return msgspec.convert(message, EventMessage)
