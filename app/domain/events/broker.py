"""Where committed events go after commit. The real-time pipeline plugs its broker in here."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from app.domain.events.recorder import CommittedEvent

logger = logging.getLogger("athena.events")


class EventPublisher(Protocol):
    async def publish(self, events: list[CommittedEvent]) -> None: ...


class InProcessBroker:
    """Fan-out to in-process subscriber queues (the embedded default, one process)."""

    def __init__(self, max_queue: int = 10_000) -> None:
        self._subscribers: set[asyncio.Queue[CommittedEvent]] = set()
        self._max_queue = max_queue

    def subscribe(self) -> asyncio.Queue[CommittedEvent]:
        queue: asyncio.Queue[CommittedEvent] = asyncio.Queue(self._max_queue)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[CommittedEvent]) -> None:
        self._subscribers.discard(queue)

    async def publish(self, events: list[CommittedEvent]) -> None:
        for queue in list(self._subscribers):
            for event in events:
                try:
                    queue.put_nowait(event)
                except asyncio.QueueFull:
                    logger.warning("subscriber queue full; dropping it (it must resync from the database)")
                    self._subscribers.discard(queue)
                    break


async def publish_safely(publisher: EventPublisher, events: list[CommittedEvent]) -> None:
    """Publishing happens after commit and must never fail the request: the change is saved and
    clients recover by replaying from the database."""
    if not events:
        return
    try:
        await publisher.publish(events)
    except Exception:
        logger.exception("publishing %d event(s) failed; clients will catch up by replay", len(events))
