"""One event as the hub hands it to sockets: encoded at most once per instance (JSON, the API
socket's frame), and a transaction's events of one workspace as one ``Batch``."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Hashable
from typing import Any, Concatenate, ParamSpec, TypeVar

from app.domain.events.message import EventMessage, encode
from app.realtime.wire import text_frame

Rendered = TypeVar("Rendered")
Inputs = ParamSpec("Inputs")


class PreparedEvent:
    """One event, with its encodings computed at most once per instance whatever the socket count."""

    __slots__ = ("_cache", "_frame", "_json", "message", "workspace_id")
    renders = 0  # class-wide counter of page renders, for tests and benchmarks
    renders_by_kind: Counter[str] = Counter()  # the same, by fragment ("row", "cursor", ...): /ready shows it

    def __init__(self, workspace_id: int, message: EventMessage) -> None:
        self.workspace_id = workspace_id
        self.message = message
        self._json: str | None = None
        self._frame: bytes | None = None
        self._cache: dict[tuple[Hashable, ...], Any] = {}  # page fragments by (render, its inputs)

    @property
    def seq(self) -> int:
        return self.message.seq

    @property
    def json(self) -> str:
        if self._json is None:
            PreparedEvent.renders_by_kind["json"] += 1
            self._json = encode(self.message).decode()
        return self._json

    @property
    def frame(self) -> bytes:
        """``json`` as a WebSocket frame, the same bytes for every API socket (app/realtime/wire.py)."""
        if self._frame is None:
            PreparedEvent.renders_by_kind["frame"] += 1
            self._frame = text_frame(self.json.encode())
        return self._frame

    def rendered(
        self,
        render: Callable[Concatenate[PreparedEvent, Inputs], Rendered],
        *inputs: Inputs.args,
        **named: Inputs.kwargs,
    ) -> Rendered:
        """``render(self, *inputs)``, computed once per distinct ``(render, inputs)``: the cache key
        is the render function and exactly the inputs it is given, so it cannot drift from what the
        output depends on (a key written by hand could leave an input out and serve stale HTML).
        ``render`` must be a plain function or method, not a closure: whatever a closure captured
        would reach the output without being in the key."""
        if named or getattr(getattr(render, "__func__", render), "__closure__", None):
            raise TypeError(f"{render!r}: pass every input positionally, no closures (they would not be in the key)")
        key: tuple[Hashable, ...] = (render, *inputs)
        if key not in self._cache:
            PreparedEvent.renders += 1
            PreparedEvent.renders_by_kind[_kind(render)] += 1
            self._cache[key] = render(self, *inputs, **named)
        cached: Rendered = self._cache[key]
        return cached


def _kind(render: Callable[..., Any]) -> str:
    """``_render_page_frame`` -> ``page-frame``: the fragment's name in the counters /ready shows."""
    return render.__name__.lstrip("_").removeprefix("render_").replace("_", "-")


class Batch:
    """Events of one workspace committed together (a stop cascade: ~1,000), in seq order: ONE item
    in each socket's queue, so a large transaction is not mistaken for a slow client and evicted.
    Each event keeps its own once-per-instance encodings; the page socket sends a batch as one
    flush and the API socket as consecutive frames."""

    __slots__ = ("_frame", "_json", "events", "workspace_id")

    def __init__(self, workspace_id: int, events: list[PreparedEvent]) -> None:
        self.workspace_id = workspace_id
        self.events = events
        self._json: str | None = None
        self._frame: bytes | None = None

    @property
    def json(self) -> str:
        """The API socket's batch frame (``?batch=1``), built once per instance from each event's own
        encoding (no event is encoded twice)."""
        if self._json is None:
            self._json = batch_frame(self.events)
        return self._json

    @property
    def frame(self) -> bytes:
        if self._frame is None:
            self._frame = text_frame(self.json.encode())
        return self._frame

    @property
    def seq(self) -> int:
        return self.events[-1].seq


def batch_frame(events: list[PreparedEvent]) -> str:
    workspace_uuid = json.dumps(events[0].message.workspace_uuid)
    return f'{{"type":"batch","workspace_uuid":{workspace_uuid},"events":[{",".join(e.json for e in events)}]}}'


def events_of(item: PreparedEvent | Batch) -> list[PreparedEvent]:
    return item.events if isinstance(item, Batch) else [item]
