"""The executions list, live: rows the page shows change in place or leave; new matching
executions are inserted (or counted in the "N new" banner when the page's order or filters would
not put them on top); the status tiles refresh once a second (app/web/tiles.py)."""

from __future__ import annotations

import contextlib
import uuid as uuid_lib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs

from litestar import WebSocket

from app.lib.identity import CurrentUser
from app.realtime.prepared import PreparedEvent
from app.web.fragments import Fragments
from app.web.page_frames import PageUpdate
from app.web.pages.executions.view import ExecutionView

if TYPE_CHECKING:
    from app.services import Services

MAX_REPORTED_ROWS = 500


@dataclass(eq=False)
class ExecutionsLive:
    view: ExecutionView
    visible: set[str]  # the rows the page shows
    # Rows that left the view: kept in ``visible`` (a held table still shows them, kept current),
    # but the page removes them once it is not held, so one that matches again comes back as new.
    left: set[str] = field(default_factory=set)
    pending_new: int = 0
    tiles_dirty: bool = False

    ticks_tiles: ClassVar[bool] = True

    @classmethod
    def wants(cls, query: Mapping[str, str]) -> bool:
        return True  # the default page: listed last

    @classmethod
    async def open(cls, socket: WebSocket[Any, Any, Any], services: Services, user: CurrentUser) -> ExecutionsLive:
        view = ExecutionView.from_query(user, socket.query_params)
        return cls(view, await _visible_rows(socket, services, view))

    @property
    def workspace_ids(self) -> list[int]:
        return self.view.workspace_ids

    def matches(self, event: PreparedEvent) -> bool:
        return True  # a non-matching execution may still be a row to remove, and tiles count everything

    def on_event(self, event: PreparedEvent, fragments: Fragments, update: PageUpdate) -> None:
        message = event.message
        execution = message.execution
        exec_uuid = execution.uuid
        matches = self.view.matches(execution, event.workspace_id)
        update.columns = self.view.columns
        retried = execution.retry_of or ""
        if self.view.fold_retries and retried in self.visible and message.type == "execution.created":
            self.visible.discard(retried)  # folded: the chain's row is its latest attempt
            update.remove_other(retried, fragments.removal_of(event, retried))
        if matches and exec_uuid in self.left:  # back in the view (restored, or its status again)
            self.left.discard(exec_uuid)
            self.visible.discard(exec_uuid)
        if exec_uuid in self.visible:
            if matches:
                update.update_row(event)
            else:  # kept in ``visible``: while the page holds its table the row stays, and stays current
                update.leave_row(event)
                self.left.add(exec_uuid)
        elif matches:
            if message.type in ("execution.created", "execution.restored") and self.view.live_inserts:
                update.insert(event)
                self.visible.add(exec_uuid)
            else:
                self.pending_new += 1
                update.part("banner", lambda: fragments.new_banner(self.view, self.pending_new))
        self.tiles_dirty = True

    def resync(self, fragments: Fragments) -> str:
        return fragments.resync(self.view, None)


async def _visible_rows(socket: WebSocket[Any, Any, Any], services: Services, view: ExecutionView) -> set[str]:
    """The rows the page shows: as the page reports them (after a reconnect the database has moved
    on), else as the view renders now."""
    # parse_qs keeps the blank value: "rows=" means "the page shows no rows", not "unknown".
    query = parse_qs(socket.scope.get("query_string", b"").decode(), keep_blank_values=True)
    reported = query["rows"][0] if "rows" in query else None
    if reported is not None:
        rows = set()
        for raw in reported.split(",")[:MAX_REPORTED_ROWS]:
            with contextlib.suppress(ValueError):
                rows.add(str(uuid_lib.UUID(raw)))
        return rows
    return {row["uuid"] for row in (await services.dashboard.execution_page(view)).rows}
