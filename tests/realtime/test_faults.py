"""Fault injection on real server processes (docs/reliability.md, items 1, 2, 4, 5, 7).

Two instances share the test database and a private Redis; writes go through A, clients follow
on B (so every event crosses Redis), and the tests cut clients, stop reading, kill and pause Redis.
CI-sized: the full-length runs are bench/chaos.py and bench/soak.py.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.conftest import World
from tests.realtime.live_clients import (
    DeafSocket,
    Follower,
    Writer,
    cut_and_rejoin,
    database_seq,
    database_state,
    finish_cuts,
    get,
    until_ready_is,
)
from tests.servers import AppServer, RedisServer, free_port, wait_until

QUEUE = 32  # per-socket queue on the instances: small, so a deaf client is evicted quickly


@pytest.fixture
def pair(
    database_url: str, redis_server: RedisServer, tmp_path: Path, world: World
) -> Iterator[tuple[AppServer, AppServer]]:
    servers = tuple(AppServer(database_url, redis_server.url, tmp_path, WS_QUEUE_SIZE=str(QUEUE)) for _ in range(2))
    try:
        for s in servers:
            s.launch()
        for s in servers:
            s.wait_ready()
        yield servers  # type: ignore[misc]
    finally:
        for s in servers:
            s.stop()


async def check_reconnecting_clients_converge(a: AppServer, b: AppServer, world: World) -> None:
    """Item 1 (CI size): 20 clients on B, 200 writes on A, every client cut twice."""
    headers, ws = world.viewer_a.headers, world.ws["A"]
    start = await database_seq(b.base_url, headers, ws)
    followers = [Follower(b.ws_url, ws, headers, last_seq=start) for _ in range(20)]
    await asyncio.gather(*(f.connect() for f in followers))
    writer = Writer(a.base_url, world.operator_a.headers, world.workflows["Invoice approval"])
    rng = random.Random(1)
    writing = asyncio.create_task(writer.churn(200))

    async def client(f: Follower, seed: float) -> None:
        await cut_and_rejoin(f, writer, 2, random.Random(seed), (0.5, 1.5))
        await f.read_until(10**12, within=3600)  # keep reading while the writes go on

    following = [asyncio.create_task(client(f, rng.random())) for f in followers]
    await writing
    await finish_cuts(following, followers, 2, poll=0.2)
    await writer.aclose()
    assert writer.errors == []
    final = start + writer.committed
    await asyncio.gather(*(f.read_until(final) for f in followers))
    truth = await database_state(b.base_url, headers, ws)
    for f in followers:
        assert (f.stale, f.out_of_order) == (0, 0)
        assert f.seqs == list(range(start + 1, final + 1))  # each event once, in order, across cuts
        assert f.state == truth
        await f.close()
    worst = max(t for f in followers for t in f.catch_up_times)
    assert worst < 10, f"a rejoining client took {worst:.1f}s to catch up"  # hang guard; figures in bench/soak.py


async def check_render_to_connect_gap(a: AppServer, b: AppServer, world: World) -> None:
    """Item 2: the page renders at seq N, 200 events commit before and while its socket connects:
    the socket replays from N and delivers each of them once."""
    cookie = {"Cookie": f"athena_session={world.viewer_a.token}"}
    ws = world.ws["A"]
    page = await get(f"{b.base_url}/executions", params={"workspace": ws}, headers=cookie, timeout=30)
    assert page.status_code == 200
    rendered = int(re.search(rf'id="seq-{ws}"[^>]*data-seq="(\d+)"', page.text).group(1))  # type: ignore[union-attr]
    writer = Writer(a.base_url, world.operator_a.headers, world.workflows["Invoice approval"])
    created: list[str] = []

    async def write() -> None:
        for _ in range(40):
            created.extend(await asyncio.gather(*(writer.create() for _ in range(5))))

    writing = asyncio.create_task(write())
    await asyncio.sleep(0.5)  # the browser is slow to open its socket
    url = f"{b.ws_url}/ws/executions?workspace={ws}&since={ws}:{rendered}"
    frames: list[str] = []
    cursor = rendered
    async with websockets.connect(url, additional_headers={**cookie, "Origin": b.base_url}, open_timeout=30) as sock:
        # Read while the writes go on (a socket left unread would miss its keepalive pongs).
        deadline = time.monotonic() + 120
        while not writing.done() or cursor < rendered + writer.committed:
            assert time.monotonic() < deadline, f"page socket stuck at seq {cursor}"
            try:
                frame = await asyncio.wait_for(sock.recv(), 1)
            except TimeoutError:
                continue
            frames.append(str(frame))
            cursor = max([cursor, *(int(s) for s in re.findall(r'class="live-seq"[^>]*data-seq="(\d+)"', str(frame)))])
        await writing
        final = rendered + writer.committed
    await writer.aclose()
    assert writer.errors == [] and writer.committed == 200
    seqs = [int(s) for f in frames for s in re.findall(r'class="live-seq"[^>]*data-seq="(\d+)"', f)]
    # Page flushes are coalesced (WS_PAGE_COALESCE_MS): the cursor carries the latest seq of each
    # flush, so it only moves forward, from past the rendered one to the last; each row exactly once.
    assert seqs == sorted(set(seqs)) and seqs[0] > rendered and seqs[-1] == final
    text = "".join(frames)
    for uuid in created:
        assert text.count(f'<tr id="row-{uuid}"') == 1, uuid


async def check_deaf_client_is_evicted_and_resyncs(a: AppServer, b: AppServer, world: World) -> None:
    """Item 7: a socket that stops reading is evicted (the others are not) and catches up after."""
    headers, ws = world.viewer_a.headers, world.ws["A"]
    start = await database_seq(b.base_url, headers, ws)
    healthy = Follower(b.ws_url, ws, headers, last_seq=start)
    await healthy.connect()
    deaf = DeafSocket(b.port, f"/api/v1/ws?workspace_uuid={ws}&since={start}", headers)
    evicted_before = (await get(f"{b.base_url}/ready", timeout=10)).json()["checks"]["subscriber"]["evicted"]
    writer = Writer(a.base_url, world.operator_a.headers, world.workflows["Invoice approval"])
    target = await writer.create(status="running")
    blob = "x" * 60_000  # big events fill the deaf client's buffers quickly
    reading = asyncio.create_task(healthy.read_until(start + 1 + QUEUE * 4, within=60))
    for i in range(QUEUE * 4):
        await writer.patch(target, error=f"{i} {blob}")
    await reading
    await writer.aclose()
    assert writer.errors == []
    final = start + writer.committed

    def evicted() -> bool:
        return httpx.get(f"{b.base_url}/ready", timeout=10).json()["checks"]["subscriber"]["evicted"] > evicted_before

    assert await asyncio.to_thread(wait_until, evicted, 20)
    messages, code = await asyncio.to_thread(deaf.read_all)
    deaf.close()
    assert code in (1013, None)  # told to come back (or cut, when the close frame could not get through)
    seen = [m["seq"] for m in messages]
    assert seen == list(range(start + 1, start + 1 + len(seen))) and len(seen) < writer.committed
    rejoined = Follower(b.ws_url, ws, headers, last_seq=seen[-1] if seen else start)
    await rejoined.connect()
    await rejoined.read_until(final)
    assert (
        rejoined.seqs == list(range(rejoined.seqs[0], final + 1))
        and rejoined.seqs[0] == (seen[-1] if seen else start) + 1
    )
    assert healthy.closes == [] and healthy.seqs == list(range(start + 1, final + 1))
    await rejoined.close()
    await healthy.close()


async def test_clients_survive_cuts_gaps_and_a_deaf_neighbour(pair: tuple[AppServer, AppServer], world: World) -> None:
    """Items 1, 2 and 7 on one pair of instances (three boots of two servers would cost more than the checks)."""
    a, b = pair
    await check_reconnecting_clients_converge(a, b, world)
    await check_render_to_connect_gap(a, b, world)
    await check_deaf_client_is_evicted_and_resyncs(a, b, world)


async def test_boot_with_redis_down_serves_and_keeps_the_publish_queue_bounded(
    database_url: str, tmp_path: Path, world: World
) -> None:
    """Item 5 (CI size): nothing listens on REDIS_URL at boot. Pages and the API serve, writes
    succeed, readiness says degraded, and the publish queue never exceeds its bound."""
    dead = f"redis://127.0.0.1:{free_port()}/0"
    server = AppServer(database_url, dead, tmp_path, REDIS_PUBLISH_QUEUE="20")
    server.start()
    try:
        ready = await get(f"{server.base_url}/ready", timeout=10)
        assert ready.status_code == 503 and ready.json()["checks"]["subscriber"]["connected"] is False
        cookie = {"Cookie": f"athena_session={world.viewer_a.token}"}
        page = await get(
            f"{server.base_url}/executions", params={"workspace": world.ws["A"]}, headers=cookie, timeout=30
        )
        assert page.status_code == 200
        writer = Writer(server.base_url, world.operator_a.headers, world.workflows["Invoice approval"])
        sizes = []
        for _ in range(6):
            await asyncio.gather(*(writer.create() for _ in range(20)))
            sizes.append(
                (await get(f"{server.base_url}/ready", timeout=10)).json()["checks"]["subscriber"]["publish_queue"]
            )
        await writer.aclose()
        assert writer.errors == [] and writer.committed == 120
        assert max(sizes) <= 20, sizes
        listed = await get(
            f"{server.base_url}/api/v1/workflow-executions",
            params={"workspace_uuid": world.ws["A"], "per_page": 1},
            headers=world.viewer_a.headers,
            timeout=30,
        )
        assert listed.status_code == 200 and listed.json()["meta"]["total"] == 120
    finally:
        server.stop()


async def _decide_during_outage(
    a: AppServer, b: AppServer, world: World, approvals: list[tuple[str, str]]
) -> list[int]:
    """Approve two pending approvals through B and stop one waiting execution through A."""
    codes = []
    async with httpx.AsyncClient(base_url=b.base_url, headers=world.approver_a.headers, timeout=30) as c:
        for _, approval in approvals[:2]:
            codes.append((await c.post(f"/api/v1/workflow-approvals/{approval}/approve", json={})).status_code)
    async with httpx.AsyncClient(base_url=a.base_url, headers=world.operator_a.headers, timeout=30) as c:
        execution, _ = approvals[2]
        codes.append((await c.post(f"/api/v1/workflow-executions/{execution}/stop")).status_code)
    del approvals[:3]
    return codes


async def test_redis_killed_and_paused_under_traffic(
    pair: tuple[AppServer, AppServer], world: World, redis_server: RedisServer
) -> None:
    """Item 4 (CI size: killed 5 s, SIGSTOP 5 s; 60 s and 30 s in bench/chaos.py). Clients on both
    instances, events flowing: readiness degrades, each instance resubscribes within 10 s of Redis'
    return, stop/approve never fail, and every client ends identical to the database."""
    a, b = pair
    headers, ws = world.viewer_a.headers, world.ws["A"]
    writer = Writer(a.base_url, world.operator_a.headers, world.workflows["Invoice approval"])
    approvals: list[tuple[str, str]] = []
    async with httpx.AsyncClient(base_url=a.base_url, headers=world.operator_a.headers, timeout=30) as c:
        for _ in range(6):
            execution = await writer.create(status="running")
            await writer.patch(execution, status="waiting")
            body = {"execution_uuid": execution, "node_id": "review", "title": "Check"}
            r = await c.post("/api/v1/workflow-approvals", json=body)
            assert r.status_code == 201, r.text
            writer.committed += 1
            approvals.append((execution, r.json()["data"]["uuid"]))
    start = await database_seq(b.base_url, headers, ws)
    before = writer.committed
    followers = [Follower(s.ws_url, ws, headers, last_seq=start) for s in (a, b, a, b)]
    await asyncio.gather(*(f.connect() for f in followers))
    writer.uuids = [await writer.create(status="running") for _ in range(4)]
    flowing = True

    async def flow() -> None:
        rng = random.Random(3)
        while flowing:
            await writer.patch(rng.choice(writer.uuids), running_node=f"n{rng.randrange(10**6)}")
            await asyncio.sleep(0.05)

    writing = asyncio.create_task(flow())
    following = [asyncio.create_task(f.read_until(10**12, within=3600)) for f in followers]
    decisions: list[int] = []
    recovered: list[float] = []
    for fault in ("kill", "pause"):
        began = time.monotonic()
        redis_server.kill() if fault == "kill" else redis_server.pause()
        await until_ready_is(pair, 503, 10)  # readiness says degraded meanwhile
        decisions += await _decide_during_outage(a, b, world, approvals)
        await asyncio.sleep(max(0.0, 5 - (time.monotonic() - began)))
        redis_server.start() if fault == "kill" else redis_server.resume()
        recovered += await until_ready_is(pair, 200, 10)
    flowing = False
    await writing
    for f in followers:
        f.stop()  # returns at its next slice even if a cancellation below is swallowed
    for task in following:  # cancelling recv() loses nothing (websockets documents it as safe)
        task.cancel()
    await asyncio.gather(*following, return_exceptions=True)
    for f in followers:
        f.stopped = False
    final = start + writer.committed - before + len(decisions)  # decisions are one event each
    await asyncio.gather(*(f.read_until(final) for f in followers))
    truth = await database_state(b.base_url, headers, ws)
    await writer.aclose()
    assert decisions == [200] * 6 and writer.errors == []
    assert max(recovered) <= 10
    for f in followers:
        assert (f.stale, f.out_of_order) == (0, 0) and f.seqs == list(range(start + 1, final + 1))
        assert f.state == {k: v for k, v in truth.items() if k in f.state} and set(f.state) >= set(writer.uuids)
        await f.close()
