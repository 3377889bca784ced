"""The approver inbox, live: any change to what may be pending makes the list reload (once per
event per distinct inbox), and a review decided elsewhere also gets a notice naming who decided and
when, which the browser applies to the card without touching what is typed in it
(static/approvals.js). The reloaded list carries the nav badge, so the badge and the page's counts
come from the same request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from litestar import WebSocket

from app.lib.identity import CurrentUser
from app.realtime.prepared import PreparedEvent
from app.web.fragments import Fragments
from app.web.page_frames import PageUpdate
from app.web.pages.approvals.review_cards import decided_notice
from app.web.pages.approvals.view import InboxView
from app.web.pages.live import touches_approvals

if TYPE_CHECKING:
    from app.services import Services


@dataclass(eq=False)
class ApprovalsLive:
    inbox: InboxView

    ticks_tiles: ClassVar[bool] = False

    @classmethod
    def wants(cls, query: Mapping[str, str]) -> bool:
        return query.get("page") == "approvals"

    @classmethod
    async def open(cls, socket: WebSocket[Any, Any, Any], services: Services, user: CurrentUser) -> ApprovalsLive:
        # The inbox shows the workspaces where the user approves (or the one picked).
        return cls(InboxView.from_query(user, socket.query_params))

    @property
    def workspace_ids(self) -> list[int]:
        return self.inbox.workspace_ids

    def matches(self, event: PreparedEvent) -> bool:
        return touches_approvals(event.message)

    def on_event(self, event: PreparedEvent, fragments: Fragments, update: PageUpdate) -> None:
        message = event.message
        approval = message.execution.approval
        if message.type == "approval.decided" and self.inbox.pending_tab and approval:
            # Before the reload in the same frame: the card is marked before the list leaves it out.
            update.part(f"decided:{approval['uuid']}", decided_notice(event, fragments.env))
        query = self.inbox.query(page=self.inbox.page)
        update.part("approvals", event.rendered(_render_approvals, fragments, query))
        # The reloaded list brings the badge (same request as its counts): no separate badge fetch
        # that could answer from another moment.
        update.parts.pop("badge", None)

    def resync(self, fragments: Fragments) -> str:
        return fragments.approvals_refresh(self.inbox.query(page=self.inbox.page)) + fragments.connection("resynced")


def _render_approvals(event: PreparedEvent, fragments: Fragments, query: str) -> str:
    """The inbox's reload, once per event per distinct inbox view (its query) on this instance."""
    return fragments.approvals_refresh(query)
