"""A 1,001-event stop cascade reaches connected dashboards without evicting them (issue 6, goal 7).

Not a timing test: with the default per-socket queue (WS_QUEUE_SIZE 1,000), one transaction's
events must travel as one queue item, so no page or API socket, on the writing instance or on the
other one (through Redis), is closed as "too slow" or told to resync; each ends in the final state.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid as uuid_lib
from typing import Any

import httpx
import websockets
from sqlalchemy import insert, select

from app.db.models import User, Workflow, WorkflowExecution, Workspace
from app.db.models.base import utcnow
from app.services import Services
from tests.conftest import World, workspace_event_seq
from tests.servers import AppServer

CHILDREN, GRANDCHILDREN_EACH = 10, 99  # 10 + 990 descendants under one root: 1,001 executions


async def build_tree(services: Services, world: World) -> tuple[str, set[str]]:
    """A running root with 1,000 running descendants on two levels, written straight to the database."""
    E = WorkflowExecution
    async with services.db.write() as session:
        ws_id = (
            await session.execute(select(Workspace.id).where(Workspace.uuid == uuid_lib.UUID(world.ws["A"])))
        ).scalar_one()
        wf_id = (
            await session.execute(
                select(Workflow.id).where(Workflow.uuid == uuid_lib.UUID(world.workflows["Invoice approval"]))
            )
        ).scalar_one()
        user_id = (await session.execute(select(User.id).order_by(User.id).limit(1))).scalar_one()
        now = utcnow()

        async def level(parents: list[int | None]) -> list[tuple[int, str]]:
            rows = [
                {
                    "uuid": uuid_lib.uuid4(),
                    "workspace_id": ws_id,
                    "workflow_id": wf_id,
                    "user_id": user_id,
                    "parent_execution_id": parent,
                    "status": "running",
                    "started_at": now,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
                for parent in parents
            ]
            result = await session.execute(insert(E).returning(E.id, E.uuid), rows)
            return [(r.id, str(r.uuid)) for r in result]

        [(root_id, root_uuid)] = await level([None])
        children = await level([root_id] * CHILDREN)
        grandchildren = await level([cid for cid, _ in children for _ in range(GRANDCHILDREN_EACH)])
    return root_uuid, {root_uuid} | {u for _, u in children + grandchildren}


async def api_until_cancelled(sock: Any, tree: set[str]) -> None:
    """Every execution of the tree seen stopped or cancelled, with no resync on the way."""
    done: set[str] = set()
    while done != tree:
        message = json.loads(await asyncio.wait_for(sock.recv(), 30))
        assert message.get("type") != "resync", message
        if message.get("execution_uuid") in tree and message.get("status") == "cancelled":
            done.add(message["execution_uuid"])


async def page_until_seq(sock: Any, seq: int) -> list[str]:
    """Frames until the page's cursor reaches ``seq``, with no resync on the way."""
    frames: list[str] = []
    while not any(f'data-seq="{seq}"' in f for f in frames):
        frames.append(await asyncio.wait_for(sock.recv(), 30))
        assert 'id="resync-trigger"' not in frames[-1]
    return frames


def evictions(server: AppServer) -> int:
    return httpx.get(server.base_url + "/ready", timeout=5).json()["checks"]["subscriber"]["evicted"]


async def test_a_1001_event_cascade_evicts_no_dashboard_and_ends_in_the_final_state(
    two_instances: tuple[AppServer, AppServer], world: World, services: Services
) -> None:
    a, b = two_instances
    root, tree = await build_tree(services, world)
    seq_before = await workspace_event_seq(services, world.ws["A"])
    api_sockets, page_sockets = [], []
    for server in (a, b):
        api_sockets.append(
            await websockets.connect(
                f"{server.ws_url}/api/v1/ws?workspace_uuid={world.ws['A']}", additional_headers=world.viewer_a.headers
            )
        )
        page_sockets.append(
            await websockets.connect(
                f"{server.ws_url}/ws/executions?workspace={world.ws['A']}",
                additional_headers={"Cookie": f"athena_session={world.viewer_a.token}", "Origin": server.base_url},
            )
        )
    try:
        async with httpx.AsyncClient(base_url=a.base_url, headers=world.operator_a.headers, timeout=60) as c:
            r = await c.post(f"/api/v1/workflow-executions/{root}/stop")
        assert r.status_code == 200, r.text
        assert len(r.json()["meta"]["cascade_cancelled"]) == len(tree) - 1
        final_seq = await workspace_event_seq(services, world.ws["A"])
        assert final_seq == seq_before + len(tree)
        results = await asyncio.gather(
            *(api_until_cancelled(s, tree) for s in api_sockets), *(page_until_seq(s, final_seq) for s in page_sockets)
        )
        for frames in results[len(api_sockets) :]:
            # The page shows the newest rows, all of this tree: each ends cancelled, in a handful of
            # frames (one flush per batch or coalescing window), not one frame per event.
            assert len(frames) < 20, len(frames)
            shown = {
                m
                for f in frames
                for m in re.findall(r'<tr id="row-([0-9a-f-]+)"(?: data-h="\w+")? class="row status-cancelled"', f)
            }
            assert shown and shown <= tree
        for sock in api_sockets + page_sockets:
            assert sock.close_code is None  # still open: never evicted (1013)
        assert evictions(a) == 0 and evictions(b) == 0
    finally:
        for sock in api_sockets + page_sockets:
            await sock.close()
