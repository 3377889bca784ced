"""Bulk operations and the durable stop, in process: the dry run of N executions, the tracked run
that applies it in batches, and the cost of a single stop's intent (the extra transaction before
its cascade). Prints figures; asserts nothing.

    uv run python -m bench.operations [--database-url URL] [--count 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

from sqlalchemy import insert

from app.config import Settings
from app.db.models import WorkflowExecution
from app.db.models.base import new_uuid, utcnow
from app.domain.operations.intents import open_stop_intent
from app.services import Services
from bench.common import drop_database, fresh_database, machine_load, seed

E = WorkflowExecution


async def _running(services: Services, workspace_id: int, workflow_id: int, count: int) -> list[str]:
    now = utcnow()
    rows = [
        {"uuid": new_uuid(), "workspace_id": workspace_id, "workflow_id": workflow_id, "status": "running",
         "version": 1, "started_at": now, "created_at": now, "updated_at": now}
        for _ in range(count)
    ]  # fmt: skip
    async with services.db.write() as session:
        await session.execute(insert(E), rows)
    return [str(r["uuid"]) for r in rows]


async def run(base_url: str, count: int, repeat: int) -> None:
    from sqlalchemy import select

    from app.db.models import Workflow

    url = await fresh_database(base_url)
    seeded = await seed(url)
    services = Services.build(Settings(database_url=url, redis_url=None))
    await services.start()
    try:
        user = await services.accounts.authenticate_token(seeded.token)
        assert user is not None
        async with services.db.read() as session:
            workflow_id = (
                await session.execute(select(Workflow.id).where(Workflow.uuid == uuid.UUID(seeded.workflow_uuid)))
            ).scalar_one()
        dry, real, intent = [], [], []
        for _ in range(repeat):
            uuids = await _running(services, seeded.workspace_id, workflow_id, count)
            began = time.perf_counter()
            await services.operations.dry_run(user, "stop", uuids)
            dry.append(time.perf_counter() - began)
            began = time.perf_counter()
            await services.operations.start(user, "stop", uuids, "bench", count)
            while services.operations.runner.tasks:
                await asyncio.gather(*services.operations.runner.tasks.values())
            real.append(time.perf_counter() - began)
            (target,) = await _running(services, seeded.workspace_id, workflow_id, 1)

            async def accept(session, target=target):  # type: ignore[no-untyped-def]
                row = await services.executions.load_for_write(session, user, uuid.UUID(target))
                return await open_stop_intent(session, user, row, target, None, utcnow()), []

            began = time.perf_counter()
            await services.executions.run_write(accept)
            intent.append(time.perf_counter() - began)
        print(f"database: {url.split(':', 1)[0]}; load: {machine_load()}; {count} executions, {repeat} runs")
        print(f"dry run of {count} stops: median {statistics.median(dry) * 1000:.0f} ms, max {max(dry) * 1000:.0f} ms")
        print(
            f"tracked run of {count} stops (batches of {services.operations.runner.batch_size}): "
            f"median {statistics.median(real):.2f} s ({count / statistics.median(real):.0f} executions/s)"
        )
        print(f"a stop's intent transaction: median {statistics.median(intent) * 1000:.1f} ms")
    finally:
        await services.close()
        await drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default="sqlite+aiosqlite:///")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.database_url, args.count, args.repeat))


if __name__ == "__main__":
    main()
