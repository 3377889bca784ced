"""The approver inbox's view state: what one inbox page shows, parsed from its URL (so a view can be
bookmarked and shared), turned into the approval service's filters."""

from __future__ import annotations

import uuid as uuid_lib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from app.domain.approvals.services import ApprovalFilters
from app.lib.identity import APPROVE_ROLES, CurrentUser

PER_PAGE = 25
TABS = {"pending": "Pending", "mine": "Decided by me", "decided": "All decided"}
DECIDED = ["approved", "rejected"]


def valid_uuid(value: str | None) -> str | None:
    try:
        return str(uuid_lib.UUID(value)) if value else None
    except ValueError:
        return None


def approvable(user: CurrentUser) -> list[Any]:
    """The user's memberships where they may decide approvals (approver or admin), by name."""
    return sorted((a for a in user.access.values() if a.role in APPROVE_ROLES), key=lambda a: a.workspace_name)


@dataclass(frozen=True)
class InboxView:
    """What one inbox page shows, from its URL. Unknown or foreign values fall back, never an error."""

    tab: str
    workspace_ids: list[int]
    workspace_uuid: str | None = None
    workflow_uuid: str | None = None
    assigned_to_me: bool = False
    overdue: bool = False
    search: str = ""
    sort: str = "due"  # soonest due first (overdue on top); "requested": oldest request first
    page: int = 1

    @classmethod
    def from_query(cls, user: CurrentUser, params: Mapping[str, Any]) -> InboxView:
        mine = approvable(user)
        wanted = valid_uuid(params.get("workspace"))
        chosen = next((a for a in mine if str(a.workspace_uuid) == wanted), None)
        tab = asked if isinstance(asked := params.get("tab"), str) and asked in TABS else "pending"
        try:
            page = max(1, min(int(params.get("page") or 1), 100_000))
        except ValueError:
            page = 1
        return cls(
            tab=tab,
            workspace_ids=[chosen.workspace_id] if chosen else [a.workspace_id for a in mine],
            workspace_uuid=str(chosen.workspace_uuid) if chosen else None,
            workflow_uuid=valid_uuid(params.get("workflow")),
            assigned_to_me=params.get("mine") == "1",
            overdue=tab == "pending" and params.get("overdue") == "1",
            search=(params.get("q") or "").replace("\x00", "").strip()[:200],
            sort="requested" if params.get("sort") == "requested" else "due",
            page=page,
        )

    @property
    def pending_tab(self) -> bool:
        return self.tab == "pending"

    def query(self, **overrides: Any) -> str:
        """The URL query for this view with some values changed (page resets unless given)."""
        state: dict[str, Any] = {
            "tab": self.tab if self.tab != "pending" else None,
            "workspace": self.workspace_uuid,
            "workflow": self.workflow_uuid,
            "mine": "1" if self.assigned_to_me else None,
            "overdue": "1" if self.overdue else None,
            "q": self.search,
            "sort": "requested" if self.sort == "requested" else None,
            "page": None,
        }
        state.update(overrides)
        if state["page"] == 1:
            state["page"] = None
        return urlencode([(k, str(v)) for k, v in state.items() if v not in (None, "", False)])

    def filters(self, workflow_ids: list[int] | None) -> ApprovalFilters:
        return ApprovalFilters(
            workspace_ids=self.workspace_ids,
            statuses=["pending"] if self.pending_tab else DECIDED,
            workflow_ids=workflow_ids,
            assigned_to_me=self.assigned_to_me,
            overdue=self.overdue,
            search=self.search or None,
            decided_by_me=self.tab == "mine",
            # Decided reviews have no due time that matters: their default order is the latest
            # decision first (a decision just made is on top of "Decided by me", not on its last page).
            sort_by="requested_at" if self.sort == "requested" else "due_at" if self.pending_tab else "decided_at",
        )
