"""The page's state, from its URL: which workspace (all the user's by default)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.lib.identity import CurrentUser
from app.web.pages.executions.view import ExecutionView

LIMIT = 20


@dataclass(frozen=True)
class FailuresView:
    executions: ExecutionView  # failed executions, most recently changed first

    @classmethod
    def from_query(cls, user: CurrentUser, params: Mapping[str, Any]) -> FailuresView:
        wanted = {"status": "failed", "sort": "updated", "chains": "all"}
        if params.get("workspace"):
            wanted["workspace"] = str(params.get("workspace"))
        return cls(ExecutionView.from_query(user, wanted))

    @property
    def workspace_uuid(self) -> str | None:
        return self.executions.workspace_uuid

    def query(self) -> str:
        return f"workspace={self.workspace_uuid}" if self.workspace_uuid else ""
