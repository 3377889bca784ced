"""The bulk operations' request state. ``OperationsView``: what "select all matching" snapshots,
the executions list's view from the query string the list page sends (read the list's way, so the
snapshot is exactly the rows the user sees). ``BulkForm``: the preview's and the run's posted
form (the action, the selection or the ticked rows, the reason, the typed confirmation)."""

from __future__ import annotations

import uuid as uuid_lib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.domain.operations.items import ACTIONS
from app.lib.errors import FieldValidationError
from app.lib.identity import CurrentUser
from app.web.pages.executions.view import ExecutionView


@dataclass(frozen=True)
class OperationsView:
    matching: ExecutionView  # never raises: the list's fallbacks (first workspace, page 1, ...)

    @classmethod
    def from_query(cls, user: CurrentUser, params: Mapping[str, Any]) -> OperationsView:
        return cls(ExecutionView.from_query(user, params))

    def query(self) -> str:
        """The list's query, so the selection banner links back to the same rows."""
        return self.matching.query()


@dataclass(frozen=True)
class BulkForm:
    action: str
    selection: str | None  # a saved "all matching" snapshot, as posted (echoed back to the form)
    selection_uuid: uuid_lib.UUID | None
    ids: tuple[uuid_lib.UUID, ...]  # the ticked rows, read only when there is no selection
    reason: str | None
    confirm_count: int | None  # the count the user typed ("1,204" reads 1204), else None

    @classmethod
    def parse(cls, form: Any) -> BulkForm:
        """422 naming the field, checked in this order: action, then selection (or ids)."""
        action = form.get("action")
        if action not in ACTIONS:
            raise FieldValidationError("action", "Choose stop, delete or retry_request.")
        selection = form.get("selection") or None
        selection_uuid, ids = None, tuple[uuid_lib.UUID, ...]()
        if selection:
            try:
                selection_uuid = uuid_lib.UUID(str(selection))
            except ValueError:
                raise FieldValidationError("selection", "Not a valid selection.") from None
        else:
            try:
                ids = tuple(uuid_lib.UUID(str(raw)) for raw in _ids(form))
            except ValueError:
                raise FieldValidationError("ids", "Not a valid execution id.") from None
        raw = str(form.get("confirm_count") or "").replace(",", "").strip()
        confirm = int(raw) if raw.isdigit() else None
        return cls(str(action), selection, selection_uuid, ids, form.get("reason"), confirm)


def _ids(form: Any) -> list[str]:
    # A form with no ``ids`` at all (nothing ticked): getall without a default raised KeyError (a 500).
    values = form.getall("ids", []) if hasattr(form, "getall") else form.get("ids") or []
    return [values] if isinstance(values, str) else list(values)
