from __future__ import annotations

import datetime as dt
import uuid as uuid_lib
from typing import Annotated, Any

import msgspec

from app.lib.timefmt import body_datetime


class ApprovalRequest(msgspec.Struct, forbid_unknown_fields=True):
    """An engine asks for a human review; the execution must be ``waiting``."""

    execution_uuid: uuid_lib.UUID
    node_id: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    description: Annotated[str, msgspec.Meta(max_length=20_000)] | None = None
    payload: dict[str, Any] | None = None
    due_at: dt.datetime | None = None
    high_risk: bool = False

    def __post_init__(self) -> None:
        self.due_at = body_datetime("due_at", self.due_at)


class CommandRoomTaskCreate(msgspec.Struct, forbid_unknown_fields=True):
    execution_uuid: uuid_lib.UUID
    note: Annotated[str, msgspec.Meta(max_length=5_000)] | None = None
    # Why, for the operator audit log (at most 1,000 characters); without it the note is kept there.
    reason: Annotated[str, msgspec.Meta(max_length=1_000)] | None = None


class ApprovalDecision(msgspec.Struct, forbid_unknown_fields=True):
    """Body of approve / reject; a rejection needs a non-blank comment."""

    comment: Annotated[str, msgspec.Meta(max_length=20_000)] | None = None


class ApprovalAssignment(msgspec.Struct, forbid_unknown_fields=True):
    """Body of assign; without ``user_email`` you claim the approval yourself."""

    user_email: Annotated[str, msgspec.Meta(min_length=1, max_length=320)] | None = None


class GroupDecision(msgspec.Struct, forbid_unknown_fields=True):
    """Body of a group decision: the reviews (1 to 500) and one comment for all (required to reject)."""

    approval_uuids: Annotated[list[uuid_lib.UUID], msgspec.Meta(min_length=1, max_length=500)]
    comment: Annotated[str, msgspec.Meta(max_length=20_000)] | None = None
