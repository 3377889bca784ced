"""Workflow Executions API (the seed's contract; see docs/api.md)."""

from __future__ import annotations

import uuid as uuid_lib
from typing import Annotated, Any, Literal

from litestar import Controller, Request, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import Body, FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from app.domain.audit.schemas import ReasonBody, ReasonQuery, pick_reason
from app.domain.executions.queries import ExecutionFilters
from app.domain.executions.schemas import ExecutionCreate, ExecutionUpdate
from app.domain.executions.services import ExecutionService, Includes
from app.domain.executions.state import STATUS_VALUES
from app.domain.executions.time_axis import TimeAxisParam, parse_time_axis
from app.domain.operations.schemas import StopRequest
from app.domain.operations.services import OperationService
from app.lib.errors import FieldValidationError
from app.lib.identity import CurrentUser
from app.lib.pagination import MAX_PER_PAGE, PageRequest, paginated
from app.lib.params import BOOL_PATTERN, comma_list, comma_list_pattern, parse_bool, search_term
from app.lib.timefmt import DATE_PATTERN, parse_date_param

WITH_OPTIONS = {"workflow", "workflowExecutionData"}
WITH_COUNT_OPTIONS = {"workflowApprovals", "pendingWorkflowApprovals"}


WithParam = Annotated[
    list[str] | None,
    QueryParameter(
        name="with",
        description="Comma list: workflow, workflowExecutionData",
        max_items=10,
        schema_extra={"pattern": comma_list_pattern(WITH_OPTIONS)},
    ),
]
WithCountParam = Annotated[
    list[str] | None,
    QueryParameter(
        name="with_count",
        description="Comma list: workflowApprovals, pendingWorkflowApprovals",
        max_items=10,
        schema_extra={"pattern": comma_list_pattern(WITH_COUNT_OPTIONS)},
    ),
]
StatusParam = Annotated[
    list[str] | None,
    QueryParameter(
        name="status",
        description="One status or a comma list: " + ", ".join(STATUS_VALUES),
        max_items=10,
        schema_extra={"pattern": comma_list_pattern(list(STATUS_VALUES))},
    ),
]


def parse_includes(with_: list[str] | None, with_count: list[str] | None) -> Includes:
    relations = comma_list(with_)
    counts = comma_list(with_count)
    if unknown := relations - WITH_OPTIONS:
        raise FieldValidationError("with", f"Unknown relation(s): {', '.join(sorted(unknown))}.")
    if unknown := counts - WITH_COUNT_OPTIONS:
        raise FieldValidationError("with_count", f"Unknown count(s): {', '.join(sorted(unknown))}.")
    return Includes(
        workflow="workflow" in relations,
        execution_data="workflowExecutionData" in relations,
        approval_counts=bool(counts),
    )


def parse_statuses(status: list[str] | None) -> list[str] | None:
    statuses = comma_list(status)
    if unknown := statuses - set(STATUS_VALUES):
        raise FieldValidationError("status", f"Unknown status(es): {', '.join(sorted(unknown))}.")
    return sorted(statuses) or None


