"""Issue 9: under an event flood the server coalesces a view's updates, at most a few frames per
second per page socket, and the page still ends identical to the database. Real server, real page
socket; the bound is on frames per coalescing window (the server spaces its flushes), not on time."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets

from app.services import Services
from tests.conftest import World, workspace_event_seq
from tests.realtime.live_clients import Writer, database_state
from tests.servers import AppServer

# Counts frames per second of wall time: .ci/run runs this module alone.
pytestmark = pytest.mark.serial

WINDOW_MS = 250
EVENTS = 500
ROW = re.compile(r'<tr id="row-([0-9a-f-]+)"(?: data-h="\w+")? class="row status-(\w+)" data-version="(\d+)"')
CURSOR = re.compile(r'class="live-seq"[^>]*data-seq="(\d+)"')


@pytest.fixture
def server(database_url: str, tmp_path: Path, world: World) -> Iterator[AppServer]:
    # A queue far smaller than one window's events: the page socket folds them as they arrive, so a
    # client that reads is never evicted for the server's own coalescing.
    app_server = AppServer(
        database_url, None, tmp_path, WS_PAGE_COALESCE_MS=str(WINDOW_MS), WS_QUEUE_SIZE="8", API_RATE_LIMIT="0"
    )
    try:
        app_server.start()
        yield app_server
    finally:
        app_server.stop()


async def test_a_flood_of_500_events_reaches_a_page_in_a_few_frames_per_second(
    server: AppServer, world: World, services: Services
) -> None:
    writer = Writer(server.base_url, world.operator_a.headers, world.workflows["Invoice approval"])
    uuids = [await writer.create(status="running") for _ in range(20)]
    headers = {"Cookie": f"athena_session={world.viewer_a.token}", "Origin": server.base_url}
    async with websockets.connect(
        f"{server.ws_url}/ws/executions?workspace={world.ws['A']}", additional_headers=headers
    ) as page:
        frames: list[str] = []

        async def read() -> None:
            while True:
                frames.append(await page.recv())

        reading = asyncio.create_task(read())
        started = time.monotonic()

        async def lane(lane_no: int) -> None:
            for i in range(lane_no, EVENTS, 8):
                await writer.patch(uuids[i % len(uuids)], running_node=f"node-{i}")

        await asyncio.gather(*(lane(n) for n in range(8)))
        final_seq = await workspace_event_seq(services, world.ws["A"])
        deadline = time.monotonic() + 30
        while not any(f'data-seq="{final_seq}"' in f for f in frames):
            assert time.monotonic() < deadline, "the page never received the last event's cursor"
            await asyncio.sleep(0.05)
        elapsed = time.monotonic() - started
        reading.cancel()
        await writer.aclose()
    assert writer.errors == []
    # Flushes are at least one window apart: at most elapsed/window + 2 frames (rows and page parts
    # share a frame), where sending each event would have taken about EVENTS frames.
    allowed = elapsed / (WINDOW_MS / 1000) + 2
    assert len(frames) <= allowed, f"{len(frames)} frames in {elapsed:.1f}s for {EVENTS} events"
    assert len(frames) < EVENTS / 2
    # The cursor only moves forward, and the rows end as the database has them.
    seqs = [int(s) for f in frames for s in CURSOR.findall(f)]
    assert seqs == sorted(seqs) and seqs[-1] == final_seq
    shown: dict[str, tuple[str, int]] = {}
    for frame in frames:
        for uuid, status, version in ROW.findall(frame):
            shown[uuid] = (status, int(version))
    truth = await database_state(server.base_url, world.operator_a.headers, world.ws["A"])
    assert set(shown) == set(uuids)
    assert shown == {u: truth[u] for u in uuids}
