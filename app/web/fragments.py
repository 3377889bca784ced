"""HTML fragments pushed over the page socket. Each event's fragments are rendered once per instance
(cached on the PreparedEvent) and shared by every socket that needs them."""

from __future__ import annotations

import datetime as dt
import functools
import html
from typing import TYPE_CHECKING, Any

from jinja2 import Environment
from markupsafe import escape

from app.domain.executions.summary import ExecutionSummary
from app.realtime.prepared import PreparedEvent
from app.realtime.presence import PresenceNote
from app.web.rowstamp import stamp_row

if TYPE_CHECKING:  # the view is a page's; fragments are shared by every page
    from app.web.pages.executions.view import ExecutionView


class Fragments:
    def __init__(self, env: Environment) -> None:
        self.env = env

    def _row_html(
        self, execution: ExecutionSummary, oob: str | None, columns: list[str] | None = None, leaving: str | None = None
    ) -> str:
        template = self.env.get_template("executions/_row.html")
        now = dt.datetime.now(dt.UTC)
        return stamp_row(template.render(row=execution, now=now, oob=oob, columns=columns, leaving=leaving))

    def row_now(self, execution: ExecutionSummary, columns: list[str], leaving: str | None = None) -> str:
        """An execution's row as a frame would carry it (same HTML, same ``data-h``), for an answer
        that shows an action's outcome without waiting for the socket."""
        return self._row_html(execution, "true", columns, leaving)

    # Rows are rendered once per event per distinct column set (the columns are an input, so they
    # are in the cache key: app/realtime/prepared.py).
    def row(self, item: PreparedEvent, columns: list[str] | None = None) -> str:
        return item.rendered(self._render_row, tuple(columns or ()))

    def inserted_row(self, item: PreparedEvent, columns: list[str] | None = None) -> str:
        """A new row, without oob marker: it travels inside the flush's ``afterbegin`` <tbody>."""
        return item.rendered(self._render_insert, tuple(columns or ()))

    def leaving_row(self, item: PreparedEvent, columns: list[str] | None = None) -> str:
        """A row that left the page's view (no longer matches its filters, or deleted), as it is now and
        marked ``data-leaving``: the page removes it at once, or shows it so while its table is held."""
        deleted = item.message.type == "execution.deleted" or bool(item.message.execution.deleted_at)
        reason = "deleted" if deleted else "no longer in this view"
        return item.rendered(self._render_leaving, tuple(columns or ()), reason)

    def removal(self, item: PreparedEvent) -> str:
        return item.rendered(_render_remove)

    def removal_of(self, item: PreparedEvent, execution_uuid: str) -> str:
        """A retried attempt leaves a folded list when its retry arrives (the chain's row moves on)."""
        return item.rendered(_render_remove_retried, execution_uuid)

    def cursor(self, item: PreparedEvent) -> str:
        return item.rendered(_render_cursor)

    # What each event renders, from the event and the inputs its cache key holds.
    def _render_row(self, item: PreparedEvent, columns: tuple[str, ...]) -> str:
        return self._row_html(item.message.execution, "true", list(columns))

    def _render_insert(self, item: PreparedEvent, columns: tuple[str, ...]) -> str:
        return self._row_html(item.message.execution, None, list(columns))

    def _render_leaving(self, item: PreparedEvent, columns: tuple[str, ...], reason: str) -> str:
        return self._row_html(item.message.execution, "true", list(columns), leaving=reason)

    @staticmethod
    def cursor_at(workspace_uuid: str, seq: int) -> str:
        """The page's position in a workspace's event stream, sent back on its next reconnect."""
        return (
            f'<i id="seq-{escape(workspace_uuid)}" class="live-seq" data-workspace="{escape(workspace_uuid)}" '
            f'data-seq="{int(seq)}" hx-swap-oob="true" hidden></i>'
        )

    def new_banner(self, view: ExecutionView, count: int) -> str:
        return self.env.get_template("executions/_new_banner.html").render(view=view, count=count, oob=True)

    def tiles(self, view: ExecutionView, tiles: dict[str, Any]) -> str:
        return self.env.get_template("executions/_tiles.html").render(view=view, tiles=tiles, oob=True)

    def resync(self, view: ExecutionView, detail_uuid: str | None) -> str:
        if detail_uuid:
            return self.detail_refresh(detail_uuid)
        return (
            f'<div id="resync-trigger" hx-swap-oob="true" hx-get="/executions?{escape(view.query(page=view.page))}" '
            'hx-trigger="load" hx-target="#results" hx-swap="outerHTML"></div>' + self.connection("resynced")
        )

    def detail_refresh(self, execution_uuid: str) -> str:
        return (
            f'<div id="detail-refresh" hx-swap-oob="true" hx-get="/executions/{escape(execution_uuid)}" '
            'hx-trigger="load" hx-target="#detail-body" hx-swap="outerHTML"></div>'
        )

    def command_room_refresh(self, query: str) -> str:
        url = f"/command-room?{query}" if query else "/command-room"
        return (
            f'<div id="command-room-refresh" hx-swap-oob="true" hx-get="{escape(url)}" '
            'hx-trigger="load" hx-target="#command-room-list" hx-swap="outerHTML"></div>'
        )

    def approvals_badge(self, item: PreparedEvent) -> str:
        """Makes the nav badge fetch my pending count again (the count is per user, the trigger is not)."""
        return item.rendered(_render_approvals_badge)

    @staticmethod
    def badge_refresh() -> str:
        return (
            '<span id="approvals-badge-refresh" hx-get="/approvals/badge" hx-trigger="load" '
            'hx-target="#approvals-badge" hx-swap="outerHTML" hx-swap-oob="true" hidden></span>'
        )

    def approvals_refresh(self, query: str) -> str:
        url = f"/approvals?{query}" if query else "/approvals"
        return (
            f'<div id="approvals-refresh" hx-swap-oob="true" hx-get="{escape(url)}" '
            'hx-trigger="load" hx-target="#approvals-list" hx-swap="outerHTML"></div>'
        )

    @staticmethod
    @functools.lru_cache(maxsize=1024)
    def presence(note: PresenceNote) -> str:
        """Who is reviewing or stopping what: one ``presence-msg`` per target (static/app.js applies it)."""
        return "".join(
            f'<div id="presence-feed" hx-swap-oob="beforeend">'
            f'<i class="presence-msg" data-target="{html.escape(kind)}" '
            f'data-uuid="{html.escape(uuid)}" data-text="{html.escape(text)}"></i></div>'
            for kind, uuid, text in note.targets
        )

    @staticmethod
    def connection(state: str) -> str:
        return f'<span id="conn-server-state" data-state="{escape(state)}" hx-swap-oob="true" hidden></span>'


def _render_remove(item: PreparedEvent) -> str:
    return _delete_row(item.message.execution.uuid)


def _render_remove_retried(item: PreparedEvent, execution_uuid: str) -> str:
    return _delete_row(execution_uuid)


def _delete_row(execution_uuid: str) -> str:
    return f'<tr id="row-{escape(execution_uuid)}" hx-swap-oob="delete"></tr>'


def _render_cursor(item: PreparedEvent) -> str:
    return Fragments.cursor_at(item.message.workspace_uuid, item.message.seq)


def _render_approvals_badge(item: PreparedEvent) -> str:
    return Fragments.badge_refresh()