class WorkflowExecutionController(Controller):
    path = "/workflow-executions"
    tags = ["Workflow Executions"]

    @get("/", summary="List workflow executions")
    async def list_executions(
        self,
        request: Request[CurrentUser, Any, Any],
        execution_service: NamedDependency[ExecutionService],
        workspace_uuid: Annotated[uuid_lib.UUID | None, QueryParameter(name="workspace_uuid")] = None,
        organization_multiplai_id: Annotated[
            str | None, QueryParameter(name="organization_multiplai_id", max_length=191)
        ] = None,
        user_multiplai_id: Annotated[str | None, QueryParameter(name="user_multiplai_id", max_length=191)] = None,
        workflow_uuid: Annotated[uuid_lib.UUID | None, QueryParameter(name="workflow_uuid")] = None,
        workflow_uuids: Annotated[
            list[uuid_lib.UUID] | None, QueryParameter(name="workflow_uuids", max_items=100)
        ] = None,
        workflow_uuids_brackets: Annotated[
            list[uuid_lib.UUID] | None, QueryParameter(name="workflow_uuids[]", max_items=100)
        ] = None,
        search: Annotated[str | None, QueryParameter(name="search", max_length=200)] = None,
        status: StatusParam = None,
        date_from: Annotated[
            str | None, QueryParameter(name="date_from", max_length=40, schema_extra={"pattern": DATE_PATTERN})
        ] = None,
        date_to: Annotated[
            str | None, QueryParameter(name="date_to", max_length=40, schema_extra={"pattern": DATE_PATTERN})
        ] = None,
        sort_by: Annotated[Literal["created_at", "updated_at"], QueryParameter(name="sort_by")] = "created_at",
        sort_direction: Annotated[Literal["asc", "desc"], QueryParameter(name="sort_direction")] = "desc",
        page: Annotated[int, QueryParameter(name="page", ge=1, le=1_000_000)] = 1,
        per_page: Annotated[int, QueryParameter(name="per_page", ge=1, le=MAX_PER_PAGE)] = 20,
        cursor: Annotated[
            str | None,
            QueryParameter(name="cursor", max_length=200, description="Keyset cursor from links.next (deep pages)"),
        ] = None,
        with_: WithParam = None,
        with_count: WithCountParam = None,
    ) -> dict[str, Any]:
        """Paginated executions of the workspaces you belong to.

        ``meta.total`` and ``last_page`` are exact for every filter combination (``total_capped``
        is always false): paging 1..``last_page`` sees every match once.
        ``links.next`` carries a keyset ``cursor`` so following it stays fast at any depth.

        At least one of ``workspace_uuid``, ``organization_multiplai_id`` or ``workflow_uuid(s)`` is
        required; ``workspace_uuid`` wins over ``organization_multiplai_id``.

        ``search`` matches workflow names, error text and content, and execution ids: a whole uuid,
        or 6+ hex characters that start the uuid or its short id (its last 8 characters, as the
        dashboard shows it). When an id finds nothing here but is in another of your workspaces,
        ``meta.found_elsewhere`` lists where.
        """
        includes = parse_includes(with_, with_count)
        wf_uuids = [
            *([workflow_uuid] if workflow_uuid else []),
            *(workflow_uuids or []),
            *(workflow_uuids_brackets or []),
        ]
        user = request.user
        workspace_ids, workflow_ids = await execution_service.resolve_scope(
            user, workspace_uuid, organization_multiplai_id, wf_uuids
        )
        filters = ExecutionFilters(
            workspace_ids=workspace_ids,
            workflow_ids=workflow_ids,
            statuses=parse_statuses(status),
            date_from=parse_date_param("date_from", date_from) if date_from else None,
            date_to=parse_date_param("date_to", date_to, end_of_day=True) if date_to else None,
            search=search_term(search),
            user_multiplai_id=user_multiplai_id or None,
            sort_by=sort_by,
            sort_direction=sort_direction,
        )
        if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
            raise FieldValidationError("date_to", "The date_to field must be a date after or equal to date_from.")
        page_req = PageRequest(page=page, per_page=per_page)
        items, result = await execution_service.page(user, filters, page_req, includes, cursor)
        body = paginated(
            request, items, result.total, page_req, capped=result.total_capped, next_cursor=result.next_cursor
        )
        if not items and page == 1 and cursor is None and filters.search:
            # An id (or id fragment) of the user's other workspaces: say where it is (never beyond them).
            found = await execution_service.found_elsewhere(user, filters.search, workspace_ids)
            if found:
                body["meta"]["found_elsewhere"] = found
        return body

    @get("/count", summary="Count workflow executions")
    async def count_executions(
        self,
        request: Request[CurrentUser, Any, Any],
        execution_service: NamedDependency[ExecutionService],
        start_date: Annotated[
            str, QueryParameter(name="start_date", max_length=40, schema_extra={"pattern": DATE_PATTERN})
        ],
        end_date: Annotated[
            str, QueryParameter(name="end_date", max_length=40, schema_extra={"pattern": DATE_PATTERN})
        ],
        workspace_uuid: Annotated[uuid_lib.UUID | None, QueryParameter(name="workspace_uuid")] = None,
        multiplai_id: Annotated[
            str | None,
            QueryParameter(name="multiplai_id", max_length=191, description="Organization multiplai id"),
        ] = None,
        status: StatusParam = None,
        requires_human_review: Annotated[
            str | None,
            QueryParameter(name="requires_human_review", max_length=5, schema_extra={"pattern": BOOL_PATTERN}),
        ] = None,
        has_command_room_task: Annotated[
            str | None,
            QueryParameter(name="has_command_room_task", max_length=5, schema_extra={"pattern": BOOL_PATTERN}),
        ] = None,
        time_axis: TimeAxisParam = None,
    ) -> dict[str, Any]:
        """Exact count of executions in ``[start_date, end_date]`` on ``time_axis`` (created by
        default; started, stopped or active), in total and by status."""
        axis = parse_time_axis(time_axis)
        if workspace_uuid is None and not multiplai_id:
            raise FieldValidationError("workspace_uuid", "One of workspace_uuid or multiplai_id is required.")
        start = parse_date_param("start_date", start_date)
        end = parse_date_param("end_date", end_date, end_of_day=True)
        if start > end:
            raise FieldValidationError("end_date", "The end_date field must be a date after or equal to start_date.")
        workspace_ids, _ = await execution_service.resolve_scope(request.user, workspace_uuid, multiplai_id, [])
        filters = ExecutionFilters(
            workspace_ids=workspace_ids,
            statuses=parse_statuses(status),
            date_from=start,
            date_to=end,
            requires_human_review=parse_bool("requires_human_review", requires_human_review),
            has_command_room_task=parse_bool("has_command_room_task", has_command_room_task),
            time_axis=axis,
        )
        return {"data": await execution_service.count(request.user, filters)}

    @get("/{execution_uuid:uuid}", summary="Retrieve a workflow execution")
    async def get_execution(
        self,
        request: Request[CurrentUser, Any, Any],
        execution_service: NamedDependency[ExecutionService],
        execution_uuid: FromPath[uuid_lib.UUID],
        with_: WithParam = None,
        with_count: WithCountParam = None,
    ) -> dict[str, Any]:
        """One execution, with the same ``with`` / ``with_count`` options as the list."""
        includes = parse_includes(with_, with_count)
        return {"data": await execution_service.get(request.user, execution_uuid, includes)}

    @post("/", summary="Create a workflow execution", status_code=HTTP_201_CREATED)
    async def create_execution(
        self,
        request: Request[CurrentUser, Any, Any],
        execution_service: NamedDependency[ExecutionService],
        data: JSONBody[ExecutionCreate],
    ) -> dict[str, Any]:
        """Record a new execution of a workflow (operators and admins)."""
        return {"data": await execution_service.create(request.user, data)}

    @put("/{execution_uuid:uuid}", summary="Update a workflow execution", status_code=HTTP_200_OK)
    async def put_execution(
        self,
        request: Request[CurrentUser, Any, Any],
        execution_service: NamedDependency[ExecutionService],
        execution_uuid: FromPath[uuid_lib.UUID],
        data: JSONBody[ExecutionUpdate],
    ) -> dict[str, Any]:
        """Same as PATCH: only the fields sent change; ``status`` follows the state machine (409 otherwise)."""
        return {"data": await execution_service.update(request.user, execution_uuid, data)}

    @patch("/{execution_uuid:uuid}", summary="Update a workflow execution", status_code=HTTP_200_OK)
    async def patch_execution(
        self,
        request: Request[CurrentUser, Any, Any],
        execution_service: NamedDependency[ExecutionService],
        execution_uuid: FromPath[uuid_lib.UUID],
        data: JSONBody[ExecutionUpdate],
    ) -> dict[str, Any]:
        """Change status (through the state machine), wait_till, mode, retry_success_id, or report node progress."""
        return {"data": await execution_service.update(request.user, execution_uuid, data)}

    @delete("/{execution_uuid:uuid}", summary="Delete a workflow execution", status_code=HTTP_204_NO_CONTENT)
    async def delete_execution(
        self,
        request: Request[CurrentUser, Any, Any],
        execution_service: NamedDependency[ExecutionService],
        execution_uuid: FromPath[uuid_lib.UUID],
        reason: ReasonQuery = None,
        data: JSONBody[ReasonBody | None] = None,
    ) -> None:
        """Soft delete: the execution disappears from lists, counts and lookups and goes to the
        trash (admins restore it until it is purged). Optional ``reason`` (query or JSON body,
        at most 1,000 characters) is kept in the operator audit log."""
        await execution_service.delete(request.user, execution_uuid, reason=pick_reason(data, reason))

    @post("/{execution_uuid:uuid}/stop", summary="Stop a workflow execution", status_code=HTTP_200_OK)
    async def stop_execution(
        self,
        request: Request[CurrentUser, Any, Any],
        execution_service: NamedDependency[ExecutionService],
        operation_service: NamedDependency[OperationService],
        execution_uuid: FromPath[uuid_lib.UUID],
        data: Annotated[StopRequest | None, Body(description="Optional: reason, dry_run")] = None,
        dry_run: Annotated[
            str | None, QueryParameter(name="dry_run", max_length=5, schema_extra={"pattern": BOOL_PATTERN})
        ] = None,
    ) -> dict[str, Any]:
        """Cancel a running, pending, paused or waiting execution, its descendants and the ancestors
        waiting on it, in one transaction. Already cancelled: 200, nothing changes. Finished: 409.

        ``dry_run`` (query ``?dry_run=true`` or body) answers what the stop would cancel and changes
        nothing; ``reason`` goes to the operator audit log."""
        body = data or StopRequest()
        if body.dry_run or parse_bool("dry_run", dry_run):
            await execution_service.get(request.user, execution_uuid, Includes())  # 404 for foreign ids
            plan = await operation_service.dry_run(request.user, "stop", [str(execution_uuid)])
            return {"data": plan}
        result = await execution_service.stop(request.user, execution_uuid, body.reason)
        return {
            "data": result.execution,
            "meta": {"stopped": result.stopped, "cascade_cancelled": result.cancelled_uuids},
        }
