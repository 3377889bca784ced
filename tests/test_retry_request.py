"""Issue 19, item 4: Retry on a failed execution's page is the bulk ``retry_request`` of one
execution (same checks, event and audit row), asked once however many clicks; the demo's engine
answers it by starting the retry, and records each node's input. Also the graph's wrapped layout."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from typing import Any

import httpx
from sqlalchemy import select

from app.db.models import ExecutionEvent, OperatorAction, WorkflowExecution
from app.demo.local import ServiceBackend
from app.demo.simulator import SimConfig, Simulator
from app.domain.operations.retry import request_retry
from app.lib.errors import AppError
from app.services import Services
from app.web.graph import BAND_COLUMNS, NODE_W, layout_graph
from tests.conftest import World, create_execution, patch_execution
from tests.test_demo import SIM_WORKFLOWS, _operator, _sim_workflows
from tests.web_session import PageSession


async def failed(client: httpx.AsyncClient, world: World, workflow: str | None = None) -> dict[str, Any]:
    created = await create_execution(client, world.operator_a, workflow or world.workflows["Invoice approval"])
    runs = [{"node_id": "review", "status": "running", "input": {"invoice": "INV-7"}}]
    assert (
        await patch_execution(client, world.operator_a, created["uuid"], status="running", node_runs=runs)
    ).is_success
    runs = [{"node_id": "review", "status": "error", "error": "HTTP 502"}]
    assert (
        await patch_execution(client, world.operator_a, created["uuid"], status="failed", node_runs=runs)
    ).is_success
    return created


async def rows(services: Services, statement: Any) -> list[Any]:
    async with services.db.read() as session:
        return list(await session.execute(statement))


async def test_retry_records_one_request_and_refuses_a_second_even_at_once(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    execution = await failed(client, world)
    operator = await _operator(services, world)
    target = uuid.UUID(execution["uuid"])
    answers = await asyncio.gather(
        request_retry(services.executions, operator, target),
        request_retry(services.executions, operator, target),
        return_exceptions=True,
    )
    refused = [a for a in answers if isinstance(a, AppError)]
    assert len(refused) == 1 and refused[0].status_code == 409, answers
    assert "a retry is already requested" in refused[0].message
    audit = await rows(services, select(OperatorAction.action).where(OperatorAction.execution_uuid == target))
    assert [r.action for r in audit] == ["retry_request"]
    events = await rows(services, select(ExecutionEvent.type).where(ExecutionEvent.type == "execution.retry_requested"))
    assert len(events) == 1

    # The engine starts the retry: no new request while it runs; once it failed too, one is accepted.
    retry = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], retry_of=str(target))
    assert (await patch_execution(client, world.operator_a, retry["uuid"], status="running")).is_success
    try:
        await request_retry(services.executions, operator, target)
        raise AssertionError("a second retry was requested while the first one runs")
    except AppError as exc:
        assert exc.status_code == 409 and "still running" in exc.message
    assert (await patch_execution(client, world.operator_a, retry["uuid"], status="failed")).is_success
    await request_retry(services.executions, operator, target)


async def test_retry_is_refused_with_why_on_the_page(client: httpx.AsyncClient, world: World) -> None:
    running = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    operator, viewer = PageSession(client, world.operator_a), PageSession(client, world.viewer_a)
    answer = await operator.post(f"/executions/{running['uuid']}/retry", htmx_target="detail-body")
    assert answer.status_code == 409 and "not failed (it is running)" in answer.text

    execution = await failed(client, world)
    assert (await viewer.post(f"/executions/{execution['uuid']}/retry", htmx_target="detail-body")).status_code == 403
    other = await create_execution(client, world.operator_b, world.workflows["Invoice sync"], status="running")
    assert (await operator.post(f"/executions/{other['uuid']}/retry", htmx_target="detail-body")).status_code == 404

    page = await operator.post(f"/executions/{execution['uuid']}/retry", htmx_target="detail-body")
    assert page.status_code == 200 and "Retry requested" in page.text and "retry-button" not in page.text


async def test_the_demo_engine_answers_a_retry_request_and_records_inputs(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    await _sim_workflows(services, world)
    operator = await _operator(services, world)
    simulator = Simulator(ServiceBackend(services, operator), SimConfig(speed=0.01, fail_rate=0.0, seed=3))
    finished = await simulator.run_one(SIM_WORKFLOWS[0])
    assert finished is not None
    detail = await services.dashboard.execution_detail(operator, uuid.UUID(finished.uuid))
    runs = detail["data"]["workflow_data"]
    assert runs and all(isinstance(r.get("input"), dict) for r in runs), runs  # every node run has its input
    for before, after in itertools.pairwise(runs):
        if before.get("output") is not None and after["node_id"] != before["node_id"]:
            # handed on: the output, or for an if node (its output the branch taken) its own input
            handed = before["input"] if "branch" in before["output"] else before["output"]
            assert handed in (after["input"], after["input"].get("items")), (before, after)

    execution = await failed(client, world, finished.workflow.uuid)
    await request_retry(services.executions, operator, uuid.UUID(execution["uuid"]))
    tasks = await simulator.answer_retry_requests()
    assert len(tasks) == 1
    await asyncio.gather(*tasks)
    assert await simulator.answer_retry_requests() == []  # answered once
    retries = await rows(
        services, select(WorkflowExecution.status).where(WorkflowExecution.retry_of == execution["uuid"])
    )
    assert [r.status for r in retries] == ["completed"]
    detail = await services.dashboard.execution_detail(operator, uuid.UUID(execution["uuid"]))
    assert detail["execution"]["retry_success_id"] and not detail["retry"]["pending"]
    assert [r["status"] for r in detail["retry"]["retries"]] == ["completed"]


def test_a_long_graph_wraps_into_bands_that_fit_1280_px() -> None:
    nodes = [{"id": f"n{i}", "name": f"Node {i}"} for i in range(12)]
    edges = [{"source": f"n{i}", "target": f"n{i + 1}"} for i in range(11)]
    graph = layout_graph(nodes, edges, {"workflow_data": [{"node_id": "n11", "status": "error"}]})
    assert graph["width"] <= 1100 and len({n["y"] for n in graph["nodes"]}) == 3  # 5 + 5 + 2 columns
    assert max(n["x"] for n in graph["nodes"]) + NODE_W <= graph["width"]
    assert next(n for n in graph["nodes"] if n["id"] == "n11")["css"] == "err"
    wrapped = [e["d"] for e in graph["edges"] if " V" in e["d"]]
    assert len(wrapped) == 12 // BAND_COLUMNS  # the edges into the next band run down the gap
