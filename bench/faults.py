"""Full-length fault runs behind docs/reliability.md (the CI-sized ones are tests/realtime/test_faults.py).

    uv run python -m bench.faults reconnects  [--clients 20 --events 1000 --cuts 5 --procs 4]   # item 1
    uv run python -m bench.faults chaos       [--kill 60 --pause 30]                  # item 4
    uv run python -m bench.faults redis-down  [--minutes 5 --rate 20]                 # item 5
    uv run python -m bench.faults slow-client [--clients 5 --events 400 --rounds 5]   # item 7
    common: [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test]  (sqlite+aiosqlite:// for a temp file)

Every run uses a fresh database, private redis-server processes and its own app servers, and prints
its figures; nothing shared is killed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import websockets

from app.config import Settings
from app.db.models import Role
from app.services import Services
from bench.common import LIMITS_OFF, fresh_database, pct
from bench.fault_clients import FollowerProcesses, Plan
from tests.realtime.live_clients import (
    DeafSocket,
    Follower,
    Writer,
    database_seq,
    database_state,
    until_ready_is,
)
from tests.servers import AppServer, RedisServer, free_port


@dataclass
class Seeded:
    database_url: str
    workspace: str
    workflow: str
    operator: dict[str, str]
    approver: dict[str, str]


async def seed(base_url: str) -> Seeded:
    import os

    from app.db.migrate import upgrade_to_head
    from app.domain.workflows.schemas import WorkflowCreate

    database_url = await fresh_database(base_url)
    os.environ["DATABASE_URL"] = database_url
    await asyncio.to_thread(upgrade_to_head)
    services = Services.build(Settings(database_url=database_url, redis_url=None))
    ws = await services.accounts.create_workspace("Faults", "faults-org")
    tokens = {}
    for role in (Role.OPERATOR, Role.APPROVER):
        user = await services.accounts.create_user(
            f"{role.value}@faults.local", "pw", workspace=str(ws.uuid), role=role
        )
        tokens[role] = {"Authorization": f"Bearer {await services.accounts.create_token(user.id)}"}
    current = await services.accounts.authenticate_token(tokens[Role.OPERATOR]["Authorization"][7:])
    assert current is not None
    wf = await services.workflows.create_workflow(current, WorkflowCreate(workspace_uuid=ws.uuid, name="faults"))
    await services.close()
    return Seeded(database_url, str(ws.uuid), wf["uuid"], tokens[Role.OPERATOR], tokens[Role.APPROVER])


@contextlib.asynccontextmanager
async def servers(s: Seeded, redis_url: str | None, n: int = 2, **env: str) -> AsyncIterator[list[AppServer]]:
    workdir = Path(tempfile.mkdtemp())
    apps = [AppServer(s.database_url, redis_url, workdir, **{**LIMITS_OFF, **env}) for _ in range(n)]
    try:
        for app in apps:
            app.launch()
        for app in apps:
            await asyncio.to_thread(app.wait_ready)
        yield apps
    finally:
        for app in apps:
            app.stop()


def spread(name: str, values: list[float], unit: str = "s") -> str:
    if not values:
        return f"{name}: none"
    return (
        f"{name}: n={len(values)} p50={statistics.median(values):.3f}{unit} "
        f"p99={pct(values, 99):.3f}{unit} max={max(values):.3f}{unit}"
    )


async def converge(followers: list[Follower], final: int, base_url: str, s: Seeded) -> tuple[int, int, int]:
    """(clients differing from the database, stale versions applied, out-of-order seqs)."""
    await asyncio.gather(*(f.read_until(final, within=120) for f in followers))
    truth = await database_state(base_url, s.operator, s.workspace)
    mismatched = sum(1 for f in followers if any(truth.get(k) != v for k, v in f.state.items()))
    return mismatched, sum(f.stale for f in followers), sum(f.out_of_order for f in followers)


# ------------------------------------------------------------------------------------------ item 1
async def reconnects(args: argparse.Namespace) -> None:
    s = await seed(args.database_url)
    redis = RedisServer(Path(tempfile.mkdtemp()))
    redis.start()
    try:
        async with servers(s, redis.url) as (a, b):
            start = await database_seq(b.base_url, s.operator, s.workspace)
            plan = Plan(b.base_url, b.ws_url, s.workspace, s.operator, start, args.clients, args.cuts, 0.0)
            procs = FollowerProcesses(plan, args.procs)
            await procs.connected()
            writer = Writer(a.base_url, s.operator, s.workflow)
            mirror = asyncio.create_task(procs.mirror(writer))
            await writer.churn(args.events, executions=50)
            procs.committed.value = writer.committed
            procs.final.value = writer.committed
            results = await procs.results()
            mirror.cancel()
            mismatched = sum(r["mismatched"] for r in results)
            exact = sum(r["exact"] for r in results)
            print(
                f"clients={args.clients} in {len(procs.procs)} processes, events={writer.committed}, "
                f"cuts/client={args.cuts} (0.5-5 s each); resyncs {sum(r['resyncs'] for r in results)}, "
                f"server closes {[c for r in results for c in r['closes']]}"
            )
            print(spread("reconnect -> caught up", [t for r in results for t in r["catch_up"]]))
            print(spread("  of which the handshake", [t for r in results for t in r["connect"]]))
            print(
                f"clients identical to the database: {args.clients - mismatched}/{args.clients}; "
                f"every seq once in order: {exact}/{args.clients}"
            )
            print(
                f"stale versions applied: {sum(r['stale'] for r in results)}; "
                f"out-of-order: {sum(r['disorder'] for r in results)}; write errors: {len(writer.errors)}"
            )
            await writer.aclose()
    finally:
        redis.kill()


# ------------------------------------------------------------------------------------------ item 4
async def chaos(args: argparse.Namespace) -> None:
    s = await seed(args.database_url)
    redis = RedisServer(Path(tempfile.mkdtemp()))
    redis.start()
    try:
        async with servers(s, redis.url) as pair:
            a, b = pair
            writer = Writer(a.base_url, s.operator, s.workflow)
            approvals: list[str] = []
            waiting: list[str] = []
            for i in range(80):
                e = await writer.create(status="running")
                await writer.patch(e, status="waiting")
                body = {"execution_uuid": e, "node_id": "r", "title": "t"}
                r = await writer.http.post("/api/v1/workflow-approvals", json=body)
                # Half are approved, the other half stopped: disjoint, so neither call has a reason to fail.
                if i % 2:
                    approvals.append(r.json()["data"]["uuid"])
                else:
                    waiting.append(e)
            start = await database_seq(b.base_url, s.operator, s.workspace)
            followers = [Follower(x.ws_url, s.workspace, s.operator, last_seq=start) for x in (a, b) * args.clients]
            await asyncio.gather(*(f.connect() for f in followers))
            writer.uuids = [await writer.create(status="running") for _ in range(10)]
            flowing, codes = True, []

            async def flow() -> None:
                rng = random.Random(3)
                while flowing:
                    await writer.patch(rng.choice(writer.uuids), running_node=f"n{rng.randrange(10**6)}")
                    await asyncio.sleep(0.05)

            async def decide() -> None:
                async with httpx.AsyncClient(base_url=b.base_url, headers=s.approver, timeout=30) as c:
                    codes.append(
                        (await c.post(f"/api/v1/workflow-approvals/{approvals.pop()}/approve", json={})).status_code
                    )
                async with httpx.AsyncClient(base_url=a.base_url, headers=s.operator, timeout=30) as c:
                    codes.append((await c.post(f"/api/v1/workflow-executions/{waiting.pop(0)}/stop")).status_code)

            writing = asyncio.create_task(flow())
            following = [asyncio.create_task(f.read_until(10**12, within=3600)) for f in followers]
            for fault, seconds in (("kill", args.kill), ("pause", args.pause)):
                began = time.monotonic()
                redis.kill() if fault == "kill" else redis.pause()
                degraded = await until_ready_is(pair, 503, 30)
                while time.monotonic() - began < seconds:
                    await decide()
                    await asyncio.sleep(2)
                redis.start() if fault == "kill" else redis.resume()
                back = await until_ready_is(pair, 200, 60)
                print(
                    f"redis {fault} {seconds}s: degraded after {max(degraded):.1f}s; resubscribed after "
                    + ", ".join(f"{t:.2f}s" for t in back)
                )
            flowing = False
            await writing
            for task in following:
                task.cancel()
            await asyncio.gather(*following, return_exceptions=True)
            final = await database_seq(b.base_url, s.operator, s.workspace)
            mismatched, stale, disorder = await converge(followers, final, b.base_url, s)
            bad = [c for c in codes if c != 200]
            print(
                f"clients={len(followers)} events={final - start}: "
                f"mismatched={mismatched} stale={stale} out-of-order={disorder}"
            )
            print(
                f"stop/approve during the faults: {len(codes)} calls, errors={len(bad)} {bad}; "
                f"other write errors: {len(writer.errors)}"
            )
            await writer.aclose()
    finally:
        redis.kill()


# ------------------------------------------------------------------------------------------ item 5
def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def redis_down(args: argparse.Namespace) -> None:
    s = await seed(args.database_url)
    dead = f"redis://127.0.0.1:{free_port()}/0"
    async with servers(s, dead, n=1) as (app,):
        assert app.proc is not None
        writer = Writer(app.base_url, s.operator, s.workflow)
        samples: list[tuple[float, int, int]] = []
        started = time.monotonic()
        next_sample = 0.0
        while (elapsed := time.monotonic() - started) < args.minutes * 60:
            t0 = time.monotonic()
            await writer.create()
            if elapsed >= next_sample:
                status = (await writer.http.get("/ready")).json()["checks"]["subscriber"]
                samples.append((elapsed, rss_kib(app.proc.pid), status["publish_queue"]))
                next_sample += 10
            await asyncio.sleep(max(0.0, 1 / args.rate - (time.monotonic() - t0)))
        ready = (await writer.http.get("/ready")).status_code
        listed = (
            await writer.http.get("/api/v1/workflow-executions", params={"workspace_uuid": s.workspace})
        ).status_code
        await writer.aclose()
    first, last = samples[1] if len(samples) > 1 else samples[0], samples[-1]
    print(f"redis down for the whole run; {writer.committed} writes in {args.minutes} min, errors={len(writer.errors)}")
    print(
        f"RSS: after 10 s {first[1] / 1024:.1f} MiB, at end {last[1] / 1024:.1f} MiB, "
        f"max {max(x[1] for x in samples) / 1024:.1f} MiB"
    )
    print(f"publish queue: max {max(x[2] for x in samples)} (bound {Settings().redis_publish_queue})")
    print(f"at the end: /ready={ready} (degraded), API list={listed}")
    print("samples (s, RSS MiB, queue): " + " ".join(f"{t:.0f}:{r / 1024:.1f}:{q}" for t, r, q in samples))


# ------------------------------------------------------------------------------------------ item 7
async def latency_run(s: Seeded, app: AppServer, clients: int, events: int, deaf: bool) -> tuple[list[float], int]:
    start = await database_seq(app.base_url, s.operator, s.workspace)
    url = f"{app.ws_url}/api/v1/ws?workspace_uuid={s.workspace}&since={start}"
    socks = [await websockets.connect(url, additional_headers=s.operator, max_size=2**22) for _ in range(clients)]
    stalled = (
        DeafSocket(app.port, f"/api/v1/ws?workspace_uuid={s.workspace}&since={start}", s.operator) if deaf else None
    )
    latencies: list[float] = []

    async def read(sock: Any) -> None:
        for _ in range(events):
            message = json.loads(await asyncio.wait_for(sock.recv(), 60))
            occurred = dt.datetime.fromisoformat(message["occurred_at"].replace("Z", "+00:00")).timestamp()
            latencies.append((time.time() - occurred) * 1000)

    readers = [asyncio.create_task(read(x)) for x in socks]
    writer = Writer(app.base_url, s.operator, s.workflow)
    blob = "x" * 20_000

    async def lane(n: int) -> None:
        for _ in range(n):
            await writer.create(error=blob)

    await asyncio.gather(*(lane(events // 4) for _ in range(4)))
    await asyncio.gather(*readers)
    evicted = (await writer.http.get("/ready")).json()["checks"]["subscriber"]["evicted"]
    await writer.aclose()
    for x in socks:
        await x.close()
    if stalled:
        stalled.close()
    return latencies, evicted


async def slow_client(args: argparse.Namespace) -> None:
    """Rounds of (without, with, without) a deaf client on one instance: each round's ratio is the
    p99 with it over the mean p99 of the two runs around it, so slow drifts of the shared machine's
    load cancel; the figure is the median ratio over the rounds."""
    s = await seed(args.database_url)
    ratios: list[float] = []
    evictions = 0
    async with servers(s, None, n=1, WS_QUEUE_SIZE="100") as (app,):
        before, _ = await latency_run(s, app, args.clients, args.events, deaf=False)
        for round_no in range(args.rounds):
            with_deaf, evicted = await latency_run(s, app, args.clients, args.events, deaf=True)
            after, _ = await latency_run(s, app, args.clients, args.events, deaf=False)
            baseline = (pct(before, 99) + pct(after, 99)) / 2
            ratios.append(pct(with_deaf, 99) / baseline)
            evictions = evicted  # /ready counts since the instance started
            print(
                f"round {round_no + 1}: p99 without {pct(before, 99):.0f} ms, with {pct(with_deaf, 99):.0f} ms, "
                f"without {pct(after, 99):.0f} ms -> ratio {ratios[-1]:.2f} · evictions so far "
                f"{evictions} · load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            before = after
    print(f"{args.clients} reading clients, {args.events} events of ~20 KiB, written as fast as 4 lanes go")
    print(
        f"p99 ratio with/without a deaf client: median {statistics.median(ratios):.2f} "
        f"[{min(ratios):.2f}-{max(ratios):.2f}] over {len(ratios)} rounds"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=["reconnects", "chaos", "redis-down", "slow-client"])
    parser.add_argument("--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--clients", type=int, default=None)
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--cuts", type=int, default=5)
    parser.add_argument("--kill", type=float, default=60)
    parser.add_argument("--pause", type=float, default=30)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=5, help="slow-client: rounds of with/without")
    parser.add_argument("--procs", type=int, default=4, help="reconnects: client processes")
    args = parser.parse_args()
    defaults = {"reconnects": (20, 1000), "chaos": (2, 0), "redis-down": (0, 0), "slow-client": (5, 400)}
    clients, events = defaults[args.scenario]
    args.clients = args.clients or clients
    args.events = args.events or events
    run = {"reconnects": reconnects, "chaos": chaos, "redis-down": redis_down, "slow-client": slow_client}
    print(f"load before: {Path('/proc/loadavg').read_text().split()[:3]}")
    asyncio.run(run[args.scenario](args))
    print(f"load after: {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
