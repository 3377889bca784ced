"""Seed a benchmark database: executions at scale, with skewed workspaces, workflows and statuses.

    uv run python -m bench.seed                                   # PostgreSQL, 1,000,000 executions
    uv run python -m bench.seed --database-url sqlite+aiosqlite:////tmp/athena_bench.db   # 100,000
    uv run python -m bench.seed --executions 200000 --node-runs 3 --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/athena_bench_small

The database named in the URL is dropped and created fresh (PostgreSQL) or the file replaced
(SQLite); names without "bench" are refused so a test or real database is never overwritten.
Shape: 20 workspaces and 500 workflows (25 each), both Zipf-skewed (the largest workspace holds
~28 % of the rows, enough for 5,000 pages of 50); statuses skewed (70 % completed, 12 % failed...);
created over the last 365 days, ids in creation order; one data row per execution whose
``workflow_data`` holds ``--node-runs`` node runs (the app keeps an execution's node runs in one
row); a review (approval) on ~5 % (pending on every waiting execution). PostgreSQL loads with COPY,
SQLite with batched executemany; then VACUUM ANALYZE / ANALYZE. A user ``bench@bench.local``
(password ``bench``) operates every workspace.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import json
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from app.config import Settings, normalize_database_url
from app.db.models import Role
from app.db.models.base import new_uuid

WORKSPACES = 20
WORKFLOWS_PER_WORKSPACE = 25
CHUNK = 50_000
DAYS = 365
BENCH_EMAIL = "bench@bench.local"
STATUSES = {
    "completed": 0.70,
    "failed": 0.12,
    "cancelled": 0.06,
    "running": 0.05,
    "pending": 0.03,
    "waiting": 0.03,
    "paused": 0.01,
}
FINISHED = {"completed", "failed", "cancelled"}
WORDS = ["Invoice", "CRM", "Payroll", "Nightly", "Lead", "Ticket", "Contract", "Inventory", "Churn", "Report"]
VERBS = ["sync", "extraction", "triage", "enrichment", "export", "review", "scoring", "digest", "import"]
HOSTS = ["crm.example.com", "erp.example.net", "billing.example.org", "mail.example.com", "s3.example.io"]
NODES = ["trigger", "fetch", "extract", "transform", "validate", "enrich", "review", "write", "notify", "archive"]


def error_text(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.35:
        return f"fetch: HTTP {rng.choice([500, 502, 503, 504])} from {rng.choice(HOSTS)}"
    if kind < 0.6:
        return f"timeout after {rng.choice([10, 30, 60])}s waiting for node {rng.choice(NODES)}"
    if kind < 0.8:
        return f"KeyError: 'customer_id' in node {rng.choice(NODES)} (record cust-{rng.randrange(100_000):05d})"
    return f"validation failed: amount {rng.randrange(1, 99_999)} exceeds limit for invoice INV-{rng.randrange(10**6)}"


def zipf_weights(n: int) -> list[float]:
    return [1 / (i + 1) for i in range(n)]


@dataclass
class Plan:
    executions: int
    node_runs: int
    workspace_ids: list[int]
    workflow_ids: list[list[int]]  # per workspace
    user_id: int
    now: dt.datetime


def execution_rows(
    plan: Plan, seed: int = 42
) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]]:
    """Chunks of (executions, data rows, approvals), ids 1..N in creation order."""
    rng = random.Random(seed)
    start = plan.now - dt.timedelta(days=DAYS)
    span = DAYS * 86_400
    offsets = sorted(rng.random() * span for _ in range(plan.executions))
    ws_weights = zipf_weights(len(plan.workspace_ids))
    wf_weights = zipf_weights(WORKFLOWS_PER_WORKSPACE)
    statuses, status_weights = list(STATUSES), list(STATUSES.values())
    approval_id = 0
    for base in range(0, plan.executions, CHUNK):
        n = min(CHUNK, plan.executions - base)
        ws_idx = rng.choices(range(len(plan.workspace_ids)), ws_weights, k=n)
        wf_idx = rng.choices(range(WORKFLOWS_PER_WORKSPACE), wf_weights, k=n)
        chosen = rng.choices(statuses, status_weights, k=n)
        executions, data, approvals = [], [], []
        for i in range(n):
            eid = base + i + 1
            created = start + dt.timedelta(seconds=offsets[base + i])
            status = chosen[i]
            duration = dt.timedelta(seconds=rng.randrange(1, 600))
            stopped = created + duration if status in FINISHED else None
            updated = stopped or created + dt.timedelta(seconds=rng.randrange(0, 60))
            executions.append(
                {
                    "id": eid,
                    "uuid": new_uuid(),
                    "workspace_id": plan.workspace_ids[ws_idx[i]],
                    "workflow_id": plan.workflow_ids[ws_idx[i]][wf_idx[i]],
                    "user_id": plan.user_id,
                    "parent_execution_id": None,
                    "mode": rng.choice(("webhook", "schedule", "manual")),
                    "retry_of": None,
                    "retry_success_id": None,
                    "status": status,
                    "started_at": None if status == "pending" else created,
                    "stopped_at": stopped,
                    "wait_till": None,
                    "running_node": rng.choice(NODES) if status in ("running", "waiting", "paused") else None,
                    "error": error_text(rng) if status == "failed" else None,
                    "version": rng.randrange(1, 6),
                    "created_at": created,
                    "updated_at": updated,
                    "deleted_at": None,
                }
            )
            runs = [
                {
                    "node_id": NODES[k % len(NODES)],
                    "status": "error" if status == "failed" and k == plan.node_runs - 1 else "success",
                    "started_at": (created + dt.timedelta(seconds=k)).isoformat(),
                    "finished_at": (created + dt.timedelta(seconds=k + 1)).isoformat(),
                    "output": {"items": rng.randrange(100), "bytes": rng.randrange(100_000)},
                }
                for k in range(plan.node_runs)
            ]
            data.append(
                {
                    "id": eid,
                    "uuid": new_uuid(),
                    "execution_id": eid,
                    "workflow_data": json.dumps(runs),
                    "metadata": json.dumps({"trigger": "bench", "running_node": None}),
                    "data": None,
                    "created_at": created,
                    "updated_at": updated,
                    "deleted_at": None,
                }
            )
            if status == "waiting" or (status == "completed" and rng.random() < 0.03):
                approval_id += 1
                approvals.append(
                    {
                        "id": approval_id,
                        "uuid": new_uuid(),
                        "execution_id": eid,
                        "workspace_id": plan.workspace_ids[ws_idx[i]],
                        "node_id": "review",
                        "title": f"Review invoice INV-{eid}",
                        "description": None,
                        "payload": json.dumps({"invoice_id": f"INV-{eid}"}),
                        "high_risk": rng.random() < 0.1,
                        "status": "pending" if status == "waiting" else "approved",
                        "requested_at": created,
                        "due_at": None,
                        "requested_by_id": plan.user_id,
                        "decided_by_id": None if status == "waiting" else plan.user_id,
                        "decided_at": None if status == "waiting" else updated,
                        "comment": None,
                        "created_at": created,
                        "updated_at": updated,
                        "assigned_to_id": None,
                    }
                )
        yield executions, data, approvals


def workflow_rows(workspace_ids: list[int], user_id: int, now: dt.datetime) -> list[dict[str, Any]]:
    rng = random.Random(7)
    rows = []
    nodes = json.dumps([{"id": n, "type": n, "name": n.title()} for n in NODES])
    edges = json.dumps([{"source": a, "target": b} for a, b in itertools.pairwise(NODES)])
    for w, ws_id in enumerate(workspace_ids):
        for k in range(WORKFLOWS_PER_WORKSPACE):
            rows.append(
                {
                    "id": w * WORKFLOWS_PER_WORKSPACE + k + 1,
                    "uuid": new_uuid(),
                    "workspace_id": ws_id,
                    "user_id": user_id,
                    "template_id": None,
                    "name": f"{rng.choice(WORDS)} {rng.choice(VERBS)} {w:02d}-{k:02d}",
                    "description": None,
                    "profile_photo_url": None,
                    "profile_photo_config": None,
                    "visibility": "workspace",
                    "is_active": True,
                    "trigger_count": 0,
                    "allow_cloning": False,
                    "allow_account_usage": False,
                    "last_used_at": None,
                    "nodes": nodes,
                    "edges": edges,
                    "created_at": now,
                    "updated_at": now,
                    "deleted_at": None,
                }
            )
    return rows


def _remove_sqlite(path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)


async def create_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    if "bench" not in name:
        raise SystemExit(f"Refusing to seed {name!r}: the database name must contain 'bench'.")
    if url.startswith("sqlite"):
        _remove_sqlite(url.split("///", 1)[1])
        return
    import asyncpg

    admin = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://").rsplit("/", 1)[0] + "/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def accounts(url: str) -> tuple[list[int], int]:
    """Workspaces and the bench user through the app's own services (password hashing, memberships)."""
    from app.services import Services

    services = Services.build(Settings(database_url=url, redis_url=None))
    try:
        workspaces = [
            await services.accounts.create_workspace(f"Bench {i:02d}", "bench-org") for i in range(WORKSPACES)
        ]
        user = None
        for ws in workspaces:
            user = await services.accounts.create_user(BENCH_EMAIL, "bench", workspace=str(ws.uuid), role=Role.OPERATOR)
        assert user is not None
        return [ws.id for ws in workspaces], user.id
    finally:
        await services.close()


