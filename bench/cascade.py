"""Goal 7: stop a 1,000-descendant tree through the API of a real server process; time the answer
and the moment each of several WebSocket clients has the final state: API sockets (``/api/v1/ws``,
``batch=1``) having seen every execution of the tree cancelled, and dashboards (the page socket
``/ws/executions``) having received the cursor of the cascade's last event. Used by ``bench.scale``
(PostgreSQL); needs no Redis (one instance)."""

from __future__ import annotations

import asyncio
import json
import random
import re
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import websockets
from sqlalchemy import insert, select, text

from app.db.models import Workflow, Workspace
from app.db.models.base import new_uuid, utcnow
from bench.common import LIMITS_OFF
from tests.servers import AppServer

if TYPE_CHECKING:
    from bench.scale import Context, Figures

SEQ = re.compile(r'class="live-seq"[^>]*data-seq="(\d+)"')
DESCENDANTS = 1000
CLIENTS = 5
PAGES = 5
_server: AppServer | None = None


def server(database_url: str) -> AppServer:
    global _server
    if _server is None:
        _server = AppServer(database_url, None, Path(tempfile.mkdtemp()), **LIMITS_OFF)
        _server.start()
    return _server


async def build_tree(ctx: Context) -> tuple[str, str, set[str]]:
    """A running root with 1,000 running descendants (random parents: depth and breadth), in one insert."""
    rng = random.Random()
    async with ctx.services.db.write() as session:
        ws_uuid = (await session.execute(select(Workspace.uuid).where(Workspace.id == ctx.mid_ws))).scalar_one()
        wf_id = (
            await session.execute(select(Workflow.id).where(Workflow.workspace_id == ctx.mid_ws).limit(1))
        ).scalar_one()
        ids = [
            r[0]
            for r in await session.execute(
                text("SELECT nextval('workflow_executions_id_seq') FROM generate_series(1, :n)"), {"n": DESCENDANTS + 1}
            )
        ]
        now = utcnow()
        rows = []
        for i, eid in enumerate(ids):
            rows.append(
                {
                    "id": eid,
                    "uuid": new_uuid(),
                    "workspace_id": ctx.mid_ws,
                    "workflow_id": wf_id,
                    "user_id": ctx.user.id,
                    "parent_execution_id": ids[rng.randrange(i)] if i else None,
                    "status": "running",
                    "started_at": now,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        await session.execute(insert(Workflow.metadata.tables["workflow_executions"]), rows)
    return str(ws_uuid), str(rows[0]["uuid"]), {str(r["uuid"]) for r in rows}


async def stop_cascade_run(database_url: str, ctx: Context, figures: Figures) -> None:
    app = server(database_url)
    token = await ctx.services.accounts.create_token(ctx.user.id, name="bench")
    headers = {"Authorization": f"Bearer {token}"}
    ws_uuid, root, tree = await build_tree(ctx)
    seen: list[set[str]] = [set() for _ in range(CLIENTS)]
    done_at: list[float] = [0.0] * CLIENTS
    resyncs = 0

    async def reader(i: int, http: httpx.AsyncClient) -> None:
        """A client that follows the protocol: on 1013 it reconnects with ``since``; on a resync frame
        it re-fetches the list over REST (the state is final once that answers)."""
        nonlocal resyncs
        sock = socks[i]
        last_seq = 0
        while len(seen[i]) < len(tree):
            try:
                msg = json.loads(await asyncio.wait_for(sock.recv(), 30))
            except websockets.ConnectionClosed as closed:
                if closed.rcvd is None or closed.rcvd.code != 1013:
                    raise
                resyncs += 1
                sock = socks[i] = await websockets.connect(f"{url}&since={last_seq}", additional_headers=headers)
                continue
            if msg.get("type") == "resync":
                resyncs += 1
                await http.get("/api/v1/workflow-executions", params={"workspace_uuid": ws_uuid, "per_page": 50})
                seen[i] = set(tree)
                break
            for event in msg["events"] if msg.get("type") == "batch" else [msg]:
                last_seq = max(last_seq, int(event.get("seq") or 0))
                if event.get("execution_uuid") in tree and event.get("status") == "cancelled":
                    seen[i].add(event["execution_uuid"])
        done_at[i] = time.perf_counter()

    page_done: list[float] = [0.0] * PAGES
    page_frames = [0] * PAGES

    async def page_reader(i: int, final_seq: asyncio.Future[int]) -> None:
        """A dashboard: done when its cursor shows the cascade's last seq (a resync counts too). The
        cascade may arrive before the API answers (and ``final_seq`` is known): each frame's arrival
        is kept, and the dashboard's time and frame count are those of the first frame at that seq."""
        nonlocal resyncs
        arrivals: list[tuple[float, int]] = []  # (arrival, highest seq shown so far)
        while not final_seq.done() or max((seq for _, seq in arrivals), default=0) < final_seq.result():
            try:
                frame = await asyncio.wait_for(pages[i].recv(), 1)
            except TimeoutError:
                continue
            arrived = time.perf_counter()
            if 'id="resync-trigger"' in frame:
                resyncs += 1
            shown = max([int(s) for s in SEQ.findall(frame)], default=0)
            arrivals.append((arrived, max(shown, arrivals[-1][1] if arrivals else 0)))
        final = next(n for n, (_, seq) in enumerate(arrivals) if seq >= final_seq.result())
        page_done[i], page_frames[i] = arrivals[final][0], final + 1

    url = f"{app.ws_url}/api/v1/ws?workspace_uuid={ws_uuid}&batch=1"
    socks = [await websockets.connect(url, additional_headers=headers, max_size=2**24) for _ in range(CLIENTS)]
    page_headers = {"Cookie": f"athena_session={token}", "Origin": app.base_url}
    page_url = f"{app.ws_url}/ws/executions?workspace={ws_uuid}"
    pages = [await websockets.connect(page_url, additional_headers=page_headers, max_size=2**24) for _ in range(PAGES)]
    await asyncio.sleep(0.2)
    final_seq: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    async with httpx.AsyncClient(base_url=app.base_url, headers=headers, timeout=30) as http:
        readers = [asyncio.create_task(reader(i, http)) for i in range(CLIENTS)]
        page_readers = [asyncio.create_task(page_reader(i, final_seq)) for i in range(PAGES)]
        t0 = time.perf_counter()
        response = await http.post(f"/api/v1/workflow-executions/{root}/stop")
        api_ms = (time.perf_counter() - t0) * 1000
        assert response.status_code == 200, response.text
        assert len(response.json()["meta"]["cascade_cancelled"]) == DESCENDANTS
        async with ctx.services.db.read() as session:
            final_seq.set_result(
                (await session.execute(select(Workspace.event_seq).where(Workspace.id == ctx.mid_ws))).scalar_one()
            )
        await asyncio.wait_for(asyncio.gather(*readers, *page_readers), 60)
    for s in socks + pages:
        await s.close()
    finals = [(t - t0) * 1000 for t in done_at]
    figures.add("7 stop 1,000-descendant tree: API answer", api_ms)
    figures.add(f"7 stop: last of {PAGES} dashboards (page socket) final", max((t - t0) * 1000 for t in page_done))
    figures.add(f"7 stop: last of {CLIENTS} API sockets (batch=1) final", max(finals))
    figures.add(f"7 stop: frames per dashboard for the cascade (max of {PAGES})", float(max(page_frames)))
    figures.add(f"7 stop: evictions + resyncs over {CLIENTS + PAGES} sockets", float(resyncs))


def stop_server() -> None:
    if _server is not None:
        _server.stop()
