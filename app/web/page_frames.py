"""What a page receives for a set of events (one transaction's batch, one coalescing window, a
replay): the events are folded into a ``PageUpdate`` (a row changed several times keeps its latest
version, a part such as the cursor or the tiles keeps its latest HTML), then composed into as few
WebSocket frames as htmx's parser allows.

Why not always one frame: htmx (and its ws extension) parse a message inside a ``<template>``,
whose first element sets the parser's mode. Rows (``<tr>``) must come first; after them, plain
elements (the cursor, badge, banner, tiles) still land at the top level, but a ``<tbody>`` (the
insertion) would be dropped, and so would a ``<form>`` inside a later part. Hence: rows + parts in
one frame, inserted rows + parts in one frame, and a part holding a form or table in a frame of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.realtime.prepared import PreparedEvent
from app.realtime.wire import text_frame

if TYPE_CHECKING:
    from app.web.fragments import Fragments

ROWS_TARGET = "#execution-rows"
_FIRST_ID = re.compile(r'\bid="([^"]+)"')
_NOT_AFTER_ROWS = ("<form", "<table", "<tr", "<tbody")


@dataclass
class PageUpdate:
    """The table and page changes one flush sends to one page (plain data; fragments are cached per event)."""

    inserts: dict[str, PreparedEvent] = field(default_factory=dict)  # uuid -> latest event, in arrival order
    # uuid -> ("row"|"leave"|"remove", event), or ("html", ready removal) for a row folded into its retry
    rows: dict[str, tuple[str, PreparedEvent | str]] = field(default_factory=dict)
    # key -> HTML, or a function making it, called once when the flush is composed: a part that
    # changes with every event (the "N new" banner of a 1,000-event cascade) is rendered once.
    parts: dict[str, str | Callable[[], str]] = field(default_factory=dict)
    # The page's chosen columns: rows are rendered once per event per distinct column set.
    columns: list[str] | None = None

    def part(self, key: str, html: str | Callable[[], str]) -> None:
        if html:
            self.parts[key] = html

    def ready_fragment(self, html: str) -> None:
        """A fragment queued ready-made (tiles, connection state): the latest of each element wins."""
        found = _FIRST_ID.search(html)
        self.part(f"id:{found.group(1)}" if found else html, html)

    def insert(self, item: PreparedEvent) -> None:
        self.inserts[str(item.message.execution.uuid)] = item

    def update_row(self, item: PreparedEvent) -> None:
        uuid = str(item.message.execution.uuid)
        if uuid in self.inserts:
            self.inserts[uuid] = item  # inserted in this flush: insert its latest version instead
        else:
            self.rows[uuid] = ("row", item)

    def remove_row(self, item: PreparedEvent) -> None:
        uuid = str(item.message.execution.uuid)
        if self.inserts.pop(uuid, None) is None:  # the page never saw it: nothing to remove
            self.rows[uuid] = ("remove", item)

    def leave_row(self, item: PreparedEvent) -> None:
        """A row the page shows left its view: sent as it is now, marked leaving (the page removes it,
        or keeps it marked while its table is held), never silently left showing its old state."""
        uuid = str(item.message.execution.uuid)
        if self.inserts.pop(uuid, None) is None:  # the page never saw it: nothing to update
            self.rows[uuid] = ("leave", item)

    def remove_other(self, uuid: str, html: str) -> None:
        """Remove a row other than the event's own (a retry chain folds into its latest attempt)."""
        if self.inserts.pop(uuid, None) is None:
            self.rows[uuid] = ("html", html)

    def empty(self) -> bool:
        return not (self.inserts or self.rows or self.parts)


def compose(update: PageUpdate, fragments: Fragments) -> list[str]:
    """The frames for one flush, in the order they must be applied."""
    rows = "".join(_row_frame(kind, item, update.columns, fragments) for kind, item in update.rows.values())
    inserted = ""
    if update.inserts:
        # afterbegin keeps the given order at the top: newest first, as single inserts would leave them.
        newest_first = reversed(list(update.inserts.values()))
        inserted = (
            f'<tbody hx-swap-oob="afterbegin:{ROWS_TARGET}">'
            + "".join(fragments.inserted_row(item, update.columns) for item in newest_first)
            + "</tbody>"
        )
    parts = [p for p in (p if isinstance(p, str) else p() for p in update.parts.values()) if p]
    own_frames = [p for p in parts if any(tag in p for tag in _NOT_AFTER_ROWS)]
    after_rows = "".join(p for p in parts if p not in own_frames)
    frames: list[str] = []
    if rows and inserted:
        frames += [rows, inserted + after_rows]
    elif rows or inserted:
        frames.append(rows + inserted + after_rows)
    elif after_rows:
        frames.append(after_rows)
    return frames + own_frames


def _row_frame(kind: str, item: PreparedEvent | str, columns: list[str] | None, fragments: Fragments) -> str:
    if isinstance(item, str):  # ("html", a ready removal)
        return item
    if kind == "row":
        return fragments.row(item, columns)
    if kind == "leave":
        return fragments.leaving_row(item, columns)
    return fragments.removal(item)


def lone_row_frame(item: PreparedEvent, update: PageUpdate, fragments: Fragments) -> bytes | None:
    """The commonest flush, ``item`` alone changing a row the page shows (plus its cursor), as frame
    bytes: what ``compose`` makes of it is the same for every page showing the same columns, so it
    is encoded once per event (a quarter of a page socket's cost per frame was composing and
    encoding it again for each page). None for any other update. ``update`` must hold ``item`` alone:
    its cursor part is then ``item``'s cursor."""
    if update.inserts or len(update.rows) != 1 or len(update.parts) != 1:
        return None
    kind, row_item = next(iter(update.rows.values()))
    if kind != "row" or row_item is not item or f"cursor:{item.workspace_id}" not in update.parts:
        return None
    return item.rendered(_render_page_frame, fragments, tuple(update.columns or ()))


def _render_page_frame(item: PreparedEvent, fragments: Fragments, columns: tuple[str, ...]) -> bytes:
    return text_frame((fragments.row(item, list(columns)) + fragments.cursor(item)).encode())
