"""Request bodies of the bulk-actions API (msgspec; errors answer 422 naming the field)."""

from __future__ import annotations

import uuid as uuid_lib
from typing import Annotated, Literal

import msgspec

from app.domain.audit.records import REASON_MAX_LENGTH
from app.domain.executions.schemas import ExecutionStatusLiteral

MAX_BULK = 10_000
BulkAction = Literal["stop", "delete", "retry_request"]
Reason = Annotated[str, msgspec.Meta(max_length=REASON_MAX_LENGTH)]


class BulkFilter(msgspec.Struct, forbid_unknown_fields=True):
    """The list endpoint's filters; the matching executions are snapshotted when the request arrives."""

    workspace_uuid: uuid_lib.UUID | None = None
    organization_multiplai_id: Annotated[str, msgspec.Meta(max_length=191)] | None = None
    workflow_uuids: Annotated[list[uuid_lib.UUID], msgspec.Meta(max_length=100)] | None = None
    status: Annotated[list[ExecutionStatusLiteral], msgspec.Meta(max_length=10)] | None = None
    search: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    date_from: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    date_to: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    requires_human_review: bool | None = None
    has_command_room_task: bool | None = None


class BulkRequest(msgspec.Struct, forbid_unknown_fields=True):
    action: BulkAction
    ids: Annotated[list[uuid_lib.UUID], msgspec.Meta(max_length=MAX_BULK)] | None = None
    filter: BulkFilter | None = None
    reason: Reason | None = None
    dry_run: bool = False
    confirm_count: Annotated[int, msgspec.Meta(ge=0)] | None = None


class StopRequest(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason | None = None
    dry_run: bool = False
