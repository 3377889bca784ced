"""The HTML list page under load (issue 6, goal 8), with goal 1's latency measured at the same time.

    uv run python -m bench.listpage [--seconds 30] [--share 0.2] [--clients 200] [--rate PAGES_PER_S]

Instance B runs with ``uvicorn --workers 2``; instance A takes the writes. In one run:
1. capacity, closed loop (``wrk -t2 -c16``, Debian's wrk): requests/s of the trivial Litestar
   endpoint ``/health`` and of ``/executions`` (signed in with the session and CSRF cookies a
   browser sends back, 50 rows) on B, with ``--watchers`` sockets open on B as open dashboards
   keep them (so each worker's hub watches the workspace);
2. fixed rate, open loop: ``/executions`` at ``share`` x the trivial endpoint's requests/s, sent by a
   lean HTTP/1.1 generator in its own process (latency counted from each request's scheduled time,
   so a stall is not hidden), while goal 1 runs: writes on A at 20/s, 200 API sockets on B.
``--rate`` skips step 1 and sends that many pages per second (to compare two builds quickly at the
same load). The page rate is sustained if the answers completed within the window, per second of
it, are ≥ 98 % of the target and nothing failed.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import re
import subprocess
import time
from collections import Counter
from multiprocessing.connection import Connection
from urllib.parse import urlsplit

import httpx
import websockets

from bench.common import Stack, machine_load
from bench.live import measure_latency
from bench.wsclient import BUCKET_MS, percentile

CTX = mp.get_context("spawn")


def wrk(url: str, cookie: str | None, seconds: int) -> float:
    cmd = ["wrk", "-t2", "-c16", f"-d{seconds}s", url]
    if cookie:
        cmd[1:1] = ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert non2xx is None, out
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def fixed_rate_process(url: str, cookie: str, rate: float, seconds: float, conn: Connection) -> None:
    import uvloop  # ships with uvicorn[standard]

    conn.send(uvloop.run(_fixed_rate(url, cookie, rate, seconds)))


class PageFetcher(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection as a bare protocol: it counts the answer's bytes against
    its Content-Length and keeps nothing (a StreamReader copied every 100 KB page: the generator
    then used as much CPU as a server worker, on the same 2 cores)."""

    def __init__(self, request: bytes, idle: asyncio.Queue[PageFetcher]) -> None:
        self.request, self.idle = request, idle
        self.transport: asyncio.Transport | None = None
        self.done: asyncio.Future[bool] | None = None
        self.head = b""
        self.remaining = -1
        self.ok = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def fetch(self) -> asyncio.Future[bool]:
        self.done = asyncio.get_running_loop().create_future()
        self.head, self.remaining = b"", -1
        assert self.transport is not None
        self.transport.write(self.request)
        return self.done

    def data_received(self, data: bytes) -> None:
        if self.remaining < 0:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            length = int(re.search(rb"(?i)content-length: (\d+)", self.head[:end]).group(1))  # type: ignore[union-attr]
            self.ok = self.head.startswith(b"HTTP/1.1 200")
            self.remaining = length - (len(self.head) - end - 4)
        else:
            self.remaining -= len(data)
        if self.remaining <= 0 and self.done is not None and not self.done.done():
            self.done.set_result(self.ok)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_result(False)