def _pg(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def load_postgres(url: str, plan: Plan) -> dict[str, int]:
    import asyncpg

    conn = await asyncpg.connect(_pg(url))
    counts = {"workflow_executions": 0, "workflow_execution_data": 0, "workflow_approvals": 0}
    try:
        wfs = workflow_rows(plan.workspace_ids, plan.user_id, plan.now)
        await conn.copy_records_to_table("workflows", records=[tuple(r.values()) for r in wfs], columns=list(wfs[0]))
        for executions, data, approvals in execution_rows(plan):
            for table, rows in (
                ("workflow_executions", executions),
                ("workflow_execution_data", data),
                ("workflow_approvals", approvals),
            ):
                if rows:
                    await conn.copy_records_to_table(
                        table, records=[tuple(r.values()) for r in rows], columns=list(rows[0])
                    )
                    counts[table] += len(rows)
            print(f"  {counts['workflow_executions']:>9,} executions loaded", flush=True)
        for table in ("workflows", *counts):
            # Fixed table names, no input.
            sql = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
            await conn.execute(sql)
    finally:
        await conn.close()
    return counts


async def load_sqlite(url: str, plan: Plan) -> dict[str, int]:
    from sqlalchemy import insert

    from app.db.engine import create_migration_engine
    from app.db.models import Workflow, WorkflowApproval, WorkflowExecution, WorkflowExecutionData

    engine = create_migration_engine(Settings(database_url=url, redis_url=None))
    counts = {"workflow_executions": 0, "workflow_execution_data": 0, "workflow_approvals": 0}

    def decoded(rows: list[dict[str, Any]], json_columns: tuple[str, ...]) -> list[dict[str, Any]]:
        return [r | {c: json.loads(r[c]) for c in json_columns if r[c] is not None} for r in rows]

    try:
        async with engine.begin() as conn:
            wfs = workflow_rows(plan.workspace_ids, plan.user_id, plan.now)
            await conn.execute(insert(Workflow.__table__), decoded(wfs, ("nodes", "edges")))
            for executions, data, approvals in execution_rows(plan):
                await conn.execute(insert(WorkflowExecution.__table__), executions)
                await conn.execute(
                    insert(WorkflowExecutionData.__table__), decoded(data, ("workflow_data", "metadata"))
                )
                if approvals:
                    await conn.execute(insert(WorkflowApproval.__table__), decoded(approvals, ("payload",)))
                counts["workflow_executions"] += len(executions)
                counts["workflow_execution_data"] += len(data)
                counts["workflow_approvals"] += len(approvals)
                print(f"  {counts['workflow_executions']:>9,} executions loaded", flush=True)
    finally:
        await engine.dispose()
    return counts


async def analyze(url: str, vacuum: bool = True) -> None:
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(url.split("///", 1)[1]) as conn:
            conn.execute("ANALYZE")
        return
    import asyncpg

    conn = await asyncpg.connect(_pg(url))
    try:
        # VACUUM sets the visibility map, so OFFSET and count scans can be index-only. --no-vacuum
        # leaves a freshly loaded table as production has it between autovacuum runs (issue 20).
        await conn.execute("VACUUM (ANALYZE)" if vacuum else "ANALYZE")
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/athena_bench")
    parser.add_argument("--executions", type=int, default=None, help="default 1,000,000 (PostgreSQL), 100,000 (SQLite)")
    parser.add_argument("--node-runs", type=int, default=10, help="node runs per execution (default 10)")
    parser.add_argument("--no-vacuum", action="store_true", help="ANALYZE only: leave the visibility map unset")
    args = parser.parse_args()
    url = normalize_database_url(args.database_url)
    is_sqlite = url.startswith("sqlite")
    executions = args.executions or (100_000 if is_sqlite else 1_000_000)

    t0 = time.perf_counter()
    await create_database(url)
    os.environ["DATABASE_URL"] = url
    from app.db.migrate import upgrade_to_head

    await asyncio.to_thread(upgrade_to_head)
    workspace_ids, user_id = await accounts(url)
    wf_ids = [
        [w * WORKFLOWS_PER_WORKSPACE + k + 1 for k in range(WORKFLOWS_PER_WORKSPACE)] for w in range(len(workspace_ids))
    ]
    plan = Plan(executions, args.node_runs, workspace_ids, wf_ids, user_id, dt.datetime.now(dt.UTC))
    t1 = time.perf_counter()
    counts = await (load_sqlite(url, plan) if is_sqlite else load_postgres(url, plan))
    t2 = time.perf_counter()
    await analyze(url, vacuum=not args.no_vacuum)
    t3 = time.perf_counter()
    print(
        f"seeded {url.rsplit('/', 1)[1]}: "
        + ", ".join(f"{n:,} {t}" for t, n in counts.items())
        + f"; schema+accounts {t1 - t0:.1f}s, load {t2 - t1:.1f}s, analyze {t3 - t2:.1f}s, total {t3 - t0:.1f}s"
    )


if __name__ == "__main__":
    asyncio.run(main())
