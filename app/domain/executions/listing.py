"""One page of executions at any depth, and its capped total.

- **Keyset.** A ``cursor`` (opaque; ``links.next`` carries it) holds the sort value and id of the
  previous page's last row, so the next page is an index range read of ``per_page`` rows whatever
  its depth: ``(created_at, id) < (:v, :id)``.
- **Page numbers.** ``page=N`` without a cursor still works: the OFFSET part reads ids only (an
  index-only scan on PostgreSQL once the table is vacuumed) in a derived table, and only the page's
  rows are joined (``page_rows_select``): one statement for the rows and the capped total.
- **Total.** Exact for every filter the API takes (issue 20: a client paging from 1 to
  ``last_page`` sees every match once, and ``last_page + 1`` is empty). Workspace, workflow,
  status and ``created`` date filters are answered by the summaries (``day_counts.py``:
  ``execution_status_counts`` without a range, whole days of ``execution_day_counts`` plus the
  partial ends with one; a user filter too, migration 0018); a search counts its matching rows in
  the page's own statement, from a CTE of its matches that the page is also chosen from (one pass
  over the matches instead of a second search in a scalar subquery). Only conditions the dashboard
  adds itself (attention chips, folded retry chains) keep the count exact up to ``COUNT_CAP`` with
  ``total_capped`` beyond (shown as "10,000+"). Never an estimate from table statistics, which is
  wrong for filtered views.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.executions import day_counts
from app.domain.executions import queries as q
from app.lib.errors import FieldValidationError
from app.lib.sql import AnyRow

E = q.E
COUNT_CAP = 10_000
# A text search counts its matches on the heap (trigram matches are rechecked row by row), so its
# count stops sooner: a frequent term ("timeout") would otherwise read ~10,000 rows per page.
SEARCH_COUNT_CAP = 1_000
_SORT_CODES = {"created_at": "c", "updated_at": "u"}


@dataclass(frozen=True)
class Cursor:
    """Position after the row ``(value, id)`` in the order ``sort_by`` / ``direction``."""

    sort_by: str
    direction: str
    value: dt.datetime
    id: int

    def encode(self) -> str:
        raw = json.dumps([_SORT_CODES[self.sort_by], self.direction[0], self.value.isoformat(), self.id])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, filters: q.ExecutionFilters) -> Cursor:
        """A cursor from another sort order, or not one of ours, answers 422 under ``cursor``."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            code, direction, value, row_id = json.loads(raw)
            cursor = cls(
                sort_by={v: k for k, v in _SORT_CODES.items()}[code],
                direction={"d": "desc", "a": "asc"}[direction],
                value=dt.datetime.fromisoformat(value),
                id=int(row_id),
            )
        except (ValueError, TypeError, KeyError, binascii.Error, json.JSONDecodeError) as exc:
            raise FieldValidationError("cursor", "The cursor is not valid; follow links.next.") from exc
        same_order = (cursor.sort_by, cursor.direction) == (filters.sort_by, filters.sort_direction)
        if cursor.value.tzinfo is None or not same_order:
            raise FieldValidationError("cursor", "The cursor belongs to another sort order; follow links.next.")
        return cursor

    def condition(self) -> Any:
        key = tuple_(sort_column(self.sort_by), E.id)
        return key < (self.value, self.id) if self.direction == "desc" else key > (self.value, self.id)


def sort_column(sort_by: str) -> Any:
    return E.updated_at if sort_by == "updated_at" else E.created_at


@dataclass(frozen=True)
class ExecutionPage:
    rows: Sequence[AnyRow]
    total: int
    total_capped: bool
    has_more: bool
    next_cursor: str | None


def count_cap(filters: q.ExecutionFilters) -> int:
    """Where the dashboard stops counting a view's matches for display ("10,000+")."""
    return SEARCH_COUNT_CAP if filters.search else COUNT_CAP


def list_count_cap(filters: q.ExecutionFilters) -> int | None:
    """The list total's cap: None (exact) for the API's filters; ``count_cap`` when the dashboard
    adds conditions of its own."""
    return count_cap(filters) if filters.extra.get("conditions") else None


async def capped_count(session: AsyncSession, conds: list[Any], cap: int | None = None) -> tuple[int, bool]:
    """(count, capped): exact up to ``cap``; beyond it ``(cap, True)``. Reads at most cap + 1 index entries."""
    cap = COUNT_CAP if cap is None else cap
    limited = select(E.id).where(*conds).limit(cap + 1).subquery()
    n = (await session.execute(select(func.count()).select_from(limited))).scalar_one()
    return (cap, True) if n > cap else (int(n), False)


def total_select(filters: q.ExecutionFilters) -> tuple[Select[int], int | None]:
    """The list total's one-value statement and its cap (None: exact): from the summaries where
    they answer the filters, else a count of the matching rows (capped for dashboard conditions)."""
    exact = day_counts.list_total_statement(filters)
    if exact is not None:
        return exact, None
    cap = list_count_cap(filters)
    if cap is None:
        return select(func.count()).select_from(E).where(*q.filter_conditions(filters)), None
    limited = select(E.id).where(*q.filter_conditions(filters)).limit(cap + 1).subquery()
    return select(func.count()).select_from(limited), cap


