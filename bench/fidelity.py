"""Issue 20 at scale: first pages with their exact totals, the status filter on a table never
vacuumed, content search. Prints figures; it is not a test.

    uv run python -m bench.seed --no-vacuum --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/athena_bench_i20
    uv run python -m bench.fidelity --plant --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/athena_bench_i20

``--plant`` (once) writes the word ``kingfisher`` into the first node's output of every 100th
execution's data (~1 % of rows, through an UPDATE: the generated ``content_folded`` follows). Each
figure is the p50 (and p95) over ``--reps`` service calls (``ExecutionService.page``: the page's
rows and its exact total, in-process, without HTTP) in the largest workspace, repeated ``--runs``
times; median and spread across runs are printed, and the database's own time (EXPLAIN ANALYZE)
for the same statements. The vacuum state of the table is printed first: a table that autovacuum
has not reached yet has ``last_autovacuum`` empty.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import time
from typing import Any

from sqlalchemy import select, text

from app.config import normalize_database_url
from app.db.models import User
from app.domain.executions import queries as q
from app.domain.executions.services import Includes
from app.lib.pagination import PageRequest
from bench.scale import Context, Figures, context, db_times, pct, timed

PER_PAGE = 20
WORD = "kingfisher"


def combinations(ctx: Context, user_multiplai_id: str) -> list[tuple[str, q.ExecutionFilters]]:
    ws = ctx.big_ws
    base = q.ExecutionFilters(workspace_ids=[ws])
    month = {"date_from": ctx.now - dt.timedelta(days=30), "date_to": ctx.now}
    wf = {"workflow_ids": [ctx.workflow_of[ws]]}
    failed = {"statuses": ["failed"]}
    user = {"user_multiplai_id": user_multiplai_id}
    cases: dict[str, dict[str, Any]] = {
        "no filter": {},
        "status=failed": failed,
        "workflow": wf,
        "user": user,
        "30 days": month,
        "workflow+status": wf | failed,
        "status+30 days": failed | month,
        "workflow+status+30 days": wf | failed | month,
        "user+status+30 days": user | failed | month,
        f"search '{WORD}' (~1 %)": {"search": WORD},
        f"search '{WORD}'+status": {"search": WORD} | failed,
        f"search '{WORD}'+30 days": {"search": WORD} | month,
        "search 'timeout' (errors)": {"search": "timeout"},
    }
    return [(name, dataclasses.replace(base, **values)) for name, values in cases.items()]


async def plant(ctx: Context) -> None:
    t0 = time.perf_counter()
    async with ctx.services.db.write() as session:
        done = await session.execute(
            text(
                "UPDATE workflow_execution_data SET workflow_data = jsonb_set(workflow_data, '{0,output,note}',"
                " to_jsonb(CAST(:note AS text))) WHERE execution_id % 100 = 7"
            ),
            {"note": f"delivered by {WORD} courier"},
        )
    async with ctx.services.db.engine.connect() as conn:
        await conn.exec_driver_sql("ANALYZE workflow_execution_data")
        await conn.commit()
    print(f"planted '{WORD}' in {done.rowcount:,} data rows in {time.perf_counter() - t0:.1f}s")


async def vacuum_state(ctx: Context) -> None:
    async with ctx.services.db.read() as session:
        rows = await session.execute(
            text(
                "SELECT relname, n_live_tup, n_dead_tup, n_ins_since_vacuum, last_vacuum, last_autovacuum,"
                " (SELECT reloptions FROM pg_class c WHERE c.oid = s.relid) FROM pg_stat_user_tables s"
                " WHERE relname IN ('workflow_executions', 'workflow_execution_data', 'execution_day_counts')"
            )
        )
        for r in rows:
            print(
                f"  {r[0]}: live {r[1]:,} dead {r[2]:,} inserted since vacuum {r[3]:,};"
                f" last vacuum {r[4]}, last autovacuum {r[5]}; options {r[6]}"
            )


async def main_async(args: argparse.Namespace) -> None:
    ctx = await context(normalize_database_url(args.database_url))
    if args.plant:
        await plant(ctx)
    await vacuum_state(ctx)
    async with ctx.services.db.read() as session:
        multiplai_id = (await session.execute(select(User.multiplai_id).where(User.id == ctx.user.id))).scalar_one()
    svc = ctx.services.executions
    figures = Figures()
    for run in range(args.runs):
        for name, filters in combinations(ctx, multiplai_id or ""):

            async def call(f: q.ExecutionFilters = filters) -> Any:
                return await svc.page(ctx.user, f, PageRequest(1, PER_PAGE), Includes())

            values = await timed(call, args.reps)
            figures.add(f"page 1 + exact total p50 [{name}]", pct(values, 50))
            figures.add(f"page 1 + exact total p95 [{name}]", pct(values, 95))
            if run == 0:
                _, result = await call()
                figures.add(f"total [{name}]", result.total)
                db = await db_times(ctx.services, call, max(3, args.reps // 4))
                figures.add(f"DB time p50 [{name}]", pct(db, 50))
        print(f"run {run + 1}/{args.runs} done", flush=True)
    for name in figures.runs:
        print(figures.line(name, "" if name.startswith("total") else "ms"))
    await last_page_check(ctx)
    await ctx.services.close()


async def last_page_check(ctx: Context) -> None:
    """The last page and the one after it, for the largest workspace's failed executions."""
    svc = ctx.services.executions
    filters = q.ExecutionFilters(workspace_ids=[ctx.big_ws], statuses=["failed"])
    _, first = await svc.page(ctx.user, filters, PageRequest(1, 100), Includes())
    last_page = max(1, -(-first.total // 100))
    t0 = time.perf_counter()
    rows, _ = await svc.page(ctx.user, filters, PageRequest(last_page, 100), Includes())
    took = (time.perf_counter() - t0) * 1000
    after, _ = await svc.page(ctx.user, filters, PageRequest(last_page + 1, 100), Includes())
    print(
        f"status=failed in the largest workspace: total {first.total:,}, last_page {last_page:,} holds"
        f" {len(rows)} rows ({took:.0f} ms by page number), page {last_page + 1:,} holds {len(after)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/athena_bench_i20")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--plant", action="store_true", help=f"write '{WORD}' into ~1 %% of the node outputs first")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
