from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import need_service
from tests.servers import AppServer, RedisServer


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        need_service("Redis", "redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def two_instances(
    database_url: str, redis_server: RedisServer, tmp_path: Path, world
) -> Iterator[tuple[AppServer, AppServer]]:  # type: ignore[no-untyped-def]
    """Instances A and B sharing the test database and a private Redis (world is seeded first)."""
    servers = (AppServer(database_url, redis_server.url, tmp_path), AppServer(database_url, redis_server.url, tmp_path))
    try:
        for server in servers:
            server.launch()  # both boot in parallel
        for server in servers:
            server.wait_ready()
        yield servers
    finally:
        for server in servers:
            server.stop()
