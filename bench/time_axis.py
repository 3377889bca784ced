"""Counts and metrics on each ``time_axis`` at scale (PostgreSQL), with the plan of each statement.

    uv run python -m bench.time_axis [--executions 500000] [--workspaces 4] [--repeat 3] \
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test]

Fills a fresh database like bench/metrics.py (executions over the last 60 days, 10% still running),
then for one workspace and the last 30 days prints, per axis, the median time of the count endpoint's
query and of the executions metrics (by day), and the index each count statement reads (EXPLAIN
ANALYZE, normal planner settings: no ``enable_seqscan = off`` here).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import uuid
from typing import Any

import asyncpg
from sqlalchemy import event

from app.config import Settings
from app.db.migrate import upgrade_to_head
from app.domain.executions.queries import ExecutionFilters
from app.domain.metrics.services import MetricsScope
from app.services import Services
from bench.metrics import build, timed

AXES = ("created", "started", "stopped", "active")


async def plan_lines(services: Services, call: Any) -> list[str]:
    """The scan lines of the plans of the statements ``call`` sends."""
    statements: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        if "workflow_executions" in statement and statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    engine = services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        await call()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    lines = []
    async with services.db.engine.connect() as conn:
        for statement, parameters in statements:
            rows = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            plan = [r[0] for r in rows]
            lines += [p.strip() for p in plan if re.search(r"Scan|Execution Time", p)]
    return lines


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executions", type=int, default=500_000)
    parser.add_argument("--workspaces", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    base = args.database_url.replace("postgresql+asyncpg://", "postgresql://")
    name = f"athena_bench_axis_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(base)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = args.database_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        os.environ["DATABASE_URL"] = url
        await asyncio.to_thread(upgrade_to_head)
        services = Services.build(Settings(database_url=url, redis_url=None, secret_key="bench"))
        user, ws_ids = await build(services, args.workspaces, args.executions)
        now = dt.datetime.now(dt.UTC)
        start = now - dt.timedelta(days=30)
        first = user.access[ws_ids[0]].workspace_uuid
        for axis in AXES:
            filters = ExecutionFilters(workspace_ids=[ws_ids[0]], date_from=start, date_to=now, time_axis=axis)
            scope = MetricsScope.resolve(
                user, workspace_uuid=first, organization_multiplai_id=None, date_from=start.isoformat(),
                date_to=now.isoformat(), interval="day", time_axis=axis,
            )  # fmt: skip
            count = await services.executions.count(user, filters)
            print(f"\n== {axis}: {count['count']:,} executions in the range")
            await timed(f"count ({axis})", args.repeat, lambda f=filters: services.executions.count(user, f))
            await timed(f"metrics by day ({axis})", args.repeat, lambda s=scope: services.metrics.executions(s))
            for line in await plan_lines(services, lambda f=filters: services.executions.count(user, f)):
                print("   ", line)
        await services.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
