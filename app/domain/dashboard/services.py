"""Read models for the pages: rows, status tiles and (detail.py) the execution detail, as plain dicts."""

from __future__ import annotations

import datetime as dt
import uuid as uuid_lib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database
from app.db.models import Workflow, Workspace
from app.domain.dashboard import attention as att
from app.domain.dashboard.chains import attempt_numbers, chain_ids, fold_condition, retried_uuids
from app.domain.dashboard.detail import ExecutionDetailQueries
from app.domain.dashboard.pagecache import PageCache, frozen_seqs, view_key
from app.domain.dashboard.saved_views import SavedViewService
from app.domain.dashboard.tile_series import status_series
from app.domain.dashboard.views import PER_PAGE, ExecutionFilter
from app.domain.events.replay import current_seqs
from app.domain.executions import queries as q
from app.domain.executions.id_search import parse_id_ref
from app.domain.executions.listing import Cursor, capped_count, count_cap, page_ids, page_rows_select
from app.domain.executions.lookup import Lookup, elsewhere, lookup_ref
from app.domain.executions.summaries import event_summaries
from app.domain.executions.summary import ExecutionSummary
from app.lib.errors import NotFoundError
from app.lib.identity import CurrentUser

E = q.E
STATUS_TILES = ("running", "pending", "waiting", "paused", "failed", "completed", "cancelled")


@dataclass
class ExecutionPage:
    rows: list[ExecutionSummary]
    total: int
    tiles: dict[str, Any]
    cursor: dict[str, int]
    workflows: list[dict[str, str]]
    # The total is exact up to 10,000; beyond, it is 10,000 and shown as "10,000+".
    total_capped: bool = False
    has_more: bool = False
    # An id searched here that lives in another of the viewer's workspaces (``with_elsewhere``).
    elsewhere: list[dict[str, Any]] = field(default_factory=list)


