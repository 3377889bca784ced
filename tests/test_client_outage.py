"""athena-client waits out a real database outage: the server answers 503 with ``Retry-After: 2``
while its database is unreachable, and the client's call succeeds once it is back.

On SQLite the server's database path is missing at first (a symlink created during the call); on
PostgreSQL a private cluster (tests/servers.py PostgresServer) is stopped, then started again.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from athena_client import AthenaClient, RetryPolicy

from tests.conftest import IS_POSTGRES, World, _migrate, need_service
from tests.servers import AppServer, PostgresServer


@pytest.fixture
def outage(database_template: str, tmp_path: Path) -> Iterator[tuple[str, str, Callable[[], None], Callable[[], None]]]:
    """(test database url, the server's url, take the database away, bring it back)."""
    if not IS_POSTGRES:
        real = tmp_path / "real"
        real.mkdir()
        shutil.copyfile(database_template, real / "athena.db")
        link = tmp_path / "link"
        yield (
            f"sqlite+aiosqlite:///{real}/athena.db",
            f"sqlite+aiosqlite:///{link}/athena.db",
            lambda: None,  # missing from the start: the server never reaches it until the link exists
            lambda: link.symlink_to(real, target_is_directory=True),
        )
        return
    why = PostgresServer.available()
    if why:
        need_service("a private PostgreSQL cluster", why)
    cluster = PostgresServer()
    cluster.start()
    _migrate(cluster.url)
    try:
        yield cluster.url, cluster.url, cluster.stop, cluster.start
    finally:
        cluster.destroy()


@pytest.fixture
def database_url(outage: tuple[str, str, Any, Any]) -> str:
    return outage[0]


def test_a_call_during_a_database_outage_succeeds_once_the_database_is_back(
    outage: tuple[str, str, Callable[[], None], Callable[[], None]], tmp_path: Path, world: World
) -> None:
    _, server_url, take_away, bring_back = outage
    server = AppServer(server_url, None, tmp_path)
    server.start()
    retries: list[tuple[int, int | None, float]] = []
    first_503 = threading.Event()

    def on_retry(attempt: int, status: int | None, wait: float) -> None:
        retries.append((attempt, status, wait))
        if status == 503:
            first_503.set()

    try:
        take_away()
        with AthenaClient(
            server.base_url, world.operator_a.token, retry=RetryPolicy(max_elapsed=120), on_retry=on_retry
        ) as client:
            result: list[dict[str, Any]] = []
            call = threading.Thread(target=lambda: result.append(client.workspace(world.ws["A"])), daemon=True)
            call.start()
            assert first_503.wait(60), f"no 503 seen: {retries}"
            bring_back()
            call.join(120)
        assert result and result[0]["uuid"] == world.ws["A"]
    finally:
        server.stop()
    assert retries[0][1:] == (503, 2.0)  # Retry-After: 2, as the server says
