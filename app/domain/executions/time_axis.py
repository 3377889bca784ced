"""Which moment of an execution a date range applies to (``time_axis`` of counts and metrics).

- ``created`` (default): created in the range.
- ``started`` / ``stopped``: started / stopped in the range (executions without that moment are
  left out).
- ``active``: running at some point of the range: started no later than its end and not stopped
  before its start (still unfinished counts). Never-started executions are never active.

Each axis reads one index range per workspace: ``ix_wfe_ws_created``, ``ix_wfe_ws_started``,
``ix_wfe_ws_stopped``, and for ``active`` ``ix_wfe_ws_active`` on ``coalesce(stopped_at, end of
time)``: "not stopped before the start" is then one range, with the started bound checked in the
index (tests/test_time_axis.py and bench/time_axis.py check the plans).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, TypeGuard

from litestar.params import QueryParameter
from sqlalchemy import ColumnElement, func, literal_column

from app.db.models import WorkflowExecution
from app.lib.errors import FieldValidationError
from app.lib.params import one_of_pattern

E = WorkflowExecution
# "Not stopped" as the end of time, so "not stopped before the range began" is one range of one
# index (ix_wfe_ws_active, on this very expression: keep the two spelled the same).
NEVER = "'9999-12-31 00:00:00+00'"


def stopped_or_never() -> ColumnElement[Any]:
    return func.coalesce(E.stopped_at, literal_column(NEVER))


TimeAxis = Literal["created", "started", "stopped", "active"]
TIME_AXES: tuple[str, ...] = ("created", "started", "stopped", "active")
AXIS_LABELS = {
    "created": "Created",
    "started": "Started",
    "stopped": "Stopped",
    "active": "Active",
}
TIME_AXIS_DESCRIPTION = (
    "Which moment the date range applies to: created (default), started, stopped, or active "
    "(started by the range's end and not stopped before its start)."
)
# The ``time_axis`` query parameter of the count and metrics endpoints, declared once.
TimeAxisParam = Annotated[
    str | None,
    QueryParameter(
        name="time_axis",
        max_length=20,
        description=TIME_AXIS_DESCRIPTION,
        schema_extra={"pattern": one_of_pattern(TIME_AXES)},
    ),
]


def parse_time_axis(raw: str | None) -> TimeAxis:
    """``created`` when absent; 422 naming ``time_axis`` for anything but the four axes."""
    value = (raw or "created").strip().lower()
    if not _is_time_axis(value):
        raise FieldValidationError("time_axis", "The time_axis field must be one of: " + ", ".join(TIME_AXES) + ".")
    return value


def _is_time_axis(value: str) -> TypeGuard[TimeAxis]:
    return value in TIME_AXES


def axis_column(axis: str) -> Any:
    """The column a bucket of this axis groups by (``active`` has none: it spans buckets)."""
    return {"created": E.created_at, "started": E.started_at, "stopped": E.stopped_at}.get(axis, E.created_at)


def axis_conditions(axis: str, date_from: dt.datetime | None, date_to: dt.datetime | None) -> list[ColumnElement[bool]]:
    """Conditions putting an execution in ``[date_from, date_to]`` (both inclusive, either optional)."""
    if axis == "active":
        conds = [E.started_at <= date_to if date_to is not None else E.started_at.is_not(None)]
        if date_from is not None:
            conds.append(stopped_or_never() >= date_from)
        return conds
    column = axis_column(axis)
    conds = [] if axis == "created" else [column.is_not(None)]
    if date_from is not None:
        conds.append(column >= date_from)
    if date_to is not None:
        conds.append(column <= date_to)
    return conds
