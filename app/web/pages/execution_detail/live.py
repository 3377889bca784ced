"""An execution's page, live: it shows the execution's whole descendant tree, so any event about
a member (or a newcomer whose parent is one) makes the body reload."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from litestar import WebSocket

from app.lib.identity import CurrentUser
from app.realtime.prepared import PreparedEvent
from app.web.fragments import Fragments
from app.web.page_frames import PageUpdate
from app.web.pages.execution_detail.view import DetailView
from app.web.pages.executions.view import ExecutionView

if TYPE_CHECKING:
    from app.services import Services


@dataclass(eq=False)
class ExecutionDetailLive:
    view: ExecutionView  # the workspaces watched
    detail_uuid: str
    family: set[str] = field(default_factory=set)  # the execution and its descendants

    ticks_tiles: ClassVar[bool] = False

    @classmethod
    def wants(cls, query: Mapping[str, str]) -> bool:
        return DetailView.wanted(query)

    @classmethod
    async def open(cls, socket: WebSocket[Any, Any, Any], services: Services, user: CurrentUser) -> ExecutionDetailLive:
        view = DetailView.from_query(user, socket.query_params)
        return cls(view.watched, view.ref, await services.dashboard.family_of(user, view.ref))

    @property
    def workspace_ids(self) -> list[int]:
        return self.view.workspace_ids

    def matches(self, event: PreparedEvent) -> bool:
        execution = event.message.execution
        return (
            execution.uuid in self.family
            or execution.parent_execution_uuid in self.family
            or execution.retry_of == self.detail_uuid  # a retry of it started: the page links it
        )

    def on_event(self, event: PreparedEvent, fragments: Fragments, update: PageUpdate) -> None:
        execution = event.message.execution
        if execution.retry_of != self.detail_uuid or execution.parent_execution_uuid in self.family:
            self.family.add(execution.uuid)  # adopt newcomers (a retry is linked, not adopted)
        update.part("detail", fragments.detail_refresh(self.detail_uuid))

    def resync(self, fragments: Fragments) -> str:
        return fragments.detail_refresh(self.detail_uuid)
