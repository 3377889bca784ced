"""Issue 19, item 3: an ended execution has no open node runs. A stop (its whole cascade) and any
terminal status close them as cancelled at the stop time, in the transaction that ends it; the
detail page names no running node and says who stopped it, when and why."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from alembic import command
from sqlalchemy import select, update

from app.db.migrate import alembic_config
from app.db.models import WorkflowExecution, WorkflowExecutionData
from tests.conftest import EXECUTIONS, World, create_execution, get_execution, patch_execution
from tests.web_session import PageSession

RUNS = [
    {"node_id": "start", "node_name": "Start", "status": "success"},
    {"node_id": "review", "node_name": "Review", "status": "running"},
]


async def running_with_open_node(client: httpx.AsyncClient, world: World, **body: Any) -> dict[str, Any]:
    created = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], **body)
    response = await patch_execution(client, world.operator_a, created["uuid"], status="running", node_runs=RUNS)
    assert response.status_code == 200 and response.json()["data"]["running_node"] == "review"
    return created


async def runs_of(client: httpx.AsyncClient, world: World, execution_uuid: str) -> tuple[dict, list, dict]:
    execution = await get_execution(client, world.viewer_a, execution_uuid, **{"with": "workflowExecutionData"})
    [data] = execution["workflow_execution_data"]
    return execution, data["workflow_data"], data["metadata"]


def by_node(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["node_id"]: r for r in runs}


async def test_stop_closes_the_open_node_runs_of_the_whole_cascade(client: httpx.AsyncClient, world: World) -> None:
    parent = await running_with_open_node(client, world)
    child = await running_with_open_node(client, world, parent_execution_uuid=parent["uuid"])
    response = await client.post(
        f"{EXECUTIONS}/{parent['uuid']}/stop", json={"reason": "wrong customer"}, headers=world.operator_a.headers
    )
    assert response.status_code == 200, response.text
    for target in (parent, child):
        execution, runs, metadata = await runs_of(client, world, target["uuid"])
        assert execution["status"] == "cancelled" and execution["running_node"] is None
        nodes = by_node(runs)
        assert nodes["start"]["status"] == "success"  # closed runs keep what they were
        assert nodes["review"]["status"] == "cancelled"
        assert nodes["review"]["stopped_at"] == execution["stopped_at"]  # at the stop time
        assert metadata.get("running_node") is None


async def test_every_terminal_status_closes_open_runs(client: httpx.AsyncClient, world: World) -> None:
    for status in ("failed", "completed", "cancelled"):
        execution = await running_with_open_node(client, world)
        response = await patch_execution(client, world.operator_a, execution["uuid"], status=status)
        assert response.status_code == 200, response.text
        current, runs, metadata = await runs_of(client, world, execution["uuid"])
        assert by_node(runs)["review"]["status"] == "cancelled", status
        assert by_node(runs)["review"]["stopped_at"] == current["stopped_at"]
        assert metadata.get("running_node") is None

    # A final report in the same request as the status: what it says wins, the rest is closed.
    execution = await running_with_open_node(client, world)
    final = [{"node_id": "finish", "status": "running"}]
    response = await patch_execution(client, world.operator_a, execution["uuid"], status="completed", node_runs=final)
    assert response.status_code == 200, response.text
    _, runs, _ = await runs_of(client, world, execution["uuid"])
    assert {n: r["status"] for n, r in by_node(runs).items()} == {
        "start": "success",
        "review": "cancelled",
        "finish": "cancelled",
    }


async def test_a_late_running_report_does_not_reopen_a_finished_execution(
    client: httpx.AsyncClient, world: World
) -> None:
    execution = await running_with_open_node(client, world)
    assert (await client.post(f"{EXECUTIONS}/{execution['uuid']}/stop", headers=world.operator_a.headers)).is_success
    late = [{"node_id": "finish", "status": "running"}]
    response = await patch_execution(client, world.operator_a, execution["uuid"], node_runs=late)
    assert response.status_code == 200, response.text
    current, runs, metadata = await runs_of(client, world, execution["uuid"])
    assert current["status"] == "cancelled" and current["running_node"] is None
    assert by_node(runs)["finish"]["status"] == "cancelled" and metadata.get("running_node") is None


async def test_detail_page_names_the_running_node_as_its_graph_box_does(
    client: httpx.AsyncClient, world: World
) -> None:
    """Engines report a node by its id ("chk"); the page says which node by the name its graph box
    shows, the id beside it (it said only "chk", a word found nowhere on the graph)."""
    nodes = [{"id": "start", "name": "Invoice received"}, {"id": "chk", "name": "Check the invoice"}]
    body = {
        "workspace_uuid": world.ws["A"],
        "name": "Named nodes",
        "nodes": nodes,
        "edges": [{"source": "start", "target": "chk"}],
    }
    made = await client.post("/api/v1/workflows", json=body, headers=world.admin_a.headers)
    assert made.status_code == 201, made.text
    execution = await create_execution(client, world.operator_a, made.json()["data"]["uuid"])
    runs = [{"node_id": "start", "status": "success"}, {"node_id": "chk", "status": "running"}]
    response = await patch_execution(client, world.operator_a, execution["uuid"], status="running", node_runs=runs)
    assert response.status_code == 200, response.text
    html = (await PageSession(client, world.viewer_a).get(f"/executions/{execution['uuid']}")).text
    facts = html[html.index('<dl class="facts">') : html.index("</dl>")]
    assert '<dt>Running node</dt><dd>Check the invoice <span class="mono muted small">chk</span></dd>' in facts


async def test_detail_page_after_a_stop(client: httpx.AsyncClient, world: World) -> None:
    parent = await running_with_open_node(client, world)
    child = await running_with_open_node(client, world, parent_execution_uuid=parent["uuid"])
    page = PageSession(client, world.operator_a)
    before = (await page.get(f"/executions/{parent['uuid']}")).text
    assert "<dt>Running node</dt>" in before and "run-running" in before and "stop-note" not in before

    stopped = await page.post(f"/executions/{parent['uuid']}/stop", {"reason": "duplicate run"})
    assert stopped.status_code == 200, stopped.text
    html = (await page.get(f"/executions/{parent['uuid']}")).text
    assert "<dt>Running node</dt>" not in html
    assert "run-running" not in html and "run-cancelled" in html  # the timeline bar and the run's badge
    note = html[html.index("stop-note") : html.index("</p>", html.index("stop-note"))]
    assert "Stopped" in note and world.operator_a.email in note and "duplicate run" in note
    assert html.index("stop-note") < html.index('class="facts"')  # near the top

    child_html = (await page.get(f"/executions/{child['uuid']}")).text
    note = child_html[child_html.index("stop-note") : child_html.index("</p>", child_html.index("stop-note"))]
    assert "Cancelled by the stop of" in note and parent["uuid"][-8:] in note and world.operator_a.email in note


async def test_detail_page_of_an_execution_cancelled_by_its_engine(client: httpx.AsyncClient, world: World) -> None:
    execution = await running_with_open_node(client, world)
    assert (await patch_execution(client, world.operator_a, execution["uuid"], status="cancelled")).is_success
    html = (await PageSession(client, world.viewer_a).get(f"/executions/{execution['uuid']}")).text
    assert "by its engine&#39;s report" in html or "by its engine's report" in html
    assert "<dt>Running node</dt>" not in html


async def test_migration_0017_closes_the_open_runs_of_rows_written_before(
    client: httpx.AsyncClient, world: World, services: Any, database_url: str, monkeypatch: Any
) -> None:
    """Rows from before the fix (a cancelled execution whose run still says running) are closed at
    the execution's ``stopped_at`` when 0017 runs; live executions are left alone."""
    ended = await running_with_open_node(client, world)
    live = await running_with_open_node(client, world)
    assert (await patch_execution(client, world.operator_a, ended["uuid"], status="cancelled")).is_success
    E, D = WorkflowExecution, WorkflowExecutionData
    async with services.db.write() as session:  # what a stop left behind before the fix
        ended_id = select(E.id).where(E.uuid == uuid.UUID(ended["uuid"])).scalar_subquery()
        await session.execute(
            update(D).where(D.execution_id == ended_id).values(workflow_data=RUNS, metadata_={"running_node": "review"})
        )
    monkeypatch.setenv("DATABASE_URL", database_url)
    await asyncio.to_thread(command.downgrade, alembic_config(), "0016")
    await asyncio.to_thread(command.upgrade, alembic_config(), "head")
    current, runs, metadata = await runs_of(client, world, ended["uuid"])
    assert by_node(runs)["review"] == RUNS[1] | {"status": "cancelled", "stopped_at": current["stopped_at"]}
    assert "running_node" not in metadata
    _, live_runs, _ = await runs_of(client, world, live["uuid"])
    assert by_node(live_runs)["review"]["status"] == "running"


