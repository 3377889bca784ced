"""How many GET requests one process works on at once (``HTTP_READ_CONCURRENCY``).

A process serves pages and WebSockets on one event loop, and a page is CPU work with few waits.
Admitted all together, 30 page requests interleave their steps: each takes ~30 times its own work
to finish, and every loop pass runs a step of each, so a WebSocket event read from Redis waits
behind all of them. Admitted a few at a time, in arrival order, the same pages finish sooner on
average and the loop comes back to the sockets between them (docs/benchmarks.md, goal 8, fifth
pass: goal 1's p99 during the page load 70-134 -> 13-16 ms, the pages' own p99 390-1,050 ->
80-170 ms).

Only GET and HEAD wait here: they have no request body, so a slow client cannot hold a place
while it uploads. A place is given back when the response starts, so a long download (a CSV
export, a slow reader) is not counted. The operations endpoints never wait, so probes see the
process even when it is busy. WebSockets are not HTTP requests and never wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]
UNGATED_PATHS = frozenset({"/health", "/ready", "/metrics"})
# When the request arrived, so its recorded duration (app/ops/metrics.py) includes its wait here.
ARRIVED = "athena.arrived"


class ReadGate:
    """At most ``limit`` GET/HEAD requests of this process run at once; the others wait their
    turn in arrival order (0: no limit)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.running = 0
        self.waiting = 0
        self.waited_total = 0  # requests that had to wait, since start
        self._slots: asyncio.Semaphore | None = None  # made on the serving loop (tests use several)
        self._loop: asyncio.AbstractEventLoop | None = None

    def applies_to(self, scope: Any) -> bool:
        return (
            self.limit > 0
            and scope["type"] == "http"
            and scope["method"] in ("GET", "HEAD")
            and scope["path"] not in UNGATED_PATHS
        )

    async def run(self, app: ASGIApp, scope: Any, receive: Any, send: Any) -> None:
        """``app`` on this request (one ``applies_to`` accepts) once it has a place."""
        scope[ARRIVED] = time.perf_counter()
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:
            self._slots, self._loop = asyncio.Semaphore(self.limit), loop
        slots = self._slots
        if slots.locked():
            self.waiting += 1
            self.waited_total += 1
            try:
                await slots.acquire()
            finally:
                self.waiting -= 1
        else:
            await slots.acquire()
        self.running += 1
        held = True

        def give_back() -> None:
            nonlocal held
            if held:
                held = False
                self.running -= 1
                slots.release()

        async def send_then_free(message: Any) -> None:
            if message["type"] == "http.response.start":
                give_back()  # what is left is writing: not this gate's business
            await send(message)

        try:
            await app(scope, receive, send_then_free)
        finally:
            give_back()
