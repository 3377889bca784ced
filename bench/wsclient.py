"""A lean WebSocket load generator: many client sockets per process, so the client is not the bottleneck.

Each socket is a bare asyncio ``Protocol`` that parses server frames by hand (no per-frame coroutine,
no JSON decoding): it stamps ``time.time()`` once per read, pulls the event's ``seq`` out of each
frame with a byte search, and looks up that seq's commit time (``occurred_at``, stamped on the
writing instance) in a per-process cache, so each frame costs a few microseconds.

``occurred_at`` is wall-clock time taken in another process on the same machine; the client's
arrival time is ``time.time()`` too, so both sides read the same clock.

Speaks three dialects: ``api`` (our JSON socket, one event per frame), ``page`` (our HTML socket;
the event's seq travels in the cursor fragment ``data-seq="N"``) and ``socketio`` (Engine.IO v4
over WebSocket: ``42["event",{...}]``, answers the server's ping ``2`` with ``3``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import os
import struct
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import urlsplit

BUCKET_MS = 0.1  # latency histogram resolution


@dataclass
class ClientSpec:
    url: str  # ws://host:port/path?query
    headers: dict[str, str]
    dialect: str  # api | page | socketio
    count: int


@dataclass
class Tally:
    """What one process saw, mergeable across processes."""

    frames: int = 0
    events: int = 0
    out_of_order: int = 0
    latency: Counter[int] = field(default_factory=Counter)  # bucket (0.1 ms) -> count
    per_socket: list[int] = field(default_factory=list)  # events received by each socket
    cpu_seconds: float = 0.0

    def merge(self, other: Tally) -> None:
        self.frames += other.frames
        self.events += other.events
        self.out_of_order += other.out_of_order
        self.latency.update(other.latency)
        self.per_socket.extend(other.per_socket)
        self.cpu_seconds += other.cpu_seconds


def percentile(hist: Counter[int], p: float) -> float:
    total = sum(hist.values())
    if not total:
        return float("nan")
    rank = p / 100 * (total - 1)
    seen = 0
    for bucket in sorted(hist):
        seen += hist[bucket]
        if seen > rank:
            return bucket * BUCKET_MS
    return max(hist) * BUCKET_MS


_occurred_cache: dict[int, float] = {}
TIME_KEY = b'<time datetime="'
OLD_TIME_KEY = b'<td title="'


def _parse_time(frame: bytes, i: int, key: bytes) -> float:
    start = i + len(key)
    raw = frame[start : frame.index(b'"', start)].decode()
    return dt.datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()


def _commit_time(frame: bytes, seq: int) -> float | None:
    cached = _occurred_cache.get(seq)
    if cached is not None:
        return cached
    i = frame.find(b'"occurred_at":')
    if i < 0:
        return None
    ts = _parse_time(frame, frame.index(b'"', i + 14), b'"')  # python-socketio adds a space after ':'
    if len(_occurred_cache) > 200_000:
        _occurred_cache.clear()
    _occurred_cache[seq] = ts
    return ts


class LeanSocket(asyncio.Protocol):
    def __init__(self, spec: ClientSpec, tally: Tally, opened: asyncio.Future[None]) -> None:
        self.spec = spec
        self.tally = tally
        self.opened = opened
        self.buf = bytearray()
        self.handshaken = False
        self.transport: asyncio.Transport | None = None
        self.last_seq = 0
        self.received = 0
        self.closed = False
        self.seq_key = b'data-seq="' if spec.dialect == "page" else b'"seq":'
        self.seq_end = b'"' if spec.dialect == "page" else b","
        self.row_time: float | None = None  # page dialect: the row frame's updated_at, before its cursor

    # -------------------------------------------------------------- handshake
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transport is not a subclass
        parts = urlsplit(self.spec.url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {parts.netloc}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{k}: {v}" for k, v in self.spec.headers.items()),
        ]
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"closed during handshake: {exc}"))

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.handshaken:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self.buf[: self.buf.find(b"\r\n")])
            if b" 101 " not in status:
                self.opened.set_exception(ConnectionError(status.decode(errors="replace")))
                assert self.transport is not None
                self.transport.close()
                return
            del self.buf[: end + 4]
            self.handshaken = True
            if self.spec.dialect != "socketio":
                self.opened.set_result(None)
        self._frames(time.time())

    # ----------------------------------------------------------------- frames
    def _frames(self, now: float) -> None:
        buf = self.buf
        pos = 0
        n = len(buf)
        while n - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length = b1 & 0x7F
            head = 2
            if length == 126:
                if n - pos < 4:
                    break
                length = struct.unpack_from("!H", buf, pos + 2)[0]
                head = 4
            elif length == 127:
                if n - pos < 10:
                    break
                length = struct.unpack_from("!Q", buf, pos + 2)[0]
                head = 10
            if n - pos < head + length:
                break
            payload = bytes(buf[pos + head : pos + head + length])
            pos += head + length
            self._frame(b0 & 0x0F, payload, now)
        if pos:
            del buf[:pos]

    def _frame(self, opcode: int, payload: bytes, now: float) -> None:
        if opcode == 0x9:  # ping
            self._send(0xA, payload)
            return
        if opcode == 0x8:
            self.closed = True
            return
        if opcode != 0x1:
            return
        self.tally.frames += 1
        if self.spec.dialect == "socketio":
            if payload[:1] == b"2":
                self._send(0x1, b"3")
                return
            if payload[:1] == b"0":
                self._send(0x1, b"40")
                return
            if payload[:2] == b"40":
                if not self.opened.done():
                    self.opened.set_result(None)
                return
        if self.spec.dialect == "page" and payload[:3] in (b"<tr", b"<tb"):
            # The row (its last time is updated_at, the commit time) comes before the cursor: in the
            # frame before it, or (a page flush) in the same frame. Rows carry it as <time datetime>
            # (builds before 2026-12 wrote <td title>: both are read, to compare builds).
            key = TIME_KEY if TIME_KEY in payload else OLD_TIME_KEY
            j = payload.rfind(key)
            self.row_time = _parse_time(payload, j, key) if j >= 0 else None
            if self.seq_key not in payload:
                return
        i = payload.find(self.seq_key)
        if i < 0:
            return
        start = i + len(self.seq_key)
        seq = int(payload[start : payload.index(self.seq_end, start)])
        if seq <= self.last_seq:
            self.tally.out_of_order += 1
            return
        if self.last_seq and seq != self.last_seq + 1:
            self.tally.out_of_order += 1
        self.last_seq = seq
        self.received += 1
        self.tally.events += 1
        committed = self.row_time if self.spec.dialect == "page" else _commit_time(payload, seq)
        self.row_time = None
        if committed is not None:
            self.tally.latency[int((now - committed) * 1000 / BUCKET_MS)] += 1

    def _send(self, opcode: int, payload: bytes) -> None:
        if self.transport is None or self.closed:
            return
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        header = bytes([0x80 | opcode, 0x80 | len(payload)]) if len(payload) < 126 else b""
        self.transport.write(header + mask + masked)


async def _open_all(spec: ClientSpec, tally: Tally) -> list[LeanSocket]:
    loop = asyncio.get_running_loop()
    parts = urlsplit(spec.url)
    sockets: list[LeanSocket] = []
    for start in range(0, spec.count, 50):  # in waves: do not flood the accept queue
        batch = []
        for _ in range(min(50, spec.count - start)):
            opened: asyncio.Future[None] = loop.create_future()
            _, proto = await loop.create_connection(
                lambda opened=opened: LeanSocket(spec, tally, opened), parts.hostname, parts.port
            )
            batch.append(proto)
        await asyncio.wait_for(asyncio.gather(*(p.opened for p in batch)), 60)
        sockets.extend(batch)
    return sockets


async def _serve(spec: ClientSpec, conn: Connection) -> None:
    tally = Tally()
    sockets = await _open_all(spec, tally)
    conn.send(("ready", len(sockets)))
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command == "reset":  # start a new measurement window
            tally.frames = tally.events = tally.out_of_order = 0
            tally.latency.clear()
            for s in sockets:
                s.received = 0
            conn.send("ok")
        elif command == "report":
            cpu = os.times()
            tally.per_socket = [s.received for s in sockets]
            tally.cpu_seconds = cpu.user + cpu.system
            conn.send(tally)
        elif command == "stop":
            for s in sockets:
                if s.transport is not None:
                    s.transport.close()
            conn.send("bye")
            return


def client_process(spec: ClientSpec, conn: Connection) -> None:
    """Entry point of one load-generator process (``multiprocessing.Process`` target)."""
    try:
        import uvloop

        uvloop.run(_serve(spec, conn))
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        asyncio.run(_serve(spec, conn))


class ClientFleet:
    """``processes`` load-generator processes sharing ``spec.count`` sockets between them."""

    def __init__(self, spec: ClientSpec, processes: int = 2) -> None:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        self.pipes: list[Connection] = []
        self.procs: list[Any] = []
        per = [spec.count // processes + (1 if i < spec.count % processes else 0) for i in range(processes)]
        for n in per:
            if not n:
                continue
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=client_process, args=(ClientSpec(spec.url, spec.headers, spec.dialect, n), child))
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)

    def wait_ready(self, timeout: float = 120) -> int:
        total = 0
        for pipe in self.pipes:
            if not pipe.poll(timeout):
                raise TimeoutError("client process did not open its sockets")
            message = pipe.recv()
            if isinstance(message, tuple) and message[0] == "ready":
                total += message[1]
        return total

    def _all(self, command: str) -> list[Any]:
        for pipe in self.pipes:
            pipe.send(command)
        return [pipe.recv() for pipe in self.pipes]

    def reset(self) -> None:
        self._all("reset")

    def report(self) -> Tally:
        merged = Tally()
        for tally in self._all("report"):
            merged.merge(tally)
        return merged

    def close(self) -> None:
        with contextlib.suppress(OSError, EOFError):
            self._all("stop")
        for proc in self.procs:
            proc.join(10)
            if proc.is_alive():
                proc.terminate()
