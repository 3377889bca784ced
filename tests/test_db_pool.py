"""The PostgreSQL pool keeps the connections a burst opened (up to twice DATABASE_POOL_SIZE).

A pool of N plus N overflow closed each overflow connection as it was returned: under a steady
load above N concurrent checkouts the process connected and disconnected all the time, a few ms of
its event loop each (docs/benchmarks.md, goal 8)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, text

from app.services import Services
from tests.conftest import IS_POSTGRES


@pytest.mark.skipif(not IS_POSTGRES, reason="SQLite has no connection pool to churn")
async def test_a_second_burst_reuses_the_connections_the_first_one_opened(services: Services) -> None:
    connects = 0

    def count(*_: object) -> None:
        nonlocal connects
        connects += 1

    event.listen(services.db.engine.sync_engine, "connect", count)
    size = services.settings.db_pool_size
    burst = 2 * size  # all of them at once: beyond the old pool's N kept connections

    async def hold() -> None:
        async with services.db.read() as session:
            await session.execute(text("SELECT pg_sleep(0.05)"))

    try:
        await asyncio.gather(*(hold() for _ in range(burst)))
        opened = connects
        assert opened > size, opened  # the burst needed more than N connections at once
        for _ in range(3):
            await asyncio.gather(*(hold() for _ in range(burst)))
        assert connects == opened, f"{connects - opened} connection(s) opened again by later bursts"
    finally:
        event.remove(services.db.engine.sync_engine, "connect", count)
