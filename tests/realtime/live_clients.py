"""Clients for the fault tests and bench scripts: an API-socket follower that keeps a local copy of
the workspace and reconnects with ``since`` like a real program, and a raw socket that stops reading."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import random
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets

from tests.servers import AppServer


@dataclass
class Follower:
    """Applies each event to ``state`` (execution uuid -> (status, version)) and checks, as it goes,
    that seqs arrive once and in order and that no version ever goes backwards."""

    ws_url: str
    workspace_uuid: str
    headers: dict[str, str]
    last_seq: int = 0
    state: dict[str, tuple[str, int]] = field(default_factory=dict)
    seqs: list[int] = field(default_factory=list)
    stale: int = 0  # an event older than what was applied: must stay 0
    out_of_order: int = 0  # a seq that is not last+1: must stay 0
    resyncs: int = 0
    reconnects: int = 0
    closes: list[int] = field(default_factory=list)
    catch_up_times: list[float] = field(default_factory=list)  # reconnect -> caught up with the database
    connect_times: list[float] = field(default_factory=list)  # of which: the handshake (open)
    sock: Any = None
    stopped: bool = False  # set by stop(): a background read_until returns at its next slice

    def stop(self) -> None:
        self.stopped = True

    async def connect(self, since: int | None = None) -> None:
        url = f"{self.ws_url}/api/v1/ws?workspace_uuid={self.workspace_uuid}"
        since = self.last_seq if since is None else since
        self.sock = await websockets.connect(f"{url}&since={since}", additional_headers=self.headers, open_timeout=30)

    def apply(self, message: dict[str, Any]) -> None:
        if message.get("type") == "resync":
            self.resyncs += 1
            self.last_seq = int(message["seq"])
            self.state.clear()  # a real client re-fetches over REST; the test compares after
            return
        seq = int(message["seq"])
        if seq != self.last_seq + 1:
            self.out_of_order += 1
        self.last_seq = max(self.last_seq, seq)
        self.seqs.append(seq)
        uuid, version = message["execution_uuid"], int(message["version"])
        known = self.state.get(uuid)
        if known is not None and version <= known[1]:
            self.stale += 1
            return
        self.state[uuid] = (message["status"], version)

    async def read_until(self, seq: int, within: float = 30) -> None:
        """Read (reconnecting after a server close, as a program should) until ``seq`` is reached, or
        until ``stop()``. Waits in slices of at most a second: on Python 3.11 ``wait_for`` can swallow
        a cancellation that lands as a frame arrives, and a reader told to stop must not then wait
        out ``within`` (an hour for the fault tests' background readers: the suite hung on it)."""
        deadline = time.monotonic() + within
        while self.last_seq < seq and not self.stopped:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"stuck at seq {self.last_seq}, expected {seq}")
            try:
                self.apply(json.loads(await asyncio.wait_for(self.sock.recv(), min(remaining, 1.0))))
            except TimeoutError:
                continue
            except websockets.ConnectionClosed as closed:
                self.closes.append(closed.rcvd.code if closed.rcvd else 1006)
                self.reconnects += 1
                await self.connect()

    async def close(self) -> None:
        if self.sock is not None:
            await self.sock.close()


async def database_seq(base_url: str, headers: dict[str, str], workspace_uuid: str) -> int:
    """The workspace's latest seq, as a client learns it: the newest event replayed from seq 0 would be
    too long; the list endpoint's page cursor is for pages, so ask the socket with a future cursor."""
    ws_url = base_url.replace("http://", "ws://")
    url = f"{ws_url}/api/v1/ws?workspace_uuid={workspace_uuid}&since=999999999"
    async with websockets.connect(url, additional_headers=headers, open_timeout=30) as sock:
        frame = json.loads(await asyncio.wait_for(sock.recv(), 30))
    assert frame["type"] == "resync", frame
    return int(frame["seq"])


async def database_state(base_url: str, headers: dict[str, str], workspace_uuid: str) -> dict[str, tuple[str, int]]:
    state: dict[str, tuple[str, int]] = {}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as c:
        page = 1
        while True:
            r = await c.get(
                "/api/v1/workflow-executions", params={"workspace_uuid": workspace_uuid, "per_page": 100, "page": page}
            )
            assert r.status_code == 200, r.text
            body = r.json()
            for e in body["data"]:
                state[e["uuid"]] = (e["status"], e["version"])
            if len(body["data"]) < 100:
                return state
            page += 1


