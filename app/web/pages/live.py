"""The contract between a live page and the page socket's host (app/web/live.py).

A page is one class implementing ``LivePage``: the host owns the socket (handshake, replay,
coalescing, eviction, the cursor and the approvals badge every page carries) and asks the page
only what one event means for it. Adding a live page means writing one such class and listing it
in ``app/web/pages/__init__.py``; the host never asks which page it serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from app.domain.events.message import EventMessage
from app.domain.executions.state import TERMINAL
from app.realtime.prepared import PreparedEvent
from app.web.page_frames import PageUpdate

if TYPE_CHECKING:
    from collections.abc import Mapping

    from litestar import WebSocket

    from app.lib.identity import CurrentUser
    from app.services import Services
    from app.web.fragments import Fragments

ENDINGS = ("execution.stopped", "execution.cancelled", "execution.deleted")


class LivePage(Protocol):
    """One page's live behaviour. Instances are per socket; what they render is cached per event
    (``PreparedEvent.rendered``), so N sockets showing the same view render it once."""

    ticks_tiles: ClassVar[bool]  # the status tiles' once-a-second refresh (app/web/tiles.py) serves it

    @classmethod
    def wants(cls, query: Mapping[str, str]) -> bool:
        """Whether the socket's query (``?page=``, ``?execution=``...) asks for this page."""
        ...

    @classmethod
    async def open(cls, socket: WebSocket[Any, Any, Any], services: Services, user: CurrentUser) -> LivePage:
        """The page's state for one socket, from its query and the user's memberships."""
        ...

    @property
    def workspace_ids(self) -> list[int]:
        """The workspaces the page shows (the host watches them, plus the badge's)."""
        ...

    def matches(self, event: PreparedEvent) -> bool:
        """Whether the event may change what the page shows (cheap: no rendering)."""
        ...

    def on_event(self, event: PreparedEvent, fragments: Fragments, update: PageUpdate) -> None:
        """Fold what a matching event means for the page into ``update`` (the host composes frames)."""
        ...

    def resync(self, fragments: Fragments) -> str:
        """The fragment that makes the page reload what it shows (after a gap too large to replay)."""
        ...


@dataclass(eq=False)
class PageState:
    """The host's state of one page socket: its page, and what every page carries."""

    page: LivePage
    uuid_of: dict[int, str]  # the page's workspaces: id -> uuid (the cursor's keys)
    approve_ids: frozenset[int] = frozenset()  # workspaces where the user approves: the nav badge
    badge_only: frozenset[int] = frozenset()  # of those, the ones watched for the badge alone


def touches_approvals(message: EventMessage) -> bool:
    """Events that may change which reviews are pending: every ``approval.*``, and an execution that
    has approvals being stopped, cancelled, deleted or finished (its pending ones get cancelled)."""
    kind = message.type
    if kind.startswith("approval."):
        return True
    execution = message.execution
    if execution.workflow_approvals_count == 0:  # unknown (UNSET, an older payload) may have some
        return False
    if kind == "execution.restored":  # its pending reviews come back with it
        return True
    return kind in ENDINGS or (kind == "execution.status_changed" and execution.status in TERMINAL)
