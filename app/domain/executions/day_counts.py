"""Exact counts by status over a date range without reading every execution in it.

The whole UTC days of the range are summed from ``execution_day_counts`` (kept by triggers, see
``app/db/models/day_counts.py``), the partial days at its two ends are counted from the executions
index as before; one statement, ``UNION ALL`` of the three parts. The result is exact, the same
number the plain ``GROUP BY status`` gives (tests/test_day_counts.py compares them after every kind
of write), and its cost grows with the number of days, not of executions.

Only filters the table can answer use it: workspace, workflow, status, user (migration 0018: the
user is the last key column, 0 for none) and a ``created`` range. Search, review and command-room
flags, and conditions a caller adds count as before. A list without a date range sums
``execution_status_counts`` (the same counts of all time, migration 0014) instead.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Date, Select, func, literal, select, text, union_all

from app.db.engine import Database
from app.db.models import User, WorkflowExecution, execution_day_counts, execution_status_counts
from app.domain.executions import queries as q

E = WorkflowExecution
D = execution_day_counts.c
S = execution_status_counts.c
ONE_DAY = dt.timedelta(days=1)
# The date-time ranges are inclusive at both ends ([date_from, date_to]).
TICK = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class DaySplit:
    """``[date_from, date_to]`` as whole days ``first_day..last_day`` (None: unbounded) and the
    partial ends: ``head`` is ``[date_from, first_day)``, ``tail`` is ``[after last_day, date_to]``."""

    first_day: dt.date | None
    last_day: dt.date | None
    head: tuple[dt.datetime, dt.datetime] | None
    tail: tuple[dt.datetime, dt.datetime] | None


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def split_range(date_from: dt.datetime | None, date_to: dt.datetime | None) -> DaySplit | None:
    """None when the range holds no whole UTC day (then a plain count reads little anyway)."""
    start = date_from.astimezone(dt.UTC) if date_from is not None else None
    end = date_to.astimezone(dt.UTC) if date_to is not None else None
    first = None
    if start is not None:
        first = start.date() if start == _midnight(start.date()) else start.date() + ONE_DAY
    # Day d is whole when its last microsecond is in the range: midnight(d + 1) <= end + 1 µs.
    last = (end + TICK).date() - ONE_DAY if end is not None else None
    if first is not None and last is not None and first > last:
        return None
    head = (start, _midnight(first)) if start is not None and first is not None and start < _midnight(first) else None
    tail = None
    if end is not None and last is not None and _midnight(last + ONE_DAY) <= end:
        tail = (_midnight(last + ONE_DAY), end)
    return DaySplit(first, last, head, tail)


def answerable(f: q.ExecutionFilters) -> bool:
    """Whether ``execution_day_counts`` holds what these filters count."""
    return (
        f.time_axis == "created"
        and not f.search
        and f.requires_human_review is None
        and f.has_command_room_task is None
        and not f.extra.get("conditions")
    )


def reads_day_rows(f: q.ExecutionFilters) -> bool:
    """Whether the total of ``f`` sums rows of ``execution_day_counts`` (a date range with a whole
    day in it): a small statement the planner may still run in parallel over this big table, so
    callers run it in ``Database.serial_read``."""
    has_range = f.date_from is not None or f.date_to is not None
    return has_range and answerable(f) and split_range(f.date_from, f.date_to) is not None


def count_by_status_statement(f: q.ExecutionFilters) -> Select[str, int] | None:
    """``(status, n)`` rows for ``f``, from whole days plus the partial ends; None when ``f`` is not
    answerable from the table or its range holds no whole day."""
    if not answerable(f):
        return None
    split = split_range(f.date_from, f.date_to)
    if split is None:
        return None
    both = _counted(f, split)
    return select(both.c.status, func.sum(both.c.n)).group_by(both.c.status)


def list_total_statement(f: q.ExecutionFilters) -> Select[int] | None:
    """The exact total of a list as a one-value select, from the summaries: without a date range
    from ``execution_status_counts`` (one row per workflow and status), with one from the whole days
    of ``execution_day_counts`` plus the partial ends. None when the filters are not answerable
    from them (search, user...) or the range holds no whole day: the caller counts the rows."""
    if not answerable(f):
        return None
    if f.date_from is None and f.date_to is None:
        return _all_time_total(f)
    split = split_range(f.date_from, f.date_to)
    if split is None:
        return None
    return select(func.coalesce(func.sum(_counted(f, split).c.n), 0))


def _all_time_total(f: q.ExecutionFilters) -> Select[int]:
    total = select(func.coalesce(func.sum(S.n), 0)).where(S.workspace_id.in_(f.workspace_ids))
    if f.workflow_ids is not None:
        total = total.where(S.workflow_id.in_(f.workflow_ids))
    if f.statuses:
        total = total.where(S.status.in_(f.statuses))
    if f.user_multiplai_id:
        total = total.where(S.user_id.in_(_user_ids(f.user_multiplai_id)))
    return total


def _user_ids(multiplai_id: str) -> Select[Any]:
    """The user's id (none when unknown: the total is 0), as the list's own filter reads it."""
    return select(User.id).where(User.multiplai_id == multiplai_id)


def by_status_and_day_statement(f: q.ExecutionFilters) -> Select[Any] | None:
    """``(status, day, n)`` rows for ``f`` (UTC days of creation), from whole days plus the partial
    ends (each labelled with its own day); None when ``f`` is not answerable from the table or its
    range holds no whole day. The status tiles' lines (dashboard/tile_series.py) sum these."""
    if not answerable(f):
        return None
    split = split_range(f.date_from, f.date_to)
    if split is None:
        return None
    both = _counted(f, split, by_day=True)
    return select(both.c.status, both.c.day, func.sum(both.c.n)).group_by(both.c.status, both.c.day)


