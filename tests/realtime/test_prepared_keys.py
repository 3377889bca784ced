"""An event's render cache is keyed by the render function and exactly the inputs it is given
(issue 18): the same inputs render once, any input that differs renders again, and a render that
could read something not in its key (a closure, named inputs) is refused."""

from __future__ import annotations

import pytest

from app.realtime.prepared import PreparedEvent
from tests.events import prepared_event

WS = "01a2259e-60ac-75af-a4a0-f37dfead81c0"


def _render_label(event: PreparedEvent, prefix: str, columns: tuple[str, ...]) -> str:
    return f"{prefix}:{event.seq}:{','.join(columns)}"


def test_same_inputs_render_once_and_any_other_input_renders_again() -> None:
    event = prepared_event(1, 7, "execution.updated", {"uuid": "u-1", "workspace_uuid": WS})
    before, kinds = PreparedEvent.renders, PreparedEvent.renders_by_kind["label"]
    first = event.rendered(_render_label, "row", ("status", "workflow"))
    assert event.rendered(_render_label, "row", ("status", "workflow")) is first
    assert event.rendered(_render_label, "row", ("status",)) == "row:7:status"
    assert event.rendered(_render_label, "insert", ("status", "workflow")) == "insert:7:status,workflow"
    assert PreparedEvent.renders - before == 3
    assert PreparedEvent.renders_by_kind["label"] - kinds == 3  # counted under the function's name


def test_a_render_that_could_read_outside_its_key_is_refused() -> None:
    event = prepared_event(1, 8, "execution.updated", {"uuid": "u-2", "workspace_uuid": WS})
    columns = ("status",)
    with pytest.raises(TypeError, match="no closures"):
        event.rendered(lambda e: f"{e.seq}{columns}")
    with pytest.raises(TypeError, match="no closures"):
        event.rendered(_render_label, prefix="row", columns=columns)
