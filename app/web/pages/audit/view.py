"""The audit page's view state, from its URL: the domain's ``AuditFilters`` (the API parses the same
ones), the page of the list, and the filters' text as typed. A bad filter never gives an error page:
its message shows above an empty list; access is still checked (403 for a user who operates
nowhere, 404 for a foreign workspace)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.domain.audit.log import AuditFilters
from app.lib.errors import FieldValidationError
from app.lib.identity import CurrentUser
from app.lib.pagination import PageRequest
from app.web.page_context import page_number

AUDIT_PER_PAGE = 50
TYPED_FIELDS = ("actor", "execution_uuid", "date_from", "date_to")  # free-text inputs, echoed as typed
NO_ROWS = AuditFilters([-1])  # what a bad filter shows: no workspace has id -1


@dataclass(frozen=True)
class AuditView:
    filters: AuditFilters  # NO_ROWS when a filter is bad (``error`` says which)
    page: PageRequest
    typed: Mapping[str, str]  # the text inputs as the user typed them, so a bad value stays in its box
    error: str | None = None

    @classmethod
    def from_query(cls, user: CurrentUser, params: Mapping[str, Any]) -> AuditView:
        error = None
        try:
            filters = AuditFilters.parse(user, params)
        except FieldValidationError as exc:
            error, filters = exc.message, NO_ROWS
        page = PageRequest(page=page_number(params.get("page")), per_page=AUDIT_PER_PAGE)
        return cls(filters, page, {k: params.get(k) or "" for k in TYPED_FIELDS}, error)

    @staticmethod
    def export_filters(user: CurrentUser, params: Mapping[str, Any]) -> AuditFilters:
        """The CSV export's filters: strict, a bad one answers 422 naming the field (a download has
        no page to show the message on)."""
        return AuditFilters.parse(user, params)

    def last_page(self, total: int) -> int:
        return max(1, -(-total // self.page.per_page))
