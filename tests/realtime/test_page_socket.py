"""The pages' WebSocket on a real server (embedded bus): Origin and session checks, tenant scoping,
and the HTML fragments htmx swaps in."""

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


@pytest.fixture
def server(database_url: str, tmp_path: Path, world: World) -> Iterator[AppServer]:
    app_server = AppServer(database_url, None, tmp_path)
    app_server.start()
    yield app_server
    app_server.stop()


def page_socket(server: AppServer, actor: Any, query: str, origin: str | None = "same") -> Any:
    headers = {"Cookie": f"athena_session={actor.token}"}
    if origin == "same":
        headers["Origin"] = server.base_url
    elif origin is not None:
        headers["Origin"] = origin
    return websockets.connect(f"{server.ws_url}/ws/executions?{query}", additional_headers=headers, open_timeout=5)


async def create(
    server: AppServer, world: World, workflow: str = "Invoice approval", actor: str = "operator_a"
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.base_url, headers=world.users[actor].headers) as c:
        r = await c.post("/api/v1/workflow-executions", json={"workflow_uuid": world.workflows[workflow]})
        assert r.status_code == 201, r.text
        return r.json()["data"]


async def frames_until(sock: Any, *needles: str) -> list[str]:
    """Frames until every needle has been seen: how many frames carry them depends on how the
    server groups a flush (rows + page parts together, inserts in their own <tbody>)."""
    frames: list[str] = []
    while not all(any(n in f for f in frames) for n in needles):
        frames.append(await asyncio.wait_for(sock.recv(), 5))
    return frames


async def test_foreign_origins_are_refused_before_accept(server: AppServer, world: World) -> None:
    host = server.base_url.removeprefix("http://")
    refused_origins = [
        None,  # missing
        "null",
        "http://evil.example",
        f"{server.base_url}.evil.example",  # look-alike suffix
        f"http://127.0.0.1:{server.port + 1}",  # other port
        f"https://{host}",  # other scheme
        f"http://localhost:{server.port}",  # same machine, another name: not in ALLOWED_ORIGINS
    ]
    for origin in refused_origins:
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with page_socket(server, world.viewer_a, f"workspace={world.ws['A']}", origin=origin):
                pass
        assert refused.value.response.status_code == 403, origin
    async with page_socket(server, world.viewer_a, f"workspace={world.ws['A']}") as sock:
        assert sock.protocol.state.name == "OPEN"


async def test_no_session_no_socket(server: AppServer, world: World) -> None:
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(
            f"{server.ws_url}/ws/executions", additional_headers={"Origin": server.base_url}, open_timeout=5
        ):
            pass


async def test_new_execution_slides_in_and_updates_in_place(server: AppServer, world: World) -> None:
    async with page_socket(server, world.viewer_a, f"workspace={world.ws['A']}") as sock:
        created = await create(server, world)
        frames = await frames_until(sock, "<tbody", 'data-seq="1"')
        insert = next(f for f in frames if "<tbody" in f)
        assert insert.startswith('<tbody hx-swap-oob="afterbegin:#execution-rows">')  # a table part leads its frame
        assert f'id="row-{created["uuid"]}"' in insert
        async with httpx.AsyncClient(base_url=server.base_url, headers=world.operator_a.headers) as c:
            await c.patch(f"/api/v1/workflow-executions/{created['uuid']}", json={"status": "running"})
        frames = await frames_until(sock, 'data-version="2"', 'data-seq="2"')
        row = next(f for f in frames if 'data-version="2"' in f)
        assert row.startswith(f'<tr id="row-{created["uuid"]}"')
        assert 'hx-swap-oob="true"' in row and "badge-running" in row


async def test_row_leaving_the_filter_is_sent_marked_leaving(server: AppServer, world: World) -> None:
    created = await create(server, world)
    async with page_socket(server, world.viewer_a, f"workspace={world.ws['A']}&status=pending") as sock:
        async with httpx.AsyncClient(base_url=server.base_url, headers=world.operator_a.headers) as c:
            await c.patch(f"/api/v1/workflow-executions/{created['uuid']}", json={"status": "running"})
        frames = await frames_until(sock, 'data-leaving="no longer in this view"')
    # Sent as it is now and marked leaving: the page removes it, or shows it so while held.
    row = next(f for f in frames if f'id="row-{created["uuid"]}"' in f)
    assert 'data-leaving="no longer in this view"' in row and "badge-running" in row


