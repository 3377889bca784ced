"""Two real server processes sharing the database and Redis: what a user of a load-balanced
deployment relies on. Redis is our own process here, so the tests may kill and pause it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets

from tests.conftest import World
from tests.servers import AppServer


async def recv_json(sock: Any, wait: float = 10.0) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(sock.recv(), wait))


def api_ws(server: AppServer, world: World, workspace: str = "A", since: int | None = None) -> Any:
    url = f"{server.ws_url}/api/v1/ws?workspace_uuid={world.ws[workspace]}"
    if since is not None:
        url += f"&since={since}"
    return websockets.connect(url, additional_headers=world.operator_a.headers, open_timeout=10)


async def create(server: AppServer, world: World, **body: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.base_url, headers=world.operator_a.headers, timeout=15) as c:
        r = await c.post(
            "/api/v1/workflow-executions", json={"workflow_uuid": world.workflows["Invoice approval"], **body}
        )
        assert r.status_code == 201, r.text
        return r.json()["data"]


async def test_change_on_instance_a_reaches_socket_on_instance_b(
    two_instances: tuple[AppServer, AppServer], world: World
) -> None:
    a, b = two_instances
    async with api_ws(b, world) as sock:
        created = await create(a, world, status="running")
        event = await recv_json(sock)
    assert event["type"] == "execution.created"
    assert event["execution_uuid"] == created["uuid"]
    assert event["workspace_uuid"] == world.ws["A"]
    assert event["execution"]["status"] == "running"
    assert event["version"] == created["version"] == 1


async def test_reconnect_replays_exactly_the_missed_events(
    two_instances: tuple[AppServer, AppServer], world: World
) -> None:
    a, b = two_instances
    async with api_ws(b, world) as sock:
        first = await create(a, world, status="running")
        last_seen = (await recv_json(sock))["seq"]
    # Offline: five changes happen without us.
    async with httpx.AsyncClient(base_url=a.base_url, headers=world.operator_a.headers, timeout=15) as c:
        for status in ("paused", "running", "waiting"):
            r = await c.patch(f"/api/v1/workflow-executions/{first['uuid']}", json={"status": status})
            assert r.status_code == 200, r.text
        second = await create(a, world)
        r = await c.post(f"/api/v1/workflow-executions/{first['uuid']}/stop")
        assert r.status_code == 200
    async with api_ws(b, world, since=last_seen) as sock:
        replayed = [await recv_json(sock) for _ in range(5)]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(sock.recv(), 0.5)  # nothing more, nothing twice
    assert [e["seq"] for e in replayed] == list(range(last_seen + 1, last_seen + 6))
    assert [e["type"] for e in replayed] == [
        "execution.status_changed", "execution.status_changed", "execution.status_changed",
        "execution.created", "execution.stopped",
    ]  # fmt: skip
    # The client's final picture equals the database's.
    final = {e["execution_uuid"]: e for e in replayed}
    async with httpx.AsyncClient(base_url=b.base_url, headers=world.operator_a.headers, timeout=15) as c:
        for uuid in (first["uuid"], second["uuid"]):
            row = (await c.get(f"/api/v1/workflow-executions/{uuid}")).json()["data"]
            assert (row["status"], row["version"]) == (final[uuid]["status"], final[uuid]["version"])


async def test_replay_while_events_keep_arriving_has_no_gap_and_no_duplicate(
    two_instances: tuple[AppServer, AppServer], world: World
) -> None:
    a, b = two_instances
    total = 40

    async def writer() -> None:
        for _ in range(total):
            await create(a, world)

    writing = asyncio.create_task(writer())
    await asyncio.sleep(0.3)  # connect mid-stream, replaying from the very beginning
    seqs: list[int] = []
    async with api_ws(b, world, since=0) as sock:
        while len(seqs) < total:
            seqs.append((await recv_json(sock))["seq"])
        await writing
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(sock.recv(), 0.5)
    assert seqs == list(range(1, total + 1))


# Redis killed and paused under traffic: tests/realtime/test_faults.py::test_redis_killed_and_paused_under_traffic


async def test_api_socket_refuses_foreign_workspace_and_missing_token(
    two_instances: tuple[AppServer, AppServer], world: World
) -> None:
    _, b = two_instances
    async with api_ws(b, world, workspace="B") as sock:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(sock.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404
    assert "not found" in closed.value.rcvd.reason
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(f"{b.ws_url}/api/v1/ws?workspace_uuid={world.ws['A']}", open_timeout=5):
            pass
