from __future__ import annotations

import uuid as uuid_lib
from typing import Annotated, Any, Literal

import msgspec


class NodeIn(msgspec.Struct):
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    name: Annotated[str, msgspec.Meta(max_length=255)] | None = None
    type: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    position: dict[str, float] | None = None
    parameters: dict[str, Any] | None = None


class EdgeIn(msgspec.Struct):
    source: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    target: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    id: Annotated[str, msgspec.Meta(max_length=255)] | None = None
    label: Annotated[str, msgspec.Meta(max_length=255)] | None = None


class WorkflowCreate(msgspec.Struct, forbid_unknown_fields=True):
    workspace_uuid: uuid_lib.UUID
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    description: Annotated[str, msgspec.Meta(max_length=10_000)] | None = None
    visibility: Literal["private", "workspace", "public"] = "workspace"
    is_active: bool = True
    allow_cloning: bool = False
    allow_account_usage: bool = False
    profile_photo_url: Annotated[str, msgspec.Meta(max_length=2048)] | None = None
    nodes: Annotated[list[NodeIn], msgspec.Meta(max_length=500)] = []
    edges: Annotated[list[EdgeIn], msgspec.Meta(max_length=2000)] = []


class WorkflowSettings(msgspec.Struct, forbid_unknown_fields=True):
    """Approval settings of a workflow (admins). ``four_eyes``: whoever triggered an execution may not
    approve its reviews."""

    four_eyes: bool | None = None
