"""Item 13: the server is killed (SIGKILL) in the middle of stopping a 1,365-execution tree.

The cascade is one transaction (docs/architecture.md, "Stop cascade and crashes"), so a crash
leaves the tree exactly as before the stop (the client got no answer and retries) or, once
committed, fully stopped: never half. The retried stop after restart completes the whole tree,
leaves no waiting parent behind and touches nothing in another workspace.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from pathlib import Path

import httpx

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
        while not await asyncio.to_thread(_sqlite_writer_active, path):
            assert time.monotonic() < deadline, "the stop never started writing"
            await asyncio.sleep(0.002)
        await asyncio.sleep(0.05)  # well into its ~1 s transaction
        server.kill()
    answer = await request
    assert isinstance(answer, httpx.HTTPError), f"the stop finished before the crash: {answer}"


async def test_server_killed_mid_cascade_leaves_all_or_nothing_and_a_retry_completes(
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
        # All or nothing; the crash happened with the transaction open, so: nothing.
        assert crashed == before, crashed

        server = AppServer(database_url, None, tmp_path)
        server.start()
        async with httpx.AsyncClient(base_url=server.base_url, headers=world.operator_a.headers, timeout=60) as c:
            began = time.monotonic()
            response = await c.post(f"/api/v1/workflow-executions/{tree.leaf_uuid}/stop")
            print(f"stop of {TREE} executions: {time.monotonic() - began:.2f}s")
            assert response.status_code == 200, response.text
            meta = response.json()["meta"]
            assert meta["stopped"] is True and len(meta["cascade_cancelled"]) == TREE - 1
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
