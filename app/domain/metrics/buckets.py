"""Time buckets and percentiles that behave the same on SQLite and PostgreSQL.

Buckets are UTC: PostgreSQL truncates with ``date_trunc`` on the UTC wall time, SQLite with
``strftime`` (weeks start on Monday on both). Percentiles are continuous (linear interpolation),
``percentile_cont`` on PostgreSQL and :func:`percentile_cont` below on SQLite, so both databases
answer the same numbers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any, Literal, TypeGuard

from sqlalchemy import ColumnElement, func, literal_column

from app.lib.errors import FieldValidationError

Interval = Literal["hour", "day", "week"]
STEP: dict[str, dt.timedelta] = {
    "hour": dt.timedelta(hours=1),
    "day": dt.timedelta(days=1),
    "week": dt.timedelta(weeks=1),
}
# Default range when date_from is not given: enough buckets for a chart, few enough to read.
DEFAULT_SPAN: dict[str, dt.timedelta] = {
    "hour": dt.timedelta(hours=24),
    "day": dt.timedelta(days=30),
    "week": dt.timedelta(weeks=12),
}
MAX_BUCKETS = 744  # 31 days of hours


def parse_interval(raw: str | None) -> Interval:
    value = (raw or "day").strip().lower()
    if not _is_interval(value):
        raise FieldValidationError("interval", "The interval field must be one of: hour, day, week.")
    return value


def _is_interval(value: str) -> TypeGuard[Interval]:
    return value in STEP


def truncate(moment: dt.datetime, interval: str) -> dt.datetime:
    """The start of the UTC bucket holding ``moment``."""
    moment = moment.astimezone(dt.UTC)
    if interval == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if interval == "week":
        return day - dt.timedelta(days=day.weekday())
    return day


def bucket_starts(date_from: dt.datetime, date_to: dt.datetime, interval: str) -> list[dt.datetime]:
    """Every bucket from the one holding ``date_from`` to the one holding ``date_to``; 422 when there
    would be more than MAX_BUCKETS."""
    first, last = truncate(date_from, interval), truncate(date_to, interval)
    count = int((last - first) / STEP[interval]) + 1
    if count > MAX_BUCKETS:
        raise FieldValidationError(
            "date_from",
            f"The range holds {count:,} {interval} buckets; at most {MAX_BUCKETS} are allowed. "
            "Shorten the range or use a longer interval.",
        )
    return [first + i * STEP[interval] for i in range(count)]


def bucket_expr(column: Any, interval: str, *, is_sqlite: bool) -> ColumnElement[Any]:
    """SQL for the start of the UTC bucket of ``column`` (group by it)."""
    if is_sqlite:
        if interval == "hour":
            return func.strftime("%Y-%m-%d %H:00:00", column)
        if interval == "week":  # the Sunday ending the week, minus 6 days: its Monday
            return func.strftime("%Y-%m-%d 00:00:00", column, "weekday 0", "-6 days")
        return func.strftime("%Y-%m-%d 00:00:00", column)
    return func.date_trunc(literal_column(f"'{interval}'"), func.timezone("UTC", column))


def bucket_key(value: Any) -> dt.datetime:
    """A bucket value as the database returns it (text on SQLite, naive UTC on PostgreSQL)."""
    moment: dt.datetime = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def millis_between(start: Any, stop: Any, *, is_sqlite: bool) -> ColumnElement[Any]:
    """Milliseconds from ``start`` to ``stop``."""
    if is_sqlite:
        return (func.julianday(stop) - func.julianday(start)) * 86_400_000.0
    return func.extract("epoch", stop - start) * 1000.0


def percentile_cont(sorted_values: Sequence[float], fraction: float) -> float | None:
    """PostgreSQL's ``percentile_cont``: linear interpolation between the closest ranks."""
    if not sorted_values:
        return None
    position = fraction * (len(sorted_values) - 1)
    low, high = math.floor(position), math.ceil(position)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def ms(value: float | None) -> int | None:
    return None if value is None else round(value)
