"""Learning what happens to executions an engine runs: stops and review decisions.

One ``Watcher`` per client follows ``/api/v1/ws`` for the workspaces of the executions it watches
(one socket for all of them: the server caps sockets per user). It starts each workspace from its
``event_seq`` and reconnects with ``since=<workspace>:<last seq>``, so no event is missed across a
dropped connection or a server restart; after every (re)connect and a resync frame it also reads the
watched executions and awaited approvals over REST. While the socket is down it polls REST every
``poll_interval`` seconds, so a stop or a decision is still noticed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from athena_client import _calls as calls
from athena_client._http import NO_RETRIES, RetryPolicy, asend
from athena_client.errors import AthenaError, NotFound

logger = logging.getLogger("athena_client.watch")

FINISHED = {"completed", "failed", "cancelled"}
STOPPED = {"cancelled", "deleted"}


class ExecutionWatch:
    """What the client knows of one execution: its latest status and the decisions of its reviews.
    Updated by the watcher (possibly from its own thread); listeners are called on every change."""

    def __init__(self, execution: dict[str, Any]) -> None:
        self.uuid: str = execution["uuid"]
        self.workspace_uuid: str = execution["workspace_uuid"]
        self.status: str = execution["status"]
        self.version: int = int(execution.get("version", 0))
        self.stopped_by: str | None = None  # how the stop was learned: "socket" or "rest"
        self.awaited: set[str] = set()  # approval uuids someone waits on
        self.decisions: dict[str, dict[str, Any]] = {}  # approval uuid -> approval (as the event had it)
        self.events: list[tuple[int, str]] = []  # (seq, type) of this execution's events from the socket
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    @property
    def stopped(self) -> bool:
        """Cancelled (an operator's stop, or its cascade) or deleted."""
        return self.status in STOPPED

    def listen(self, callback: Callable[[], None]) -> None:
        with self._lock:
            self._listeners.append(callback)

    def unlisten(self, callback: Callable[[], None]) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._listeners.remove(callback)

    def _notify(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for callback in listeners:
            callback()

    def apply_execution(self, execution: dict[str, Any], source: str) -> None:
        """A snapshot (from an event or a GET); older versions than the one held change nothing."""
        version = int(execution.get("version", 0))
        if version < self.version:
            return
        self.version, self.status = version, execution["status"]
        if self.stopped and self.stopped_by is None:
            self.stopped_by = source
        self._notify()

    def mark_deleted(self, source: str) -> None:
        self.status = "deleted"
        self.stopped_by = self.stopped_by or source
        self._notify()

    def apply_approval(self, approval: dict[str, Any]) -> None:
        if approval.get("status") not in (None, "pending") and approval["uuid"] not in self.decisions:
            self.decisions[approval["uuid"]] = approval
            self._notify()


class Watcher:
    """Feeds ``ExecutionWatch`` objects from the API socket, with REST checks and a polling fallback."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        ws_url: str,
        headers: dict[str, str],
        poll_interval: float = 0.5,
        policy: RetryPolicy | None = None,
        socket: bool = True,
    ) -> None:
        self.http, self.ws_url, self.headers, self.poll_interval = http, ws_url, headers, poll_interval
        self.use_socket = socket  # False: REST polling only (a proxy that does not pass WebSockets)
        self.policy = policy or RetryPolicy()
        self._reopen = False  # the socket was closed on purpose, to follow one more workspace
        self.watches: dict[str, ExecutionWatch] = {}
        self.cursors: dict[str, int] = {}  # workspace uuid -> last seq processed
        self.connected = False
        self.stats = {"connects": 0, "events": 0, "resyncs": 0, "rest_checks": 0}
        self._socket: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None

    async def add(self, watch: ExecutionWatch) -> None:
        """Watch ``watch``'s execution; a new workspace starts at its current ``event_seq`` (the
        state before it is read over REST once the socket follows it)."""
        self.watches[watch.uuid] = watch
        if watch.workspace_uuid not in self.cursors:
            workspace = await asend(
                self.http, calls.get_workspace(watch.workspace_uuid), self.policy, headers=self.headers
            )
            self.cursors[watch.workspace_uuid] = int(workspace["data"]["event_seq"])
            if self._socket is not None:  # follow the new workspace too: reconnect with every cursor
                self._reopen = True
                await self._socket.close()
        await self._check([watch])  # anything that happened before the cursor
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="athena-client-watcher")

    def remove(self, execution_uuid: str) -> None:
        self.watches.pop(execution_uuid, None)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _url(self) -> str:
        query = [("workspace_uuid", ws) for ws in self.cursors]
        query.append(("since", ",".join(f"{ws}:{seq}" for ws, seq in self.cursors.items())))
        return f"{self.ws_url}?{urlencode(query)}"

    async def _run(self) -> None:
        failures = 0
        while not self.use_socket:
            await self._poll_for(3600.0)
        while True:
            try:
                async with connect(
                    self._url(), additional_headers=self.headers, open_timeout=5, ping_interval=5, ping_timeout=5,
                    close_timeout=1, max_size=None,
                ) as socket:  # fmt: skip
                    self._socket, self.connected, failures = socket, True, 0
                    self.stats["connects"] += 1
                    await self._check(list(self.watches.values()))  # what happened while we were away
                    async for frame in socket:
                        await self._on_text(frame)
                if self._reopen:  # closed by ``add``: reconnect at once
                    self._reopen = False
                    continue
                logger.info("event socket closed by the server; reconnecting")
            except (OSError, TimeoutError, WebSocketException) as exc:
                logger.info("event socket down (%r); polling every %.1fs", exc, self.poll_interval)
            except Exception:  # never let the watcher die: stops and decisions depend on it
                logger.exception("event socket failed; polling every %.1fs", self.poll_interval)
            finally:
                self._socket, self.connected = None, False
            failures += 1
            await self._poll_for(min(5.0, 0.25 * 2**failures))

    async def _poll_for(self, seconds: float) -> None:
        """Until the next connection attempt, read the watched state over REST every poll interval."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            await self._check(list(self.watches.values()))
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            await asyncio.sleep(min(self.poll_interval, remaining))

    async def _on_text(self, frame: str | bytes) -> None:
        try:
            message = json.loads(frame)
            await self._on_frame(message)
        except (ValueError, KeyError, TypeError, AttributeError):
            logger.warning("skipped a frame the client does not understand: %.200r", frame)

    async def _on_frame(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "batch":
            for event in message.get("events", []):
                await self._on_frame(event)
            return
        workspace = message.get("workspace_uuid")
        if kind == "resync":  # events were skipped: re-read, carry on after its seq
            self.stats["resyncs"] += 1
            self.cursors[str(workspace)] = int(message["seq"])
            await self._check([w for w in self.watches.values() if w.workspace_uuid == workspace])
            return
        self.stats["events"] += 1
        if workspace in self.cursors:
            self.cursors[workspace] = max(self.cursors[workspace], int(message["seq"]))
        watch = self.watches.get(str(message.get("execution_uuid")))
        if watch is None:
            return
        watch.events.append((int(message["seq"]), str(kind)))
        if kind == "execution.deleted":
            watch.mark_deleted("socket")
            return
        snapshot = message.get("execution") or {}
        if "approval" in snapshot:
            watch.apply_approval(snapshot["approval"])
        if snapshot:
            watch.apply_execution(snapshot, "socket")

    async def _check(self, watches: list[ExecutionWatch]) -> None:
        """Read each execution (and each awaited, undecided approval) over REST, once, no retries."""
        for watch in watches:
            self.stats["rest_checks"] += 1
            try:
                watch.apply_execution(
                    (await asend(self.http, calls.get_execution(watch.uuid), NO_RETRIES, headers=self.headers))["data"],
                    "rest",
                )
                for approval_uuid in list(watch.awaited - set(watch.decisions)):
                    answer = await asend(self.http, calls.get_approval(approval_uuid), NO_RETRIES, headers=self.headers)
                    watch.apply_approval(answer["data"])
            except NotFound:
                watch.mark_deleted("rest")
            except AthenaError as exc:  # down, restarting, rate-limited: the next check will tell
                logger.debug("REST check of %s failed: %s", watch.uuid, exc)
            except (httpx.HTTPError, ValueError, KeyError) as exc:  # a proxy's error page, a timeout...
                logger.debug("REST check of %s failed: %r", watch.uuid, exc)


class ThreadedWatcher:
    """A ``Watcher`` for the blocking client: its own event loop in a daemon thread."""

    def __init__(
        self,
        base_url: str,
        ws_url: str,
        headers: dict[str, str],
        timeout: float,
        poll_interval: float,
        policy: RetryPolicy,
        socket: bool,
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="athena-client-watcher", daemon=True)
        self._thread.start()
        self._http = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout)
        self.watcher = Watcher(self._http, ws_url, headers, poll_interval, policy, socket)

    def add(self, watch: ExecutionWatch, timeout: float = 60.0) -> None:
        asyncio.run_coroutine_threadsafe(self.watcher.add(watch), self._loop).result(timeout)

    def remove(self, execution_uuid: str) -> None:
        self._loop.call_soon_threadsafe(self.watcher.remove, execution_uuid)

    def close(self) -> None:
        async def shutdown() -> None:
            await self.watcher.close()
            await self._http.aclose()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
