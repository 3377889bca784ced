"""Applies tracked operations in the background, batch by batch, and resumes open ones on start-up.

Each batch is one transaction: the items' changes, their events, their audit rows and the
operation's progress (``position`` advanced with a conditional UPDATE, so a batch is applied once
even when two processes resume the same operation). Events are published after each commit, so
dashboards follow the operation live."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import OPEN_OPERATION_STATUSES, Operation, OperationStatus, OperatorActionKind
from app.db.models.base import utcnow
from app.domain.audit.records import OperatorActionEntry, record_operator_actions
from app.domain.events.recorder import CommittedEvent
from app.domain.executions.writes import LostRace
from app.domain.operations.intents import KIND_STOP
from app.domain.operations.items import ItemContext, RunState, evaluate, load_targets, lonely_targets
from app.lib.errors import AppError
from app.lib.identity import CurrentUser

if TYPE_CHECKING:
    from app.domain.accounts.services import AccountService
    from app.domain.executions.services import ExecutionService

logger = logging.getLogger("athena.operations")
BATCH_SIZE = 50
MAX_BATCH_FAILURES = 3


class OperationRunner:
    def __init__(self, executions: ExecutionService, accounts: AccountService, batch_size: int = BATCH_SIZE) -> None:
        self.executions = executions
        self.accounts = accounts
        self.batch_size = batch_size
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self.resumer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Resume every operation a crash or restart left open, in the background (start-up never
        waits on it, and a database that is down at start-up is retried until it answers)."""
        self.resumer = asyncio.create_task(self._resume_when_possible(), name="operations-resume")

    async def _resume_when_possible(self) -> None:
        delay = 0.5
        while True:
            try:
                await self.resume_open()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("could not look for open operations yet: %r", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)

    async def resume_open(self) -> None:
        async with self.executions.db.read() as session:
            ids = [
                r[0]
                for r in await session.execute(
                    select(Operation.id).where(Operation.status.in_(OPEN_OPERATION_STATUSES)).order_by(Operation.id)
                )
            ]
        for operation_id in ids:
            self.submit(operation_id)
        if ids:
            logger.info("resuming %d open operation(s)", len(ids))

    async def stop(self) -> None:
        """Cancel the running tasks; their operations stay open and resume at the next start."""
        tasks = list(self.tasks.values())
        if self.resumer is not None:
            tasks.append(self.resumer)
            self.resumer = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.tasks.clear()

    def submit(self, operation_id: int) -> None:
        if operation_id in self.tasks:
            return
        task = asyncio.create_task(self._drive(operation_id), name=f"operation-{operation_id}")
        self.tasks[operation_id] = task
        task.add_done_callback(lambda _: self.tasks.pop(operation_id, None))

    async def _drive(self, operation_id: int) -> None:
        async with self.executions.db.read() as session:
            op = (
                await session.execute(
                    select(Operation.kind, Operation.user_id, Operation.execution_uuids, Operation.reason).where(
                        Operation.id == operation_id
                    )
                )
            ).one()
        user = await self.accounts.load_user(op.user_id) if op.user_id is not None else None
        if user is None:
            await self._fail(operation_id, "the user who started it no longer exists")
            return
        if op.kind == KIND_STOP:
            await self._resume_stop(operation_id, user, op.execution_uuids[0], op.reason)
            return
        failures = 0
        while True:
            try:
                if await self.run_batch(operation_id, user):
                    return
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a database hiccup: retry the batch, then give up visibly
                failures += 1
                logger.warning("operation %s batch failed (%d): %r", operation_id, failures, exc)
                if failures >= MAX_BATCH_FAILURES:
                    await self._fail(operation_id, getattr(exc, "message", None) or "a batch kept failing")
                    return
                await asyncio.sleep(0.2 * failures)

    async def _resume_stop(self, operation_id: int, user: CurrentUser, execution_uuid: str, reason: str | None) -> None:
        import uuid as uuid_lib

        from app.domain.executions.stopping import apply_stop

        try:
            await apply_stop(self.executions, user, uuid_lib.UUID(execution_uuid), reason, operation_id)
        except AppError:
            pass  # apply_stop closed the intent as skipped, with the reason
        except Exception as exc:
            logger.warning("stop intent %s failed: %r", operation_id, exc)

    async def _fail(self, operation_id: int, why: str) -> None:
        now = utcnow()
        async with self.executions.db.write() as session:
            await session.execute(
                update(Operation)
                .where(Operation.id == operation_id, Operation.status.in_(OPEN_OPERATION_STATUSES))
                .values(status=OperationStatus.FAILED.value, error=why, finished_at=now, updated_at=now)
            )

    async def run_batch(self, operation_id: int, user: CurrentUser) -> bool:
        """Apply the next batch; True when the operation is finished."""
        return await self.executions.run_write(lambda session: self._batch(session, operation_id, user))

    async def _batch(
        self, session: AsyncSession, operation_id: int, user: CurrentUser
    ) -> tuple[bool, list[CommittedEvent]]:
        op = (await session.execute(select(Operation).where(Operation.id == operation_id))).scalar_one()
        if op.status not in OPEN_OPERATION_STATUSES:
            return True, []
        start = op.position
        chunk = list(op.execution_uuids[start : start + self.batch_size])
        report = dict(op.report or {})
        state = RunState(reached=set(report.get("reached", [])))
        now = utcnow()
        rows = await load_targets(session, chunk)
        # Read in this batch's transaction; a stop only cancels, so earlier items cannot undo it.
        lonely = await lonely_targets(session, list(rows.values())) if op.action == "stop" else frozenset()
        ctx = ItemContext(session, user, apply=True, now=now, is_sqlite=self.executions.db.is_sqlite, lonely=lonely)
        outcomes = [await evaluate(ctx, op.action, u, rows.get(u), state) for u in chunk]
        events: list[CommittedEvent] = []
        for workspace_id, changes in state.changes.items():
            _, committed = await self.executions.record_changes(session, workspace_id, changes)
            events += committed
        await record_operator_actions(
            session, state.audit, actor_id=user.id, reason=op.reason, now=now, operation_id=op.id
        )
        applied = sum(o.applied for o in outcomes)
        finished = start + len(chunk) >= op.total
        report = {
            "items": [*report.get("items", []), *(o.as_dict() for o in outcomes)],
            "reached": sorted(state.reached),
            "approvals_cancelled": report.get("approvals_cancelled", 0) + len(state.approvals),
            "command_room_tasks_closed": report.get("command_room_tasks_closed", 0) + len(state.tasks),
        }
        values: dict[str, Any] = {
            "position": start + len(chunk),
            "done": op.done + applied,
            "skipped": op.skipped + len(chunk) - applied,
            "report": report,
            "status": OperationStatus.DONE.value if finished else OperationStatus.RUNNING.value,
            "updated_at": now,
        }
        if finished:
            values["finished_at"] = now
            await self._summary_rows(session, op, values, report, user, now)
        moved = (
            await session.execute(
                update(Operation)
                .where(
                    Operation.id == op.id,
                    Operation.position == start,
                    Operation.status.in_(OPEN_OPERATION_STATUSES),
                )
                .values(**values)
                .returning(Operation.id)
            )
        ).scalar_one_or_none()
        if moved is None:
            raise LostRace  # another process applied this batch first
        return finished, events

    @staticmethod
    async def _summary_rows(
        session: AsyncSession,
        op: Operation,
        values: dict[str, Any],
        report: dict[str, Any],
        user: CurrentUser,
        now: Any,
    ) -> None:
        detail = {
            "operation_uuid": str(op.uuid),
            "action": op.action,
            "total": op.total,
            "done": values["done"],
            "skipped": values["skipped"],
            "executions_affected": len(report["reached"]),
            "approvals_cancelled": report["approvals_cancelled"],
            "command_room_tasks_closed": report["command_room_tasks_closed"],
        }
        entries = [OperatorActionEntry(ws, OperatorActionKind.BULK, detail=detail) for ws in op.workspace_ids]
        await record_operator_actions(session, entries, actor_id=user.id, reason=op.reason, now=now, operation_id=op.id)
