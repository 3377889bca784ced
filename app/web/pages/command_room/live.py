"""The command room, live: flags, flagged executions and approval changes (the room lists
overdue reviews) make the list reload, once per event per distinct room."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from litestar import WebSocket

from app.domain.dashboard.command_room import room_scope
from app.lib.identity import CurrentUser
from app.realtime.prepared import PreparedEvent
from app.web.fragments import Fragments
from app.web.page_frames import PageUpdate
from app.web.pages.executions.view import ExecutionView
from app.web.pages.live import touches_approvals


@dataclass(eq=False)
class CommandRoomLive:
    view: ExecutionView  # its workspaces: all the user's unless ?workspace= picks one

    ticks_tiles: ClassVar[bool] = False

    @classmethod
    def wants(cls, query: Mapping[str, str]) -> bool:
        return query.get("page") == "command-room"

    @classmethod
    async def open(cls, socket: WebSocket[Any, Any, Any], services: Any, user: CurrentUser) -> CommandRoomLive:
        view = ExecutionView.from_query(user, socket.query_params)
        scope = room_scope(user, socket.query_params.get("workspace"))
        return cls(replace(view, workspace_ids=scope.workspace_ids))

    @property
    def workspace_ids(self) -> list[int]:
        return self.view.workspace_ids

    @property
    def query(self) -> str:
        one = len(self.view.workspace_ids) == 1 and self.view.workspace_uuid
        return f"workspace={self.view.workspace_uuid}" if one else ""

    def matches(self, event: PreparedEvent) -> bool:
        message = event.message
        return (
            message["type"].startswith("command_room.")
            or bool(message["execution"].get("in_command_room"))
            or touches_approvals(message)
        )

    def on_event(self, event: PreparedEvent, fragments: Fragments, update: PageUpdate) -> None:
        query = self.query
        update.part("room", event.rendered(f"command-room?{query}", lambda _: fragments.command_room_refresh(query)))

    def resync(self, fragments: Fragments) -> str:
        return fragments.command_room_refresh(self.query) + fragments.connection("resynced")
