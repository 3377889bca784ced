"""Searching by the id a person sees (issue 19, item 2), on a database seeded by ``bench.seed``.
Prints figures; it is not a test.

    uv run python -m bench.seed --executions 200000 --node-runs 3 \\
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/athena_bench_ids
    uv run python -m bench.id_search --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/athena_bench_ids

For a few executions of the largest workspace: page 1 of the list with its total (the API's
``search``, what ``ExecutionService.page`` does) for the short id (its 8 characters, their first 6),
the end of the uuid (12), the start of the uuid (13 with the hyphen), the whole uuid and a text term
for comparison; and ``/executions/<8 characters>``'s lookup over all the user's workspaces. Service
time (in-process, p50 and p95 of ``--reps``) and database time (EXPLAIN ANALYZE of the same
statements: planning + execution, p50), which holds steadier on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics

from sqlalchemy import select

from app.domain.executions import queries as q
from app.domain.executions.lookup import lookup_ref
from app.domain.executions.services import Includes
from app.lib.pagination import PageRequest
from bench.scale import PER_PAGE, context, db_times, pct, timed

E = q.E


async def main(url: str, reps: int, samples: int) -> None:
    ctx = await context(url)
    services, user = ctx.services, ctx.user
    async with services.db.read() as session:
        total = (await session.execute(select(q.func.count()).select_from(E))).scalar_one()
        picked = (
            await session.execute(
                select(E.uuid).where(E.workspace_id == ctx.big_ws).order_by(E.id).offset(1000).limit(samples)
            )
        ).scalars()
        ids = [str(u) for u in picked]
    print(f"{total:,} executions; largest workspace id {ctx.big_ws}; {samples} sample ids; load {os.getloadavg()}")
    for label, term_of in (
        ("short id, 8 characters", lambda u: u[-8:]),
        ("short id, first 6", lambda u: u[-8:-2]),
        ("end of the uuid, 12", lambda u: u[-12:]),
        ("start of the uuid, 13", lambda u: u[:13]),
        ("whole uuid", lambda u: u),
        ("text term 'timeout'", lambda u: "timeout"),
    ):
        service, database, found = [], [], 0
        for execution_uuid in ids:
            filters = q.ExecutionFilters(workspace_ids=[ctx.big_ws], search=term_of(execution_uuid))

            async def call(f: q.ExecutionFilters = filters) -> object:
                return await services.executions.page(user, f, PageRequest(1, PER_PAGE), Includes())

            items, _ = await call()
            found += any(i["uuid"] == execution_uuid for i in items)
            service += await timed(call, reps)
            database += await db_times(services, call, max(2, reps // 4))
        print(
            f"list page 1 + total, {label:<24} service p50 {statistics.median(service):7.2f} ms"
            f"  p95 {pct(service, 95):7.2f} ms   DB p50 {statistics.median(database):7.2f} ms"
            f"   found {found}/{len(ids)}"
        )

    async def lookup(term: str) -> object:
        async with services.db.read() as session:
            return await lookup_ref(session, user, term)

    times = [t for u in ids for t in await timed(lambda u=u: lookup(u[-8:]), reps)]
    label = "/executions/<8 characters> lookup, all workspaces"
    print(f"{label}   p50 {statistics.median(times):7.2f} ms  p95 {pct(times, 95):7.2f} ms")
    await services.db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/athena_bench_ids")
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--samples", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.reps, args.samples))
