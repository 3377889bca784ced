"""Lists, counts, search and stop cascade at scale (issue 6, goals 4-7), on a database seeded by
``bench.seed``. Prints figures; it is not a test.

    uv run python -m bench.seed                     # once: 1,000,000 executions into athena_bench
    uv run python -m bench.seed --executions 10000 --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/athena_bench_10k
    uv run python -m bench.scale [--runs 5] [--reps 20] [--database-url ...] [--small-url ...] [--goals 4567]

Server time is the service call measured in-process (what a request spends in the database and in
Python, without HTTP and JSON encoding); the stop cascade is measured over HTTP and a WebSocket on a
real server process. Each figure is the p95 (or p50) of ``--reps`` calls within one run; the run is
repeated ``--runs`` times and the median and the spread (min-max) across runs are printed. Ratios
compare figures of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import json
import math
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import func, select

from app.config import Settings, normalize_database_url
from app.db.engine import Database
from app.db.models import Workspace
from app.domain.executions import queries as q
from app.domain.executions.listing import Cursor, capped_count
from app.domain.executions.listing import list_total as list_total_of
from app.domain.executions.services import ExecutionService, Includes
from app.lib.identity import CurrentUser
from app.lib.pagination import PageRequest
from app.services import Services
from bench.seed import BENCH_EMAIL

E = q.E
PER_PAGE = 50
DEEP_PAGE = 5000


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def timed(call: Callable[[], Awaitable[Any]], reps: int) -> list[float]:
    await call()  # warm (plan cache, buffers)
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        await call()
        out.append((time.perf_counter() - t0) * 1000)
    return out


async def db_times(
    services: Services, call: Callable[[], Awaitable[Any]], reps: int, *, seq_scan: bool = False
) -> list[float]:
    """Database time of one call: its SELECTs captured once, then each run ``reps`` times under
    EXPLAIN ANALYZE; a rep is the sum of their planning + execution times. Python, the driver and
    the wire are left out, so on a shared machine this is the steadier figure. ``SET`` statements
    the call ran (``Database.serial_read``'s ``SET LOCAL``) are replayed before them, not timed."""
    from sqlalchemy import event

    if services.db.is_sqlite:
        return [math.nan]  # SQLite runs in-process: its time is the service time above
    statements: list[tuple[str, Any]] = []

    def before(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH", "SET ")):
            statements.append((statement, params))

    engine = services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        await call()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    out = []
    async with services.db.engine.connect() as conn:
        if seq_scan:
            await conn.exec_driver_sql("SET enable_indexscan = off")
            await conn.exec_driver_sql("SET enable_bitmapscan = off")
        for _ in range(reps + 1):
            total = 0.0
            for statement, params in statements:
                if statement.lstrip().upper().startswith("SET "):
                    await conn.exec_driver_sql(statement, params)
                    continue
                raw = (await conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params)).scalar()
                plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]
                total += plan["Planning Time"] + plan["Execution Time"]
            out.append(total)
        await conn.rollback()
    return out[1:]  # the first one warms the buffers


@dataclass
class Figures:
    """name -> one value per run."""

    runs: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, value: float) -> None:
        self.runs.setdefault(name, []).append(value)

    def line(self, name: str, unit: str = "ms") -> str:
        v = self.runs[name]
        return f"{name:<58} median {statistics.median(v):9.2f} {unit}   spread {min(v):8.2f}-{max(v):.2f}"


class NullPublisher:
    async def publish(self, events: list[Any]) -> None:  # reads only: nothing to publish
        return None


@dataclass
class Context:
    services: Services
    user: CurrentUser
    big_ws: int
    mid_ws: int
    workflow_of: dict[int, int]
    now: dt.datetime