async def _fixed_rate(url: str, cookie: str, rate: float, seconds: float) -> dict[str, object]:
    parts = urlsplit(url)
    request = (f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\nCookie: {cookie}\r\n\r\n").encode()
    loop = asyncio.get_running_loop()
    idle: asyncio.Queue[PageFetcher] = asyncio.Queue()
    for _ in range(64):
        _, fetcher = await loop.create_connection(lambda: PageFetcher(request, idle), parts.hostname, parts.port)
        idle.put_nowait(fetcher)
    hist: Counter[int] = Counter()
    failures = 0
    in_window = 0

    async def one(scheduled: float) -> None:
        nonlocal failures, in_window
        fetcher = await idle.get()
        try:
            ok = await fetcher.fetch()
            failures += not ok
            done = time.monotonic()
            hist[int((done - scheduled) * 1000 / BUCKET_MS)] += 1
            in_window += done <= started + seconds
        except Exception:
            failures += 1
        finally:
            idle.put_nowait(fetcher)

    started = time.monotonic()
    total = int(rate * seconds)
    tasks = []
    for i in range(total):
        scheduled = started + i / rate
        await asyncio.sleep(max(0.0, scheduled - time.monotonic()))
        tasks.append(asyncio.create_task(one(scheduled)))
    # Bounded: what has not been answered 5 s after the window closed is counted as not served.
    _, late = await asyncio.wait(tasks, timeout=5)
    for task in late:
        task.cancel()
    took = time.monotonic() - started
    served = sum(hist.values())
    return {
        "sent": total,
        "served": served,
        "in_window": in_window,
        "took": took,
        "failures": failures + len(late),
        "hist": hist,
    }


async def run(args: argparse.Namespace) -> None:
    async with Stack(args.database_url, b_workers=2) as stack:
        assert stack.seeded is not None
        async with httpx.AsyncClient(base_url=stack.a.base_url, headers=stack.headers, timeout=30) as http:
            for _ in range(60):  # the page shows 50 rows
                r = await http.post("/api/v1/workflow-executions", json={"workflow_uuid": stack.seeded.workflow_uuid})
                assert r.status_code == 201, r.text
        page = f"{stack.b.base_url}/executions?workspace={stack.seeded.workspace_uuid}"
        r = await asyncio.to_thread(httpx.get, page, headers={"Cookie": f"athena_session={stack.seeded.token}"})
        assert r.status_code == 200 and r.text.count('class="row ') == 50, r.status_code
        # A browser sends back the CSRF cookie it was given (else every answer sets a new one).
        cookie = f"athena_session={stack.seeded.token}; athena_csrf={r.cookies['athena_csrf']}"
        # Open dashboards: their sockets make each worker's hub watch the workspace, as in use.
        watchers = [
            await websockets.connect(
                f"{stack.b.base_url.replace('http', 'ws')}/api/v1/ws?workspace_uuid={stack.seeded.workspace_uuid}",
                additional_headers=stack.headers,
            )
            for _ in range(args.watchers)
        ]
        await asyncio.sleep(1)
        if args.rate:
            target = args.rate  # a given rate: no closed-loop phase (to compare builds quickly)
        else:
            load0 = machine_load()
            trivial = wrk(f"{stack.b.base_url}/health", None, args.wrk_seconds)
            page_max = wrk(page, cookie, args.wrk_seconds)
            print(f"goal 8 · B: uvicorn --workers 2 · load {load0} -> {machine_load()}")
            print(
                f"closed loop (wrk -t2 -c16 {args.wrk_seconds}s): /health {trivial:,.0f} req/s · /executions "
                f"{page_max:,.0f} req/s = {page_max / trivial:.0%} of trivial"
            )
            target = args.share * trivial
        conn, child = CTX.Pipe()
        proc = CTX.Process(target=fixed_rate_process, args=(page, cookie, target, args.seconds, child))
        proc.start()
        live = await measure_latency(stack, args.clients, int(args.seconds * 20), 20.0)
        result = conn.recv()
        proc.join(10)
        for watcher in watchers:
            await watcher.close()
        # The open-loop rate: answers completed within the window, per second of it. (Dividing all
        # answers by the time until the last one drained counted the final responses' latency as
        # lost throughput: a 2 s tail on a 30 s window read as 94 %.) A server that falls behind
        # leaves its backlog past the window, so it still reads low; the p99 shows the queueing.
        achieved = result["in_window"] / args.seconds  # type: ignore[operator]
        hist = result["hist"]
        sustained = achieved >= 0.98 * target and not result["failures"]
        print(
            f"fixed rate: /executions at {target:,.1f} req/s for {args.seconds:.0f}s: "
            f"achieved {achieved:,.1f} req/s ({result['served']} of {result['sent']} answered, "
            f"{result['in_window']} within the window; drained after {result['took']:.1f}s), "
            f"failures {result['failures']}, latency p50 "
            f"{percentile(hist, 50):.1f} ms p99 {percentile(hist, 99):.1f} ms "  # type: ignore[arg-type]
            f"-> {'sustained' if sustained else 'NOT sustained'}; goal 1 meanwhile: p50 {live['p50']:.1f} ms "
            f"p99 {live['p99']:.1f} ms lost {live['lost']} · load {machine_load()}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--wrk-seconds", type=int, default=10)
    parser.add_argument("--share", type=float, default=0.2)
    parser.add_argument("--rate", type=float, default=0.0, help="pages/s; skips the closed-loop phase")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--watchers", type=int, default=16, help="API sockets open on B during the whole run")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"),
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
