"""Live latency across instances: writes through the API of instance A, events received on a
WebSocket client connected to instance B (shared database and Redis).

    uv run python -m bench.latency --events 1000 [--clients 1] [--rate 20] \
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test] [--redis-url redis://127.0.0.1:6379/0]

Prints two figures per run:
- commit → receive: the event's ``occurred_at`` (stamped in the writing transaction on A, just
  before commit) to its arrival at the client on B;
- request → receive: from sending the HTTP write to A to the event's arrival on B (an upper bound
  that includes the API's own processing).
A bare Redis subscriber on the same machine gives the floor for Redis' own hop.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis.asyncio as aioredis
import websockets

from app.config import Settings
from app.db.models import Role
from app.services import Services
from tests.servers import AppServer


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(name: str, values: list[float]) -> str:
    return (
        f"{name:<22} n={len(values):>5}  p50={statistics.median(values):7.2f} ms  "
        f"p99={pct(values, 99):7.2f} ms  max={max(values):7.2f} ms"
    )


async def fresh_database(base_url: str) -> str:
    if base_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
    name = f"athena_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(base_url.replace("postgresql+asyncpg://", "postgresql://"))
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return base_url.rsplit("/", 1)[0] + f"/{name}"


async def seed(database_url: str) -> tuple[str, str, str]:
    import os

    from app.db.migrate import upgrade_to_head

    os.environ["DATABASE_URL"] = database_url
    await asyncio.to_thread(upgrade_to_head)
    services = Services.build(Settings(database_url=database_url, redis_url=None))
    ws = await services.accounts.create_workspace("Bench", "bench-org")
    user = await services.accounts.create_user("bench@bench.local", "bench", workspace=str(ws.uuid), role=Role.OPERATOR)
    token = await services.accounts.create_token(user.id)
    current = await services.accounts.authenticate_token(token)
    from app.domain.workflows.schemas import WorkflowCreate

    assert current is not None
    wf = await services.workflows.create_workflow(current, WorkflowCreate(workspace_uuid=ws.uuid, name="bench"))
    await services.close()
    return str(ws.uuid), wf["uuid"], token


async def redis_floor(redis_url: str, n: int) -> list[float]:
    pub = aioredis.from_url(redis_url)
    sub = aioredis.from_url(redis_url).pubsub()
    await sub.subscribe("athena:bench-floor")
    await sub.get_message(timeout=1)
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        await pub.publish("athena:bench-floor", "x" * 700)
        while (await sub.get_message(timeout=1)) is None:
            pass
        out.append((time.perf_counter() - t0) * 1000)
    await sub.aclose()
    await pub.aclose()
    return out


async def run(args: argparse.Namespace) -> None:
    database_url = await fresh_database(args.database_url)
    ws_uuid, wf_uuid, token = await seed(database_url)
    headers = {"Authorization": f"Bearer {token}"}
    workdir = Path(tempfile.mkdtemp())
    a, b = AppServer(database_url, args.redis_url, workdir), AppServer(database_url, args.redis_url, workdir)
    for server in (a, b):
        server.launch()
    for server in (a, b):
        server.wait_ready()
    try:
        sent: dict[str, float] = {}
        arrivals: dict[str, float] = {}
        commit_to_recv: list[float] = []
        received: list[set[str]] = [set() for _ in range(args.clients)]

        async def client(i: int, sock: Any) -> None:
            while len(received[i]) < args.events:
                raw = await asyncio.wait_for(sock.recv(), 30)
                now_wall, now_perf = time.time(), time.perf_counter()
                msg = json.loads(raw)
                received[i].add(msg["execution_uuid"])
                if i == 0:
                    occurred = dt.datetime.fromisoformat(msg["occurred_at"].replace("Z", "+00:00")).timestamp()
                    commit_to_recv.append((now_wall - occurred) * 1000)
                    arrivals[msg["execution_uuid"]] = now_perf

        url = f"{b.ws_url}/api/v1/ws?workspace_uuid={ws_uuid}"
        socks = [await websockets.connect(url, additional_headers=headers) for _ in range(args.clients)]
        readers = [asyncio.create_task(client(i, s)) for i, s in enumerate(socks)]
        async with httpx.AsyncClient(base_url=a.base_url, headers=headers, timeout=30) as http:
            interval = 1 / args.rate if args.rate else 0
            for _ in range(args.events):
                started = time.perf_counter()
                r = await http.post("/api/v1/workflow-executions", json={"workflow_uuid": wf_uuid})
                sent[r.json()["data"]["uuid"]] = started
                if interval:
                    await asyncio.sleep(max(0.0, interval - (time.perf_counter() - started)))
        await asyncio.wait_for(asyncio.gather(*readers), 60)
        request_to_recv = [(arrivals[u] - t) * 1000 for u, t in sent.items() if u in arrivals]
        for s in socks:
            await s.close()
        lost = sum(args.events - len(r) for r in received)
        print(
            f"instances: 2 (A writes, B streams) · database: {database_url.split('://')[0]} · clients: {args.clients}"
        )
        print(summary("commit -> receive", commit_to_recv))
        print(summary("request -> receive", request_to_recv))
        floor = await redis_floor(args.redis_url, min(args.events, 1000))
        print(summary("bare redis pub->sub", floor))
        over = statistics.median(commit_to_recv) - statistics.median(floor)
        print(f"ours minus floor (p50): {over:.2f} ms · lost: {lost}")
    finally:
        for server in (a, b):
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--rate", type=float, default=20.0, help="writes per second (0 = as fast as possible)")
    parser.add_argument("--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
