"""Retry chains: attempt 1 → 2 → 3 ✓, linked by ``retry_of`` (the uuid of the attempt retried).

Folded, the list shows only each chain's latest attempt: an execution that another one retries is
left out. Which ones are retried is one indexed read (``ix_wfe_ws_retry_of``, partial on
``retry_of IS NOT NULL``), then an ``uuid NOT IN (...)`` condition of the list query."""

from __future__ import annotations

import uuid as uuid_lib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ARRAY, all_, bindparam, select
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import WorkflowExecution
from app.domain.executions.summary import ExecutionSummary

E = WorkflowExecution
MAX_CHAIN = 20  # hops followed back; a longer (or cyclic) chain is cut there


def _uuid(value: Any) -> uuid_lib.UUID | None:
    try:
        return uuid_lib.UUID(str(value))
    except ValueError:
        return None


async def retried_uuids(session: AsyncSession, workspace_ids: list[int]) -> list[uuid_lib.UUID]:
    """Executions of these workspaces that a later attempt retries (hidden when chains are folded)."""
    rows = await session.execute(
        select(E.retry_of)
        .where(E.workspace_id.in_(workspace_ids), E.retry_of.is_not(None), E.deleted_at.is_(None))
        .distinct()
    )
    return [u for (raw,) in rows if (u := _uuid(raw)) is not None]


def fold_condition(session: AsyncSession, retried: list[uuid_lib.UUID]) -> Any | None:
    """``uuid NOT IN (retried)``; on PostgreSQL one array parameter (``<> ALL($1)``), which also
    stays under asyncpg's 32,767 parameters however many retries a workspace has."""
    if not retried:
        return None
    if session.get_bind().dialect.name == "postgresql":
        return E.uuid != all_(bindparam(None, retried, type_=ARRAY(PG_UUID(as_uuid=True))))
    return E.uuid.not_in(retried)


async def attempt_numbers(session: AsyncSession, rows: Iterable[ExecutionSummary]) -> dict[str, int]:
    """uuid -> attempt number (1 for a first run) for the rows that retry something: one query per
    level of the chains, whatever the row count."""
    pointing = {r["uuid"]: r["retry_of"] for r in rows if r.get("retry_of")}
    attempts = dict.fromkeys(pointing, 2)
    frontier = {u: _uuid(prev) for u, prev in pointing.items()}
    for _ in range(MAX_CHAIN):
        wanted = {p for p in frontier.values() if p is not None}
        if not wanted:
            break
        found = dict((await session.execute(select(E.uuid, E.retry_of).where(E.uuid.in_(wanted)))).all())
        nxt: dict[str, uuid_lib.UUID | None] = {}
        for start, prev in frontier.items():
            earlier = _uuid(found.get(prev)) if prev in found and found.get(prev) else None
            if earlier is not None:
                attempts[start] += 1
                nxt[start] = earlier
        frontier = nxt
    return attempts


async def chain_ids(session: AsyncSession, execution_id: int, workspace_ids: list[int]) -> list[int]:
    """Ids of the earlier attempts of an execution, oldest first (tenant-scoped)."""
    ids: list[int] = []
    row = (
        await session.execute(select(E.retry_of).where(E.id == execution_id, E.workspace_id.in_(workspace_ids)))
    ).one_or_none()
    prev = _uuid(row.retry_of) if row else None
    seen: set[int] = {execution_id}
    while prev is not None and len(ids) < MAX_CHAIN:
        found = (
            await session.execute(
                select(E.id, E.retry_of).where(
                    E.uuid == prev, E.workspace_id.in_(workspace_ids), E.deleted_at.is_(None)
                )
            )
        ).one_or_none()
        if found is None or found.id in seen:
            break
        seen.add(found.id)
        ids.append(found.id)
        prev = _uuid(found.retry_of) if found.retry_of else None
    return list(reversed(ids))