def _counted(f: q.ExecutionFilters, split: DaySplit, *, by_day: bool = False) -> Any:
    keys = [D.status, D.day] if by_day else [D.status]
    days = select(*keys, func.sum(D.n).label("n")).where(D.workspace_id.in_(f.workspace_ids))
    if f.workflow_ids is not None:
        days = days.where(D.workflow_id.in_(f.workflow_ids))
    if f.statuses:
        days = days.where(D.status.in_(f.statuses))
    if f.user_multiplai_id:
        days = days.where(D.user_id.in_(_user_ids(f.user_multiplai_id)))
    if split.first_day is not None:
        days = days.where(D.day >= split.first_day)
    if split.last_day is not None:
        days = days.where(D.day <= split.last_day)
    parts = [days.group_by(*keys)]
    undated = q.filter_conditions(replace(f, date_from=None, date_to=None))
    if split.head is not None:
        head_from, head_to = split.head
        day = head_from.astimezone(dt.UTC).date() if by_day else None
        parts.append(_exact(undated, day, E.created_at >= head_from, E.created_at < head_to))
    if split.tail is not None:
        tail_from, tail_to = split.tail
        day = tail_from.astimezone(dt.UTC).date() if by_day else None
        parts.append(_exact(undated, day, E.created_at >= tail_from, E.created_at <= tail_to))
    return union_all(*parts).subquery("counted")


def _exact(conditions: list[Any], day: dt.date | None, *bounds: Any) -> Select[Any]:
    """A partial day counted from the executions; ``day``: labelled with it (the by-day form)."""
    keys = [E.status] if day is None else [E.status, literal(day, Date).label("day")]
    return select(*keys, func.count().label("n")).where(*conditions, *bounds).group_by(E.status)


@dataclass(frozen=True)
class DayCountsCheck:
    """What ``athena day-counts`` found: the table's rows that differ from a fresh GROUP BY."""

    rows: int
    differing: list[tuple[Any, ...]]
    repaired: bool


def _day_of_creation(is_sqlite: bool) -> Any:
    return func.date(E.created_at) if is_sqlite else func.date(func.timezone("UTC", E.created_at))


async def check_day_counts(db: Database, repair: bool = False) -> DayCountsCheck:
    """Compare ``execution_day_counts`` with the executions (one snapshot); with ``repair``, rebuild
    it while writes to the executions wait (PostgreSQL: a SHARE ROW EXCLUSIVE lock; SQLite: the
    write transaction is exclusive). The triggers keep it exact; this is for after manual surgery
    such as a TRUNCATE, which fires no row or statement trigger."""
    day = _day_of_creation(db.is_sqlite)
    user = func.coalesce(E.user_id, 0)
    truth_select = (
        select(E.workspace_id, day.label("day"), E.workflow_id, E.status, user.label("user_id"), func.count())
        .where(E.deleted_at.is_(None))
        .group_by(E.workspace_id, day, E.workflow_id, E.status, user)
    )
    async with db.write() as session:
        if repair and not db.is_sqlite:
            await session.execute(text("LOCK TABLE workflow_executions IN SHARE ROW EXCLUSIVE MODE"))
        elif not db.is_sqlite:
            await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        kept = {(*r[:1], str(r[1]), *r[2:5]): int(r[5]) for r in await session.execute(select(execution_day_counts))}
        truth = {(*r[:1], str(r[1]), *r[2:5]): int(r[5]) for r in await session.execute(truth_select)}
        differing = sorted(
            (*key, kept.get(key, 0), truth.get(key, 0))
            for key in kept.keys() | truth.keys()
            if kept.get(key, 0) != truth.get(key, 0)
        )
        if repair and differing:
            await session.execute(execution_day_counts.delete())
            await session.execute(
                execution_day_counts.insert().from_select(
                    # In key order: a workspace's range of days on few pages (migration 0018).
                    ["workspace_id", "day", "workflow_id", "status", "user_id", "n"],
                    truth_select.order_by(E.workspace_id, day, E.workflow_id, E.status, user),
                )
            )
    return DayCountsCheck(rows=len(kept), differing=differing, repaired=repair and bool(differing))
