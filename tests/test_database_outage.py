"""Item 6: PostgreSQL restarted mid-run, on a private cluster (tests/servers.py PostgresServer).

Requests during the outage get 503 with a clear message (JSON for the API, a page for browsers),
the pool recovers without restarting the app, and a change cut by the crash is not half-written.
Runs in the PostgreSQL pass only (it needs PostgreSQL binaries, and SQLite has no server to lose).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from app.services import Services
from tests.conftest import EXECUTIONS, IS_POSTGRES, World, _migrate, create_execution, need_service
from tests.fault_helpers import WorkspaceCounterLock, seed_tree, snapshot
from tests.servers import PostgresServer

UNAVAILABLE = "The database is unavailable right now; nothing was changed. Try again shortly."


@pytest.fixture
def private_pg() -> Iterator[PostgresServer]:
    if not IS_POSTGRES:
        pytest.skip("PostgreSQL outage: runs in the PostgreSQL pass")
    why = PostgresServer.available()
    if why:
        need_service("a private PostgreSQL cluster", why)
    server = PostgresServer()
    server.start()
    yield server
    server.destroy()


@pytest.fixture
def database_url(private_pg: PostgresServer) -> str:
    _migrate(private_pg.url)
    return private_pg.url


async def _during_outage(client: httpx.AsyncClient, world: World, execution: str) -> None:
    api = world.operator_a.headers
    answers = [
        await client.get(EXECUTIONS, params={"workspace_uuid": world.ws["A"]}, headers=api),
        await client.post(EXECUTIONS, json={"workflow_uuid": world.workflows["Invoice approval"]}, headers=api),
        await client.patch(f"{EXECUTIONS}/{execution}", json={"status": "running"}, headers=api),
        await client.post(f"{EXECUTIONS}/{execution}/stop", headers=api),
    ]
    for r in answers:
        assert r.status_code == 503, (r.request.method, r.request.url, r.status_code, r.text[:300])
        assert r.json()["message"] == UNAVAILABLE and r.headers["retry-after"] == "2"
    page = await client.get(
        "/executions", params={"workspace": world.ws["A"]}, headers={"Cookie": f"athena_session={world.viewer_a.token}"}
    )
    assert page.status_code == 503 and "text/html" in page.headers["content-type"]
    assert "Temporarily unavailable" in page.text and "nothing was changed" in page.text
    ready = await client.get("/ready")
    assert ready.status_code == 503 and ready.json()["checks"]["database"]["ok"] is False
    assert (await client.get("/health")).status_code == 200


async def test_postgres_restart_answers_503_then_recovers_without_half_writes(
    client: httpx.AsyncClient, world: World, services: Services, private_pg: PostgresServer, database_url: str
) -> None:
    execution = (await create_execution(client, world.operator_a, world.workflows["Invoice approval"]))["uuid"]

    # 1. Down: every kind of request says so plainly; nothing else breaks.
    await asyncio.to_thread(private_pg.stop)
    await _during_outage(client, world, execution)

    # 2. Back: the same app (same pool) serves again at once.
    await asyncio.to_thread(private_pg.start)
    r = await client.patch(f"{EXECUTIONS}/{execution}", json={"status": "running"}, headers=world.operator_a.headers)
    assert r.status_code == 200, r.text
    assert (await client.get("/ready")).status_code == 200

    # 3. Crashed in the middle of a stop cascade: all or nothing, and the retry completes it.
    tree = await seed_tree(services, world.ws["A"], world.workflows["Invoice approval"], depth=4)
    before = await snapshot(services, tree.workspace_id)
    async with WorkspaceCounterLock(database_url, tree.workspace_id) as lock:
        stopping = asyncio.create_task(
            client.post(f"{EXECUTIONS}/{tree.leaf_uuid}/stop", headers=world.operator_a.headers)
        )
        await lock.wait_for_blocked_writer()  # every row of the tree is cancelled, not yet committed
        await asyncio.to_thread(private_pg.stop, "immediate")
    cut = await stopping
    assert cut.status_code == 503 and cut.json()["message"] == UNAVAILABLE
    await asyncio.to_thread(private_pg.start)
    assert await snapshot(services, tree.workspace_id) == before
    retried = await client.post(f"{EXECUTIONS}/{tree.leaf_uuid}/stop", headers=world.operator_a.headers)
    assert retried.status_code == 200 and len(retried.json()["meta"]["cascade_cancelled"]) == len(tree.ids) - 1
    after = await snapshot(services, tree.workspace_id)
    assert after.statuses == {"cancelled": len(tree.ids), "running": 1} and after.events == before.events + len(
        tree.ids
    )
