"""The command room's view state, from its URL: one workspace (``?workspace=`` of a membership) or
all the user's. The page and its socket both read it, so they cannot disagree on what is shown."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.domain.dashboard.command_room import RoomScope, room_scope
from app.lib.identity import CurrentUser


@dataclass(frozen=True)
class RoomView:
    scope: RoomScope  # a foreign or malformed workspace falls back to all the user's

    @classmethod
    def from_query(cls, user: CurrentUser, params: Mapping[str, Any]) -> RoomView:
        return cls(room_scope(user, params.get("workspace")))

    @property
    def workspace_ids(self) -> list[int]:
        return self.scope.workspace_ids

    def query(self) -> str:
        """The page's own query: what its list reload and its socket carry."""
        return self.scope.query()

    def socket_query(self) -> str:
        return "page=command-room" + (f"&{self.query()}" if self.query() else "")