class DeafSocket:
    """A WebSocket client that completes the handshake and then stops reading, with a tiny receive
    buffer: the server's sends back up at once, as with a stalled browser tab on a bad link."""

    def __init__(self, port: int, path: str, headers: dict[str, str]) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket", "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]  # fmt: skip
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(1)
        assert self.buffer.startswith(b"HTTP/1.1 101"), self.buffer
        self.buffer = b""

    def read_all(self, timeout: float = 30) -> tuple[list[dict[str, Any]], int | None]:
        """Start reading again: every text frame the server managed to send, then its close code."""
        self.sock.settimeout(timeout)
        messages: list[dict[str, Any]] = []
        while True:
            header = self._exactly(2)
            opcode, length = header[0] & 0x0F, header[1] & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._exactly(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._exactly(8))[0]
            payload = self._exactly(length)
            if opcode == 0x1:
                messages.append(json.loads(payload))
            elif opcode == 0x8:
                return messages, struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None

    def _exactly(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed without a close frame")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def close(self) -> None:
        self.sock.close()


async def get(url: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as c:
        return await c.get(url, **kwargs)


class Writer:
    """Writes through one instance and counts what committed (each write is one event in the workspace)."""

    def __init__(self, base_url: str, headers: dict[str, str], workflow_uuid: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30)
        self.workflow = workflow_uuid
        self.committed = 0
        self.errors: list[str] = []
        self.uuids: list[str] = []

    async def create(self, **body: Any) -> str:
        r = await self.http.post("/api/v1/workflow-executions", json={"workflow_uuid": self.workflow, **body})
        return self._count(r, 201)["uuid"] if r.status_code == 201 else ""

    async def patch(self, uuid: str, **body: Any) -> None:
        self._count(await self.http.patch(f"/api/v1/workflow-executions/{uuid}", json=body), 200)

    def _count(self, r: httpx.Response, expected: int) -> dict[str, Any]:
        if r.status_code != expected:
            self.errors.append(f"{r.status_code} {r.text[:200]}")
            return {}
        self.committed += 1
        return r.json()["data"]

    async def churn(self, events: int, executions: int = 10, concurrency: int = 4) -> None:
        """``events`` writes: creations first, then running_node updates spread over them."""
        self.uuids += [await self.create(status="running") for _ in range(executions)]
        rng = random.Random(7)

        async def lane(n: int) -> None:
            for _ in range(n):
                await self.patch(rng.choice(self.uuids), running_node=f"n{rng.randrange(10**6)}")

        rest = events - executions
        await asyncio.gather(*(lane(rest // concurrency + (i < rest % concurrency)) for i in range(concurrency)))

    async def aclose(self) -> None:
        await self.http.aclose()


async def until_ready_is(servers: tuple[AppServer, ...], status: int, within: float) -> list[float]:
    """Seconds until each server's /ready answers ``status`` (fails after ``within``)."""
    started = time.monotonic()
    pending = set(range(len(servers)))
    took = [0.0] * len(servers)
    async with httpx.AsyncClient(timeout=5) as c:
        while pending:
            assert time.monotonic() - started < within, f"/ready never answered {status}"
            for i in list(pending):
                with contextlib.suppress(httpx.HTTPError):
                    if (await c.get(f"{servers[i].base_url}/ready")).status_code == status:
                        took[i] = time.monotonic() - started
                        pending.discard(i)
            await asyncio.sleep(0.1)
    return took


async def cut_and_rejoin(f: Follower, writer: Writer, cuts: int, rng: random.Random, down: tuple[float, float]) -> None:
    """Follow; ``cuts`` times drop the connection for ``down`` seconds (uniform) and rejoin with ``since``."""
    for _ in range(cuts):
        deadline = time.monotonic() + rng.uniform(0.2, 1.0)
        while time.monotonic() < deadline:
            try:
                f.apply(json.loads(await asyncio.wait_for(f.sock.recv(), deadline - time.monotonic())))
            except TimeoutError:
                break
        await f.close()
        await asyncio.sleep(rng.uniform(*down))
        target, started = writer.committed, time.monotonic()
        await f.connect()
        f.connect_times.append(time.monotonic() - started)
        f.reconnects += 1
        await f.read_until(target)
        f.catch_up_times.append(time.monotonic() - started)


async def finish_cuts(following: list[asyncio.Task[Any]], followers: list[Follower], cuts: int, poll: float) -> None:
    """Wait until every follower has caught up after ``cuts`` cuts (raising a client's own error at
    once), then stop the clients."""
    while min(len(f.catch_up_times) for f in followers) < cuts:
        for task in following:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        await asyncio.sleep(poll)
    for f in followers:
        f.stop()
    for task in following:
        task.cancel()
    await asyncio.gather(*following, return_exceptions=True)
    for f in followers:
        f.stopped = False  # they read again (to the final seq) after this