async def test_asking_for_another_workspace_gets_nothing_of_it(server: AppServer, world: World) -> None:
    """The channel comes from memberships: a viewer of A asking for B's workspace is shown A."""
    async with page_socket(server, world.viewer_a, f"workspace={world.ws['B']}") as sock:
        await create(server, world, workflow="Invoice sync", actor="operator_b")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(sock.recv(), 1.5)
        own = await create(server, world)
        frames = await frames_until(sock, own["uuid"], "live-seq")
    assert not any(world.ws["B"] in f for f in frames)


async def test_reconnect_with_cursor_replays_missed_rows(server: AppServer, world: World) -> None:
    shown = await create(server, world)
    async with page_socket(server, world.viewer_a, f"workspace={world.ws['A']}") as sock:
        pass
    async with httpx.AsyncClient(base_url=server.base_url, headers=world.operator_a.headers) as c:
        await c.patch(f"/api/v1/workflow-executions/{shown['uuid']}", json={"status": "running"})
    async with page_socket(server, world.viewer_a, f"workspace={world.ws['A']}&since={world.ws['A']}:1") as sock:
        frames = await frames_until(sock, 'data-state="resynced"', 'data-version="2"')
    row = next(f for f in frames if f.startswith("<tr"))
    assert 'data-version="2"' in row and "badge-running" in row
    assert any('data-state="resynced"' in f for f in frames)


async def test_detail_page_follows_grandchildren_and_a_future_cursor_restarts(server: AppServer, world: World) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, headers=world.operator_a.headers) as c:
        wf = world.workflows["Invoice approval"]
        root = (await c.post("/api/v1/workflow-executions", json={"workflow_uuid": wf})).json()["data"]
        child = (
            await c.post(
                "/api/v1/workflow-executions", json={"workflow_uuid": wf, "parent_execution_uuid": root["uuid"]}
            )
        ).json()["data"]
        grandchild = (
            await c.post(
                "/api/v1/workflow-executions", json={"workflow_uuid": wf, "parent_execution_uuid": child["uuid"]}
            )
        ).json()["data"]
        query = f"workspace={world.ws['A']}&execution={root['uuid']}"
        async with page_socket(server, world.viewer_a, query) as sock:
            await c.patch(f"/api/v1/workflow-executions/{grandchild['uuid']}", json={"status": "running"})
            frame = await asyncio.wait_for(sock.recv(), 5)
        assert 'id="detail-refresh"' in frame and root["uuid"] in frame
    async with page_socket(server, world.viewer_a, f"workspace={world.ws['A']}&since={world.ws['A']}:999") as sock:
        frame = await asyncio.wait_for(sock.recv(), 5)
    assert 'id="resync-trigger"' in frame and 'data-seq="4"' in frame  # the cursor restarts from now


async def test_deleted_row_leaves_and_a_restored_one_slides_back_in(server: AppServer, world: World) -> None:
    created = await create(server, world)
    async with (
        page_socket(server, world.viewer_a, f"workspace={world.ws['A']}") as sock,
        httpx.AsyncClient(base_url=server.base_url) as c,
    ):
        url = f"/api/v1/workflow-executions/{created['uuid']}"
        deleted = await c.request("DELETE", url, json={"reason": "probe"}, headers=world.operator_a.headers)
        assert deleted.status_code == 204
        frames = await frames_until(sock, 'data-leaving="deleted"')
        assert any(f'id="row-{created["uuid"]}"' in f and 'data-leaving="deleted"' in f for f in frames)
        restored = await c.post(f"{url}/restore", headers=world.admin_a.headers)
        assert restored.status_code == 200, restored.text
        frames = await frames_until(sock, "<tbody")
    insert = next(f for f in frames if "<tbody" in f)
    assert 'hx-swap-oob="afterbegin:#execution-rows"' in insert and f'id="row-{created["uuid"]}"' in insert
