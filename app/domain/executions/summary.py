"""``ExecutionSummary``: the one shape of an execution's row that every reader shares (the REST API's
item, an event's ``execution`` payload, a dashboard row, a template's ``row``), built by ONE function,
``build_summary``. Both fetch paths (``queries.serialize_execution`` of typed rows and
``summaries.event_summaries`` of positional ones) end in it.

It is a frozen msgspec struct: attribute access for new code, and a read-only mapping view
(``summary["status"]``, ``.get``, ``in``, ``keys``) for string-key readers and the JSON it becomes.
Fields a fetch did not load (the counters of a plain API item, ``run_metadata``...) are ``UNSET``:
absent from the mapping and from the JSON, as the keys were absent from the dicts before.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType


class ExecutionSummary(msgspec.Struct, frozen=True):
    id: int
    uuid: str
    workspace_uuid: str
    workflow_uuid: str
    workflow_name: str | None
    parent_execution_uuid: str | None
    is_finished: bool
    mode: str | None
    retry_of: str | None
    retry_success_id: str | None
    started_at: str | None
    stopped_at: str | None
    wait_till: str | None
    status: str
    running_node: str | None
    error: str | None
    version: int
    created_at: str | None
    updated_at: str | None
    deleted_at: str | None
    # Later additions: UNSET in payloads recorded before them (replayed from old event rows).
    stopping: bool | UnsetType = UNSET
    workflow_approvals_count: int | UnsetType = UNSET
    pending_workflow_approvals_count: int | UnsetType = UNSET
    in_command_room: bool | UnsetType = UNSET
    run_metadata: dict[str, Any] | UnsetType = UNSET
    approval: dict[str, Any] | UnsetType = UNSET  # an approval event's payload: the approval it is about
    attempt: int | UnsetType | None = UNSET  # a list row folding retries: its attempt in the chain

    # ------------------------------------------------------------ mapping view
    def __getitem__(self, key: str) -> Any:
        value = getattr(self, key, UNSET) if key in FIELDS else UNSET
        if value is UNSET:
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        value = getattr(self, key, UNSET) if key in FIELDS else UNSET
        return default if value is UNSET else value

    def __contains__(self, key: object) -> bool:
        return key in FIELDS and getattr(self, key, UNSET) is not UNSET

    def keys(self) -> list[str]:
        return [name for name in self.__struct_fields__ if getattr(self, name) is not UNSET]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def values(self) -> list[Any]:
        return [value for name in self.__struct_fields__ if (value := getattr(self, name)) is not UNSET]

    def items(self) -> list[tuple[str, Any]]:
        return [(name, value) for name in self.__struct_fields__ if (value := getattr(self, name)) is not UNSET]

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (set fields only, in field order): for the API's items and stored payloads."""
        plain: dict[str, Any] = msgspec.to_builtins(self)  # a struct becomes a dict
        return plain

    def with_extra(self, **extra: Any) -> ExecutionSummary:
        return msgspec.structs.replace(self, **extra) if extra else self


FIELDS = frozenset(ExecutionSummary.__struct_fields__)
# What the live predicates read: the struct, or a plain dict of the same keys (an API item).
SummaryLike = ExecutionSummary | Mapping[str, Any]


def build_summary(
    *,
    id: int,
    uuid: str,
    workspace_uuid: str,
    workflow_uuid: str,
    workflow_name: str | None,
    parent_execution_uuid: str | None,
    is_finished: bool,
    mode: str | None,
    retry_of: str | None,
    retry_success_id: str | None,
    started_at: str | None,
    stopped_at: str | None,
    wait_till: str | None,
    status: str,
    running_node: str | None,
    error: str | None,
    version: int,
    created_at: str | None,
    updated_at: str | None,
    deleted_at: str | None,
    stopping: bool,
    counters: tuple[int, int, bool] | None = None,
) -> ExecutionSummary:
    """THE builder. ``counters``: (approvals, pending approvals, in the command room), when loaded."""
    approvals, pending, flagged = counters if counters is not None else (UNSET, UNSET, UNSET)
    return ExecutionSummary(
        id=id,
        uuid=uuid,
        workspace_uuid=workspace_uuid,
        workflow_uuid=workflow_uuid,
        workflow_name=workflow_name,
        parent_execution_uuid=parent_execution_uuid,
        is_finished=is_finished,
        mode=mode,
        retry_of=retry_of,
        retry_success_id=retry_success_id,
        started_at=started_at,
        stopped_at=stopped_at,
        wait_till=wait_till,
        status=status,
        running_node=running_node,
        error=error,
        version=version,
        created_at=created_at,
        updated_at=updated_at,
        deleted_at=deleted_at,
        stopping=stopping,
        workflow_approvals_count=approvals,
        pending_workflow_approvals_count=pending,
        in_command_room=flagged,
    )


def summary_from_payload(payload: dict[str, Any] | ExecutionSummary) -> ExecutionSummary:
    """An event row's stored payload (or a bus message's) read back as the struct it was written from."""
    if isinstance(payload, ExecutionSummary):
        return payload
    return msgspec.convert(payload, ExecutionSummary)
