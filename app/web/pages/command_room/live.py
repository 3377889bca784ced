"""The command room, live: flags, flagged executions and approval changes (the room lists
overdue reviews) make the list reload, once per event per distinct room."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from litestar import WebSocket

from app.lib.identity import CurrentUser
from app.realtime.prepared import PreparedEvent
from app.web.fragments import Fragments
from app.web.page_frames import PageUpdate
from app.web.pages.command_room.view import RoomView
from app.web.pages.live import touches_approvals

if TYPE_CHECKING:
    from app.services import Services


@dataclass(eq=False)
class CommandRoomLive:
    view: RoomView  # its workspaces: all the user's unless ?workspace= picks one

    ticks_tiles: ClassVar[bool] = False

    @classmethod
    def wants(cls, query: Mapping[str, str]) -> bool:
        return query.get("page") == "command-room"

    @classmethod
    async def open(cls, socket: WebSocket[Any, Any, Any], services: Services, user: CurrentUser) -> CommandRoomLive:
        return cls(RoomView.from_query(user, socket.query_params))

    @property
    def workspace_ids(self) -> list[int]:
        return self.view.workspace_ids

    def matches(self, event: PreparedEvent) -> bool:
        message = event.message
        return (
            message.type.startswith("command_room.")
            or message.execution.in_command_room is True
            or touches_approvals(message)
        )

    def on_event(self, event: PreparedEvent, fragments: Fragments, update: PageUpdate) -> None:
        query = self.view.query()
        update.part("room", event.rendered(_render_command_room, fragments, query))

    def resync(self, fragments: Fragments) -> str:
        return fragments.command_room_refresh(self.view.query()) + fragments.connection("resynced")


def _render_command_room(event: PreparedEvent, fragments: Fragments, query: str) -> str:
    """The room's reload, once per event per distinct room (its query) on this instance."""
    return fragments.command_room_refresh(query)
