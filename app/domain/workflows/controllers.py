"""Workspaces and workflows."""

from __future__ import annotations

import uuid as uuid_lib
from typing import Annotated, Any

from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from app.domain.workflows.schemas import WorkflowCreate, WorkflowSettings
from app.domain.workflows.services import WorkflowService
from app.lib.identity import CurrentUser
from app.lib.pagination import MAX_PER_PAGE, PageRequest, paginated
from app.lib.params import search_term


class WorkspaceController(Controller):
    path = "/workspaces"
    tags = ["Workspaces"]

    @get("/", summary="List my workspaces")
    async def list_workspaces(
        self, request: Request[CurrentUser, Any, Any], workflow_service: NamedDependency[WorkflowService]
    ) -> dict[str, Any]:
        """Workspaces you belong to, with your role in each."""
        return {"data": await workflow_service.list_workspaces(request.user)}

    @get("/{workspace_uuid:uuid}", summary="Retrieve a workspace")
    async def get_workspace(
        self,
        request: Request[CurrentUser, Any, Any],
        workflow_service: NamedDependency[WorkflowService],
        workspace_uuid: FromPath[uuid_lib.UUID],
    ) -> dict[str, Any]:
        """One of your workspaces; any other answers 404."""
        return {"data": await workflow_service.get_workspace(request.user, workspace_uuid)}


class WorkflowController(Controller):
    path = "/workflows"
    tags = ["Workflows"]

    @get("/", summary="List workflows")
    async def list_workflows(
        self,
        request: Request[CurrentUser, Any, Any],
        workflow_service: NamedDependency[WorkflowService],
        workspace_uuid: Annotated[uuid_lib.UUID | None, QueryParameter(name="workspace_uuid")] = None,
        search: Annotated[str | None, QueryParameter(name="search", max_length=200)] = None,
        page: Annotated[int, QueryParameter(name="page", ge=1, le=1_000_000)] = 1,
        per_page: Annotated[int, QueryParameter(name="per_page", ge=1, le=MAX_PER_PAGE)] = 20,
    ) -> dict[str, Any]:
        """Workflows of one workspace, or of all yours, with execution counters."""
        page_req = PageRequest(page, per_page)
        items, total = await workflow_service.list_workflows(
            request.user, workspace_uuid, search_term(search), page_req
        )
        return paginated(request, items, total, page_req)

    @get("/{workflow_uuid:uuid}", summary="Retrieve a workflow")
    async def get_workflow(
        self,
        request: Request[CurrentUser, Any, Any],
        workflow_service: NamedDependency[WorkflowService],
        workflow_uuid: FromPath[uuid_lib.UUID],
    ) -> dict[str, Any]:
        """A workflow with its graph (nodes, edges) and execution counters."""
        return {"data": await workflow_service.get_workflow(request.user, workflow_uuid)}

    @post("/", summary="Create a workflow", status_code=HTTP_201_CREATED)
    async def create_workflow(
        self,
        request: Request[CurrentUser, Any, Any],
        workflow_service: NamedDependency[WorkflowService],
        data: JSONBody[WorkflowCreate],
    ) -> dict[str, Any]:
        """Create a workflow in a workspace where you are operator or admin."""
        return {"data": await workflow_service.create_workflow(request.user, data)}

    @patch("/{workflow_uuid:uuid}/settings", summary="Change a workflow's approval settings")
    async def update_workflow_settings(
        self,
        request: Request[CurrentUser, Any, Any],
        workflow_service: NamedDependency[WorkflowService],
        workflow_uuid: FromPath[uuid_lib.UUID],
        data: JSONBody[WorkflowSettings],
    ) -> dict[str, Any]:
        """Admins of the workflow's workspace turn the four-eyes rule on or off (``four_eyes``):
        with it on, whoever triggered an execution may not approve its reviews."""
        return {"data": await workflow_service.update_settings(request.user, workflow_uuid, data)}
