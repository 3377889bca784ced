"""The optional ``reason`` operators give for an action (stored on its operator audit row)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar.params import QueryParameter

from app.domain.audit.records import REASON_MAX_LENGTH
from app.lib.errors import FieldValidationError

Reason = Annotated[str, msgspec.Meta(max_length=REASON_MAX_LENGTH)]
ReasonQuery = Annotated[
    str | None,
    QueryParameter(
        name="reason",
        max_length=REASON_MAX_LENGTH,
        description=f"Why (at most {REASON_MAX_LENGTH:,} characters), kept in the operator audit log.",
    ),
]


class ReasonBody(msgspec.Struct, forbid_unknown_fields=True):
    """Optional body of delete, restore and unflag: ``{"reason": "..."}``."""

    reason: Reason | None = None


def check_reason(reason: str | None) -> str | None:
    """422 naming ``reason`` when it is too long (for form fields, which no schema validates)."""
    if reason is not None and len(reason) > REASON_MAX_LENGTH:
        raise FieldValidationError(
            "reason", f"The reason field must not be longer than {REASON_MAX_LENGTH:,} characters."
        )
    return reason


def pick_reason(body: ReasonBody | None, query: str | None) -> str | None:
    """The body's reason wins over the query's."""
    return body.reason if body is not None and body.reason is not None else query
