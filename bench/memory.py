"""Memory per idle WebSocket (issue 6, goal 3): RSS of one instance before and after 1,000 idle sockets.

    uv run python -m bench.memory [--sockets 1000] [--kinds api,page]

For each server set-up (uvicorn's WebSocket implementation, permessage-deflate on or off) a fresh
instance is started; 50 sockets are opened and closed first (imports, caches, pools warmed up),
then ``VmRSS`` of the server process is read before and after opening N idle sockets; the figure is
the delta / N. With deflate on, the clients offer ``permessage-deflate`` (as browsers do), else the
server's setting would not matter.
"""

from __future__ import annotations

import argparse
import asyncio
import os

from bench.common import Stack, TunedServer, machine_load, pid_rss_kib
from bench.wsclient import ClientFleet, ClientSpec

DEFLATE_OFFER = {"Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits"}


def _open(url: str, headers: dict[str, str], kind: str, count: int) -> ClientFleet:
    fleet = ClientFleet(ClientSpec(url, headers, kind, count), 2)
    opened = fleet.wait_ready()
    assert opened == count, f"opened {opened} of {count}"
    return fleet


async def measure(stack: Stack, kind: str, ws: str, deflate: bool, sockets: int) -> float:
    assert stack.seeded is not None
    server = TunedServer(stack.database_url, stack.redis.url, stack.workdir, ws=ws, deflate=deflate)
    server.start()
    try:
        if kind == "api":
            url = f"{server.ws_url}/api/v1/ws?workspace_uuid={stack.seeded.workspace_uuid}"
            headers = dict(stack.headers)
        else:
            url = f"{server.ws_url}/ws/executions?workspace={stack.seeded.workspace_uuid}"
            headers = {"Cookie": f"athena_session={stack.seeded.token}", "Origin": server.base_url}
        if deflate:
            headers |= DEFLATE_OFFER
        pid = server.proc.pid  # type: ignore[union-attr]
        warm = _open(url, headers, kind, 50)
        warm.close()
        await asyncio.sleep(2)
        before = pid_rss_kib(pid)
        fleet = _open(url, headers, kind, sockets)
        await asyncio.sleep(3)
        after = pid_rss_kib(pid)
        fleet.close()
        per = (after - before) / sockets
        print(
            f"{kind:<5} ws={ws:<18} deflate={'on ' if deflate else 'off'}  RSS {before / 1024:6.1f} -> "
            f"{after / 1024:6.1f} MiB  = {per:5.1f} KiB per idle socket  (load {machine_load()})"
        )
        return per
    finally:
        server.stop()


async def run(args: argparse.Namespace) -> None:
    async with Stack(args.database_url, instances=0) as stack:
        for kind in args.kinds.split(","):
            for ws, deflate in [("websockets-sansio", False), ("websockets-sansio", True), ("wsproto", False)]:
                await measure(stack, kind, ws, deflate, args.sockets)
                await asyncio.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--kinds", default="api,page")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"),
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