async def test_closing_keeps_the_order_and_handles_empty_runs(client: httpx.AsyncClient, world: World) -> None:
    """Loop iterations stay in order (PostgreSQL rewrites the array in the database); an execution
    with no runs but a ``metadata.running_node`` only loses that key."""
    wf = world.workflows["Invoice approval"]
    loops = [
        {"node_id": "fetch", "run_index": i, "status": "success" if i < 3 else "running", "input": {"i": i}}
        for i in range(4)
    ]
    looping = await create_execution(client, world.operator_a, wf, status="running")
    assert (await patch_execution(client, world.operator_a, looping["uuid"], node_runs=loops)).is_success
    bare = await create_execution(
        client, world.operator_a, wf, status="running", execution_data={"metadata": {"running_node": "x", "k": 1}}
    )
    for execution in (looping, bare):
        assert (await patch_execution(client, world.operator_a, execution["uuid"], status="failed")).is_success
    _, runs, _ = await runs_of(client, world, looping["uuid"])
    assert [(r["run_index"], r["status"], r["input"]) for r in runs] == [
        (0, "success", {"i": 0}),
        (1, "success", {"i": 1}),
        (2, "success", {"i": 2}),
        (3, "cancelled", {"i": 3}),
    ]
    _, runs, metadata = await runs_of(client, world, bare["uuid"])
    assert runs == [] and metadata == {"k": 1}