async def list_total(session: AsyncSession, filters: q.ExecutionFilters) -> tuple[int, bool]:
    """(total, capped) of the list ``filters`` select, as ``list_page`` computes it."""
    count, cap = total_select(filters)
    n = int((await session.execute(count)).scalar_one())
    return (cap, True) if cap is not None and n > cap else (n, False)


async def page_ids(
    session: AsyncSession, filters: q.ExecutionFilters, per_page: int, offset: int, cursor: Cursor | None
) -> tuple[Sequence[AnyRow], bool]:
    """The page's (id, sort value) rows in order, and whether another row follows (the CSV export's
    keyset batches)."""
    conds = q.filter_conditions(filters)
    column = sort_column(filters.sort_by)
    stmt = select(E.id, column.label("sort_value")).where(*conds)
    stmt = stmt.where(cursor.condition()) if cursor is not None else stmt.offset(offset)
    rows = (await session.execute(stmt.order_by(*q.order_by(filters)).limit(per_page + 1))).all()
    return rows[:per_page], len(rows) > per_page


def page_rows_select(
    filters: q.ExecutionFilters,
    per_page: int,
    offset: int = 0,
    cursor: Cursor | None = None,
    *,
    counted: bool = False,
) -> Any:
    """The summary rows of one page (``per_page + 1`` to tell whether more follow) in one statement.
    The page's ids are chosen in a derived table (ORDER BY + LIMIT, so PostgreSQL plans it on its
    own: an index range read, index-only for OFFSET) and only those rows are joined; planned as one
    join, the workspace's 288k estimated matches made PostgreSQL walk the global date index instead.
    ``counted`` (without a cursor): each row also carries ``capped_total``, the number of rows
    matching the filters, see ``_counted_page``."""
    if counted:
        chosen = _counted_page(filters, per_page, offset)
        rows = q.summary_select().join(chosen, chosen.c.page_id == E.id).order_by(*q.order_by(filters))
        return rows.add_columns(chosen.c.matched.label("capped_total"))
    ids = select(E.id.label("page_id")).where(*q.filter_conditions(filters))
    ids = ids.where(cursor.condition()) if cursor is not None else ids.offset(offset)
    chosen = ids.order_by(*q.order_by(filters)).limit(per_page + 1).subquery("page")
    return q.summary_select().join(chosen, chosen.c.page_id == E.id).order_by(*q.order_by(filters))


def _counted_page(filters: q.ExecutionFilters, per_page: int, offset: int) -> Any:
    """The page's ids and the count of all matches from one pass over them (a search): the matches
    (id and sort value) in a CTE read twice, so PostgreSQL materialises it and plans it alone, as
    a scan of all matches (the search's bitmap OR); the page is a top-N sort of it. Written as
    ``count(*) OVER ()`` under the LIMIT instead, the planner costed the window as if it stopped
    early and walked the whole date index row by row (1.4 s for an error term at 1M rows)."""
    value = sort_column(filters.sort_by)
    matched = select(E.id.label("page_id"), value.label("sort_value")).where(*q.filter_conditions(filters))
    found = matched.cte("matched")
    if filters.sort_direction == "asc":
        order = [found.c.sort_value.asc(), found.c.page_id.asc()]
    else:
        order = [found.c.sort_value.desc(), found.c.page_id.desc()]
    total = select(func.count()).select_from(found).scalar_subquery()
    page = select(found.c.page_id, total.label("matched")).order_by(*order).offset(offset).limit(per_page + 1)
    return page.subquery("page")


async def list_page(
    session: AsyncSession,
    filters: q.ExecutionFilters,
    per_page: int,
    offset: int,
    cursor: Cursor | None = None,
) -> ExecutionPage:
    """Summary rows of one page plus the capped total, in one statement whatever the depth (the
    capped count rides along as a scalar subquery, computed once; a search's exact count as a
    window over its matches, see ``page_rows_select``); a text search adds its workflow-name
    lookup, a page past the end its count."""
    filters = await q.resolve_search(session, filters)
    count, cap = total_select(filters)
    if filters.search and cursor is None and cap is None:
        statement = page_rows_select(filters, per_page, offset, counted=True)
    else:
        total_column = count.correlate(None).scalar_subquery().label("capped_total")
        statement = page_rows_select(filters, per_page, offset, cursor).add_columns(total_column)
    found = (await session.execute(statement)).all()
    # Past the end there is no row to carry the total: count on its own.
    n = int(found[0].capped_total) if found else int((await session.execute(count)).scalar_one())
    total, capped = (cap, True) if cap is not None and n > cap else (n, False)
    rows, has_more = found[:per_page], len(found) > per_page
    next_cursor = None
    if has_more:
        last = rows[-1]
        value = last.updated_at if filters.sort_by == "updated_at" else last.created_at
        next_cursor = Cursor(filters.sort_by, filters.sort_direction, value, last.id).encode()
    return ExecutionPage(rows, total, capped, has_more, next_cursor)
