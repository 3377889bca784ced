"""Metrics on the ``active`` time axis: an execution counts in every bucket it was running in.

The buckets are a ``VALUES`` list joined to the range's active executions (started before the
bucket's end, not stopped before its start), so a long execution counts in each of its buckets.
The summary is a separate pass over the same executions, each counted once. Cost: the range's
active executions times the buckets, compared in the database (no rows come back to Python).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Sequence
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ColumnElement, bindparam, column, text, values
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.executions.time_axis import stopped_or_never
from app.domain.metrics import queries as mq
from app.domain.metrics.buckets import STEP

E = mq.E


def bucket_table(pairs: Sequence[tuple[dt.datetime, dt.datetime]], *, is_sqlite: bool) -> Any:
    """``(b_start, b_end)`` rows as a FROM item. SQLite cannot name a VALUES list's columns in its
    alias, so there it selects ``column1`` / ``column2`` from a plain VALUES subquery."""
    stamp = DateTimeUTC(timezone=True)
    if not is_sqlite:
        return values(column("b_start", stamp), column("b_end", stamp), name="buckets").data(list(pairs))
    rows = ", ".join(f"(:s{i}, :e{i})" for i in range(len(pairs)))
    params = [bindparam(f"s{i}", s, type_=stamp) for i, (s, _) in enumerate(pairs)]
    params += [bindparam(f"e{i}", e, type_=stamp) for i, (_, e) in enumerate(pairs)]
    # Only numbered placeholders are formatted in; every value is a bound parameter.
    query = text(f"SELECT column1 AS b_start, column2 AS b_end FROM (VALUES {rows})").bindparams(*params)  # noqa: S608
    return query.columns(column("b_start", stamp), column("b_end", stamp)).subquery("buckets")


async def active_stats(
    session: AsyncSession,
    scope: Any,
    starts: Sequence[dt.datetime],
    where: Sequence[ColumnElement[bool]],
    *,
    is_sqlite: bool,
) -> tuple[dict[Hashable, dict[str, int]], dict[Hashable, mq.Spread]]:
    """Counts by status and finished durations per bucket start, and under ``mq.ALL`` for the range."""
    buckets = bucket_table([(start, start + STEP[scope.interval]) for start in starts], is_sqlite=is_sqlite)
    in_bucket = [
        E.started_at < buckets.c.b_end,
        stopped_or_never() >= buckets.c.b_start,
    ]
    counts, durations = await mq.stats_by(session, buckets.c.b_start, [*where, *in_bucket], is_sqlite=is_sqlite)
    # One group for the whole range: a key that is the same for every row and reads an indexed column.
    everything = E.workspace_id.in_(list(scope.workspace_ids))
    total_counts, total_spreads = await mq.stats_by(session, everything, where, is_sqlite=is_sqlite)
    counts[mq.ALL] = next(iter(total_counts.values()), {})
    durations[mq.ALL] = next(iter(total_spreads.values()), mq.Spread())
    return counts, durations
