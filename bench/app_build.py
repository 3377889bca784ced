"""CPU time of building one app (``create_app``), as each test's ``app`` fixture does.

Prints the mean and the median of ``--calls`` builds after one warm-up (``time.process_time()``
around each; the mean includes the collector's passes that the builds' garbage sets off). With
``--test-process`` it first does what the test process does (tests/conftest.py): memoize the route
handlers' signatures (tests/handler_signatures.py) and freeze the heap.

Usage: ``uv run python -m bench.app_build [--calls 50] [--test-process]``
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import tempfile
import time

os.environ["GC_FREEZE_AFTER_STARTUP"] = "0"  # as in the tests: one process builds many apps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--test-process", action="store_true")
    args = parser.parse_args()

    from app.asgi import create_app
    from app.config import Settings

    if args.test_process:
        from tests import handler_signatures

        handler_signatures.install()
    directory = tempfile.mkdtemp()

    def build_and_close() -> float:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{directory}/athena.db",
            redis_url=None,
            secret_key="bench-secret",
            allowed_origins=["http://testserver.local"],
        )
        began = time.process_time()
        app = create_app(settings)
        spent = time.process_time() - began
        asyncio.run(app.state.services.close())
        return spent

    build_and_close()  # warm-up: the first build imports what the others find loaded
    if args.test_process:
        gc.collect()
        gc.freeze()
    times = [build_and_close() for _ in range(args.calls)]
    print(
        f"create_app, {args.calls} calls{' (test process)' if args.test_process else ''}: "
        f"mean {statistics.mean(times) * 1000:.1f} ms CPU, median {statistics.median(times) * 1000:.1f} ms "
        f"(load {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
