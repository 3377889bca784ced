"""``time_axis`` (created | started | stopped | active) of the count endpoint, the metrics API and
the insights page: hand-computed answers on both databases, validation, and index-only plans."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
from sqlalchemy import event, text, update

from app.db.models import WorkflowExecution
from app.services import Services
from tests.conftest import API, EXECUTIONS, IS_POSTGRES, World, create_execution
from tests.web_session import PageSession

COUNT = f"{EXECUTIONS}/count"
EXEC_METRICS = f"{API}/metrics/workflow-executions"
WF_METRICS = f"{API}/metrics/workflows"


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, 3, 3, hour, minute, tzinfo=dt.UTC)


# name: (status, created, started, stopped)
TIMES: dict[str, tuple[str, dt.datetime, dt.datetime | None, dt.datetime | None]] = {
    "e1": ("completed", at(9), at(9, 30), at(10, 30)),
    "e2": ("running", at(10, 10), at(10, 20), None),
    "e3": ("cancelled", at(8), None, at(10, 15)),  # cancelled before it started: never active
    "e4": ("failed", at(7), at(7, 10), at(8)),
}


async def seed(client: httpx.AsyncClient, services: Services, world: World) -> dict[str, str]:
    made = {}
    for name, (status, created, started, stopped) in TIMES.items():
        uid = (await create_execution(client, world.operator_a, world.workflows["Invoice approval"]))["uuid"]
        async with services.db.write() as session:
            await session.execute(
                update(WorkflowExecution)
                .where(WorkflowExecution.uuid == uuid.UUID(uid))
                .values(status=status, created_at=created, started_at=started, stopped_at=stopped)
            )
        made[name] = uid
    return made


async def get(client: httpx.AsyncClient, who: Any, url: str, **params: Any) -> dict[str, Any]:
    response = await client.get(url, params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_count_on_each_axis(client: httpx.AsyncClient, services: Services, world: World) -> None:
    await seed(client, services, world)
    ten = {"workspace_uuid": world.ws["A"], "start_date": "2025-03-03T10:00:00Z", "end_date": "2025-03-03T10:59:59Z"}
    expected = {
        None: {"running": 1},
        "created": {"running": 1},
        "started": {"running": 1},
        "stopped": {"completed": 1, "cancelled": 1},
        "active": {"completed": 1, "running": 1},
    }
    for axis, by_status in expected.items():
        params = ten | ({"time_axis": axis} if axis else {})
        data = (await get(client, world.viewer_a, COUNT, **params))["data"]
        assert {k: v for k, v in data["by_status"].items() if v} == by_status, axis
        assert data["count"] == sum(by_status.values())
    # Still running at the end of the day; only e4 was active at 07:00-08:00 (inclusive bounds).
    late = ten | {"start_date": "2025-03-03T23:00:00Z", "end_date": "2025-03-03T23:59:59Z", "time_axis": "active"}
    assert (await get(client, world.viewer_a, COUNT, **late))["data"]["by_status"]["running"] == 1
    early = ten | {"start_date": "2025-03-03T07:00:00Z", "end_date": "2025-03-03T07:59:59Z", "time_axis": "active"}
    assert (await get(client, world.viewer_a, COUNT, **early))["data"]["count"] == 1
    for bad in ("updated", "ACTIVE ", "x" * 21, ""):
        response = await client.get(COUNT, params=ten | {"time_axis": bad}, headers=world.viewer_a.headers)
        if bad.strip().lower() in ("active", ""):
            assert response.status_code == 200
            continue
        assert response.status_code == 422 and "time_axis" in response.json()["errors"], bad


async def test_metrics_on_each_axis(client: httpx.AsyncClient, services: Services, world: World) -> None:
    await seed(client, services, world)
    morning = {"workspace_uuid": world.ws["A"], "date_from": "2025-03-03T07:00:00Z", "date_to": "2025-03-03T10:59:59Z"}
    expected = {  # totals per hour 07, 08, 09, 10 and the range's total
        "created": ([1, 1, 1, 1], 4),
        "started": ([1, 0, 1, 1], 3),
        "stopped": ([0, 1, 0, 2], 3),
        "active": ([1, 1, 1, 2], 3),  # e4 ran 07:10-08:00 (counts in both hours), each counted once overall
    }
    for axis, (per_hour, total) in expected.items():
        body = await get(client, world.viewer_a, EXEC_METRICS, interval="hour", time_axis=axis, **morning)
        assert [b["total"] for b in body["data"]] == per_hour, axis
        assert body["summary"]["total"] == total, axis
        assert body["meta"]["time_axis"] == axis
    active = await get(client, world.viewer_a, EXEC_METRICS, interval="hour", time_axis="active", **morning)
    assert active["data"][3]["by_status"]["running"] == 1 and active["data"][3]["duration_ms"]["count"] == 1
    assert active["summary"]["by_status"]["failed"] == 1 and active["summary"]["duration_ms"]["count"] == 2
    workflows = await get(client, world.viewer_a, WF_METRICS, time_axis="stopped", **morning)
    assert {w["workflow_name"]: w["total"] for w in workflows["data"]}["Invoice approval"] == 3
    for url in (EXEC_METRICS, WF_METRICS):
        bad = await client.get(url, params=morning | {"time_axis": "finished"}, headers=world.viewer_a.headers)
        assert bad.status_code == 422 and "time_axis" in bad.json()["errors"]


async def test_insights_page_has_an_axis_selector(client: httpx.AsyncClient, services: Services, world: World) -> None:
    await seed(client, services, world)
    page = PageSession(client, world.viewer_a)
    body = (await page.get(f"/insights?workspace={world.ws['A']}&from=2025-03-03&to=2025-03-03&axis=active")).text
    assert '<option value="active" selected>' in body and "running at some point" in body
    assert "axis=active" in body  # the range links keep the axis
    fallback = (await page.get(f"/insights?workspace={world.ws['A']}&axis=bogus")).text
    assert '<option value="created" selected>' in fallback


async def test_each_axis_reads_an_index_range(client: httpx.AsyncClient, services: Services, world: World) -> None:
    """For a one-workspace 30-day range, the count and metrics statements of every axis are planned
    on an index (PostgreSQL with sequential scans off: a Seq Scan means no index fits; SQLite: no
    bare SCAN of workflow_executions)."""
    await seed(client, services, world)
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "workflow_executions" in statement and statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    month = {"workspace_uuid": world.ws["A"]}
    engine = services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        for axis in ("created", "started", "stopped", "active"):
            await get(
                client, world.viewer_a, COUNT, start_date="2025-02-02", end_date="2025-03-03", time_axis=axis, **month
            )
            await get(
                client,
                world.viewer_a,
                EXEC_METRICS,
                date_from="2025-02-02",
                date_to="2025-03-03",
                time_axis=axis,
                **month,
            )
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert len(statements) >= 8
    explain = "EXPLAIN " if IS_POSTGRES else "EXPLAIN QUERY PLAN "
    async with services.db.engine.connect() as conn:
        if IS_POSTGRES:
            await conn.execute(text("SET enable_seqscan = off"))
        for statement, parameters in statements:
            rows = await conn.exec_driver_sql(explain + statement, parameters)
            plan = "\n".join(str(r[0] if IS_POSTGRES else r[-1]) for r in rows)
            if IS_POSTGRES:
                assert "Seq Scan on workflow_executions" not in plan, f"{statement}\n{plan}"
            else:
                assert not any(
                    line.strip().startswith("SCAN workflow_executions") and "USING" not in line
                    for line in plan.splitlines()
                ), f"{statement}\n{plan}"
        await conn.rollback()
