"""Where committed events go after commit (the real-time hub, app/realtime/hub.py)."""

from __future__ import annotations

import logging
from typing import Protocol

from app.domain.events.recorder import CommittedEvent

logger = logging.getLogger("athena.events")


class EventPublisher(Protocol):
    async def publish(self, events: list[CommittedEvent]) -> None: ...


async def publish_safely(publisher: EventPublisher, events: list[CommittedEvent]) -> None:
    """Publishing happens after commit and must never fail the request: the change is saved and
    clients recover by replaying from the database."""
    if not events:
        return
    try:
        await publisher.publish(events)
    except Exception:
        logger.exception("publishing %d event(s) failed; clients will catch up by replay", len(events))
