"""Channel names of the bus and the message of a committed event (docs/events.md). Replay from the
database is ``app.domain.events.replay``."""

from __future__ import annotations

import uuid as uuid_lib
from typing import Any

from app.domain.events.recorder import CommittedEvent

CHANNEL_PREFIX = "athena:workspace:"
CHANNEL_PATTERN = CHANNEL_PREFIX + "*"


def channel_for(workspace_uuid: uuid_lib.UUID | str) -> str:
    return f"{CHANNEL_PREFIX}{workspace_uuid}"


def message_from_event(event: CommittedEvent) -> dict[str, Any]:
    return event.to_message()
