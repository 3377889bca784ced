"""Workspaces and workflows the user can see."""

from __future__ import annotations

import uuid as uuid_lib
from typing import Any

import msgspec
from sqlalchemy import func, select, update

from app.db.engine import Database
from app.db.models import Role, Workflow, Workspace
from app.db.models.base import utcnow
from app.domain.executions.queries import serialize_workflow, workflow_objects
from app.domain.workflows.schemas import WorkflowCreate, WorkflowSettings
from app.lib.errors import FieldValidationError, NotFoundError
from app.lib.identity import OPERATE_ROLES, CurrentUser, WorkspaceAccess
from app.lib.pagination import PageRequest
from app.lib.timefmt import iso


def workspace_payload(access: WorkspaceAccess, ws: Workspace) -> dict[str, Any]:
    return {
        "id": ws.id,
        "uuid": str(ws.uuid),
        "name": ws.name,
        "organization_multiplai_id": access.organization_multiplai_id,
        "role": access.role.value,
        "event_seq": ws.event_seq,
        "created_at": iso(ws.created_at),
        "updated_at": iso(ws.updated_at),
    }


class WorkflowService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list_workspaces(self, user: CurrentUser) -> list[dict[str, Any]]:
        async with self.db.read() as session:
            rows = (
                await session.execute(
                    select(Workspace).where(Workspace.id.in_(user.workspace_ids)).order_by(Workspace.name)
                )
            ).scalars()
            return [workspace_payload(user.access[ws.id], ws) for ws in rows]

    async def get_workspace(self, user: CurrentUser, workspace_uuid: uuid_lib.UUID) -> dict[str, Any]:
        access = user.workspace_by_uuid(workspace_uuid)
        async with self.db.read() as session:
            ws = await session.get(Workspace, access.workspace_id)
            if ws is None or ws.deleted_at is not None:
                raise NotFoundError("Workspace")
            return workspace_payload(access, ws)

    async def list_workflows(
        self, user: CurrentUser, workspace_uuid: uuid_lib.UUID | None, search: str | None, page: PageRequest
    ) -> tuple[list[dict[str, Any]], int]:
        ids = [user.workspace_by_uuid(workspace_uuid).workspace_id] if workspace_uuid else user.workspace_ids
        conds = [Workflow.workspace_id.in_(ids), Workflow.deleted_at.is_(None)]
        if search:
            escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conds.append(Workflow.name.ilike(f"%{escaped}%", escape="\\"))
        async with self.db.read() as session:
            total = (await session.execute(select(func.count()).select_from(Workflow).where(*conds))).scalar_one()
            wf_ids = (
                (
                    await session.execute(
                        select(Workflow.id)
                        .where(*conds)
                        .order_by(Workflow.name, Workflow.id)
                        .limit(page.per_page)
                        .offset(page.offset)
                    )
                )
                .scalars()
                .all()
            )
            objects = await workflow_objects(session, wf_ids, user.id)
        return [objects[i] for i in wf_ids], total

    async def get_workflow(self, user: CurrentUser, workflow_uuid: uuid_lib.UUID) -> dict[str, Any]:
        async with self.db.read() as session:
            wf_id = (
                await session.execute(
                    select(Workflow.id).where(
                        Workflow.uuid == workflow_uuid,
                        Workflow.deleted_at.is_(None),
                        Workflow.workspace_id.in_(user.workspace_ids),
                    )
                )
            ).scalar_one_or_none()
            if wf_id is None:
                raise NotFoundError("Workflow")
            return (await workflow_objects(session, [wf_id], user.id))[wf_id]

    async def update_settings(
        self, user: CurrentUser, workflow_uuid: uuid_lib.UUID, body: WorkflowSettings
    ) -> dict[str, Any]:
        """Change a workflow's approval settings: admins of its workspace only (403 for other roles,
        404 when foreign). Returns the workflow object."""
        async with self.db.write() as session:
            row = (
                await session.execute(
                    select(Workflow.id, Workflow.workspace_id).where(
                        Workflow.uuid == workflow_uuid,
                        Workflow.deleted_at.is_(None),
                        Workflow.workspace_id.in_(user.workspace_ids),
                    )
                )
            ).one_or_none()
            if row is None:
                raise NotFoundError("Workflow")
            user.require(row.workspace_id, frozenset({Role.ADMIN}), "Workflow")
            if body.four_eyes is not None:
                await session.execute(
                    update(Workflow).where(Workflow.id == row.id).values(four_eyes=body.four_eyes, updated_at=utcnow())
                )
        return await self.get_workflow(user, workflow_uuid)

    async def create_workflow(self, user: CurrentUser, body: WorkflowCreate) -> dict[str, Any]:
        access = user.workspace_by_uuid(body.workspace_uuid)
        user.require(access.workspace_id, OPERATE_ROLES, "Workspace")
        if not body.name.strip():
            raise FieldValidationError("name", "The name field must not be blank.")
        node_ids = [n.id for n in body.nodes]
        if len(set(node_ids)) != len(node_ids):
            raise FieldValidationError("nodes", "Node ids must be unique within a workflow.")
        for edge in body.edges:
            if edge.source not in node_ids or edge.target not in node_ids:
                raise FieldValidationError("edges", f"Edge {edge.source} -> {edge.target} names an unknown node.")
        async with self.db.write() as session:
            wf = Workflow(
                workspace_id=access.workspace_id,
                user_id=user.id,
                name=body.name.strip(),
                description=body.description,
                visibility=body.visibility,
                is_active=body.is_active,
                allow_cloning=body.allow_cloning,
                allow_account_usage=body.allow_account_usage,
                profile_photo_url=body.profile_photo_url,
                nodes=msgspec.to_builtins(body.nodes),
                edges=msgspec.to_builtins(body.edges),
            )
            session.add(wf)
            await session.flush()
            payload = serialize_workflow(wf, user.id, access.workspace_uuid)
        return payload | {
            "executions_count": 0,
            "executions_in_progress_count": 0,
            "executions_for_review_count": 0,
            "executions_completed_count": 0,
        }
