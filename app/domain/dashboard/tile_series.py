"""The status tiles' numbers and their sparklines cover one period, and say which (issue 19 item 6):
the view's range, or all time when it has none.

Both come from one set of counts per status and time bucket: a tile's number *is* the sum of its
line's buckets, so the two cannot disagree (a count outside the buckets, say a clock a little
ahead, is clamped into the nearest one, never dropped).

Buckets: 5 minutes for a period of up to 3 hours, hours up to 2 days, else days (several days per
bucket beyond ``MAX_BUCKETS`` days). Day buckets are summed from ``execution_day_counts`` when the
filters allow (``day_counts.by_status_and_day_statement``): all time in a workspace of a year of
executions is a few thousand summary rows, not a scan of the executions. Folded retry chains
(the list's default) take the retried executions off those sums: one indexed query over the few
retried ids. Shorter buckets, and filters the table cannot answer (search, review, attention),
count the executions themselves, as the tiles always did.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid as uuid_lib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, any_, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.executions import day_counts
from app.domain.executions import queries as q
from app.domain.metrics.buckets import bucket_expr, bucket_key

E = q.E
STATUSES = ("running", "pending", "waiting", "paused", "failed", "completed", "cancelled")
MAX_BUCKETS = 48
FIVE_MINUTES = dt.timedelta(minutes=5)
ONE_HOUR = dt.timedelta(hours=1)
ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Buckets:
    """``count`` buckets of ``width`` from ``origin`` (UTC), oldest first."""

    origin: dt.datetime
    width: dt.timedelta
    count: int

    def slot(self, moment: dt.datetime) -> int:
        index = int((moment - self.origin) // self.width)
        return min(max(index, 0), self.count - 1)

    @property
    def step(self) -> str:
        """The width in words: "5 min", "hour", "day", "3 days"."""
        if self.width == FIVE_MINUTES:
            return "5 min"
        if self.width == ONE_HOUR:
            return "hour"
        days = self.width // ONE_DAY
        return "day" if days == 1 else f"{days} days"


@dataclass(frozen=True)
class TileSeries:
    """Per status, the executions of the period per bucket (created in it, counted by status now)."""

    series: dict[str, list[int]]
    buckets: Buckets

    def totals(self) -> dict[str, int]:
        return {status: sum(values) for status, values in self.series.items()}

    def describe(self) -> dict[str, Any]:
        """What the tiles template says about the lines: their first bucket and width."""
        return {"since": self.buckets.origin.isoformat(), "step": self.buckets.step, "buckets": self.buckets.count}


def unit_for(span: dt.timedelta | None) -> str:
    """The database bucket a period is counted in: minutes (grouped by 5), hours or days."""
    if span is None or span > 2 * ONE_DAY:
        return "day"
    return "minute" if span <= 3 * ONE_HOUR else "hour"


def plan(start: dt.datetime, end: dt.datetime, unit: str) -> Buckets:
    """The buckets from the one holding ``start`` to the one holding ``end``."""
    start, end = start.astimezone(dt.UTC), max(end, start).astimezone(dt.UTC)
    if unit == "minute":
        origin = start.replace(minute=start.minute - start.minute % 5, second=0, microsecond=0)
        width = FIVE_MINUTES
    elif unit == "hour":
        origin, width = start.replace(minute=0, second=0, microsecond=0), ONE_HOUR
    else:
        origin = start.replace(hour=0, minute=0, second=0, microsecond=0)
        days = (end - origin) // ONE_DAY + 1
        width = ONE_DAY * math.ceil(days / MAX_BUCKETS)
    return Buckets(origin, width, int((end - origin) // width) + 1)


async def status_series(
    session: AsyncSession, filters: q.ExecutionFilters, *, now: dt.datetime, is_sqlite: bool
) -> TileSeries:
    """The counts of ``filters`` (its statuses ignored: every tile is counted) per status and bucket
    of its date range, or of all time (from the first day with an execution) without one."""
    base = replace(filters, statuses=None)
    end = min(base.date_to, now) if base.date_to is not None else now
    span = end - base.date_from if base.date_from is not None else None
    unit = unit_for(span)
    counts = await _counts(session, base, unit, is_sqlite)
    start = base.date_from
    if start is None:
        start = min((moment for _, moment, _ in counts), default=end)
    buckets = plan(start, end, unit)
    series = {status: [0] * buckets.count for status in STATUSES}
    for status, moment, n in counts:
        if status in series:
            series[status][buckets.slot(moment)] += n
    return TileSeries(series, buckets)


Count = tuple[str, dt.datetime, int]


async def _counts(session: AsyncSession, f: q.ExecutionFilters, unit: str, is_sqlite: bool) -> list[Count]:
    conditions, fold = f.extra.get("conditions", []), f.extra.get("fold", [])
    if unit == "day" and len(conditions) == len(fold):  # no condition but the fold: the day table may answer
        plain = replace(f, extra={})
        statement = day_counts.by_status_and_day_statement(plain)
        if statement is not None:
            found = [(status, _moment(day), int(n)) for status, day, n in await session.execute(statement)]
            retried = f.extra.get("retried") or []
            if fold and retried:
                found += [(s, m, -n) for s, m, n in await _retried_counts(session, plain, retried, is_sqlite)]
            return found
    return await _executions_counts(session, q.filter_conditions(f), unit, is_sqlite)


async def _executions_counts(session: AsyncSession, where: Iterable[Any], unit: str, is_sqlite: bool) -> list[Count]:
    bucket = _truncated(unit, is_sqlite)
    rows = await session.execute(select(E.status, bucket, func.count()).where(*where).group_by(E.status, bucket))
    return [(status, bucket_key(moment), int(n)) for status, moment, n in rows]


async def _retried_counts(
    session: AsyncSession, plain: q.ExecutionFilters, retried: list[uuid_lib.UUID], is_sqlite: bool
) -> list[Count]:
    """The executions a folded list leaves out (each retried by a later attempt) that the plain
    filters count: what to take off the day table's sums."""
    chosen: ColumnElement[bool]
    if is_sqlite:
        chosen = E.uuid.in_(retried)
    else:  # one array parameter, however many retries (as ``chains.fold_condition``)
        chosen = E.uuid == any_(bindparam(None, retried, type_=ARRAY(PG_UUID(as_uuid=True))))
    return await _executions_counts(session, [*q.filter_conditions(plain), chosen], "day", is_sqlite)


def _truncated(unit: str, is_sqlite: bool) -> Any:
    if unit != "minute":
        return bucket_expr(E.created_at, unit, is_sqlite=is_sqlite)
    if is_sqlite:
        return func.strftime("%Y-%m-%d %H:%M:00", E.created_at)
    return func.date_trunc(literal_column("'minute'"), func.timezone("UTC", E.created_at))


def _moment(day: Any) -> dt.datetime:
    """A day of ``execution_day_counts`` (a date; text on SQLite) as its UTC midnight."""
    if isinstance(day, str):
        day = dt.date.fromisoformat(day[:10])
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
