"""The command room's read model: executions with an active flag (``removed_at`` null), newest flag
first, as plain dicts. Tenant-scoped by the user's memberships; soft-deleted executions are left out."""

from __future__ import annotations

import uuid as uuid_lib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from app.db.engine import Database
from app.db.models import CommandRoomTask, User, Workflow, WorkflowExecution, Workspace
from app.domain.approvals.escalation import overdue_reviews
from app.domain.events.replay import current_seqs
from app.lib.identity import OPERATE_ROLES, CurrentUser
from app.lib.timefmt import iso

T = CommandRoomTask
E = WorkflowExecution
MAX_ITEMS = 200


@dataclass(frozen=True)
class RoomScope:
    """Which workspaces the page shows: one (``?workspace=<uuid>`` of a membership) or all of them."""

    workspace_ids: list[int]
    workspace_uuid: str | None

    def query(self) -> str:
        return f"workspace={self.workspace_uuid}" if self.workspace_uuid else ""


def room_scope(user: CurrentUser, workspace: str | None) -> RoomScope:
    """A foreign or malformed workspace falls back to all the user's workspaces, never an error."""
    try:
        wanted = uuid_lib.UUID(workspace) if workspace else None
    except ValueError:
        wanted = None
    for access in user.access.values():
        if wanted is not None and access.workspace_uuid == wanted:
            return RoomScope([access.workspace_id], str(access.workspace_uuid))
    return RoomScope(user.workspace_ids, None)


def _select() -> Any:
    return (
        select(
            T.uuid,
            T.note,
            T.created_at,
            T.workspace_id,
            User.email.label("flagged_by"),
            E.uuid.label("execution_uuid"),
            E.status,
            Workflow.name.label("workflow_name"),
            Workspace.uuid.label("workspace_uuid"),
            Workspace.name.label("workspace_name"),
        )
        .join(E, E.id == T.execution_id)
        .join(Workflow, Workflow.id == E.workflow_id)
        .join(Workspace, Workspace.id == T.workspace_id)
        .outerjoin(User, User.id == T.created_by_id)
    )


def _item(row: Any, user: CurrentUser) -> dict[str, Any]:
    access = user.access.get(row.workspace_id)
    return {
        "uuid": str(row.uuid),
        "note": row.note,
        "flagged_by": row.flagged_by,
        "flagged_at": iso(row.created_at),
        "execution_uuid": str(row.execution_uuid),
        "status": row.status,
        "workflow_name": row.workflow_name,
        "workspace_uuid": str(row.workspace_uuid),
        "workspace_name": row.workspace_name,
        "can_remove": access is not None and access.role in OPERATE_ROLES,
    }


async def command_room(db: Database, user: CurrentUser, scope: RoomScope) -> dict[str, Any]:
    """Active flags of the scope's workspaces (at most MAX_ITEMS), their total, and the event cursor
    (read first, so replaying from it covers anything newer than the rows)."""
    ids = [i for i in scope.workspace_ids if i in user.access] or [-1]
    conds = [T.removed_at.is_(None), T.workspace_id.in_(ids), E.workspace_id.in_(ids), E.deleted_at.is_(None)]
    async with db.read() as session:
        seqs = await current_seqs(session, ids)
        total = (
            await session.execute(select(func.count()).select_from(T).join(E, E.id == T.execution_id).where(*conds))
        ).scalar_one()
        rows = await session.execute(
            _select().where(*conds).order_by(T.created_at.desc(), T.id.desc()).limit(MAX_ITEMS)
        )
        items = [_item(r, user) for r in rows]
        overdue, overdue_total = await overdue_reviews(session, [i for i in ids if i > 0])
    uuids = {a.workspace_id: str(a.workspace_uuid) for a in user.access.values()}
    names = {str(a.workspace_uuid): a.workspace_name for a in user.access.values()}
    for review in overdue:
        review["workspace_name"] = names.get(review["workspace_uuid"], "")
    return {
        "tasks": items,
        "total": total,
        "overdue_reviews": overdue,
        "overdue_total": overdue_total,
        "cursor": {uuids[ws]: seq for ws, seq in seqs.items() if ws in uuids},
    }
