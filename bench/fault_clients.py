"""Item 1's followers in processes of their own (``bench.faults reconnects --procs N``): 20 clients
parsing every event in the writer's process measured that process's CPU share on a loaded machine
(the handshake alone took p99 1.9 s) more than the server's reconnect path."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import random
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized
from typing import Any

from tests.realtime.live_clients import Follower, cut_and_rejoin, database_state


@dataclass
class Plan:
    base_url: str
    ws_url: str
    workspace: str
    headers: dict[str, str]
    start: int
    clients: int
    cuts: int
    seed: float


class SharedCount:
    """Stands in for the writer in ``cut_and_rejoin``: what has committed so far, across processes."""

    def __init__(self, value: Synchronized[int]) -> None:
        self.value = value

    @property
    def committed(self) -> int:
        return int(self.value.value)


async def follow(
    plan: Plan, committed: Synchronized[int], final: Synchronized[int], ready: Synchronized[int]
) -> dict[str, Any]:
    followers = [Follower(plan.ws_url, plan.workspace, plan.headers, last_seq=plan.start) for _ in range(plan.clients)]
    await asyncio.gather(*(f.connect() for f in followers))
    with ready.get_lock():
        ready.value += 1
    writer, rng = SharedCount(committed), random.Random(plan.seed)

    async def client(f: Follower, seed: float) -> None:
        await cut_and_rejoin(f, writer, plan.cuts, random.Random(seed), (0.5, 5.0))  # type: ignore[arg-type]
        await f.read_until(10**12, within=3600)

    following = [asyncio.create_task(client(f, rng.random())) for f in followers]
    # Keep reading until the writer is done and every client had its cuts, as the one-process run does.
    while final.value == 0 or min(len(f.catch_up_times) for f in followers) < plan.cuts:
        for task in following:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        await asyncio.sleep(0.5)
    for f in followers:
        f.stop()  # see Follower.read_until: a swallowed cancellation must not keep one reading
    for task in following:
        task.cancel()
    await asyncio.gather(*following, return_exceptions=True)
    for f in followers:
        f.stopped = False
    end = plan.start + final.value
    await asyncio.gather(*(f.read_until(end, within=120) for f in followers))
    truth = await database_state(plan.base_url, plan.headers, plan.workspace)
    result = {
        "mismatched": sum(1 for f in followers if any(truth.get(k) != v for k, v in f.state.items())),
        "stale": sum(f.stale for f in followers),
        "disorder": sum(f.out_of_order for f in followers),
        "exact": sum(f.seqs == list(range(plan.start + 1, end + 1)) for f in followers),
        "catch_up": [t for f in followers for t in f.catch_up_times],
        "connect": [t for f in followers for t in f.connect_times],
        "resyncs": sum(f.resyncs for f in followers),
        "closes": [c for f in followers for c in f.closes],
    }
    for f in followers:
        await f.close()
    return result


def _worker(
    plan: Plan, committed: Synchronized[int], final: Synchronized[int], ready: Synchronized[int], out: mp.Queue[Any]
) -> None:
    try:
        out.put(asyncio.run(follow(plan, committed, final, ready)))
    except BaseException as exc:  # reported to the parent, which raises it
        out.put({"error": repr(exc)})


class FollowerProcesses:
    """``procs`` processes sharing ``clients`` followers; ``committed``/``final`` are set by the writer."""

    def __init__(self, plan: Plan, procs: int) -> None:
        ctx = mp.get_context("spawn")
        self.committed: Synchronized[int] = ctx.Value("q", 0)  # type: ignore[assignment]
        self.final: Synchronized[int] = ctx.Value("q", 0)  # type: ignore[assignment]
        self.ready: Synchronized[int] = ctx.Value("q", 0)  # type: ignore[assignment]
        self.out: mp.Queue[Any] = ctx.Queue()
        rng = random.Random(1)
        shares = [plan.clients // procs + (i < plan.clients % procs) for i in range(procs)]
        self.procs = [
            ctx.Process(
                target=_worker,
                args=(
                    Plan(**{**plan.__dict__, "clients": n, "seed": rng.random()}),
                    self.committed,
                    self.final,
                    self.ready,
                    self.out,
                ),
                daemon=True,
            )
            for n in shares
            if n
        ]
        for p in self.procs:
            p.start()

    async def connected(self) -> None:
        while self.ready.value < len(self.procs):  # noqa: ASYNC110 - a counter in shared memory, no event to await
            await asyncio.sleep(0.1)

    async def mirror(self, writer: Any) -> None:
        """Copy the writer's committed count for the followers, until cancelled."""
        while True:
            self.committed.value = writer.committed
            await asyncio.sleep(0.02)

    async def results(self) -> list[dict[str, Any]]:
        collected = []
        for _ in self.procs:
            collected.append(await asyncio.to_thread(self.out.get, True, 600))
        for p in self.procs:
            p.join(10)
        errors = [r["error"] for r in collected if "error" in r]
        assert not errors, errors
        return collected
