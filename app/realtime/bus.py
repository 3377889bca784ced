"""Event buses: how an instance hears about events committed by any instance.

We do not use Litestar's Channels plugin here: its Redis workers die silently on a connection error
(browser sockets then stay open and receive nothing), its pub/sub backend keeps no history, and its
publish queue is unbounded. What we need is small: one supervised pattern subscription per instance
with heartbeat and reconnect, a bounded publish queue, and a callback when the link comes back so
the hub can catch up from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid as uuid_lib
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.domain.events.message import EventMessage, decode
from app.realtime.messages import CHANNEL_PATTERN, channel_for

# Several times faster than json.dumps for a cascade's 500-event envelopes (equivalent JSON: compact, UTF-8).
_encode = msgspec.json.Encoder().encode

logger = logging.getLogger("athena.realtime.bus")

MessageHandler = Callable[[int, list[EventMessage]], Awaitable[None]]
BATCH_ENVELOPE_EVENTS = 500  # events per Redis message at most (a 1,001-event cascade: 3 messages)
LinkHandler = Callable[[bool], Awaitable[None]]
# A side channel's handler (presence): ephemeral messages of other instances, never events.
ChannelHandler = Callable[[bytes | str], None]


class MemoryBus:
    """Embedded default: one process, so publishing is dispatching."""

    name = "memory"

    def __init__(self) -> None:
        self.connected = True
        self.published = 0

    async def start(self, on_message: MessageHandler, on_link: LinkHandler) -> None:
        return None

    def listen(self, channel: str, handler: ChannelHandler) -> None:
        """No other instance to hear from."""

    def publish_side(self, channel: str, text: str) -> None:
        """No other instance to tell."""

    def publish(self, workspace_id: int, message: EventMessage) -> None:
        self.published += 1

    def publish_many(self, workspace_id: int, messages: list[EventMessage]) -> None:
        self.published += len(messages)

    async def stop(self) -> None:
        return None

    def status(self) -> dict[str, Any]:
        return {"backend": self.name, "connected": True}


class RedisBus:
    """Redis pub/sub: one channel per workspace (``athena:workspace:<uuid>``), one PSUBSCRIBE per instance."""

    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        heartbeat: float = 1.0,
        dead_after: float = 3.0,
        max_backoff: float = 5.0,
        publish_queue: int = 10_000,
    ) -> None:
        self.url = url
        self.instance_id = uuid_lib.uuid4().hex
        self.heartbeat = heartbeat
        self.dead_after = dead_after
        self.max_backoff = max_backoff
        self.connected = False
        self._was_connected = False
        self.reconnects = 0
        self.published = 0
        self.publish_dropped = 0
        self._queue: asyncio.Queue[tuple[str, str, int]] = asyncio.Queue(publish_queue)
        self._tasks: list[asyncio.Task[None]] = []
        self._on_message: MessageHandler | None = None
        self._on_link: LinkHandler | None = None
        self._side: dict[str, ChannelHandler] = {}

    async def start(self, on_message: MessageHandler, on_link: LinkHandler) -> None:
        self._on_message, self._on_link = on_message, on_link
        self._tasks = [
            asyncio.create_task(self._subscribe_forever(), name="athena-redis-subscriber"),
            asyncio.create_task(self._publish_forever(), name="athena-redis-publisher"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    def status(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "connected": self.connected,
            "reconnects": self.reconnects,
            "publish_queue": self._queue.qsize(),
            "publish_dropped": self.publish_dropped,
        }

    def listen(self, channel: str, handler: ChannelHandler) -> None:
        """Hear a side channel (say presence) on the events' subscription: same connection, heartbeat
        and reconnect. Messages published here are at-most-once and never replayed."""
        self._side[channel] = handler

    def publish_side(self, channel: str, text: str) -> None:
        """Best effort, through the events' bounded publish queue (never blocks, never raises)."""
        self._enqueue((channel, text, 0))

    # ------------------------------------------------------------------ publish
    def publish(self, workspace_id: int, message: EventMessage) -> None:
        """Never blocks and never raises: a full queue drops its oldest entry (clients catch up by replay)."""
        envelope = _encode({"origin": self.instance_id, "workspace_id": workspace_id, "event": message}).decode()
        self._enqueue((channel_for(message.workspace_uuid), envelope, 1))

    def publish_many(self, workspace_id: int, messages: list[EventMessage]) -> None:
        """One transaction's events of a workspace as one Redis message (``"events": [...]``), so
        other instances hand them to their sockets as one batch too."""
        if len(messages) == 1:
            self.publish(workspace_id, messages[0])
            return
        for start in range(0, len(messages), BATCH_ENVELOPE_EVENTS):
            chunk = messages[start : start + BATCH_ENVELOPE_EVENTS]
            envelope = _encode({"origin": self.instance_id, "workspace_id": workspace_id, "events": chunk}).decode()
            self._enqueue((channel_for(chunk[0].workspace_uuid), envelope, len(chunk)))

    def _enqueue(self, item: tuple[str, str, int]) -> None:
        if self._queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.publish_dropped += self._queue.get_nowait()[2]
        self._queue.put_nowait(item)

    async def _publish_forever(self) -> None:
        client: Redis | None = None
        backoff = 0.1
        while True:
            item = await self._queue.get()
            batch = [item]
            while not self._queue.empty() and len(batch) < 500:
                batch.append(self._queue.get_nowait())
            try:
                if client is None:
                    client = Redis.from_url(self.url, socket_connect_timeout=2, socket_timeout=2)
                async with client.pipeline(transaction=False) as pipe:
                    for channel, envelope, _ in batch:
                        pipe.publish(channel, envelope)
                    await pipe.execute()
                self.published += sum(n for _, _, n in batch)
                backoff = 0.1
            except (RedisError, OSError) as exc:
                # The change is committed; subscribers find the gap and replay it from the database.
                dropped = sum(n for _, _, n in batch)
                self.publish_dropped += dropped
                logger.warning("redis publish failed (%s); %d event(s) left to database replay", exc, dropped)
                if client is not None:
                    with contextlib.suppress(Exception):
                        await client.aclose()
                client = None
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)

    # ---------------------------------------------------------------- subscribe
    async def _subscribe_forever(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self._subscribe_once()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, TimeoutError) as exc:
                logger.warning("redis subscription lost or refused (%s); retrying", exc)
            except Exception:
                logger.exception("redis subscriber crashed; restarting")
            if self.connected:
                # It was up: start the retry ladder again from the bottom.
                self.connected = False
                backoff = 0.1
                await self._notify_link(False)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)

    async def _subscribe_once(self) -> None:
        client = Redis.from_url(self.url, socket_connect_timeout=2, socket_keepalive=True)
        pubsub = client.pubsub()
        try:
            await pubsub.psubscribe(CHANNEL_PATTERN)
            if self._was_connected:
                self.reconnects += 1
            self._was_connected = self.connected = True
            logger.info("redis subscription up (%s)", CHANNEL_PATTERN)
            await self._notify_link(True)
            last_seen = time.monotonic()
            last_ping = 0.0
            heard: set[str] = set()
            while True:
                if len(heard) != len(self._side):  # a side channel added since (subscribe it now)
                    await pubsub.subscribe(*(set(self._side) - heard))
                    heard = set(self._side)
                now = time.monotonic()
                if now - last_ping >= self.heartbeat:
                    # redis-py may never raise on a dead or paused server: prove liveness ourselves.
                    await asyncio.wait_for(pubsub.ping("athena-heartbeat"), timeout=self.dead_after)
                    last_ping = now
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=min(self.heartbeat, 0.5))
                if message is not None:
                    last_seen = time.monotonic()
                    if message["type"] == "pmessage":
                        await self._handle(message["data"])
                    elif message["type"] == "message":
                        self._handle_side(message["channel"], message["data"])
                elif time.monotonic() - last_seen > self.dead_after:
                    raise TimeoutError(f"no reply from redis for {self.dead_after:.0f}s")
        finally:
            with contextlib.suppress(Exception):
                # redis-py leaves PubSub.aclose unannotated (Redis.aclose is typed).
                await asyncio.wait_for(pubsub.aclose(), timeout=1)  # type: ignore[no-untyped-call]
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.aclose(), timeout=1)

    async def _handle(self, raw: bytes | str) -> None:
        try:
            envelope = json.loads(raw)
        except ValueError:
            logger.warning("ignoring a malformed message on %s", CHANNEL_PATTERN)
            return
        if envelope.get("origin") == self.instance_id or self._on_message is None:
            return  # our own events were dispatched locally at publish time
        try:
            # "events": a transaction's batch; "event": one event (and what older instances send).
            events = envelope["events"] if "events" in envelope else [envelope["event"]]
            await self._on_message(int(envelope["workspace_id"]), [decode(e) for e in events])
        except Exception:
            logger.exception("dispatching a redis message failed")

    def _handle_side(self, channel: bytes | str, data: bytes | str) -> None:
        name = channel.decode() if isinstance(channel, bytes) else channel
        handler = self._side.get(name)
        if handler is None:
            return
        try:
            handler(data)
        except Exception:
            logger.exception("side channel %s: handler failed", name)

    async def _notify_link(self, up: bool) -> None:
        if self._on_link is not None:
            try:
                await self._on_link(up)
            except Exception:
                logger.exception("link callback failed")
