"""Metrics at scale: 1M executions on PostgreSQL, then the metrics queries for one workspace.

    uv run python -m bench.metrics [--executions 1000000] [--workspaces 4] [--repeat 5] \
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test]

Creates its own database on that server (dropped at the end unless --keep), spreads the executions
over the last 60 days across the workspaces (8 workflows each), adds a decided approval to 5% of
them and node runs to 10%, runs ANALYZE, then prints the median time of each metrics call and the
plan of the counts query (which index, how many buffers).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import time
import uuid
from typing import Any

import asyncpg
from sqlalchemy import text

from app.config import Settings
from app.db.migrate import upgrade_to_head
from app.db.models import Role
from app.domain.metrics.services import MetricsScope
from app.domain.workflows.schemas import NodeIn, WorkflowCreate
from app.services import Services

FILL = """
INSERT INTO workflow_executions (uuid, workspace_id, workflow_id, status, started_at, stopped_at,
                                 created_at, updated_at, version)
SELECT gen_random_uuid(), w.workspace_id, w.id,
       (ARRAY['completed','completed','completed','completed','completed','completed','completed',
              'failed','cancelled','running'])[1 + (g % 10)],
       t, CASE WHEN g % 10 = 9 THEN NULL ELSE t + make_interval(secs => 1 + (g::bigint * 7919 % 600)) END,
       t, t, 2
FROM generate_series(1, $1) AS g
CROSS JOIN LATERAL (SELECT now() - make_interval(secs => (g::bigint * 104729) % (60 * 86400)) AS t) AS ts
JOIN workflows w ON w.id = (SELECT min(id) FROM workflows) + (g % $2)
"""
APPROVALS = """
INSERT INTO workflow_approvals (uuid, execution_id, workspace_id, node_id, title, high_risk, status,
                                requested_at, decided_at, created_at, updated_at)
SELECT gen_random_uuid(), e.id, e.workspace_id, 'review', 'Review', false,
       CASE WHEN e.id % 7 = 0 THEN 'rejected' ELSE 'approved' END,
       e.started_at, e.started_at + make_interval(secs => 5 + (e.id % 3600)), e.created_at, e.created_at
FROM workflow_executions e WHERE e.id % 20 = 0 AND e.started_at IS NOT NULL
"""
NODE_RUNS = """
INSERT INTO workflow_execution_data (uuid, execution_id, workflow_data, metadata, created_at, updated_at)
SELECT gen_random_uuid(), e.id,
       jsonb_build_array(
         jsonb_build_object('node_id', 'fetch', 'node_name', 'Fetch', 'status', 'success',
                            'started_at', e.started_at, 'stopped_at', e.started_at + interval '2 seconds'),
         jsonb_build_object('node_id', 'post', 'node_name', 'Post',
                            'status', CASE WHEN e.status = 'failed' THEN 'error' ELSE 'success' END,
                            'started_at', e.started_at + interval '2 seconds', 'stopped_at', e.stopped_at)),
       '{}'::jsonb, e.created_at, e.created_at