class DashboardService(ExecutionDetailQueries):
    def __init__(self, db: Database, page_grace_seconds: float = 0.0) -> None:
        self.db = db
        self.pages: PageCache[ExecutionPage] = PageCache(grace=page_grace_seconds)
        self.thresholds = att.DurationThresholds()
        self.saved_views = SavedViewService(db)

    async def _filters(self, session: AsyncSession, view: ExecutionFilter) -> q.ExecutionFilters:
        workflow_ids = None
        if view.workflow_uuids:
            rows = await session.execute(
                select(Workflow.id).where(
                    Workflow.uuid.in_([uuid_lib.UUID(u) for u in view.workflow_uuids]),
                    Workflow.workspace_id.in_(view.workspace_ids),
                )
            )
            workflow_ids = [r[0] for r in rows] or [-1]
        filters = q.ExecutionFilters(
            workspace_ids=view.workspace_ids,
            workflow_ids=workflow_ids,
            statuses=view.statuses or None,
            date_from=view.date_from,
            date_to=view.date_to,
            search=view.search or None,
            requires_human_review=True if view.needs_review else None,
            has_command_room_task=True if view.command_room else None,
            sort_by="updated_at" if view.sort == "updated" else "created_at",
            sort_direction=view.direction,
        )
        fold, retried = [], []
        if view.fold_retries:
            retried = await retried_uuids(session, view.workspace_ids)
            if (folded := fold_condition(session, retried)) is not None:
                fold.append(folded)
        conditions = list(fold)
        if view.attention:
            now = dt.datetime.now(dt.UTC)
            p95 = await self._p95(session, view) if "slow" in view.attention else {}
            conditions += [att.condition(key, view.workspace_ids, now, p95) for key in view.attention]
        filters.extra.update(conditions=conditions, fold=fold, retried=retried)
        return await q.resolve_search(session, filters)

    async def list_filters(self, view: ExecutionFilter) -> q.ExecutionFilters:
        """The list's own filters for ``view``, resolved (what a bulk 'select all matching' snapshots)."""
        async with self.db.read() as session:
            return await self._filters(session, view)

    async def _p95(self, session: AsyncSession, view: ExecutionFilter) -> dict[int, float]:
        return await self.thresholds.for_workflows(session, await att.workflow_ids_of(session, view.workspace_ids))

    async def execution_page(
        self,
        view: ExecutionFilter,
        known_seqs: dict[int, int] | None = None,
        written_here: dict[int, int] | None = None,
    ) -> ExecutionPage:
        """One page of the list with its tiles and filter choices, current as of the view's
        workspaces' event sequence numbers: ``known_seqs`` (the hub's, when it watches them all)
        or read first. While they have not moved, or within the grace period (see ``PageCache``;
        ``written_here``: the seqs this process committed), the page comes from ``pages``; else
        six statements on PostgreSQL without a transaction build it. The total is the sum of the
        tiles it shows."""
        if known_seqs is None:
            async with self.db.quick_read() as session:
                known_seqs = await current_seqs(session, view.workspace_ids)
        return await self.pages.get_or_build(
            view_key(view), frozen_seqs(known_seqs), lambda: self._build_page(view), written_here
        )

    async def with_elsewhere(self, user: CurrentUser, view: ExecutionFilter, page: ExecutionPage) -> ExecutionPage:
        """The page, plus where the searched id is when it found nothing here but is in another of
        the user's workspaces. Per viewer, never cached with the shared page: a copy (one indexed
        query, only for an empty page searched by an id)."""
        if page.rows or view.page != 1 or parse_id_ref(view.search) is None:
            return page
        async with self.db.quick_read() as session:
            found = await elsewhere(session, user, view.search, view.workspace_ids)
        return replace(page, elsewhere=found) if found else page

    async def lookup(self, user: CurrentUser, text: str) -> Lookup:
        """What ``/executions/<text>`` opens: the execution(s) a whole id or a fragment names."""
        async with self.db.read() as session:
            return await lookup_ref(session, user, text)

    async def _build_page(self, view: ExecutionFilter) -> ExecutionPage:
        async with self.db.quick_read() as session:
            # The cursor is read first: replaying from it covers anything newer than the rows below.
            workspaces = (
                await session.execute(
                    select(Workspace.id, Workspace.uuid, Workspace.event_seq).where(
                        Workspace.id.in_(view.workspace_ids)
                    )
                )
            ).all()
            filters = await self._filters(session, view)
            rows, has_more = await self._page_rows(session, filters, (view.page - 1) * PER_PAGE)
            attempts = await attempt_numbers(session, rows)
            rows = [r.with_extra(attempt=attempts.get(r.uuid)) for r in rows]
            tiles = await self._tiles(session, filters, view)
            workflows = await self._workflow_choices(session, view.workspace_ids)
        matching = sum(n for status, n in tiles.items() if status in (filters.statuses or STATUS_TILES))
        cap = count_cap(filters)
        return ExecutionPage(
            rows=rows,
            total=min(matching, cap),
            tiles=tiles,
            cursor={str(ws.uuid): int(ws.event_seq) for ws in workspaces},
            workflows=workflows,
            total_capped=matching > cap,
            has_more=has_more,
        )

    async def _page_rows(
        self, session: AsyncSession, filters: q.ExecutionFilters, offset: int
    ) -> tuple[list[ExecutionSummary], bool]:
        """The page's row summaries with their approval counts and flags in one statement, and the
        run metadata its columns may show in one more."""
        stmt = page_rows_select(filters, PER_PAGE, offset).add_columns(*q.row_counters())
        found = (await session.execute(stmt)).all()[: PER_PAGE + 1]
        page = found[:PER_PAGE]
        run_metadata = await q.run_metadata_for(session, [r.id for r in page])
        rows = [q.summary_with_counters(r).with_extra(run_metadata=run_metadata.get(r.id, {})) for r in page]
        return rows, len(found) > PER_PAGE

    async def tiles(self, view: ExecutionFilter) -> dict[str, Any]:
        async with self.db.read() as session:
            return await self._tiles(session, await self._filters(session, view), view)

    async def _tiles(self, session: AsyncSession, filters: q.ExecutionFilters, view: ExecutionFilter) -> dict[str, Any]:
        """Counts by status for the view's other filters (the tiles are themselves status filters),
        each the sum of its ``spark`` line: the view's period (its range, or all time) per bucket,
        described by ``period`` (tile_series.py); ``attention``: per "needs attention" chip, its
        count (one small query each)."""
        base = replace(filters, statuses=None)
        attention = await self._attention_counts(session, base, view)
        now = dt.datetime.now(dt.UTC)
        lines = await status_series(session, base, now=now, is_sqlite=self.db.is_sqlite)
        tiles: dict[str, Any] = dict(lines.totals())
        review = replace(base, requires_human_review=True)
        tiles["needs_review"] = (
            await session.execute(select(func.count()).select_from(E).where(*q.filter_conditions(review)))
        ).scalar_one()
        return tiles | {"spark": lines.series, "period": lines.describe(), "attention": attention}

    async def _attention_counts(
        self, session: AsyncSession, base: q.ExecutionFilters, view: ExecutionFilter
    ) -> dict[str, int]:
        """Each chip counts the view without its own attention filters (so a chip says how many it
        would show), capped like the list's total."""
        others = replace(base, extra={"conditions": base.extra.get("fold", [])})
        conds = q.filter_conditions(others)
        now = dt.datetime.now(dt.UTC)
        p95 = await self._p95(session, view)
        counts = {}
        for key in att.ATTENTION:
            n, _ = await capped_count(session, [*conds, att.condition(key, view.workspace_ids, now, p95)])
            counts[key] = n
        return counts

    async def export_batches(self, view: ExecutionFilter, batch: int = 500) -> AsyncIterator[list[ExecutionSummary]]:
        """Every row of the view (not one page), in the view's order, ``batch`` rows at a time:
        keyset pagination, a short read transaction per batch."""
        cursor: Cursor | None = None
        while True:
            async with self.db.read() as session:
                filters = await self._filters(session, view)
                id_rows, has_more = await page_ids(session, filters, batch, 0, cursor)
                summaries = await event_summaries(session, [r.id for r in id_rows])
            if id_rows:
                yield [summaries[r.id] for r in id_rows if r.id in summaries]
            if not has_more or not id_rows:
                return
            last = id_rows[-1]
            cursor = Cursor(filters.sort_by, filters.sort_direction, last.sort_value, last.id)

    async def retry_chain(self, user: CurrentUser, execution_uuid: uuid_lib.UUID) -> list[ExecutionSummary]:
        """The earlier attempts of an execution, oldest first, as row summaries (404 if not yours)."""
        async with self.db.read() as session:
            row = (
                await session.execute(
                    select(E.id).where(
                        E.uuid == execution_uuid, E.deleted_at.is_(None), E.workspace_id.in_(user.workspace_ids)
                    )
                )
            ).one_or_none()
            if row is None:
                raise NotFoundError("Workflow execution")
            ids = await chain_ids(session, row.id, user.workspace_ids)
            summaries = await event_summaries(session, ids)
        return [summaries[i].with_extra(attempt=n) for n, i in enumerate(ids, start=1) if i in summaries]

    async def workflow_choices(self, workspace_ids: list[int]) -> list[dict[str, Any]]:
        """The live workflows of these workspaces by name: a page's workflow filter."""
        if not workspace_ids:
            return []
        async with self.db.read() as session:
            return await self._workflow_choices(session, workspace_ids)

    async def cursor(self, user: CurrentUser, workspace_ids: list[int]) -> dict[str, int]:
        """Each workspace's last event seq by uuid: a page's socket replays from it after a reconnect."""
        async with self.db.read() as session:
            seqs = await current_seqs(session, workspace_ids)
        uuids = {a.workspace_id: str(a.workspace_uuid) for a in user.access.values()}
        return {uuids[ws]: seq for ws, seq in seqs.items()}

    async def _workflow_choices(self, session: AsyncSession, workspace_ids: list[int]) -> list[dict[str, Any]]:
        rows = await session.execute(
            select(Workflow.id, Workflow.uuid, Workflow.name)
            .where(Workflow.workspace_id.in_(workspace_ids), Workflow.deleted_at.is_(None))
            .order_by(Workflow.name, Workflow.id)
        )
        return [{"id": r.id, "uuid": str(r.uuid), "name": r.name} for r in rows]
