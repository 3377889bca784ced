"""Item 6: PostgreSQL restarted mid-run, on a private cluster (tests/servers.py PostgresServer).

Requests during the outage get 503 with a clear message (JSON for the API, a page for browsers),
the pool recovers without restarting the app, and a change cut by the crash is not half-written.
Runs in the PostgreSQL pass only (it needs PostgreSQL binaries, and SQLite has no server to lose).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from app.asgi import create_app
from app.config import Settings
from app.services import Services
from tests.conftest import (
    API,
    EXECUTIONS,
    IS_POSTGRES,
    TEST_DATABASE_URL,
    World,
    _migrate,
    create_execution,
    need_service,
)
from tests.fault_helpers import WorkspaceCounterLock, seed_tree, snapshot
from tests.servers import PostgresServer, free_port

UNAVAILABLE = "The database is unavailable right now; nothing was changed. Try again shortly."


@pytest.fixture
def private_pg() -> Iterator[PostgresServer]:
    if not IS_POSTGRES:
        pytest.skip("PostgreSQL outage: runs in the PostgreSQL pass")
    why = PostgresServer.available()
    if why:
        need_service("a private PostgreSQL cluster", why)
    server = PostgresServer()
    server.start()
    yield server
    server.destroy()


@pytest.fixture
def database_url(private_pg: PostgresServer) -> str:
    _migrate(private_pg.url)
    return private_pg.url


async def _during_outage(client: httpx.AsyncClient, world: World, execution: str) -> None:
    api = world.operator_a.headers
    answers = [
        await client.get(EXECUTIONS, params={"workspace_uuid": world.ws["A"]}, headers=api),
        await client.post(EXECUTIONS, json={"workflow_uuid": world.workflows["Invoice approval"]}, headers=api),
        await client.patch(f"{EXECUTIONS}/{execution}", json={"status": "running"}, headers=api),
        await client.post(f"{EXECUTIONS}/{execution}/stop", headers=api),
    ]
    for r in answers:
        assert r.status_code == 503, (r.request.method, r.request.url, r.status_code, r.text[:300])
        assert r.json()["message"] == UNAVAILABLE and r.headers["retry-after"] == "2"
    page = await client.get(
        "/executions", params={"workspace": world.ws["A"]}, headers={"Cookie": f"athena_session={world.viewer_a.token}"}
    )
    assert page.status_code == 503 and "text/html" in page.headers["content-type"]
    assert page.headers["retry-after"] == "2"  # like the API's answer
    assert "Temporarily unavailable" in page.text and "nothing was changed" in page.text
    ready = await client.get("/ready")
    assert ready.status_code == 503 and ready.json()["checks"]["database"]["ok"] is False
    assert (await client.get("/health")).status_code == 200


async def test_postgres_restart_answers_503_then_recovers_without_half_writes(
    client: httpx.AsyncClient, world: World, services: Services, private_pg: PostgresServer, database_url: str
) -> None:
    execution = (await create_execution(client, world.operator_a, world.workflows["Invoice approval"]))["uuid"]

    # 1. Down: every kind of request says so plainly; nothing else breaks.
    await asyncio.to_thread(private_pg.stop)
    await _during_outage(client, world, execution)

    # 2. Back: the same app (same pool) serves again at once.
    await asyncio.to_thread(private_pg.start)
    r = await client.patch(f"{EXECUTIONS}/{execution}", json={"status": "running"}, headers=world.operator_a.headers)
    assert r.status_code == 200, r.text
    assert (await client.get("/ready")).status_code == 200

    # 3. Crashed in the middle of a stop cascade: all or nothing, and the retry completes it.
    tree = await seed_tree(services, world.ws["A"], world.workflows["Invoice approval"], depth=4)
    before = await snapshot(services, tree.workspace_id)
    async with WorkspaceCounterLock(database_url, tree.workspace_id) as lock:
        stopping = asyncio.create_task(
            client.post(f"{EXECUTIONS}/{tree.leaf_uuid}/stop", headers=world.operator_a.headers)
        )
        await lock.wait_for_blocked_writer()  # every row of the tree is cancelled, not yet committed
        await asyncio.to_thread(private_pg.stop, "immediate")
    cut = await stopping
    assert cut.status_code == 503 and cut.json()["message"] == UNAVAILABLE
    await asyncio.to_thread(private_pg.start)
    assert await snapshot(services, tree.workspace_id) == before
    retried = await client.post(f"{EXECUTIONS}/{tree.leaf_uuid}/stop", headers=world.operator_a.headers)
    assert retried.status_code == 200 and len(retried.json()["meta"]["cascade_cancelled"]) == len(tree.ids) - 1
    after = await snapshot(services, tree.workspace_id)
    assert after.statuses == {"cancelled": len(tree.ids), "running": 1} and after.events == before.events + len(
        tree.ids
    )


# How a database can be out, by the pass: unreachable on both; on PostgreSQL also a server that
# answers but refuses the connection with an error code (53300 too many connections for the role,
# 55000 the database not accepting connections; 57P03 "starting up" is the same path). Those came
# through as a bare DBAPIError: a 500 with no Retry-After.
OUTAGES = ["unreachable", *(["connection limit", "not accepting connections"] if IS_POSTGRES else [])]


async def as_admin(sql: str) -> None:
    """One statement as the test database's user, outside a transaction (CREATE/DROP DATABASE)."""
    import asyncpg

    conn = await asyncpg.connect(TEST_DATABASE_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def out_database(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a database that is out in the way ``kind`` says."""
    if kind == "unreachable":
        if IS_POSTGRES:
            yield TEST_DATABASE_URL.rsplit(":", 1)[0] + f":{free_port()}/nothing"
        else:
            yield f"sqlite+aiosqlite:///{tmp_path}/missing/athena.db"
        return
    name = f"athena_out_{uuid.uuid4().hex[:10]}"
    if kind == "connection limit":
        await as_admin(f"CREATE ROLE {name} LOGIN CONNECTION LIMIT 0")
        user = TEST_DATABASE_URL.split("://", 1)[1].split("@", 1)[0].split(":", 1)[0]
        url, drop = TEST_DATABASE_URL.replace(f"//{user}", f"//{name}", 1), f"DROP ROLE {name}"
    else:
        await as_admin(f"CREATE DATABASE {name}")
        await as_admin(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
        url, drop = TEST_DATABASE_URL.rsplit("/", 1)[0] + f"/{name}", f"DROP DATABASE {name}"
    try:
        yield url
    finally:
        await as_admin(drop)


@pytest.mark.parametrize("kind", OUTAGES)
async def test_the_outage_page_carries_retry_after_like_the_api(kind: str, tmp_path: Path) -> None:
    """Issue 21 item 9: a database that cannot be reached or refuses the connection: the API's 503
    and the page's 503 both say when to retry (sign-in too, the page form and the API)."""
    async with out_database(kind, tmp_path) as url:
        api, page, fragment, sign_in, form = await outage_answers(url)
    assert api.status_code == 503 and api.headers["retry-after"] == "2", api.text
    assert page.status_code == 503 and "Temporarily unavailable" in page.text, page.text[:300]
    assert page.headers["retry-after"] == "2"
    assert fragment.status_code == 503 and fragment.headers["retry-after"] == "2"
    assert sign_in.status_code == 503 and sign_in.headers["retry-after"] == "2", sign_in.text
    assert form.status_code == 503 and form.headers["retry-after"] == "2", form.text[:300]


async def outage_answers(url: str) -> list[httpx.Response]:
    app = create_app(Settings(database_url=url, redis_url=None, secret_key="s", allowed_origins=["http://t.local"]))
    cookie = {"Cookie": "athena_session=ath_whatever"}
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t.local") as client:
            api = await client.get(f"{API}/user", headers={"Authorization": "Bearer ath_whatever"})
            page = await client.get("/executions", headers=cookie)
            fragment = await client.get("/executions", headers={**cookie, "hx-request": "true"})
            sign_in = await client.post(f"{API}/auth/sign-in", json={"email": "a@b.test", "password": "x"})
            csrf = (await client.get("/sign-in")).cookies["athena_csrf"]
            form = await client.post(
                "/sign-in",
                data={"_csrf_token": csrf, "email": "a@b.test", "password": "x"},
                headers={"Cookie": f"athena_csrf={csrf}", "Origin": "http://t.local"},
            )
    finally:
        await app.state.services.close()
    return [api, page, fragment, sign_in, form]
