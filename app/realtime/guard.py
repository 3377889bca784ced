"""Who may keep a WebSocket open: a per-user connection cap, and a periodic re-check of credentials.

A socket authenticates once, at its handshake; a token revoked, a session signed out or expired,
a user deactivated or a membership removed afterwards must not leave it streaming. Every
``WS_AUTH_RECHECK_SECONDS`` (2 s by default) the guard checks, in one query per kind for all of this
instance's sockets, that each socket's token is still valid and its user still belongs to every
workspace it listens to. A socket that fails is silenced at once (its queue stops taking events)
and closed: 4401 when its credentials are gone, and for a lost membership 4403 on the API socket
or 1012 on a page (htmx reconnects, and the new handshake derives the workspaces afresh).

The connection cap is per instance: a global count would need bookkeeping in Redis that leaks
when an instance dies with sockets open. With N instances a user holds at most N times the cap.
A socket over the cap is refused at its handshake, before accept: HTTP 429 with ``Retry-After``
(``refuse_over_cap``), so a client never sees an open socket that is then closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select

from app.config import Settings
from app.db.engine import Database
from app.db.models import ApiToken, Membership, User, Workspace
from app.db.models.base import utcnow
from app.lib.failure_log import FailureLog
from app.realtime.hub import Subscriber

logger = logging.getLogger("athena.realtime.guard")

CLOSE_REVOKED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_RECONNECT = 1012  # "service restart": htmx's ws extension reconnects after it
CHUNK = 500
OVER_CAP_RETRY_AFTER = 5  # seconds: long enough for a page to release a socket it is replacing


async def refuse_over_cap(socket: Any) -> None:
    """Deny a handshake over the user's cap with HTTP 429 and ``Retry-After`` (the ASGI WebSocket
    denial response); a server without that extension closes it before accept (HTTP 403)."""
    if "websocket.http.response" not in socket.scope.get("extensions", {}):
        await socket.close(code=1008, reason="too many open connections for this user")
        return
    body = b'{"message": "Too many open connections for this user. Close one, then retry."}'
    await socket.send(
        {
            "type": "websocket.http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(OVER_CAP_RETRY_AFTER).encode()),
            ],
        }
    )
    await socket.send({"type": "websocket.http.response.body", "body": body})


@dataclass(eq=False)
class Tracked:
    sub: Subscriber
    token_id: int | None
    on_membership_lost: int
    closing: asyncio.Future[tuple[int, str]] = field(init=False)

    def __post_init__(self) -> None:
        self.closing = asyncio.get_running_loop().create_future()

    def close(self, code: int, reason: str) -> None:
        if self.closing.done():
            return
        # Silence first: nothing more reaches this socket even before its task wakes up.
        self.sub.silence()
        self.closing.set_result((code, reason))


class SocketGuard:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.max_per_user = settings.ws_max_connections_per_user
        self.max_message_bytes = settings.ws_max_message_bytes
        self.interval = settings.ws_auth_recheck_seconds
        self.tracked: set[Tracked] = set()
        self.per_user: Counter[int] = Counter()
        self.refused = 0
        self.closed_by_recheck = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None and self.interval > 0:
            self._task = asyncio.create_task(self._loop(), name="athena-socket-guard")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def over_cap(self, user_id: int) -> bool:
        """True when the user already holds the maximum of open sockets here (checked at the
        handshake; ``admit`` counts again after accept, so a race can still close one with 1008)."""
        if self.max_per_user > 0 and self.per_user[user_id] >= self.max_per_user:
            self.refused += 1
            return True
        return False

    def admit(self, sub: Subscriber, token_id: int | None, *, on_membership_lost: int) -> Tracked | None:
        """Count the socket against its user's cap; None when the user already has the maximum open."""
        if self.max_per_user > 0 and self.per_user[sub.user_id] >= self.max_per_user:
            self.refused += 1
            return None
        self.per_user[sub.user_id] += 1
        tracked = Tracked(sub, token_id, on_membership_lost)
        self.tracked.add(tracked)
        return tracked

    def release(self, tracked: Tracked) -> None:
        if tracked in self.tracked:
            self.tracked.discard(tracked)
            self.per_user[tracked.sub.user_id] -= 1
            if self.per_user[tracked.sub.user_id] <= 0:
                del self.per_user[tracked.sub.user_id]

    async def _loop(self) -> None:
        failures = FailureLog(logger, "socket credential re-check")  # a database outage: one line, not one per pass
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.recheck()
            except Exception as exc:
                failures.failed(exc)
            else:
                failures.succeeded()

    async def recheck(self) -> int:
        """One pass over every open socket; returns how many were closed."""
        current = [t for t in self.tracked if not t.closing.done()]
        if not current:
            return 0
        token_ids = sorted({t.token_id for t in current if t.token_id is not None})
        user_ids = sorted({t.sub.user_id for t in current})
        valid_tokens: set[int] = set()
        members: dict[int, set[int]] = {}
        now = utcnow()
        async with self.db.read() as session:
            for i in range(0, len(token_ids), CHUNK):
                token_rows = await session.execute(
                    select(ApiToken.id)
                    .join(User, User.id == ApiToken.user_id)
                    .where(
                        ApiToken.id.in_(token_ids[i : i + CHUNK]),
                        ApiToken.revoked_at.is_(None),
                        or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
                        User.is_active.is_(True),
                    )
                )
                valid_tokens.update(token_rows.scalars())
            for i in range(0, len(user_ids), CHUNK):
                member_rows = await session.execute(
                    select(Membership.user_id, Membership.workspace_id)
                    .join(Workspace, Workspace.id == Membership.workspace_id)
                    .where(Membership.user_id.in_(user_ids[i : i + CHUNK]), Workspace.deleted_at.is_(None))
                )
                for user_id, workspace_id in member_rows:
                    members.setdefault(user_id, set()).add(workspace_id)
        closed = 0
        for t in current:
            if t.token_id is not None and t.token_id not in valid_tokens:
                t.close(CLOSE_REVOKED, "credentials revoked or expired")
            elif not t.sub.workspace_ids <= members.get(t.sub.user_id, set()):
                t.close(t.on_membership_lost, "workspace membership changed")
            else:
                continue
            closed += 1
        self.closed_by_recheck += closed
        return closed
