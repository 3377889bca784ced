"""The n8n bridge against a real n8n 1.x: runs only when ``N8N_URL`` names one (skipped otherwise,
also in CI: docs/bridges.md says why). ``N8N_API_KEY`` is used when set; otherwise a fresh n8n is
provisioned (owner, then an API key) through its ``/rest`` API.

A workflow with a Wait node runs in n8n, shows up in Athena with its review, is approved in Athena
through the REST API, and completes in n8n with the decision in its last node.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from app.bridges.n8n.client import N8nClient
from app.bridges.n8n.process import BridgeTarget, build_runner
from app.bridges.n8n.runner import BridgeOptions
from app.bridges.n8n.status import bridge_states
from app.services import Services
from tests.approval_helpers import APPROVALS, decide
from tests.conftest import EXECUTIONS, World
from tests.test_bridge_n8n_support import approval_workflow, child_workflow, create_active, failing_workflow, provision

N8N_URL = os.environ.get("N8N_URL", "").rstrip("/")
pytestmark = pytest.mark.skipif(not N8N_URL, reason="no n8n: set N8N_URL (and N8N_API_KEY) to run against one")


@pytest.fixture(scope="module")
def api_key() -> str:
    return os.environ.get("N8N_API_KEY") or provision(N8N_URL)


@pytest.fixture
def n8n(api_key: str) -> httpx.Client:
    return httpx.Client(base_url=N8N_URL, headers={"X-N8N-API-KEY": api_key}, timeout=30)


@pytest.fixture
def invoice_flow(n8n: httpx.Client) -> Any:
    """The approval workflow and its sub-workflow, active under a fresh webhook path; deleted after."""
    tag = uuid.uuid4().hex[:8]
    child = create_active(n8n, child_workflow(f"Enrich vendor {tag}"), activate=False)
    main = create_active(n8n, approval_workflow(f"Invoice approval {tag}", f"invoice-{tag}", child))
    yield f"Invoice approval {tag}", f"invoice-{tag}"
    n8n.post(f"/api/v1/workflows/{main}/deactivate")
    for workflow_id in (main, child):
        n8n.delete(f"/api/v1/workflows/{workflow_id}")


async def until(check: Callable[[], Awaitable[Any]], what: str, limit: float = 60.0) -> Any:
    """Wait for a condition (the limit only bounds a broken run; the bench measures latency)."""
    deadline = time.monotonic() + limit
    while not (found := await check()):
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.1)
    return found


@pytest.fixture
async def bridge(services: Services, world: World, api_key: str) -> AsyncIterator[Any]:
    client = N8nClient(N8N_URL, api_key)
    options = BridgeOptions(poll_seconds=0.5, backfill=0)
    runner = await build_runner(services, client, BridgeTarget(world.ws["A"]), options)
    task = asyncio.create_task(runner.run())

    async def polled() -> bool:
        return bool((await bridge_states(services.db))[0]["polls"])

    await until(polled, "the bridge's first poll")
    yield runner
    runner.stop()
    await task
    await client.close()


async def test_an_athena_approval_resumes_a_real_n8n_execution(
    client: httpx.AsyncClient, world: World, n8n: httpx.Client, invoice_flow: Any, bridge: Any
) -> None:
    name, path = invoice_flow
    n8n_api = httpx.AsyncClient(base_url=N8N_URL, headers=n8n.headers, timeout=30)
    started = await n8n_api.post(f"/webhook/{path}", json={"invoice": "INV-77", "amount": 912.4})
    assert started.status_code == 200, started.text

    async def review() -> dict[str, Any] | None:
        params = {"workspace_uuid": world.ws["A"], "status": "pending", "per_page": 100}
        answer = await client.get(APPROVALS, params=params, headers=world.approver_a.headers)
        return next((a for a in answer.json()["data"] if a["workflow_name"] == name), None)

    pending = await until(review, "the n8n execution's review in Athena")
    assert pending["title"] == "Approve invoice payment"
    assert pending["payload"] == {"invoice": "INV-77", "amount": 912.4, "vendor": "ACME GmbH"}
    execution = (
        await client.get(
            f"{EXECUTIONS}/{pending['execution_uuid']}",
            params={"with": "workflowExecutionData"},
            headers=world.admin_a.headers,
        )
    ).json()["data"]
    assert execution["status"] == "waiting"
    n8n_id = execution["workflow_execution_data"][0]["metadata"]["n8n_execution_id"]

    answer = await decide(client, world.approver_a, pending["uuid"], "approve", comment="PO 4711 matches")
    assert answer.status_code == 200, answer.text

    async def finished_in_n8n() -> dict[str, Any] | None:
        item = (await n8n_api.get(f"/api/v1/executions/{n8n_id}", params={"includeData": "true"})).json()
        return item if item["status"] == "success" else None

    done = await until(finished_in_n8n, "n8n to resume and finish the execution")
    ledger = done["data"]["resultData"]["runData"]["Post to ledger"][0]["data"]["main"][0][0]["json"]
    assert ledger == {"decision": "approved", "comment": "PO 4711 matches"}

    async def completed_in_athena() -> bool:
        item = (await client.get(f"{EXECUTIONS}/{execution['uuid']}", headers=world.admin_a.headers)).json()["data"]
        return bool(item["status"] == "completed")

    await until(completed_in_athena, "Athena to show the execution completed")
    await n8n_api.aclose()


def test_a_written_cursor_reads_the_executions_below_an_id(n8n: httpx.Client, api_key: str) -> None:
    """The contract ``N8nClient.executions_below`` relies on: n8n takes a cursor written as it writes
    its own (``{"lastId", "limit"}``) and answers the executions under that id, newest first, with
    their data; the bridge reads a burst's new executions as one such page."""
    tag = uuid.uuid4().hex[:8]
    workflow_id = create_active(n8n, failing_workflow(f"Cursor {tag}", f"cursor-{tag}"))
    for _ in range(4):
        assert n8n.post(f"/webhook/cursor-{tag}", json={}).status_code == 200

    def listed() -> list[int]:
        body = n8n.get("/api/v1/executions", params={"workflowId": workflow_id, "limit": 10}).json()
        return [int(e["id"]) for e in body["data"]]

    deadline = time.monotonic() + 60
    while len(ids := listed()) < 4:
        assert time.monotonic() < deadline, "n8n did not record the four runs"
        time.sleep(0.2)

    async def below_newest() -> list[dict[str, Any]]:
        client = N8nClient(N8N_URL, api_key)
        try:
            return await client.executions_below(ids[0], 2)
        finally:
            await client.close()

    page = asyncio.run(below_newest())
    n8n.post(f"/api/v1/workflows/{workflow_id}/deactivate")
    n8n.delete(f"/api/v1/workflows/{workflow_id}")
    below = [i for i in ids if i < ids[0]]
    # Other workflows' runs may sit between this one's: the page is n8n's two newest under the id.
    assert [int(e["id"]) for e in page] == sorted((int(e["id"]) for e in page), reverse=True)
    assert all(int(e["id"]) < ids[0] for e in page) and len(page) == 2
    assert int(page[0]["id"]) >= below[0]
    assert all("data" in e and "resultData" in e["data"] for e in page)
