"""How fast an engine using athena-client learns of an operator's stop and of a review's decision.

For each of ``--runs`` runs: the engine (``AsyncAthenaClient``, operator token) starts an execution
of ``--workflow``; a second user (``--admin-token``: an admin, or an approver who may also stop)
stops it, or approves its review, and the time from just before that request is sent to the moment
the engine's ``run.wait_stopped()`` / ``review.wait()`` returns is recorded. Printed as p50 / p95 /
max in milliseconds, once over the event socket and once with the socket off (REST polling every
``poll_interval``, 0.5 s), with the machine's load.

Usage, against ``athena demo`` (its simulator keeps the server busy meanwhile):

    uv run athena demo --port 8765 &
    uv run athena tokens create operator@demo.local   # -> OPERATOR
    uv run athena tokens create admin@demo.local      # -> ADMIN
    uv run python -m bench.client_latency --url http://127.0.0.1:8765 --operator-token OPERATOR \\
        --admin-token ADMIN --workflow <uuid of "Invoice approval">
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

import httpx
from athena_client import AsyncAthenaClient


def summary(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"{name:<34} p50 {statistics.median(ms):6.0f} ms   p95 {p95:6.0f} ms   max {ms[-1]:6.0f} ms  (n={len(ms)})"


async def stop_latency(client: AsyncAthenaClient, admin: httpx.AsyncClient, workflow: str) -> float:
    async with client.execution(workflow, mode="bench") as run, run.node("work"):
        sent = time.perf_counter()
        (await admin.post(f"/api/v1/workflow-executions/{run.uuid}/stop")).raise_for_status()
        assert await run.wait_stopped(timeout=30)
        elapsed = time.perf_counter() - sent
        run.check_stop()  # ends the node and the run quietly, as an engine would
    return elapsed


async def decision_latency(client: AsyncAthenaClient, admin: httpx.AsyncClient, workflow: str) -> float:
    async with client.execution(workflow, mode="bench") as run, run.node("review"):
        review = await run.request_review("Benchmark review", node_id="review")
        sent = time.perf_counter()
        (await admin.post(f"/api/v1/workflow-approvals/{review.uuid}/approve", json={})).raise_for_status()
        decision = await review.wait(timeout=30)
        elapsed = time.perf_counter() - sent
        assert decision.approved
    return elapsed


async def main(args: argparse.Namespace) -> None:
    async with httpx.AsyncClient(
        base_url=args.url, headers={"Authorization": f"Bearer {args.admin_token}"}, timeout=30
    ) as admin:
        for socket in (True, False):
            async with AsyncAthenaClient(args.url, args.operator_token, socket=socket) as client:
                stops = [await stop_latency(client, admin, args.workflow) for _ in range(args.runs)]
                decisions = [await decision_latency(client, admin, args.workflow) for _ in range(args.runs)]
            how = "event socket" if socket else "REST polling (socket off)"
            print(summary(f"stop -> engine knows, {how}", stops))
            print(summary(f"decision -> engine has it, {how}", decisions))
    print("load average:", load())


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--operator-token", required=True)
    parser.add_argument("--admin-token", required=True)
    parser.add_argument("--workflow", required=True)
    parser.add_argument("--runs", type=int, default=20)
    asyncio.run(main(parser.parse_args()))
