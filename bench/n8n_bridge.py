"""The n8n bridge's latencies against a real n8n 1.x (issue 23 part 2):

    N8N_URL=http://127.0.0.1:5678 N8N_API_KEY=... uv run python -m bench.n8n_bridge [--runs 20] [--poll 1.0] \
        [--steady 30 --callers 4] [--burst 200]
    (DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test for a fresh PostgreSQL database)

The bridge runs as ``athena bridge n8n`` runs it (its runner, default 1 s poll) on a fresh database.

- **record -> row**: a two-node workflow (Webhook -> Set) is triggered; latency is from n8n's
  ``stoppedAt`` (n8n recorded it finished) to the moment the Athena execution reads ``completed``
  (the bridge's commit, checked every 10 ms). Triggers are spread over the poll period at random.
- **parked -> review**: the approval workflow parks in its Wait node; from n8n's ``stoppedAt`` of
  the parked execution to the review being pending in Athena.
- **record -> API socket**: the same, but the figure is the arrival of the execution's
  ``completed`` event on a server's ``/api/v1/ws`` (an ``athena serve``-like server process on the
  same database, the bridge publishing through a private Redis): what a dashboard sees.
- **steady** (``--steady S [--callers 4]``): n8n driven for S seconds by callers that each send the
  next run once n8n answered the last (the webhook answers when the run finished): the rate n8n
  sustains (runs / span of their ``stoppedAt``), and each run's record -> row at that rate;
- **burst** (``--burst N``): N runs of the two-node workflow fired as fast as n8n takes them
  (16 concurrent webhook calls); n8n's rate (runs / span of their ``stoppedAt``), and per run
  record -> row: does the bridge keep up at the rate n8n sustains?
- **decision -> n8n resumed**: the review is approved through the service layer (as the API does);
  from that commit to n8n's ``startedAt`` of the resumed run (n8n stamps it when the resume call
  arrives), and to the n8n execution reading ``success``.

Every figure carries the machine's load averages (the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import tempfile
import time
import uuid
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import websockets
from sqlalchemy import select

from app.bridges.n8n.client import N8nClient
from app.bridges.n8n.mapping import parse_time
from app.bridges.n8n.process import BridgeTarget, build_runner
from app.bridges.n8n.runner import BridgeOptions, BridgeRunner
from app.bridges.n8n.status import bridge_states
from app.bridges.n8n.tables import execution_links
from app.config import Settings
from app.db.models import Role, Workflow, WorkflowApproval, WorkflowExecution
from app.services import Services
from bench.common import drop_database, fresh_database, machine_load, pct
from tests.servers import AppServer, RedisServer
from tests.test_bridge_n8n_support import _node, approval_workflow, child_workflow, create_active

POLL = 0.01


def quick_workflow(name: str, path: str, respond: str = "onReceived") -> dict[str, Any]:
    hook = _node(
        "Webhook", "webhook", 2, 0, {"httpMethod": "POST", "path": path, "responseMode": respond, "options": {}}
    )
    hook["webhookId"] = str(uuid.uuid4())
    fields = {"assignments": {"assignments": [{"id": "a", "name": "ok", "value": "yes", "type": "string"}]}}
    done = _node("Done", "set", 3.4, 200, fields | {"options": {}})
    connections = {"Webhook": {"main": [[{"node": "Done", "type": "main", "index": 0}]]}}
    return {"name": name, "nodes": [hook, done], "connections": connections, "settings": {}}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def wait_for(check: Any, limit: float = 60.0) -> Any:
    deadline = time.monotonic() + limit
    while not (found := await check()):
        if time.monotonic() > deadline:
            raise TimeoutError("gave up")
        await asyncio.sleep(POLL)
    return found


async def athena_status_is(runner: BridgeRunner, n8n_id: int, status: str) -> bool:
    link = (await runner.store.links([n8n_id])).get(n8n_id)
    return link is not None and link.athena_status == status


async def newest_id(n8n: httpx.AsyncClient, workflow_id: str, above: int) -> int | None:
    """The newest execution of a workflow above ``above``: listed once finished, else probed around
    the newest listed one (n8n lists no parked execution; its sub-workflow's run is listed)."""
    body = (await n8n.get("/api/v1/executions", params={"workflowId": workflow_id, "limit": 5})).json()
    ids = [int(e["id"]) for e in body["data"] if int(e["id"]) > above]
    if ids:
        return max(ids)
    newest = (await n8n.get("/api/v1/executions", params={"limit": 1})).json()["data"]
    base = max(above, int(newest[0]["id"]) if newest else 0)
    for probe in range(max(above + 1, base - 5), base + 6):
        answer = await n8n.get(f"/api/v1/executions/{probe}")
        if answer.status_code == 200 and answer.json()["workflowId"] == workflow_id:
            return probe
    return None


async def record_to_row(n8n: httpx.AsyncClient, runner: BridgeRunner, runs: int, poll: float) -> list[float]:
    tag = uuid.uuid4().hex[:6]
    workflow = quick_workflow(f"Quick {tag}", f"quick-{tag}")
    workflow_id = await asyncio.to_thread(create_active, _sync(n8n), workflow)
    figures, last = [], 0
    for _ in range(runs):
        await asyncio.sleep(random.uniform(0, poll))
        (await n8n.post(f"/webhook/quick-{tag}", json={})).raise_for_status()
        n8n_id = await wait_for(partial(newest_id, n8n, workflow_id, last))
        last = n8n_id
        await wait_for(partial(athena_status_is, runner, n8n_id, "completed"))
        seen = now()
        stopped = parse_time((await n8n.get(f"/api/v1/executions/{n8n_id}")).json()["stoppedAt"])
        assert stopped is not None
        figures.append((seen - stopped).total_seconds())
    return figures


async def record_to_socket(
    n8n: httpx.AsyncClient, runner: BridgeRunner, runs: int, poll: float, socket_url: str, token: str
) -> list[float]:
    """n8n's stoppedAt -> the ``completed`` event's arrival on a server's API socket."""
    arrivals: dict[str, dt.datetime] = {}

    async def listen() -> None:
        async with websockets.connect(socket_url, additional_headers={"Authorization": f"Bearer {token}"}) as sock:
            async for frame in sock:
                event = json.loads(frame)
                if event.get("status") == "completed":
                    arrivals.setdefault(event["execution_uuid"], now())

    listener = asyncio.create_task(listen())
    await asyncio.sleep(1.0)  # connected
    tag = uuid.uuid4().hex[:6]
    workflow_id = await asyncio.to_thread(create_active, _sync(n8n), quick_workflow(f"Socket {tag}", f"sock-{tag}"))
    figures, last = [], 0
    try:
        for _ in range(runs):
            await asyncio.sleep(random.uniform(0, poll))
            (await n8n.post(f"/webhook/sock-{tag}", json={})).raise_for_status()
            n8n_id = await wait_for(partial(newest_id, n8n, workflow_id, last))
            last = n8n_id
            await wait_for(partial(athena_status_is, runner, n8n_id, "completed"))
            execution_uuid = (await runner.store.links([n8n_id]))[n8n_id].execution_uuid
            await wait_for(partial(_arrived, arrivals, execution_uuid), limit=10)
            stopped = parse_time((await n8n.get(f"/api/v1/executions/{n8n_id}")).json()["stoppedAt"])
            figures.append((arrivals[execution_uuid] - stopped).total_seconds())  # type: ignore[operator]
    finally:
        listener.cancel()
    return figures


async def burst(n8n: httpx.AsyncClient, runner: BridgeRunner, count: int) -> tuple[float, list[float]]:
    """``count`` runs fired at once (16 webhook calls in flight, each answered on receipt): n8n's
    rate over them and each run's record -> row latency."""
    gate = asyncio.Semaphore(16)

    async def drive(path: str) -> int:
        async def fire() -> None:
            async with gate:
                (await n8n.post(path, json={})).raise_for_status()

        await asyncio.gather(*(fire() for _ in range(count)))
        return count

    return await _mirrored(n8n, runner, "Burst", "onReceived", drive)


async def steady(
    n8n: httpx.AsyncClient, runner: BridgeRunner, seconds: float, workers: int
) -> tuple[float, list[float]]:
    """n8n driven steadily for ``seconds``: ``workers`` callers each send the next run when n8n has
    finished the last (the webhook answers when the workflow's last node ran), so n8n runs at the
    rate it sustains and no queue builds. That rate, and each run's record -> row latency under it."""

    async def drive(path: str) -> int:
        until = time.monotonic() + seconds

        async def worker() -> int:
            sent = 0
            while time.monotonic() < until:
                (await n8n.post(path, json={})).raise_for_status()
                sent += 1
            return sent

        return sum(await asyncio.gather(*(worker() for _ in range(workers))))

    return await _mirrored(n8n, runner, "Steady", "lastNode", drive)


async def _mirrored(
    n8n: httpx.AsyncClient, runner: BridgeRunner, kind: str, respond: str, drive: Any
) -> tuple[float, list[float]]:
    """Run ``drive`` against a fresh workflow while watching its runs reach Athena ``completed``;
    n8n's rate (runs / span of their ``stoppedAt``) and each run's stoppedAt -> row latency."""
    tag = uuid.uuid4().hex[:6]
    workflow = quick_workflow(f"{kind} {tag}", f"{kind.lower()}-{tag}", respond)
    workflow_id = await asyncio.to_thread(create_active, _sync(n8n), workflow)
    seen: dict[int, dt.datetime] = {}
    done = asyncio.Event()

    async def watch() -> None:
        while True:
            async with runner.store.db.read() as session:
                rows = await session.execute(
                    select(execution_links.c.n8n_id)
                    .join(WorkflowExecution, WorkflowExecution.id == execution_links.c.execution_id)
                    .join(Workflow, Workflow.id == WorkflowExecution.workflow_id)
                    .where(Workflow.name == f"{kind} {tag}", WorkflowExecution.status == "completed")
                )
                for (n8n_id,) in rows:
                    seen.setdefault(int(n8n_id), now())
            if done.is_set() and len(seen) >= fired:
                return
            await asyncio.sleep(0.1)  # a join over the run's rows: every 10 ms it slowed the bridge itself

    fired = 1 << 30
    watcher = asyncio.create_task(watch())
    expected = await drive(f"/webhook/{kind.lower()}-{tag}")
    stopped: dict[int, dt.datetime | None] = {}
    deadline = time.monotonic() + 300
    while len(stopped) < expected and time.monotonic() < deadline:  # a burst's last runs still running
        stopped, cursor = {}, None
        while True:
            params: dict[str, Any] = {"workflowId": workflow_id, "limit": 250} | ({"cursor": cursor} if cursor else {})
            body = (await n8n.get("/api/v1/executions", params=params)).json()
            stopped |= {int(e["id"]): parse_time(e["stoppedAt"]) for e in body["data"]}
            cursor = body.get("nextCursor")
            if not cursor:
                break
        await asyncio.sleep(0.5)
    fired = len(stopped)  # the runs n8n recorded, all finished
    done.set()
    await asyncio.wait_for(watcher, 300)
    times = sorted(t for t in stopped.values() if t)
    rate = (len(times) - 1) / max((times[-1] - times[0]).total_seconds(), 1e-3)
    return rate, [(seen[i] - t).total_seconds() for i, t in stopped.items() if t and i in seen]


async def _arrived(arrivals: dict[str, dt.datetime], execution_uuid: str) -> bool:
    return execution_uuid in arrivals


async def decisions(
    n8n: httpx.AsyncClient, services: Services, runner: BridgeRunner, runs: int, approver: Any
) -> dict[str, list[float]]:
    tag = uuid.uuid4().hex[:6]
    sync = _sync(n8n)
    child = await asyncio.to_thread(create_active, sync, child_workflow(f"Enrich {tag}"), False)
    main = await asyncio.to_thread(create_active, sync, approval_workflow(f"Approve {tag}", f"approve-{tag}", child))
    out: dict[str, list[float]] = {"parked -> review": [], "decision -> n8n resumed": [], "decision -> n8n success": []}
    last = 0
    for _ in range(runs):
        (await n8n.post(f"/webhook/approve-{tag}", json={"invoice": "INV-1", "amount": 10})).raise_for_status()
        n8n_id = await wait_for(partial(newest_id, n8n, main, last))
        last = n8n_id
        approval_uuid = await wait_for(partial(pending_review, services, runner, n8n_id))
        seen = now()
        parked = (await n8n.get(f"/api/v1/executions/{n8n_id}")).json()
        out["parked -> review"].append((seen - parse_time(parked["stoppedAt"])).total_seconds())  # type: ignore[operator]
        decided = now()
        await services.approvals.decide(approver, approval_uuid, True, "bench")

        item = await wait_for(partial(resumed, n8n, n8n_id, parked["startedAt"]))
        out["decision -> n8n resumed"].append((parse_time(item["startedAt"]) - decided).total_seconds())  # type: ignore[operator]
        await wait_for(partial(n8n_status_is, n8n, n8n_id, "success"))
        out["decision -> n8n success"].append((now() - decided).total_seconds())
    return out


async def resumed(n8n: httpx.AsyncClient, n8n_id: int, parked_start: str) -> dict[str, Any] | None:
    """The execution once n8n took the resume call (its startedAt moves to the resume)."""
    item: dict[str, Any] = (await n8n.get(f"/api/v1/executions/{n8n_id}")).json()
    return item if item["status"] in ("running", "success") and item["startedAt"] != parked_start else None


async def first_poll_done(services: Services) -> bool:
    return any(item["polls"] for item in await bridge_states(services.db))


async def n8n_status_is(n8n: httpx.AsyncClient, n8n_id: int, status: str) -> bool:
    return bool((await n8n.get(f"/api/v1/executions/{n8n_id}")).json()["status"] == status)


async def pending_review(services: Services, runner: BridgeRunner, n8n_id: int) -> uuid.UUID | None:
    from sqlalchemy import select

    link = (await runner.store.links([n8n_id])).get(n8n_id)
    if link is None:
        return None
    async with services.db.read() as session:
        found = await session.execute(
            select(WorkflowApproval.uuid)
            .join(WorkflowExecution, WorkflowExecution.id == WorkflowApproval.execution_id)
            .where(WorkflowExecution.id == link.execution_id, WorkflowApproval.status == "pending")
        )
        value = found.scalar()
    return value if isinstance(value, uuid.UUID) else None


def _sync(n8n: httpx.AsyncClient) -> httpx.Client:
    return httpx.Client(base_url=str(n8n.base_url), headers=dict(n8n.headers), timeout=30)


def show(name: str, values: list[float]) -> None:
    ms = [v * 1000 for v in values]
    print(f"  {name:<26} n={len(ms):<3} p50 {pct(ms, 50):7.0f} ms  p95 {pct(ms, 95):7.0f} ms  max {max(ms):7.0f} ms")


async def main(runs: int, poll: float, burst_size: int, steady_seconds: float, workers: int) -> None:
    url, key = os.environ["N8N_URL"].rstrip("/"), os.environ["N8N_API_KEY"]
    database = await fresh_database(os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///x.db"))
    os.environ["DATABASE_URL"] = database
    from app.db.migrate import upgrade_to_head

    await asyncio.to_thread(upgrade_to_head)
    workdir = Path(tempfile.mkdtemp())
    redis = RedisServer(workdir)
    redis.start()
    server = AppServer(database, redis.url, workdir, API_RATE_LIMIT="0", WS_MAX_CONNECTIONS_PER_USER="0")
    server.start()
    services = Services.build(Settings(database_url=database, redis_url=redis.url))
    await services.hub.start()  # as `athena bridge n8n`: its writes are published to the servers
    ws = await services.accounts.create_workspace("n8n bench", "bench-org")
    user = await services.accounts.create_user(
        "approver@bench.local", "bench-pass-1", workspace=str(ws.uuid), role=Role.APPROVER
    )
    approver = await services.accounts.load_user(user.id)
    token = await services.accounts.create_token(user.id)
    socket_url = f"{server.ws_url}/api/v1/ws?workspace_uuid={ws.uuid}"
    client = N8nClient(url, key)
    runner = await build_runner(
        services, client, BridgeTarget(str(ws.uuid)), BridgeOptions(poll_seconds=poll, backfill=0)
    )
    task = asyncio.create_task(runner.run())
    # The first poll sets the cursor at n8n's newest id (backfill 0): trigger nothing before it.
    await wait_for(partial(first_poll_done, services))
    n8n = httpx.AsyncClient(base_url=url, headers={"X-N8N-API-KEY": key}, timeout=30)
    try:
        print(f"n8n bridge, poll {poll:g} s, {runs} runs each, {database.split(':', 1)[0]}, load {machine_load()}")
        if runs:
            show("record -> row", await record_to_row(n8n, runner, runs, poll))
            show("record -> API socket", await record_to_socket(n8n, runner, runs, poll, socket_url, token))
        if steady_seconds:
            rate, latencies = await steady(n8n, runner, steady_seconds, workers)
            print(
                f"  steady: n8n sustained {rate:.1f} runs/s ({len(latencies)} runs, {workers} callers),"
                f" load {machine_load()}"
            )
            show("steady record -> row", latencies)
        if burst_size:
            rate, latencies = await burst(n8n, runner, burst_size)
            print(f"  burst: n8n ran {burst_size} at {rate:.1f}/s, load {machine_load()}")
            show("burst record -> row", latencies)
        for name, values in (await decisions(n8n, services, runner, runs, approver)).items() if runs else ():
            show(name, values)
        print(f"  load after: {machine_load()}")
    finally:
        runner.stop()
        await task
        await n8n.aclose()
        await client.close()
        await services.close()
        server.stop()
        if redis.proc is not None:
            redis.proc.terminate()
        await drop_database(database)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--poll", type=float, default=1.0)
    parser.add_argument("--burst", type=int, default=0, help="also fire this many runs at once")
    parser.add_argument("--steady", type=float, default=0, help="also drive n8n steadily for this many seconds")
    parser.add_argument("--callers", type=int, default=4, help="concurrent callers of the steady drive")
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.poll, args.burst, args.steady, args.callers))
