"""GET requests admitted a few at a time per process (app/lib/read_gate.py), on a bare ASGI app
and through the whole app."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.lib.read_gate import ReadGate
from app.services import Services
from tests.conftest import EXECUTIONS, World


def http(path: str = "/executions", method: str = "GET") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path}


class Handler:
    """An ASGI app whose requests each wait for their own go-ahead; it records who started when."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.go: dict[int, asyncio.Event] = {}
        self.running = self.most_running = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        n = scope["n"]
        self.started.append(n)
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            if scope.get("stream"):  # a download: the response starts, its body comes later
                await send({"type": "http.response.start", "status": 200, "headers": []})
            await self.go.setdefault(n, asyncio.Event()).wait()
            if scope.get("fail"):
                raise RuntimeError("handler failed")
        finally:
            self.running -= 1


async def noop_send(_: Any) -> None:
    return None


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_only_gets_outside_the_operations_endpoints_wait() -> None:
    gate = ReadGate(4)
    assert gate.applies_to(http("/executions")) and gate.applies_to(http("/api/v1/workflow-executions", "HEAD"))
    assert not gate.applies_to(http("/api/v1/workflow-executions", "POST"))  # a body: never wait holding a place
    assert not any(gate.applies_to(http(p)) for p in ("/health", "/ready", "/metrics"))
    assert not gate.applies_to({"type": "websocket", "path": "/executions/ws"})
    assert not ReadGate(0).applies_to(http())


async def test_at_most_limit_run_and_the_others_start_in_arrival_order() -> None:
    gate, app = ReadGate(2), Handler()
    tasks = [asyncio.create_task(gate.run(app, http() | {"n": n}, None, noop_send)) for n in range(6)]
    await settle()
    assert app.started == [0, 1] and gate.running == 2 and gate.waiting == 4
    for n in (1, 0, 2, 3, 4, 5):  # finishing out of order frees places for the next in line
        app.go.setdefault(n, asyncio.Event()).set()
        await settle()
    await asyncio.gather(*tasks)
    assert app.started == [0, 1, 2, 3, 4, 5]
    assert app.most_running == 2
    assert (gate.running, gate.waiting, gate.waited_total) == (0, 0, 4)


async def test_a_started_response_and_a_failed_request_give_their_place_back() -> None:
    gate, app = ReadGate(1), Handler()
    streaming = asyncio.create_task(gate.run(app, http() | {"n": 0, "stream": True}, None, noop_send))
    failing = asyncio.create_task(gate.run(app, http() | {"n": 1, "fail": True}, None, noop_send))
    last = asyncio.create_task(gate.run(app, http() | {"n": 2}, None, noop_send))
    await settle()
    # The download has started (a CSV export, a slow reader): the next request runs meanwhile.
    assert app.started == [0, 1] and not streaming.done()
    app.go.setdefault(1, asyncio.Event()).set()
    await settle()
    with pytest.raises(RuntimeError):
        await failing
    assert app.started == [0, 1, 2]  # the failure gave its place back
    for n in (0, 2):
        app.go[n].set()
    await asyncio.gather(streaming, last)
    assert gate.running == 0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, http_read_concurrency=1)


async def test_the_app_queues_concurrent_gets_and_answers_them_all(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    assert services.read_gate.limit == 1
    params = {"workspace_uuid": world.ws["A"]}
    responses = await asyncio.gather(
        *(client.get(EXECUTIONS, params=params, headers=world.operator_a.headers) for _ in range(8))
    )
    assert [r.status_code for r in responses] == [200] * 8
    assert services.read_gate.waited_total > 0  # they did queue, one at a time
    assert services.read_gate.running == services.read_gate.waiting == 0
    health = await asyncio.gather(*(client.get("/health") for _ in range(3)))
    assert all(r.status_code == 200 for r in health)
