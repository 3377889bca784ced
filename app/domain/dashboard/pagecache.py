"""The list page's data, reused while nothing in its workspaces changed.

Every change of an execution (status, approvals, command room...) commits an event and moves its
workspace's ``event_seq``. A page's data (rows, tiles, sparklines, total, workflow choices) keyed by
the view and those sequence numbers is therefore current until the next event: a request then
reads the sequence numbers (one small statement) instead of the six page statements. A short
lifetime bounds what moves without an event (a workflow renamed, the clock: quick date ranges and
the hourly sparklines). Rows are plain dicts shared read-only between requests; who may act on a
row is decided when rendering, not here.
"""

from __future__ import annotations

import time
from typing import Any

from app.domain.dashboard.views import ExecutionView

MAX_AGE_SECONDS = 2.0
MAX_ENTRIES = 256


def view_key(view: ExecutionView, seqs: dict[int, int]) -> tuple[Any, ...]:
    """Everything the page's data depends on, besides the clock."""
    return (
        tuple(sorted(seqs.items())),
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


class PageCache:
    def __init__(self, max_age: float = MAX_AGE_SECONDS) -> None:
        self.max_age = max_age
        self._entries: dict[tuple[Any, ...], tuple[float, Any]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[Any, ...]) -> Any | None:
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] > self.max_age:
            self.misses += 1
            return None
        self.hits += 1
        return entry[1]

    def put(self, key: tuple[Any, ...], value: Any) -> None:
        if len(self._entries) >= MAX_ENTRIES:
            now = time.monotonic()
            self._entries = {k: v for k, v in self._entries.items() if now - v[0] <= self.max_age}
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
        self._entries[key] = (time.monotonic(), value)

    def clear(self) -> None:
        self._entries.clear()
