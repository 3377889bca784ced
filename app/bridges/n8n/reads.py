"""The runner's concurrent reads of n8n executions, and which new ones it may create together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from app.bridges.n8n.client import N8nClient, N8nUnavailable
from app.bridges.n8n.mapping import OPEN_N8N, parent_id

logger = logging.getLogger("athena.bridge.n8n")
LATER: dict[str, Any] = {}  # a single read that timed out (its identity marks it; never mirrored)


def reading(client: N8nClient, ids: Iterable[int], concurrency: int) -> dict[int, asyncio.Task[dict[str, Any] | None]]:
    """A task per id reading it from n8n, ``concurrency`` in flight, lowest ids first. A read that
    times out answers ``LATER``: one slow read (n8n busy with a burst) holds its execution, not the
    poll; a 404 answers None."""
    gate = asyncio.Semaphore(concurrency)

    async def one(n8n_id: int) -> dict[str, Any] | None:
        async with gate:
            try:
                return await client.execution(n8n_id)
            except N8nUnavailable as exc:
                logger.info("n8n execution %s: read again next poll: %s", n8n_id, exc)
                return LATER

    return {i: asyncio.create_task(one(i), name=f"n8n-read-{i}") for i in ids}


async def settle(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Reads a poll no longer needs (it failed midway): cancelled, and their errors collected."""
    pending = list(tasks)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def batchable(execution: dict[str, Any]) -> bool:
    """A finished execution with no parent nor retried one (those are linked to rows created before
    them): it can be created with its neighbours in one transaction."""
    status = execution.get("status") or "unknown"
    return (
        status not in OPEN_N8N
        and bool(execution.get("stoppedAt"))
        and parent_id(execution) is None
        and execution.get("retryOf") in (None, "")
    )
