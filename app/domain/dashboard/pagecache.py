"""The list page's data, reused while nothing in its workspaces changed.

Every change of an execution (status, approvals, command room...) commits an event and moves its
workspace's ``event_seq``. A page's data (rows, tiles, sparklines, total, workflow choices) built
when the view's workspaces stood at given sequence numbers is therefore current until the next
event. The numbers come from the hub when it watches the workspaces (no query at all), else from
one small statement. A short lifetime bounds what moves without an event (a workflow renamed, the
clock: quick date ranges and the hourly sparklines). Requests that miss together wait for one
build (``single flight``). Rows are plain dicts shared read-only between requests; who may act on
a row is decided when rendering, not here.

A snapshot younger than ``grace`` (``PAGE_SNAPSHOT_GRACE_MS``, by default the page sockets'
coalescing window, 250 ms) is served even when events came since: the page carries the cursor it
was built at, so its socket replays them as soon as it connects, and an open page already shows
changes up to that window late. Under a stream of events a process then builds a view's page at
most once per window instead of once per event. Never for a change this process committed since
the build (``written_here``): who reloads after their own stop sees it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from app.domain.dashboard.views import ExecutionFilter

MAX_AGE_SECONDS = 2.0
MAX_ENTRIES = 256

Seqs = tuple[tuple[int, int], ...]
Page = TypeVar("Page")


def view_key(view: ExecutionFilter) -> tuple[Any, ...]:
    """Everything the page's data depends on, besides the events and the clock."""
    return (
        tuple(view.workspace_ids),
        tuple(view.workflow_uuids),
        tuple(view.statuses),
        view.search,
        view.range,
        None if view.range else view.date_from,
        view.date_to,
        view.needs_review,
        view.command_room,
        view.sort,
        view.direction,
        view.page,
        tuple(view.columns),
        tuple(view.attention),
        view.fold_retries,
    )


def frozen_seqs(seqs: dict[int, int]) -> Seqs:
    return tuple(sorted(seqs.items()))


class PageCache(Generic[Page]):
    def __init__(self, max_age: float = MAX_AGE_SECONDS, grace: float = 0.0) -> None:
        self.max_age = max_age
        self.grace = grace
        self._entries: dict[tuple[Any, ...], tuple[float, Seqs, Page]] = {}
        self._building: dict[tuple[Any, Seqs], asyncio.Future[Page]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[Any, ...], seqs: Seqs, written_here: dict[int, int] | None = None) -> Page | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        made, built_at, value = entry
        age = time.monotonic() - made
        if age > self.max_age:
            return None
        if built_at == seqs:
            return value
        if age <= self.grace and written_here is not None and all(n >= written_here.get(ws, 0) for ws, n in built_at):
            return value
        return None

    async def get_or_build(
        self,
        key: tuple[Any, ...],
        seqs: Seqs,
        build: Callable[[], Awaitable[Page]],
        written_here: dict[int, int] | None = None,
    ) -> Page:
        """The page for ``key`` at ``seqs``: cached, being built by another request, or built now."""
        cached = self.get(key, seqs, written_here)
        if cached is not None:
            self.hits += 1
            return cached
        flight = (key, seqs)
        pending = self._building.get(flight)
        if pending is not None:
            self.hits += 1
            await asyncio.wait([pending])  # not cancelled with the request that builds
            if not pending.cancelled() and pending.exception() is None:
                return pending.result()
            return await build()  # that build failed or its request went away: this one builds its own
        self.misses += 1
        future: asyncio.Future[Page] = asyncio.get_running_loop().create_future()
        self._building[flight] = future
        try:
            value = await build()
        except BaseException:
            future.cancel()
            raise
        finally:
            self._building.pop(flight, None)
        future.set_result(value)
        self.put(key, seqs, value)
        return value

    def put(self, key: tuple[Any, ...], seqs: Seqs, value: Page) -> None:
        if len(self._entries) >= MAX_ENTRIES:
            now = time.monotonic()
            self._entries = {k: v for k, v in self._entries.items() if now - v[0] <= self.max_age}
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
        self._entries[key] = (time.monotonic(), seqs, value)

    def clear(self) -> None:
        self._entries.clear()
