"""The page socket's host renders nothing inside the call that hands it an event: the hub's
``offer`` runs inside the request that published the event (and under the hub's workspace lock),
so a page's flush must wait for a loop callback of the host's own."""

from __future__ import annotations

import asyncio
from typing import Any

from app.web.live import PageHost


class RecordingStream:
    """What the host calls on a page socket: ``flush_now`` (render and write)."""

    def __init__(self) -> None:
        self.flushes: list[list[Any]] = []
        self.sub = None

    def flush_now(self, items: list[Any]) -> None:
        self.flushes.append(list(items))


async def test_a_handed_over_event_is_rendered_after_the_publisher_returns() -> None:
    host = PageHost()
    one, two = RecordingStream(), RecordingStream()
    host.hand_over(one, "event 1")
    host.hand_over(one, "event 2")
    host.hand_over(two, "event 2")
    assert one.flushes == [] and two.flushes == []  # nothing rendered in the publisher's call
    assert host.holds(one) and host.holds(two)
    await asyncio.sleep(0)  # the host's own callback
    assert one.flushes == [["event 1", "event 2"]] and two.flushes == [["event 2"]]  # in order, one flush each
    assert not host.holds(one) and host.flushes == 2
