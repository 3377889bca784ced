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
from sqlalchemy import ColumnElement, column, or_, values
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.metrics import queries as mq
from app.domain.metrics.buckets import STEP

E = mq.E


async def active_stats(
    session: AsyncSession,
    scope: Any,
    starts: Sequence[dt.datetime],
    where: Sequence[ColumnElement[bool]],
    *,
    is_sqlite: bool,
) -> tuple[dict[Hashable, dict[str, int]], dict[Hashable, mq.Spread]]:
    """Counts by status and finished durations per bucket start, and under ``mq.ALL`` for the range."""
    step = STEP[scope.interval]
    buckets = values(
        column("b_start", DateTimeUTC(timezone=True)), column("b_end", DateTimeUTC(timezone=True)), name="buckets"
    ).data([(start, start + step) for start in starts])
    in_bucket = [
        E.started_at < buckets.c.b_end,
        or_(E.stopped_at >= buckets.c.b_start, E.stopped_at.is_(None)),
    ]
    counts, durations = await mq.stats_by(session, buckets.c.b_start, [*where, *in_bucket], is_sqlite=is_sqlite)
    # One group for the whole range: a key that is the same for every row and reads an indexed column.
    everything = E.workspace_id.in_(list(scope.workspace_ids))
    total_counts, total_spreads = await mq.stats_by(session, everything, where, is_sqlite=is_sqlite)
    counts[mq.ALL] = next(iter(total_counts.values()), {})
    durations[mq.ALL] = next(iter(total_spreads.values()), mq.Spread())
    return counts, durations