FROM workflow_executions e WHERE e.id % 10 = 0 AND e.stopped_at IS NOT NULL
"""


async def build(services: Services, workspaces: int, executions: int) -> tuple[Any, list[int]]:
    user = None
    for i in range(workspaces):
        ws = await services.accounts.create_workspace(f"Bench {i}", "bench-org")
        user = await services.accounts.create_user(
            "bench@example.test", "bench-password", workspace=str(ws.uuid), role=Role.ADMIN
        )
    assert user is not None
    token = await services.accounts.create_token(user.id, name="bench")
    current = await services.accounts.authenticate_token(token)
    assert current is not None
    for ws_id in current.workspace_ids:
        access = current.access[ws_id]
        for n in range(8):
            await services.workflows.create_workflow(
                current,
                WorkflowCreate(workspace_uuid=access.workspace_uuid, name=f"Flow {n}", nodes=[NodeIn(id="fetch")]),
            )
    async with services.db.engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        started = time.perf_counter()
        await raw.execute("SET synchronous_commit = off")
        await raw.execute(FILL.replace("$1", str(executions)).replace("$2", str(workspaces * 8)))
        await raw.execute(APPROVALS)
        await raw.execute(NODE_RUNS)
        await raw.execute("VACUUM ANALYZE")
        print(f"filled {executions:,} executions in {time.perf_counter() - started:.1f} s")
    return current, current.workspace_ids


async def existing(services: Services) -> tuple[Any, list[int]]:
    user_id = await services.accounts.check_password("bench@example.test", "bench-password")
    current = await services.accounts.authenticate_token(await services.accounts.create_token(user_id, name="bench"))
    assert current is not None
    return current, current.workspace_ids


async def timed(label: str, repeat: int, call: Any) -> None:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    print(f"{label:<52} median {statistics.median(times):7.1f} ms  (min {min(times):.1f}, max {max(times):.1f})")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executions", type=int, default=1_000_000)
    parser.add_argument("--workspaces", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--keep", action="store_true", help="keep the database (its name is printed)")
    parser.add_argument("--reuse", metavar="NAME", help="measure a database kept by an earlier --keep run")
    args = parser.parse_args()
    base = args.database_url.replace("postgresql+asyncpg://", "postgresql://")
    name = args.reuse or f"athena_bench_metrics_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(base)
    if not args.reuse:
        await admin.execute(f'CREATE DATABASE "{name}"')
    url = args.database_url.rsplit("/", 1)[0] + f"/{name}"
    print(f"database {name}")
    try:
        os.environ["DATABASE_URL"] = url
        await asyncio.to_thread(upgrade_to_head)
        services = Services.build(Settings(database_url=url, redis_url=None, secret_key="bench"))
        if args.reuse:
            user, ws_ids = await existing(services)
        else:
            user, ws_ids = await build(services, args.workspaces, args.executions)
        async with services.db.read() as session:
            total = (await session.execute(text("SELECT count(*) FROM workflow_executions"))).scalar_one()
        print(f"{total:,} executions, {len(ws_ids)} workspaces")
        first = user.access[ws_ids[0]].workspace_uuid
        now = dt.datetime.now(dt.UTC)

        def scope(interval: str, days: float, org: bool = False) -> MetricsScope:
            return MetricsScope.resolve(
                user, workspace_uuid=None if org else first, organization_multiplai_id="bench-org" if org else None,
                date_from=(now - dt.timedelta(days=days)).isoformat(), date_to=now.isoformat(), interval=interval,
            )  # fmt: skip

        m = services.metrics
        await timed("executions, 1 workspace, 30 days by day", args.repeat, lambda: m.executions(scope("day", 30)))
        await timed("executions, 1 workspace, 24 h by hour", args.repeat, lambda: m.executions(scope("hour", 1)))
        await timed("executions, current hour (the live poll)", args.repeat,
                    lambda: m.executions(scope("hour", 1).current()))  # fmt: skip
        await timed("executions, organization (all), 30 days by day", args.repeat,
                    lambda: m.executions(scope("day", 30, org=True)))  # fmt: skip
        await timed("workflows + nodes, 1 workspace, 30 days", args.repeat, lambda: m.workflows(scope("day", 30)))
        s = scope("day", 30)
        async with services.db.engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            plan = await raw.fetch(
                "EXPLAIN (ANALYZE, BUFFERS) SELECT date_trunc('day', timezone('UTC', created_at)), status, count(*) "
                "FROM workflow_executions WHERE workspace_id = $1 AND created_at >= $2 AND created_at <= $3 "
                "AND deleted_at IS NULL GROUP BY 1, 2",
                s.workspace_ids[0], s.date_from, s.date_to,
            )  # fmt: skip
            print("\n".join(r[0] for r in plan))
        await services.close()
    finally:
        if not args.keep and not args.reuse:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
