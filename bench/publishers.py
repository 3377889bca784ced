"""Processes that stand beside the server under test: the bare Redis subscriber (the floor) and the
fixed-rate event writer for the fan-out ramp (ours through Redis pub/sub, the peer through
python-socketio's ``AsyncRedisManager``)."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import json
import time
from collections import Counter
from multiprocessing.connection import Connection
from typing import Any

from bench.wsclient import BUCKET_MS


def floor_process(redis_url: str, conn: Connection) -> None:
    """A bare subscriber on every workspace channel: commit (``occurred_at``) → Redis → here."""
    asyncio.run(_floor(redis_url, conn))


async def _floor(redis_url: str, conn: Connection) -> None:
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_url)
    pubsub = client.pubsub()
    await pubsub.psubscribe("athena:workspace:*")
    hist: Counter[int] = Counter()
    conn.send("ready")
    while not conn.poll():
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
        if message is None or message["type"] != "pmessage":
            continue
        arrived = time.time()
        occurred = json.loads(message["data"])["event"]["occurred_at"]
        committed = dt.datetime.fromisoformat(occurred.replace("Z", "+00:00")).timestamp()
        hist[int((arrived - committed) * 1000 / BUCKET_MS)] += 1
    conn.recv()
    conn.send(hist)
    await pubsub.aclose()
    await client.aclose()


def writer_process(redis_url: str, mode: str, template: dict[str, Any], workspace_id: int, conn: Connection) -> None:
    """Publishes synthetic status changes of one execution at a fixed rate when told ``(rate, seconds)``."""
    asyncio.run(_writer(redis_url, mode, template, workspace_id, conn))


def _event(template: dict[str, Any], seq: int) -> dict[str, Any]:
    stamp = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    message = copy.copy(template)
    execution = dict(template["execution"], version=seq + 1, updated_at=stamp)
    message.update(seq=seq, version=seq + 1, occurred_at=stamp, execution=execution)
    return message


async def _writer(redis_url: str, mode: str, template: dict[str, Any], workspace_id: int, conn: Connection) -> None:
    import redis.asyncio as aioredis

    channel = f"athena:workspace:{template['workspace_uuid']}"
    client = aioredis.from_url(redis_url)
    manager: Any = None
    if mode == "socketio":
        import socketio

        manager = socketio.AsyncRedisManager(redis_url, write_only=True)
    seq = int(template["seq"])
    loop = asyncio.get_running_loop()
    conn.send("ready")
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command == "stop":
            conn.send(seq)  # the next writer goes on from here: a hub drops seqs it has seen
            break
        rate, seconds = command
        total = int(rate * seconds)
        started = time.monotonic()
        sent = 0
        while sent < total:
            due = min(total, int((time.monotonic() - started) * rate) + 1)
            batch = [_event(template, seq + i + 1) for i in range(due - sent)]
            seq += len(batch)
            sent += len(batch)
            if mode == "socketio":
                for message in batch:
                    await manager.emit("event", message, room=template["workspace_uuid"], namespace="/")
            else:
                async with client.pipeline(transaction=False) as pipe:
                    for message in batch:
                        envelope = {"origin": "bench", "workspace_id": workspace_id, "event": message}
                        pipe.publish(channel, json.dumps(envelope, separators=(",", ":")))
                    await pipe.execute()
            await asyncio.sleep(max(0.0, started + sent / rate - time.monotonic()))
        conn.send((sent, time.monotonic() - started))
    await client.aclose()
