"""Channel names of the bus (docs/events.md). An event's message is ``CommittedEvent.to_message``; replay
from the database is ``app.domain.events.replay``."""

from __future__ import annotations

import uuid as uuid_lib

CHANNEL_PREFIX = "athena:workspace:"
CHANNEL_PATTERN = CHANNEL_PREFIX + "*"


def channel_for(workspace_uuid: uuid_lib.UUID | str) -> str:
    return f"{CHANNEL_PREFIX}{workspace_uuid}"