async def context(url: str) -> Context:
    services = Services.build(Settings(database_url=url, redis_url=None))
    user_id = await services.accounts.user_id_by_email(BENCH_EMAIL)
    user = await services.accounts.load_user(user_id)
    assert user is not None
    async with services.db.read() as session:
        sizes = (
            await session.execute(
                select(
                    Workspace.id, select(func.count()).where(E.workspace_id == Workspace.id).scalar_subquery()
                ).order_by(Workspace.id)
            )
        ).all()
        ranked = sorted(sizes, key=lambda r: -r[1])
        big, mid = ranked[0][0], ranked[len(ranked) // 2][0]
        workflow_of = {}
        for ws in (big, mid):
            workflow_of[ws] = (
                await session.execute(
                    select(E.workflow_id)
                    .where(E.workspace_id == ws)
                    .group_by(E.workflow_id)
                    .order_by(func.count().desc())
                    .limit(1)
                )
            ).scalar_one()
        now = (await session.execute(select(func.max(E.created_at)))).scalar_one()
    return Context(services, user, big, mid, workflow_of, now)


def filter_combinations(ctx: Context, ws: int) -> list[tuple[str, q.ExecutionFilters]]:
    out = []
    for wf, status, dates, search in itertools.product((False, True), repeat=4):
        name = "+".join(n for n, on in (("workflow", wf), ("status", status), ("30d", dates), ("search", search)) if on)
        out.append(
            (
                name or "workspace only",
                q.ExecutionFilters(
                    workspace_ids=[ws],
                    workflow_ids=[ctx.workflow_of[ws]] if wf else None,
                    statuses=["failed"] if status else None,
                    date_from=ctx.now - dt.timedelta(days=30) if dates else None,
                    date_to=ctx.now if dates else None,
                    search="timeout" if search else None,
                ),
            )
        )
    return out


async def goal4_lists(ctx: Context, figures: Figures, reps: int) -> None:
    svc = ctx.services.executions
    page1_all, page1_db = [], []
    for name, filters in filter_combinations(ctx, ctx.big_ws):
        call = lambda f=filters: svc.page(ctx.user, f, PageRequest(1, PER_PAGE), Includes())  # noqa: E731
        values = await timed(call, reps)
        db = await db_times(ctx.services, call, reps // 2)
        page1_all.append(pct(values, 95))
        page1_db.append(pct(db, 95))
        figures.add(f"4 page 1 p95 [{name}]", pct(values, 95))
        figures.add(f"4 page 1 DB time p95 [{name}]", pct(db, 95))
    figures.add("4 page 1 p95, worst of the 16 combinations", max(page1_all))
    figures.add("4 page 1 DB time p95, worst of the 16 combinations", max(page1_db))

    base = q.ExecutionFilters(workspace_ids=[ctx.big_ws])
    async with ctx.services.db.read() as session:
        rows = (await session.execute(select(func.count()).where(*q.filter_conditions(base)))).scalar_one()
        deep = min(DEEP_PAGE, rows // PER_PAGE)  # the SQLite 100k variant has ~550 pages
        boundary = (
            await session.execute(
                select(E.id, E.created_at)
                .where(*q.filter_conditions(base))
                .order_by(*q.order_by(base))
                .offset((deep - 1) * PER_PAGE - 1)
                .limit(1)
            )
        ).one()
    cursor = Cursor("created_at", "desc", boundary.created_at, boundary.id).encode()
    page1 = await timed(lambda: svc.page(ctx.user, base, PageRequest(1, PER_PAGE), Includes()), reps)
    deep_keyset = await timed(lambda: svc.page(ctx.user, base, PageRequest(deep, PER_PAGE), Includes(), cursor), reps)
    deep_offset = await timed(lambda: svc.page(ctx.user, base, PageRequest(deep, PER_PAGE), Includes()), reps)

    async def naive_offset() -> None:
        # Before this change: the full summary select with OFFSET (every skipped row joined and read).
        async with ctx.services.db.read() as session:
            conds = q.filter_conditions(base)
            await session.execute(
                q.summary_select()
                .where(*conds)
                .order_by(*q.order_by(base))
                .limit(PER_PAGE)
                .offset((deep - 1) * PER_PAGE)
            )

    naive = await timed(naive_offset, max(3, reps // 4))
    db_page1 = await db_times(
        ctx.services, lambda: svc.page(ctx.user, base, PageRequest(1, PER_PAGE), Includes()), reps // 2
    )
    db_keyset = await db_times(
        ctx.services, lambda: svc.page(ctx.user, base, PageRequest(deep, PER_PAGE), Includes(), cursor), reps // 2
    )
    db_offset = await db_times(
        ctx.services, lambda: svc.page(ctx.user, base, PageRequest(deep, PER_PAGE), Includes()), reps // 2
    )
    db_naive = await db_times(ctx.services, naive_offset, max(2, reps // 8))
    figures.add("4 DB time: page 1 p95", pct(db_page1, 95))
    figures.add(f"4 DB time: page {deep} via cursor p95", pct(db_keyset, 95))
    figures.add(f"4 DB time: page {deep} via page= p95", pct(db_offset, 95))
    figures.add(f"4 DB time: page {deep} naive OFFSET p95", pct(db_naive, 95))
    figures.add(f"4 DB time ratio page {deep} cursor / page 1 (p95)", pct(db_keyset, 95) / pct(db_page1, 95))
    figures.add("4 unfiltered largest workspace: page 1 p95", pct(page1, 95))
    figures.add(f"4 page {deep} via cursor (keyset) p95", pct(deep_keyset, 95))
    figures.add(f"4 page {deep} via page= (ids-first OFFSET) p95", pct(deep_offset, 95))
    figures.add(f"4 page {deep} via naive OFFSET (before) p95", pct(naive, 95))
    figures.add(f"4 ratio page {deep} keyset / page 1 (p95)", pct(deep_keyset, 95) / pct(page1, 95))


async def count_times(
    services: Services, user: CurrentUser, ws: int, now: dt.datetime, reps: int
) -> tuple[float, float]:
    filters = q.ExecutionFilters(workspace_ids=[ws], date_from=now - dt.timedelta(days=30), date_to=now)

    async def list_total() -> None:
        async with services.db.read() as session:
            await list_total_of(session, filters)

    total = await timed(list_total, reps)
    endpoint = await timed(lambda: services.executions.count(user, filters), reps)
    db_total = await db_times(services, list_total, reps // 2)
    db_endpoint = await db_times(services, lambda: services.executions.count(user, filters), reps // 2)
    return pct(total, 95), pct(endpoint, 95), pct(db_total, 95), pct(db_endpoint, 95)


async def goal5_counts(ctx: Context, small: Context | None, figures: Figures, reps: int) -> None:
    for label, ws in (("largest", ctx.big_ws), ("median", ctx.mid_ws)):
        total, endpoint, db_total, db_endpoint = await count_times(ctx.services, ctx.user, ws, ctx.now, reps)
        figures.add(f"5 1M, {label} workspace, 30 days: list total p95", total)
        figures.add(f"5 1M, {label} workspace, 30 days: count endpoint p95", endpoint)
        figures.add(f"5 1M, {label} workspace, 30 days: list total DB time p95", db_total)
        figures.add(f"5 1M, {label} workspace, 30 days: count endpoint DB time p95", db_endpoint)
        if small is not None:
            s_ws = small.big_ws if label == "largest" else small.mid_ws
            s_total, s_endpoint, s_db_total, s_db_endpoint = await count_times(
                small.services, small.user, s_ws, small.now, reps
            )
            figures.add(f"5 10k, {label} workspace, 30 days: list total p95", s_total)
            figures.add(f"5 10k, {label} workspace, 30 days: count endpoint p95", s_endpoint)
            figures.add(f"5 ratio 1M/10k {label}: list total", total / s_total)
            figures.add(f"5 ratio 1M/10k {label}: count endpoint", endpoint / s_endpoint)
            figures.add(f"5 DB time ratio 1M/10k {label}: list total", db_total / s_db_total)
            figures.add(f"5 DB time ratio 1M/10k {label}: count endpoint", db_endpoint / s_db_endpoint)


async def goal6_search(ctx: Context, url: str, figures: Figures, reps: int) -> None:
    """Indexed vs a service whose connections forbid index and bitmap scans (a sequential scan)."""
    from sqlalchemy.ext.asyncio import create_async_engine

    engine_seq = Database(
        create_async_engine(
            url, connect_args={"server_settings": {"enable_indexscan": "off", "enable_bitmapscan": "off"}}
        ),
        is_sqlite=False,
    )
    seq_svc = ExecutionService(engine_seq, NullPublisher())
    try:
        for term in ("timeout", "crm.example", "cust-04213", "Payroll"):
            filters = q.ExecutionFilters(workspace_ids=[ctx.big_ws], search=term)
            indexed = await timed(
                lambda f=filters: ctx.services.executions.page(ctx.user, f, PageRequest(1, PER_PAGE), Includes()), reps
            )
            scanned = await timed(
                lambda f=filters: seq_svc.page(ctx.user, f, PageRequest(1, PER_PAGE), Includes()), max(3, reps // 4)
            )
            call = lambda f=filters: ctx.services.executions.page(ctx.user, f, PageRequest(1, PER_PAGE), Includes())  # noqa: E731
            db_indexed = await db_times(ctx.services, call, reps // 2)
            db_scan = await db_times(ctx.services, call, 2, seq_scan=True)
            figures.add(f"6 search '{term}' DB time indexed p95", pct(db_indexed, 95))
            figures.add(f"6 search '{term}' DB time seq scan p50", statistics.median(db_scan))
            figures.add(
                f"6 DB time ratio seq scan / indexed (p50) '{term}'",
                statistics.median(db_scan) / statistics.median(db_indexed),
            )
            figures.add(f"6 search '{term}' page 1 + total, indexed p95", pct(indexed, 95))
            figures.add(f"6 search '{term}' sequential scan p50", statistics.median(scanned))
            figures.add(
                f"6 ratio seq scan p50 / indexed p50 '{term}'", statistics.median(scanned) / statistics.median(indexed)
            )
    finally:
        await engine_seq.dispose()


async def goal6_search_sqlite(ctx: Context, figures: Figures, reps: int) -> None:
    """SQLite: the FTS5 trigram lookup vs the LIKE scan it replaced (the same page and capped total)."""
    from sqlalchemy import or_

    from app.domain.executions.search import like_pattern

    for term in ("timeout", "crm.example", "cust-04213", "Payroll"):
        filters = q.ExecutionFilters(workspace_ids=[ctx.big_ws], search=term)
        indexed = await timed(
            lambda f=filters: ctx.services.executions.page(ctx.user, f, PageRequest(1, PER_PAGE), Includes()), reps
        )

        async def like_scan(f: q.ExecutionFilters = filters) -> None:
            async with ctx.services.db.read() as session:
                f = await q.resolve_search(session, f)
                plain = replace(f, search=None)
                matches = or_(
                    E.workflow_id.in_(f.search_workflow_ids or [-1]),
                    E.error.ilike(like_pattern(f.search or ""), escape="\\"),
                )
                await capped_count(session, [*q.filter_conditions(plain), matches])
                rows = await session.execute(
                    select(E.id).where(*q.filter_conditions(plain), matches).order_by(*q.order_by(f)).limit(PER_PAGE)
                )
                rows.all()

        scanned = await timed(like_scan, max(3, reps // 4))
        figures.add(f"6 SQLite search '{term}' page 1 + total, FTS5 p95", pct(indexed, 95))
        figures.add(f"6 SQLite search '{term}' LIKE scan p50", statistics.median(scanned))
        figures.add(
            f"6 SQLite ratio LIKE scan p50 / FTS5 p50 '{term}'", statistics.median(scanned) / statistics.median(indexed)
        )


async def one_run(args: argparse.Namespace, ctx: Context, small: Context | None, figures: Figures) -> None:
    if "4" in args.goals:
        await goal4_lists(ctx, figures, args.reps)
    if "5" in args.goals:
        await goal5_counts(ctx, small, figures, args.reps)
    if "6" in args.goals:
        if args.database_url.startswith("sqlite"):
            await goal6_search_sqlite(ctx, figures, args.reps)
        else:
            await goal6_search(ctx, args.database_url, figures, args.reps)
    if "7" in args.goals:
        from bench.cascade import stop_cascade_run

        await stop_cascade_run(args.database_url, ctx, figures)


async def main_async(args: argparse.Namespace) -> None:
    args.database_url = normalize_database_url(args.database_url)
    if args.database_url.startswith("sqlite"):
        args.goals = args.goals.replace("7", "")  # the stop cascade bench runs on PostgreSQL
    ctx = await context(args.database_url)
    small = await context(normalize_database_url(args.small_url)) if args.small_url else None
    figures = Figures()
    async with ctx.services.db.read() as session:
        rows = (await session.execute(select(func.count()).select_from(E))).scalar_one()
        sizes = {
            ws: (await session.execute(select(func.count()).where(E.workspace_id == ws))).scalar_one()
            for ws in (ctx.big_ws, ctx.mid_ws)
        }
    name = args.database_url.rsplit("/", 1)[1]
    print(
        f"database {name}: {rows:,} executions; workspaces: largest {sizes[ctx.big_ws]:,}, median {sizes[ctx.mid_ws]:,}"
    )
    for run in range(args.runs):
        t0 = time.perf_counter()
        await one_run(args, ctx, small, figures)
        print(f"run {run + 1}/{args.runs} done in {time.perf_counter() - t0:.0f}s", flush=True)
    for name in figures.runs:
        print(figures.line(name, "" if "resyncs" in name or "frames" in name else "x" if "ratio" in name else "ms"))
    if "7" in args.goals:
        from bench.cascade import stop_server

        stop_server()
    await ctx.services.close()
    if small is not None:
        await small.services.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/athena_bench")
    parser.add_argument("--small-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/athena_bench_10k")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--goals", default="4567", help="which goals to measure, e.g. 46")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
