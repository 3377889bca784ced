"""Browser sessions resolved in the last few seconds, so a page does not look its cookie up each time.

Every page (and page socket handshake) starts with the session lookup: one statement, but through
SQLAlchemy about a fifth of a cached list page's CPU. A session resolved less than ``max_age``
seconds ago is reused as it was. The bound is the one open WebSockets already live with
(``WS_AUTH_RECHECK_SECONDS``): a session revoked, a user deactivated or a membership removed by
another process (the CLI, another instance) stops working within it; this process's own account
writes forget every entry at once.
"""

from __future__ import annotations

import time

from app.lib.identity import CurrentUser

MAX_ENTRIES = 10_000


class RecentSessions:
    def __init__(self, max_age: float) -> None:
        self.max_age = max_age
        self._entries: dict[str, tuple[float, CurrentUser]] = {}

    def get(self, token: str) -> CurrentUser | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        if time.monotonic() - entry[0] > self.max_age:
            del self._entries[token]
            return None
        return entry[1]

    def put(self, token: str, user: CurrentUser) -> None:
        if self.max_age <= 0:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()  # bounded memory; the next requests simply look their sessions up
        self._entries[token] = (time.monotonic(), user)

    def forget_all(self) -> None:
        self._entries.clear()
