"""Status tiles stay live without a count query per socket per event: once a second, each distinct
view that saw changes is counted once, rendered once, and sent to every socket showing it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from typing import Any

from app.realtime.hub import Subscriber

logger = logging.getLogger("athena.web.tiles")


class TileTicker:
    def __init__(self, dashboard: Any, fragments: Any, interval: float = 1.0) -> None:
        self.dashboard = dashboard
        self.fragments = fragments
        self.interval = interval
        self.subscribers: set[Subscriber] = set()
        self._task: asyncio.Task[None] | None = None
        self.computations = 0

    def add(self, sub: Subscriber) -> None:
        self.subscribers.add(sub)

    def remove(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="athena-tile-ticker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def tick(self) -> None:
        groups: dict[str, list[Subscriber]] = defaultdict(list)
        for sub in list(self.subscribers):
            page = sub.state.page  # a page with ``ticks_tiles`` (app/web/pages/executions/live.py)
            if page.tiles_dirty:
                page.tiles_dirty = False
                groups[page.view.key()].append(sub)
        for subs in groups.values():
            view = subs[0].state.page.view
            tiles = await self.dashboard.tiles(view)
            self.computations += 1
            html = self.fragments.tiles(view, tiles)
            for sub in subs:
                sub.offer(html)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.tick()
            except Exception:
                logger.exception("tile refresh failed; will retry")
