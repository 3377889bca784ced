"""GET /metrics/workflow-executions and /metrics/workflows against numbers computed by hand from
tests/metrics_seed.py (the same answers on SQLite and PostgreSQL), scope, validation and plans."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import event, text

from app.services import Services
from tests.conftest import API, IS_POSTGRES, World
from tests.metrics_seed import seed_metrics

EXEC_METRICS = f"{API}/metrics/workflow-executions"
WF_METRICS = f"{API}/metrics/workflows"
ZERO = {s: 0 for s in ("pending", "running", "paused", "waiting", "completed", "failed", "cancelled")}
MORNING = {"date_from": "2025-03-03T10:00:00Z", "date_to": "2025-03-03T11:59:59Z", "interval": "hour"}


async def get(client: httpx.AsyncClient, actor: Any, url: str, **params: Any) -> dict[str, Any]:
    response = await client.get(url, params=params, headers=actor.headers)
    assert response.status_code == 200, response.text
    return response.json()


def spread(p50: int | None, p95: int | None, count: int) -> dict[str, Any]:
    return {"p50": p50, "p95": p95, "count": count}


@pytest.fixture
async def seeded(services: Services, world: World) -> dict[str, int]:
    return await seed_metrics(services, world)


async def check_hourly_buckets(client: httpx.AsyncClient, world: World) -> None:
    body = await get(client, world.viewer_a, EXEC_METRICS, workspace_uuid=world.ws["A"], **MORNING)
    ten, eleven = body["data"]
    # 10:00: inv1 10 s, inv2 20 s completed, inv3 40 s failed (the deleted one does not count).
    assert ten == {
        "bucket": "2025-03-03T10:00:00.000000Z", "total": 3, "by_status": ZERO | {"completed": 2, "failed": 1},
        "failure_rate": 0.3333, "duration_ms": spread(20000, 38000, 3),  # p95: 20 + (40 - 20) * 0.9
        "approval_wait_ms": spread(303000, 570300, 2),  # 6 s and 600 s; the cancelled one is left out
    }  # fmt: skip
    assert eleven == {
        "bucket": "2025-03-03T11:00:00.000000Z", "total": 2, "by_status": ZERO | {"completed": 1, "running": 1},
        "failure_rate": 0.0, "duration_ms": spread(30000, 30000, 1), "approval_wait_ms": spread(120000, 120000, 1),
    }  # fmt: skip
    assert body["summary"] == {
        "total": 5, "by_status": ZERO | {"completed": 3, "failed": 1, "running": 1}, "failure_rate": 0.25,
        "duration_ms": spread(25000, 38500, 4), "approval_wait_ms": spread(120000, 552000, 3),
    }  # fmt: skip
    assert body["meta"] == {
        "interval": "hour", "date_from": "2025-03-03T10:00:00.000000Z", "date_to": "2025-03-03T11:59:59.000000Z",
        "timezone": "UTC", "time_axis": "created", "workspace_uuids": [world.ws["A"]], "buckets": 2,
    }  # fmt: skip


async def check_days_and_weeks(client: httpx.AsyncClient, world: World) -> None:
    days = await get(
        client, world.viewer_a, EXEC_METRICS, workspace_uuid=world.ws["A"], date_from="2025-03-03", date_to="2025-03-10"
    )
    assert [(d["bucket"][:10], d["total"]) for d in days["data"]] == [
        ("2025-03-03", 5), ("2025-03-04", 1), ("2025-03-05", 0), ("2025-03-06", 0),
        ("2025-03-07", 0), ("2025-03-08", 0), ("2025-03-09", 0), ("2025-03-10", 1),
    ]  # fmt: skip
    assert days["data"][1]["by_status"] == ZERO | {"cancelled": 1} and days["data"][1]["failure_rate"] == 0.0
    assert days["data"][2]["failure_rate"] is None and days["data"][2]["duration_ms"] == spread(None, None, 0)
    weeks = await get(
        client, world.viewer_a, EXEC_METRICS,
        workspace_uuid=world.ws["A"], date_from="2025-03-05", date_to="2025-03-16", interval="week",
    )  # fmt: skip
    # Weeks start on Monday (03-03 and 03-10); only executions from 03-05 on count.
    assert [(w["bucket"], w["total"]) for w in weeks["data"]] == [
        ("2025-03-03T00:00:00.000000Z", 0),
        ("2025-03-10T00:00:00.000000Z", 1),
    ]
    whole = await get(
        client, world.viewer_a, EXEC_METRICS,
        workspace_uuid=world.ws["A"], date_from="2025-03-01", date_to="2025-03-16", interval="week",
    )  # fmt: skip
    assert [w["total"] for w in whole["data"]] == [0, 6, 1]  # week of Feb 24, of Mar 3, of Mar 10


async def check_organization_scope(client: httpx.AsyncClient, world: World) -> None:
    both = await get(client, world.multi, EXEC_METRICS, organization_multiplai_id="org-1", **MORNING)
    ten = both["data"][0]
    assert ten["by_status"] == ZERO | {"completed": 2, "failed": 2}  # B's 100 s failure joins A's
    assert ten["duration_ms"] == spread(30000, 91000, 4)  # 10, 20, 40, 100 s
    assert sorted(both["meta"]["workspace_uuids"]) == sorted([world.ws["A"], world.ws["B"]])
    only_a = await get(client, world.viewer_a, EXEC_METRICS, organization_multiplai_id="org-1", **MORNING)
    assert only_a["summary"]["total"] == 5 and only_a["meta"]["workspace_uuids"] == [world.ws["A"]]


async def check_workflows(client: httpx.AsyncClient, world: World) -> None:
    body = await get(
        client, world.viewer_a, WF_METRICS, workspace_uuid=world.ws["A"], date_from="2025-03-01", date_to="2025-03-31"
    )
    inv, onb = body["data"]
    assert inv == {
        "workflow_uuid": world.workflows["Invoice approval"], "workflow_name": "Invoice approval",
        "workspace_uuid": world.ws["A"], "total": 5,
        "by_status": ZERO | {"completed": 3, "failed": 1, "cancelled": 1}, "failure_rate": 0.2,
        "duration_ms": spread(20000, 56000, 5),  # 5, 10, 20, 40, 60 s
        "last_run_at": "2025-04-01T12:00:00.000000Z",  # the last run at any time, after the range
    }  # fmt: skip
    assert onb["workflow_name"] == "Customer onboarding" and onb["total"] == 2 and onb["failure_rate"] == 0.0
    assert onb["duration_ms"] == spread(30000, 30000, 1) and onb["last_run_at"] == "2025-03-03T11:30:00.000000Z"
    review, start = body["nodes"]
    assert review == {
        "node_id": "review", "node_name": "Review", "runs": 2, "errors": 1, "error_rate": 0.5,
        "duration_ms": spread(2000, 2900, 2), "workflow_uuid": world.workflows["Invoice approval"],
        "workflow_name": "Invoice approval",
    }  # fmt: skip
    assert (start["node_id"], start["errors"], start["duration_ms"]) == ("start", 0, spread(1500, 1950, 2))
    assert body["meta"]["nodes_sample"] == 2  # finished executions of the range that have node runs


async def check_validation_and_tenancy(client: httpx.AsyncClient, world: World) -> None:
    a = {"workspace_uuid": world.ws["A"]}
    for params, field in (
        ({}, "workspace_uuid"),
        (a | {"interval": "minute"}, "interval"),
        (a | {"interval": "hour", "date_from": "2025-01-01", "date_to": "2025-03-01"}, "date_from"),
        (a | {"date_from": "2025-03-05", "date_to": "2025-03-01"}, "date_to"),
        (a | {"date_from": "yesterday"}, "date_from"),
    ):
        for url in (EXEC_METRICS, WF_METRICS):
            if url == WF_METRICS and "interval" in params:  # no buckets there
                continue
            response = await client.get(url, params=params, headers=world.viewer_a.headers)
            assert response.status_code == 422, (url, params, response.text)
            assert field in response.json()["errors"], response.text
    for params in ({"workspace_uuid": world.ws["C"]}, {"organization_multiplai_id": "org-2"}):
        for url in (EXEC_METRICS, WF_METRICS):
            assert (await client.get(url, params=params, headers=world.viewer_a.headers)).status_code == 404
    assert (await client.get(EXEC_METRICS, params=a)).status_code == 401


async def test_metrics_match_hand_computed_numbers(
    client: httpx.AsyncClient, world: World, seeded: dict[str, int]
) -> None:
    await check_hourly_buckets(client, world)
    await check_days_and_weeks(client, world)
    await check_organization_scope(client, world)
    await check_workflows(client, world)
    await check_validation_and_tenancy(client, world)


async def test_query_plans_read_index_ranges_not_tables(
    client: httpx.AsyncClient, world: World, services: Services, seeded: dict[str, int]
) -> None:
    """Every metrics statement reads index ranges of workflow_executions and workflow_approvals, never
    the whole table: on PostgreSQL no Seq Scan even with sequential scans disabled (the planner still
    picks one only if no index fits), on SQLite no SCAN (a full table or index walk)."""
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "workflow_executions" in statement or "workflow_approvals" in statement:
            statements.append((statement, parameters))

    engine = services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        await get(client, world.multi, EXEC_METRICS, organization_multiplai_id="org-1", interval="hour", **{
            "date_from": "2025-03-03", "date_to": "2025-03-04"})  # fmt: skip
        await get(client, world.viewer_a, WF_METRICS, workspace_uuid=world.ws["A"], date_from="2025-03-01")
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert len(statements) >= 5  # bucket stats, approval waits, workflow stats, last runs, node sample
    explain = "EXPLAIN " if IS_POSTGRES else "EXPLAIN QUERY PLAN "
    bad = ("Seq Scan on workflow_executions", "Seq Scan on workflow_approvals") if IS_POSTGRES else (
        "SCAN workflow_executions", "SCAN workflow_approvals")  # fmt: skip

    async def plan_of(conn: Any, statement: str, parameters: Any = ()) -> str:
        rows = await conn.exec_driver_sql(explain + statement, parameters)
        return "\n".join(str(r[0] if IS_POSTGRES else r[-1]) for r in rows)

    async with services.db.engine.connect() as conn:
        if IS_POSTGRES:
            await conn.execute(text("SET enable_seqscan = off"))
        # The check can fail: a filter no index serves still scans the table.
        assert bad[0] in await plan_of(conn, "SELECT id FROM workflow_executions WHERE error = 'x'")
        for statement, parameters in statements:
            plan = await plan_of(conn, statement, parameters)
            assert not any(b in plan for b in bad), f"{statement}\n{plan}"
