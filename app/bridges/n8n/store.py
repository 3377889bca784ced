"""The bridge's rows: its registration, cursor and health, and the n8n id -> Athena row links."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.bridges.n8n.mapping import OPEN_N8N
from app.bridges.n8n.tables import bridges, execution_links, workflow_links
from app.db.engine import Database
from app.db.models import User, WorkflowApproval, WorkflowExecution
from app.db.models.base import utcnow

E = WorkflowExecution
A = WorkflowApproval


@dataclass(frozen=True)
class Link:
    """An n8n execution already mirrored: which Athena execution, and what was last written."""

    n8n_id: int
    execution_id: int
    execution_uuid: str
    n8n_status: str
    is_open: bool
    fingerprint: str
    approval_id: int | None
    athena_status: str
    resumed: bool = False  # the review's decision was passed on to n8n


@dataclass(frozen=True)
class Decided:
    """A decided Athena approval whose n8n execution has not been resumed yet."""

    n8n_id: int
    approved: bool
    comment: str | None
    decided_by: str | None
    resume_url: str
    resume_method: str


class BridgeStore:
    def __init__(self, db: Database, bridge_id: int) -> None:
        self.db = db
        self.bridge_id = bridge_id

    @classmethod
    async def register(
        cls, db: Database, workspace_id: int, base_url: str, user_id: int, poll_seconds: float
    ) -> BridgeStore:
        """The row of this (workspace, n8n URL); a restart finds the same row and its cursor."""
        now = utcnow()
        async with db.write() as session:
            found = (
                await session.execute(
                    select(bridges.c.id).where(bridges.c.workspace_id == workspace_id, bridges.c.base_url == base_url)
                )
            ).scalar_one_or_none()
            values = {"user_id": user_id, "poll_seconds": poll_seconds, "state": "starting", "updated_at": now}
            if found is None:
                found = (
                    await session.execute(
                        insert(bridges)
                        .values(
                            workspace_id=workspace_id, base_url=base_url, created_at=now, heartbeat_at=now, **values
                        )
                        .returning(bridges.c.id)
                    )
                ).scalar_one()
            else:
                await session.execute(update(bridges).where(bridges.c.id == found).values(heartbeat_at=now, **values))
        return cls(db, int(found))

    async def cursor(self) -> int:
        async with self.db.read() as session:
            value = (await session.execute(select(bridges.c.cursor_id).where(bridges.c.id == self.bridge_id))).scalar()
        return int(value or 0)

    async def report(self, **values: Any) -> None:
        """Health and counters (``polls=+1`` style increments are given as ``bridges.c.polls + 1``)."""
        now = utcnow()
        async with self.db.write() as session:
            await session.execute(
                update(bridges).where(bridges.c.id == self.bridge_id).values(heartbeat_at=now, updated_at=now, **values)
            )

    # ----------------------------------------------------------------- workflows
    async def workflow_links(self) -> dict[str, tuple[int, str | None]]:
        """n8n workflow id -> (Athena workflow id, n8n ``updatedAt`` last mirrored)."""
        async with self.db.read() as session:
            rows = await session.execute(
                select(workflow_links.c.n8n_id, workflow_links.c.workflow_id, workflow_links.c.n8n_updated_at).where(
                    workflow_links.c.bridge_id == self.bridge_id
                )
            )
            return {r.n8n_id: (int(r.workflow_id), r.n8n_updated_at) for r in rows}

    # ----------------------------------------------------------------- executions
    def _link_select(self) -> Any:
        L = execution_links
        return (
            select(L.c.n8n_id, L.c.execution_id, E.uuid, L.c.n8n_status, L.c.is_open, L.c.fingerprint, L.c.approval_id)
            .add_columns(E.status, L.c.resumed_at)
            .join(E, E.id == L.c.execution_id)
            .where(L.c.bridge_id == self.bridge_id)
        )

    @staticmethod
    def _link(row: Any) -> Link:
        return Link(
            int(row.n8n_id), int(row.execution_id), str(row.uuid), row.n8n_status, bool(row.is_open),
            row.fingerprint, row.approval_id, row.status, row.resumed_at is not None,
        )  # fmt: skip

    async def links(self, n8n_ids: list[int]) -> dict[int, Link]:
        if not n8n_ids:
            return {}
        async with self.db.read() as session:
            rows = await session.execute(self._link_select().where(execution_links.c.n8n_id.in_(n8n_ids)))
            return {int(r.n8n_id): self._link(r) for r in rows}

    async def open_links(self) -> list[Link]:
        """Executions n8n has not finished: re-read every poll until they end."""
        async with self.db.read() as session:
            rows = await session.execute(
                self._link_select().where(execution_links.c.is_open.is_(True)).order_by(execution_links.c.n8n_id)
            )
            return [self._link(r) for r in rows]

    async def insert_link(self, session: AsyncSession, n8n_id: int, execution_id: int, status: str, fp: str) -> None:
        """In the transaction that creates the execution: the two exist together or not at all."""
        await session.execute(
            insert(execution_links).values(
                bridge_id=self.bridge_id, n8n_id=n8n_id, execution_id=execution_id, n8n_status=status,
                is_open=status in OPEN_N8N, fingerprint=fp, updated_at=utcnow(),
            )
        )  # fmt: skip

    async def update_link(self, n8n_id: int, **values: Any) -> None:
        async with self.db.write() as session:
            await session.execute(
                update(execution_links)
                .where(execution_links.c.bridge_id == self.bridge_id, execution_links.c.n8n_id == n8n_id)
                .values(updated_at=utcnow(), **values)
            )

    async def decided(self) -> list[Decided]:
        """Approvals the bridge requested that a human decided, not yet passed on to n8n."""
        L = execution_links
        stmt = (
            select(L.c.n8n_id, A.status, A.comment, User.email, L.c.resume_url, L.c.resume_method)
            .join(A, A.id == L.c.approval_id)
            .outerjoin(User, User.id == A.decided_by_id)
            .where(
                L.c.bridge_id == self.bridge_id,
                L.c.is_open.is_(True),
                L.c.resumed_at.is_(None),
                L.c.resume_error.is_(None),
                A.status.in_(("approved", "rejected")),
            )
        )
        async with self.db.read() as session:
            rows = (await session.execute(stmt)).all()
        return [
            Decided(int(r.n8n_id), r.status == "approved", r.comment, r.email, r.resume_url, r.resume_method or "POST")
            for r in rows
        ]

    async def stopped_in_athena(self) -> list[Link]:
        """Executions an operator stopped in Athena while n8n still runs them (not yet reported)."""
        L = execution_links
        async with self.db.read() as session:
            rows = await session.execute(
                self._link_select().where(
                    and_(L.c.is_open.is_(True), L.c.stop_seen_at.is_(None), E.status == "cancelled")
                )
            )
            return [self._link(r) for r in rows]
