"""Live: an execution that fails (or a failed one that is deleted or restored) reloads the list,
once per event per distinct view."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from litestar import WebSocket
from markupsafe import escape

from app.lib.identity import CurrentUser
from app.realtime.prepared import PreparedEvent
from app.web.fragments import Fragments
from app.web.page_frames import PageUpdate
from app.web.pages.recent_failures.view import FailuresView

if TYPE_CHECKING:
    from app.services import Services


@dataclass(eq=False)
class RecentFailuresLive:
    view: FailuresView

    ticks_tiles: ClassVar[bool] = False

    @classmethod
    def wants(cls, query: Mapping[str, str]) -> bool:
        return query.get("page") == "failures"

    @classmethod
    async def open(cls, socket: WebSocket[Any, Any, Any], services: Services, user: CurrentUser) -> RecentFailuresLive:
        return cls(FailuresView.from_query(user, socket.query_params))

    @property
    def workspace_ids(self) -> list[int]:
        return self.view.executions.workspace_ids

    def matches(self, event: PreparedEvent) -> bool:
        return event.message.execution.status == "failed"

    def on_event(self, event: PreparedEvent, fragments: Fragments, update: PageUpdate) -> None:
        update.part("failures", event.rendered(_render_failures, self.view.query()))

    def resync(self, fragments: Fragments) -> str:
        return _failures_refresh(self.view.query())


def _render_failures(event: PreparedEvent, query: str) -> str:
    """The list's reload, once per failure per distinct view (its query) on this instance."""
    return _failures_refresh(query)


def _failures_refresh(query: str) -> str:
    url = f"/failures?{query}"
    return (
        f'<div id="failures-refresh" hx-swap-oob="true" hx-get="{escape(url)}" '
        'hx-trigger="load" hx-target="#failures-list" hx-swap="outerHTML"></div>'
    )
