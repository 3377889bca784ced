"""What a /metrics scrape costs as open sockets grow (the collector walks every socket's queue).

    uv run python -m bench.metrics_scrape [--sockets 0,1000,5000] [--scrapes 20]

In process (the scrape reads no database); sockets are hub subscribers with a few queued items each.
Prints the median time to render the Prometheus text and its size.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time

from app.asgi import create_app
from app.config import Settings
from app.realtime.hub import Subscriber


async def run(counts: list[int], scrapes: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        app = create_app(Settings(database_url=url, redis_url=None, secret_key="bench", metrics_token="t"))
        hub = app.state.services.hub
        subs: list[Subscriber] = []
        try:
            for count in counts:
                while len(subs) < count:
                    sub = Subscriber(user_id=1, workspace_ids=frozenset({len(subs) % 50 + 1}), kind="page")
                    for i in range(len(subs) % 7):
                        sub.queue.put_nowait(i)
                    hub.subscribers[next(iter(sub.workspace_ids))].add(sub)
                    subs.append(sub)
                times = []
                for _ in range(scrapes):
                    started = time.perf_counter()
                    body = app.state.ops_metrics.render()
                    times.append(time.perf_counter() - started)
                print(f"{count:>6} sockets: render median {statistics.median(times) * 1000:.2f} ms, {len(body)} bytes")
        finally:
            await app.state.services.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", default="0,1000,5000")
    parser.add_argument("--scrapes", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(run([int(n) for n in args.sockets.split(",")], args.scrapes))


if __name__ == "__main__":
    main()
