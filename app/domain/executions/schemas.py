"""Request bodies of the workflow-executions API (validated by msgspec; errors answer 422)."""

from __future__ import annotations

import datetime as dt
import uuid as uuid_lib
from typing import Annotated, Any, Literal

import msgspec

from app.lib.timefmt import body_datetime

ExecutionStatusLiteral = Literal["pending", "running", "paused", "waiting", "completed", "failed", "cancelled"]
NodeRunStatus = Literal["pending", "running", "success", "error", "skipped", "waiting", "cancelled"]
ShortText = Annotated[str, msgspec.Meta(max_length=255)]
LongText = Annotated[str, msgspec.Meta(max_length=65_535)]


class NodeRunIn(msgspec.Struct, forbid_unknown_fields=True):
    """One node's progress, reported by an engine as the node runs."""

    node_id: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    status: NodeRunStatus
    node_name: ShortText | None = None
    run_index: Annotated[int, msgspec.Meta(ge=0, le=100_000)] | None = None
    input: Any = None
    output: Any = None
    error: LongText | None = None
    started_at: dt.datetime | None = None
    stopped_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        self.started_at = body_datetime("started_at", self.started_at)
        self.stopped_at = body_datetime("stopped_at", self.stopped_at)


class ExecutionDataIn(msgspec.Struct, forbid_unknown_fields=True):
    """``workflow_data`` replaces the node runs, ``metadata`` is merged key by key, ``data`` replaces."""

    workflow_data: list[dict[str, Any]] | None = None
    metadata: dict[str, Any] | None = None
    data: LongText | None = None


class ExecutionCreate(msgspec.Struct, forbid_unknown_fields=True):
    workflow_uuid: uuid_lib.UUID
    status: ExecutionStatusLiteral = "pending"
    mode: Annotated[str, msgspec.Meta(max_length=50)] | None = None
    parent_execution_uuid: uuid_lib.UUID | None = None
    retry_of: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    wait_till: dt.datetime | None = None
    error: LongText | None = None
    execution_data: ExecutionDataIn | None = None

    def __post_init__(self) -> None:
        self.wait_till = body_datetime("wait_till", self.wait_till)


class ExecutionUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Every field optional; ``status`` goes through the state machine. Send ``version`` to make the
    update conditional on the version you last saw (409 if it moved)."""

    status: ExecutionStatusLiteral | None = None
    wait_till: dt.datetime | msgspec.UnsetType | None = msgspec.UNSET
    mode: Annotated[str, msgspec.Meta(max_length=50)] | msgspec.UnsetType | None = msgspec.UNSET
    retry_success_id: Annotated[str, msgspec.Meta(max_length=64)] | msgspec.UnsetType | None = msgspec.UNSET
    error: LongText | msgspec.UnsetType | None = msgspec.UNSET
    running_node: ShortText | msgspec.UnsetType | None = msgspec.UNSET
    execution_data: ExecutionDataIn | None = None
    node_runs: Annotated[list[NodeRunIn], msgspec.Meta(max_length=1000)] | None = None
    version: Annotated[int, msgspec.Meta(ge=1)] | None = None

    def __post_init__(self) -> None:
        if self.wait_till is not msgspec.UNSET:
            self.wait_till = body_datetime("wait_till", self.wait_till)
