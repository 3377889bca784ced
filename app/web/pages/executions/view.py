"""The executions list's view state: the domain's ``ExecutionFilter`` (parsed from the URL, so a view
can be bookmarked and shared) plus what the page and its socket need to show it."""

from __future__ import annotations

from typing import Any

from app.domain.dashboard.attention import ATTENTION, EXACT_ATTENTION
from app.domain.dashboard.columns import COLUMNS
from app.domain.dashboard.views import PER_PAGE, ExecutionFilter

__all__ = ["PER_PAGE", "ExecutionView"]


class ExecutionView(ExecutionFilter):
    """What one executions page shows: its filter (``ExecutionView.from_query``), its columns and
    how live rows come in. Services take it as the ``ExecutionFilter`` it is."""

    @property
    def live_inserts(self) -> bool:
        """New rows slide in only where they belong: the first page of a newest-first view."""
        # A chip the event cannot settle (slow, a failed child, an overdue approval) shows the banner.
        return self.page == 1 and self.direction == "desc" and not set(self.attention) - EXACT_ATTENTION

    @property
    def column_specs(self) -> list[Any]:
        return [COLUMNS[key] for key in self.columns]

    @property
    def columns_key(self) -> str:
        """Views with the same columns share a rendered row (one render per event per column set)."""
        return ",".join(self.columns)

    @property
    def attention_labels(self) -> dict[str, str]:
        return ATTENTION

    @property
    def all_columns(self) -> dict[str, Any]:
        return COLUMNS

    def key(self) -> str:
        """Views with the same key show the same rows: tiles are computed once per key."""
        return f"{sorted(self.workspace_ids)}|{self.query(page=self.page)}"
