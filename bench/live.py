"""Real-time benchmarks (issue 6, goals 1 and 2): live latency with 200 clients, and the fan-out ceiling
against python-socketio, all in one run on this machine.

    uv run --group bench python -m bench.live latency [--clients 200] [--events 10000] [--rate 20]
    uv run --group bench python -m bench.live fanout [--clients 200] [--step-seconds 4]

``latency`` (goal 1): instances A and B share a fresh PostgreSQL database and a private Redis.
Writes go through A's API (``POST /api/v1/workflow-executions``) at a fixed rate, open loop; 200
WebSocket clients on B's ``/api/v1/ws`` (in 2 load-generator processes) record each event's
arrival. A bare Redis subscriber in its own process gives the floor (commit → Redis → subscriber).
Latency is commit → receive: the event's ``occurred_at`` (stamped in A's writing transaction) to
``time.time()`` at the client.

``fanout`` (goal 2): a writer process publishes synthetic status changes of one visible execution at
rising rates (x1.41 per step); for each target — our API socket (JSON), our page socket (HTML
fragments) and the python-socketio peer (bench/peers/socketio_app.py) — the ceiling is the highest
rate whose p99 ≤ 100 ms with nothing lost, reported as frames/s delivered by the one instance.
Renders per event are read from instance B's ``/ready`` counters.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import time
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from bench.common import Stack, cpu_seconds, machine_load
from bench.publishers import floor_process, writer_process
from bench.wsclient import ClientFleet, ClientSpec, Tally, percentile

CTX = mp.get_context("spawn")


def figures(name: str, tally: Tally) -> str:
    return (
        f"{name:<28} n={sum(tally.latency.values()):>8}  p50={percentile(tally.latency, 50):7.1f} ms  "
        f"p99={percentile(tally.latency, 99):7.1f} ms  max={percentile(tally.latency, 100):7.1f} ms"
    )


def hub_status(stack: Stack, server: Any) -> dict[str, Any]:
    return httpx.get(server.base_url + "/ready", timeout=10).json()["checks"]["subscriber"]


# ------------------------------------------------------------------- goal 1
async def latency(args: argparse.Namespace) -> dict[str, Any]:
    async with Stack(args.database_url) as stack:
        return await measure_latency(stack, args.clients, args.events, args.rate, args.client_processes)


async def measure_latency(stack: Stack, clients: int, events: int, rate: float, processes: int = 2) -> dict[str, Any]:
    """Goal 1 on a running stack: API writes on A, ``clients`` API sockets on B, the bare Redis floor."""
    assert stack.seeded is not None
    floor_conn, child = CTX.Pipe()
    floor = CTX.Process(target=floor_process, args=(stack.redis.url, child))
    floor.start()
    floor_conn.recv()
    url = f"{stack.b.ws_url}/api/v1/ws?workspace_uuid={stack.seeded.workspace_uuid}"
    fleet = ClientFleet(ClientSpec(url, stack.headers, "api", clients), processes)
    try:
        opened = fleet.wait_ready()
        load_before = machine_load()
        b_cpu = cpu_seconds(stack.b.proc.pid)  # type: ignore[union-attr]
        started = time.monotonic()
        errors = await _write(stack, events, rate)
        await _wait_for(fleet, events * opened, 15)
        elapsed = time.monotonic() - started
        tally = fleet.report()
        b_busy = (cpu_seconds(stack.b.proc.pid) - b_cpu) / elapsed  # type: ignore[union-attr]
        floor_conn.send("stop")
        floor_hist = floor_conn.recv()
    finally:
        fleet.close()
        floor.join(5)
    floor_tally = Tally(latency=floor_hist)
    # What was committed is what the bare subscriber saw (a timed-out write may or may not have been).
    committed = sum(floor_hist.values())
    lost = committed * opened - tally.events
    result = {
        "clients": opened,
        "events": events,
        "committed": committed,
        "rate": rate,
        "write_errors": errors,
        "p50": percentile(tally.latency, 50),
        "p99": percentile(tally.latency, 99),
        "max": percentile(tally.latency, 100),
        "floor_p50": percentile(floor_hist, 50),
        "floor_p99": percentile(floor_hist, 99),
        "lost": lost,
        "out_of_order": tally.out_of_order,
        "load": f"{load_before} -> {machine_load()}",
    }
    print(f"goal 1 · {opened} clients on B · {events} writes on A at {rate}/s · load {result['load']}")
    print(figures("commit -> client (ours)", tally))
    print(figures("commit -> bare redis sub", floor_tally))
    print(
        f"ours - floor: p50 {result['p50'] - result['floor_p50']:.1f} ms, "
        f"p99 {result['p99'] - result['floor_p99']:.1f} ms · lost {lost} · out of order {tally.out_of_order} "
        f"· write errors {errors} · B cpu {b_busy:.0%} · clients cpu {tally.cpu_seconds / elapsed:.0%}"
    )
    return result


async def _write(stack: Stack, events: int, rate: float) -> int:
    """Open loop: each write starts on schedule whatever the previous one is doing."""
    assert stack.seeded is not None
    body = {"workflow_uuid": stack.seeded.workflow_uuid}
    errors = 0
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=stack.a.base_url, headers=stack.headers, timeout=30, limits=limits) as http:

        async def one() -> None:
            nonlocal errors
            try:
                r = await http.post("/api/v1/workflow-executions", json=body)
                errors += r.status_code != 201
            except httpx.HTTPError:
                errors += 1

        started = time.monotonic()
        tasks = []
        for i in range(events):
            await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return errors


async def _wait_for(fleet: ClientFleet, expected: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if fleet.report().events >= expected:
            return
        await asyncio.sleep(0.5)


# ------------------------------------------------------------------- goal 2
async def fanout(args: argparse.Namespace) -> None:
    # Page sockets flush each event as it comes (no 250 ms coalescing): the ceiling is per event.
    async with Stack(args.database_url, peer=True, WS_PAGE_COALESCE_MS="0") as stack:
        assert stack.seeded is not None and stack.peer is not None
        template = await _template(stack)
        targets = {
            "ours-api": (f"{stack.b.ws_url}/api/v1/ws?workspace_uuid={stack.seeded.workspace_uuid}", "api"),
            "ours-page": (
                f"{stack.b.ws_url}/ws/executions?workspace={stack.seeded.workspace_uuid}"
                f"&rows={template['execution_uuid']}",
                "page",
            ),
            "python-socketio": (
                f"{stack.peer.ws_url}/socket.io/?EIO=4&transport=websocket&room={stack.seeded.workspace_uuid}",
                "socketio",
            ),
        }
        ceilings: dict[str, float] = {}
        costs: dict[str, dict[float, float]] = {}
        for name in args.targets.split(","):
            url, dialect = targets[name]
            headers = stack.headers if dialect == "api" else {}
            if dialect == "page":
                headers = {"Cookie": f"athena_session={stack.seeded.token}", "Origin": stack.b.base_url}
            costs[name] = {}
            ceilings[name] = await _ramp(stack, name, url, dialect, headers, template, args, costs[name])
        peer = ceilings.get("python-socketio")
        for name, ceiling in ceilings.items():
            ratio = f" = {ceiling / peer:.2f}x python-socketio" if peer and name != "python-socketio" else ""
            print(f"ceiling {name:<16} {ceiling:>9,.0f} frames/s{ratio}")
        # CPU per frame at the highest rate every target ran: less sensitive to the machine's other load.
        common = max(set.intersection(*(set(c) for c in costs.values())), default=None)
        if common is not None:
            base = costs.get("python-socketio", {}).get(common)
            for name, cost in costs.items():
                versus = (
                    f" (python-socketio / this = {base / cost[common]:.2f})"
                    if base and name != "python-socketio"
                    else ""
                )
                print(f"server cpu per frame at {common:.0f} ev/s, {name:<16} {cost[common]:6.1f} us{versus}")


async def _template(stack: Stack) -> dict[str, Any]:
    """One real event (an execution created through A's API), the model of the synthetic ones."""
    from app.domain.events.replay import load_events

    assert stack.seeded is not None
    async with httpx.AsyncClient(base_url=stack.a.base_url, headers=stack.headers) as http:
        r = await http.post("/api/v1/workflow-executions", json={"workflow_uuid": stack.seeded.workflow_uuid})
        assert r.status_code == 201, r.text
    engine = create_async_engine(stack.database_url)
    from app.db.models import Workspace

    async with AsyncSession(engine) as session:
        seq = (
            await session.execute(select(Workspace.event_seq).where(Workspace.id == stack.seeded.workspace_id))
        ).scalar_one()
        message = (await load_events(session, stack.seeded.workspace_id, seq - 1))[0]
    await engine.dispose()
    # A plain dict the writer process edits (seq, version...) and publishes as other instances would.
    template = message.to_dict()
    template["type"] = "execution.status_changed"
    return template


RATES = [5 * 2 ** (i / 2) for i in range(24)]  # 5, 7, 10, 14, 20, 28, 40, 57, 80, … events/s


async def _ramp(
    stack: Stack,
    name: str,
    url: str,
    dialect: str,
    headers: dict[str, str],
    template: dict[str, Any],
    args: Any,
    cost: dict[float, float],
) -> float:
    assert stack.seeded is not None
    writer_conn, child = CTX.Pipe()
    mode = "socketio" if dialect == "socketio" else "ours"
    writer = CTX.Process(
        target=writer_process, args=(stack.redis.url, mode, template, stack.seeded.workspace_id, child)
    )
    writer.start()
    writer_conn.recv()
    fleet = ClientFleet(ClientSpec(url, headers, dialect, args.clients), args.client_processes)
    server = stack.peer if dialect == "socketio" else stack.b
    pid = server.proc.pid  # type: ignore[union-attr]
    best = 0.0
    try:
        clients = fleet.wait_ready()
        status0 = hub_status(stack, stack.b)
        print(f"\n{name}: {clients} clients · server pid {pid} · load {machine_load()}")
        rates = [float(r) for r in args.rates.split(",")] if args.rates else RATES
        for rate in rates:
            # The machine is shared: a step fails only if it fails twice in a row (one retry).
            for attempt in (1, 2):
                fleet.reset()
                cpu0 = cpu_seconds(pid)
                writer_conn.send((rate, args.step_seconds))
                sent, took = writer_conn.recv()
                await _wait_for(fleet, sent * clients, 3)
                tally = fleet.report()
                lost = sent * clients - tally.events
                p99 = percentile(tally.latency, 99)
                delivered = tally.frames / took
                ok = lost == 0 and tally.out_of_order == 0 and p99 <= 100
                cpu = cpu_seconds(pid) - cpu0
                cost[rate] = cpu / max(tally.frames, 1) * 1e6
                print(
                    f"  {rate:7.0f} ev/s: {delivered:>9,.0f} frames/s ({tally.frames} frames, {tally.events} events) "
                    f"p50={percentile(tally.latency, 50):6.1f} p99={p99:7.1f} ms lost={lost} ooo={tally.out_of_order} "
                    f"server cpu={cpu / took:.0%} ({cost[rate]:.1f} us/frame) load={machine_load()} "
                    f"{'ok' if ok else 'ceiling passed' if attempt == 2 or lost else 'failed once, retrying'}"
                )
                if ok or lost:
                    break
            if not ok:
                break
            best = delivered
        if dialect != "socketio":
            status1 = hub_status(stack, stack.b)
            events = status1["events_dispatched"] - status0["events_dispatched"]
            renders = {k: status1["renders"].get(k, 0) - status0["renders"].get(k, 0) for k in status1["renders"]}
            print(f"  instance B: {events} events dispatched, renders {renders}")
    finally:
        fleet.close()
        writer_conn.send("stop")
        # Instance B's hub may still hold this target's last seq when the next target's sockets
        # register (it forgets a workspace only once no socket watches it): continue from there.
        template["seq"] = writer_conn.recv()
        writer.join(10)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["latency", "fanout"])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=20.0, help="API writes per second")
    parser.add_argument("--step-seconds", type=float, default=4.0)
    parser.add_argument("--rates", default="", help="comma-separated events/s instead of the ramp")
    parser.add_argument("--targets", default="ours-api,ours-page,python-socketio")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    asyncio.run(latency(args) if args.what == "latency" else fanout(args))


if __name__ == "__main__":
    main()
