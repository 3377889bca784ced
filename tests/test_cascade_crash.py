"""Item 13: the server is killed (SIGKILL) in the middle of stopping a 1,365-execution tree.

A stop first commits its intent (an ``operations`` row and the execution's ``stop_requested_at``),
then runs the cascade in one transaction that also closes the intent (docs/architecture.md, "Stop
cascade and crashes"). A crash inside the cascade leaves the tree as before, visibly "stopping";
the restarted server resumes the intent by itself and stops the whole tree, leaves no waiting
parent behind and touches nothing in another workspace. Nobody sends the stop again.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import select

from app.db.models import Operation, WorkflowExecution
from app.services import Services
from tests.conftest import IS_POSTGRES, World
from tests.fault_helpers import WorkspaceCounterLock, seed_tree, snapshot
from tests.servers import AppServer

TREE = 1 + 4 + 16 + 64 + 256 + 1024


def _sqlite_writer_active(path: str) -> bool:
    conn = sqlite3.connect(path, timeout=0)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.rollback()
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        conn.close()


def _sqlite_intent_committed(path: str) -> bool:
    conn = sqlite3.connect(path, timeout=5)
    try:
        return conn.execute("SELECT count(*) FROM operations WHERE kind = 'stop'").fetchone()[0] > 0
    finally:
        conn.close()


async def _intent(services: Services, leaf: str) -> tuple[str | None, bool]:
    """The stop intent's status and whether the execution is marked as stopping."""
    async with services.db.read() as session:
        status = (await session.execute(select(Operation.status).where(Operation.kind == "stop"))).scalar_one_or_none()
        marked = (
            await session.execute(
                select(WorkflowExecution.stop_requested_at).where(WorkflowExecution.uuid == uuid.UUID(leaf))
            )
        ).scalar_one()
    return status, marked is not None


async def _crash_mid_stop(server: AppServer, database_url: str, workspace_id: int, leaf: str, world: World) -> None:
    async def stop() -> BaseException | httpx.Response:
        async with httpx.AsyncClient(base_url=server.base_url, headers=world.operator_a.headers, timeout=60) as c:
            try:
                return await c.post(f"/api/v1/workflow-executions/{leaf}/stop")
            except httpx.HTTPError as exc:
                return exc

    async with httpx.AsyncClient(base_url=server.base_url, headers=world.operator_a.headers, timeout=60) as c:
        assert (await c.get(f"/api/v1/workflow-executions/{leaf}")).status_code == 200  # pool warm
    if IS_POSTGRES:
        # Deterministic: the stop has cancelled every row and now waits for the event counter we hold.
        async with WorkspaceCounterLock(database_url, workspace_id) as lock:
            request = asyncio.create_task(stop())
            await lock.wait_for_blocked_writer()
            server.kill()
    else:
        path = database_url.removeprefix("sqlite+aiosqlite:///")
        request = asyncio.create_task(stop())
        deadline = time.monotonic() + 30
        while not await asyncio.to_thread(_sqlite_intent_committed, path):
            assert time.monotonic() < deadline, "the stop never committed its intent"
            await asyncio.sleep(0.002)
        while not await asyncio.to_thread(_sqlite_writer_active, path):
            assert time.monotonic() < deadline, "the stop never started writing"
            await asyncio.sleep(0.002)
        await asyncio.sleep(0.05)  # well into its ~1 s transaction
        server.kill()
    answer = await request
    assert isinstance(answer, httpx.HTTPError), f"the stop finished before the crash: {answer}"


async def test_server_killed_mid_cascade_resumes_the_stop_by_itself(
    database_url: str, tmp_path: Path, world: World, services: Services
) -> None:
    tree = await seed_tree(services, world.ws["A"], world.workflows["Invoice approval"])
    other = await seed_tree(services, world.ws["B"], world.workflows["Invoice sync"], depth=4)
    assert len(tree.ids) == TREE
    before, other_before = await snapshot(services, tree.workspace_id), await snapshot(services, other.workspace_id)

    server = AppServer(database_url, None, tmp_path)
    server.start()
    try:
        await _crash_mid_stop(server, database_url, tree.workspace_id, tree.leaf_uuid, world)
        crashed = await snapshot(services, tree.workspace_id)
        # The cascade's transaction was open: nothing of it happened, but the stop is visibly pending.
        assert crashed == before, crashed
        assert await _intent(services, tree.leaf_uuid) == ("running", True)

        server = AppServer(database_url, None, tmp_path)
        began = time.monotonic()
        server.start()  # the runner resumes the open intent at start-up
        deadline = time.monotonic() + 120
        while (await snapshot(services, tree.workspace_id)).statuses != Counter({"cancelled": TREE}):
            assert time.monotonic() < deadline, "the resumed stop never completed"
            await asyncio.sleep(0.1)
        print(f"restart + resumed stop of {TREE} executions: {time.monotonic() - began:.2f}s")
        assert (await _intent(services, tree.leaf_uuid))[0] == "done"
        async with httpx.AsyncClient(base_url=server.base_url, headers=world.operator_a.headers, timeout=60) as c:
            leaf = (await c.get(f"/api/v1/workflow-executions/{tree.leaf_uuid}")).json()["data"]
            assert leaf["status"] == "cancelled" and leaf["stopping"] is False
            # Idempotent: asking again changes nothing.
            again = await c.post(f"/api/v1/workflow-executions/{tree.leaf_uuid}/stop")
            assert again.status_code == 200 and again.json()["meta"]["stopped"] is False
    finally:
        server.stop()

    after = await snapshot(services, tree.workspace_id)
    assert after.statuses == Counter({"cancelled": TREE})  # no waiting parent left hanging
    assert after.versions == Counter({2: TREE})
    assert after.events == before.events + TREE and after.event_seq == before.event_seq + TREE
    assert after.pending_approvals == 0
    assert await snapshot(services, other.workspace_id) == other_before
