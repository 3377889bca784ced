"""Regression guard for fan-out cost, not timing: with many sockets on one instance, each event is
encoded (API) or rendered (pages) exactly once, whatever the number of sockets. Real server, real
sockets; the counts come from the instance's /ready report."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.conftest import World
from tests.servers import AppServer

SOCKETS = 12


@pytest.fixture(params=["0", "250"], ids=["each-item", "coalesced"])
def server(request: pytest.FixtureRequest, database_url: str, tmp_path: Path, world: World) -> Iterator[AppServer]:
    # 24 sockets of one user: above the default per-user cap, which is not what this test is about.
    # Page sockets either flush each queued item as it comes, or gather 250 ms of updates.
    app_server = AppServer(
        database_url, None, tmp_path, WS_MAX_CONNECTIONS_PER_USER="0", WS_PAGE_COALESCE_MS=request.param
    )
    try:
        app_server.start()
        yield app_server
    finally:
        app_server.stop()  # also when it failed to start in time: no orphan process


def renders(server: AppServer) -> dict[str, int]:
    return httpx.get(server.base_url + "/ready", timeout=5).json()["checks"]["subscriber"]["renders"]


def frames_written_directly(server: AppServer) -> int:
    return httpx.get(server.base_url + "/ready", timeout=5).json()["checks"]["subscriber"]["frames_written_directly"]


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


async def write_twice(server: AppServer, world: World) -> None:
    """Two events: a creation (inserted on list pages) and a status change (the row updated in place)."""
    async with httpx.AsyncClient(base_url=server.base_url, headers=world.operator_a.headers) as c:
        r = await c.post("/api/v1/workflow-executions", json={"workflow_uuid": world.workflows["Invoice approval"]})
        assert r.status_code == 201, r.text
        r = await c.patch(f"/api/v1/workflow-executions/{r.json()['data']['uuid']}", json={"status": "running"})
        assert r.status_code == 200, r.text


async def until(sock: Any, needle: str) -> None:
    while needle not in await asyncio.wait_for(sock.recv(), 10):
        pass


async def test_each_event_is_rendered_and_encoded_once_whatever_the_number_of_sockets(
    server: AppServer, world: World
) -> None:
    page_headers = {"Cookie": f"athena_session={world.viewer_a.token}", "Origin": server.base_url}
    page_url = f"{server.ws_url}/ws/executions?workspace={world.ws['A']}"
    api_url = f"{server.ws_url}/api/v1/ws?workspace_uuid={world.ws['A']}"
    pages = [await websockets.connect(page_url, additional_headers=page_headers) for _ in range(SOCKETS)]
    apis = [await websockets.connect(api_url, additional_headers=world.viewer_a.headers) for _ in range(SOCKETS)]
    try:
        before, written_before = renders(server), frames_written_directly(server)
        await write_twice(server, world)
        # Every socket gets both events (seq 2 is the last) before we count.
        await asyncio.gather(*(until(s, 'data-seq="2"') for s in pages), *(until(s, '"seq":2,') for s in apis))
        counted = delta(before, renders(server))
        # Under uvicorn every frame is written straight to the connections (app/realtime/wire.py):
        # each API socket's two event frames, and at least one flush per page.
        assert frames_written_directly(server) - written_before >= 3 * SOCKETS
        if server.env["WS_PAGE_COALESCE_MS"] == "0":
            # Pages: the inserted row, the updated row and a cursor per event, and the update's frame
            # (the same bytes for every page); API: one JSON text and one frame per event.
            assert counted == {"insert": 1, "row": 1, "cursor": 2, "page-frame": 1, "json": 2, "frame": 2}
        else:
            # Coalesced: a row created and changed within one window is inserted once at its latest
            # version (the older rendering is skipped, never repeated per socket).
            assert counted["json"] == 2 and counted["frame"] == 2 and 1 <= counted.get("insert", 0) <= 2
            assert counted.get("insert", 0) + counted.get("row", 0) <= 2 and 1 <= counted["cursor"] <= 2
    finally:
        for s in pages + apis:
            await s.close()
