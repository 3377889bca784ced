"""Status tiles of the executions list (numbers and their sparklines) per period, timed.

    uv run python -m bench.tiles --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/athena_bench_i20

On a database seeded by ``bench.seed`` (the bench user is a member of every workspace), times
``DashboardService.tiles`` for the largest workspace over each of the list's periods (all time,
30 days, 7 days, 24 h, 1 h), with and without a workflow filter: ``--reps`` calls each, median and
spread printed with the load average. Run the same command against two builds (say with
``PYTHONPATH=<other worktree>``) to compare them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

from sqlalchemy import func, select

from app.config import Settings, normalize_database_url
from app.db.models import Workflow, WorkflowExecution
from app.services import Services
from app.web.pages.executions.view import ExecutionView
from bench.seed import BENCH_EMAIL

PERIODS = ("", "30d", "7d", "24h", "1h")
STATUSES = ("running", "pending", "waiting", "paused", "failed", "completed", "cancelled")


async def run(url: str, reps: int) -> None:
    services = Services.build(Settings(database_url=url, redis_url=None))
    user = await services.accounts.load_user(await services.accounts.user_id_by_email(BENCH_EMAIL))
    assert user is not None
    async with services.db.read() as session:
        E = WorkflowExecution
        largest = select(E.workspace_id).group_by(E.workspace_id).order_by(func.count().desc()).limit(1)
        ws = (await session.execute(largest)).scalar_one()
        first_workflow = select(Workflow.uuid).where(Workflow.workspace_id == ws).limit(1)
        workflow = (await session.execute(first_workflow)).scalar_one()
    access = next(a for a in user.access.values() if a.workspace_id == ws)
    print(f"build: {services.dashboard.__module__} · load {os.getloadavg()[0]:.1f}")
    for with_workflow in (False, True):
        for period in PERIODS:
            query = {"workspace": str(access.workspace_uuid), "range": period}
            if with_workflow:
                query["workflow"] = str(workflow)
            view = ExecutionView.from_query(user, query)
            times = []
            for _ in range(reps):
                started = time.perf_counter()
                tiles = await services.dashboard.tiles(view)
                times.append((time.perf_counter() - started) * 1000)
            total = sum(tiles[s] for s in STATUSES)
            label = f"{period or 'all time'}{' + workflow' if with_workflow else ''}"
            print(
                f"{label:<22} total {total:>9,}  p50 {statistics.median(times):7.1f} ms"
                f"  [{min(times):.1f}-{max(times):.1f}]  buckets {len(tiles['spark']['running'])}"
            )
    await services.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(run(normalize_database_url(args.database_url), args.reps))


if __name__ == "__main__":
    main()
