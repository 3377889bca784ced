"""Operations endpoints in process: /ready's named checks, /metrics' protection, format and counters,
request ids, and the log formatter's redaction."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import logging
import os
import re
import sys
from asyncio.subprocess import PIPE
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from app.asgi import create_app
from app.config import Settings
from app.ops.logs import JsonFormatter, RequestIdFilter, request_id_var
from app.realtime.hub import Subscriber
from app.services import Services
from tests.conftest import EXECUTIONS, World, create_execution

METRICS_TOKEN = "metrics-secret-for-tests"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, metrics_token=METRICS_TOKEN)


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):  # raises on malformed output
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


async def test_ready_names_every_check(client: httpx.AsyncClient) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "redis", "subscriber", "migrations"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["redis"] == {"ok": True, "configured": False}
    migrations = body["checks"]["migrations"]
    assert migrations["current"] == migrations["head"]


async def test_ready_degrades_when_migrations_are_behind(client: httpx.AsyncClient, services: Services) -> None:
    async with services.db.read() as session:
        head = (await session.execute(text("SELECT version_num FROM alembic_versions"))).scalar_one()

    async def set_revision(revision: str) -> None:
        async with services.db.write() as session:
            await session.execute(text("UPDATE alembic_versions SET version_num = :r"), {"r": revision})

    try:
        await set_revision("0001")  # an older release's schema: this code must not serve it
        behind = await client.get("/ready")
        assert behind.status_code == 503
        assert behind.json()["status"] == "degraded"
        assert behind.json()["checks"]["migrations"] == {
            "ok": False, "current": "0001", "head": head, "error": "not at head"
        }  # fmt: skip
        await set_revision("9999_newer")  # a newer release migrated first (rolling upgrade): still ready
        ahead = await client.get("/ready")
        assert ahead.status_code == 200
        assert ahead.json()["checks"]["migrations"]["note"] == "database is newer than this release"
    finally:
        await set_revision(head)  # on PostgreSQL the database outlives this test
    assert (await client.get("/ready")).status_code == 200


async def test_metrics_need_the_token(client: httpx.AsyncClient, app: Any) -> None:
    assert (await client.get("/metrics")).status_code == 401
    assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
    assert (await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})).status_code == 200


async def test_metrics_are_off_without_a_token(settings: Settings) -> None:
    app = create_app(dataclasses.replace(settings, metrics_token=None))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            assert (await client.get("/metrics")).status_code == 404
    finally:
        await app.state.services.close()


async def test_metrics_parse_and_move_when_events_flow(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    actor = world.operator_a
    me = await services.accounts.authenticate_token(actor.token)
    assert me is not None
    workspace_id = next(a.workspace_id for a in me.access.values() if str(a.workspace_uuid) == world.ws["A"])
    sub = Subscriber(user_id=actor.user_id, workspace_ids=frozenset({workspace_id}))  # an API socket's view
    await services.hub.register(sub)
    before = await scrape(client)

    created = await create_execution(client, actor, world.workflows["Invoice approval"], status="running")
    assert (await client.get(f"{EXECUTIONS}/{created['uuid']}", headers=actor.headers)).status_code == 200
    assert (await client.get(EXECUTIONS)).status_code == 401  # answered by an exception handler
    after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("athena_events_published_total") == 1
    assert moved("athena_events_delivered_total") == 1
    assert value(after, "athena_websockets_open", socket="api") == 1
    assert value(after, "athena_watched_workspaces") == 1
    # The socket has not read its event yet: one socket with one item queued.
    assert value(after, "athena_socket_queue_depth_count", socket="api") == 1
    assert value(after, "athena_socket_queue_depth_sum", socket="api") == sub.queue.qsize() == 1
    assert value(after, "athena_socket_queue_depth_bucket", socket="api", le="0.0") == 0
    assert value(after, "athena_socket_queue_depth_bucket", socket="api", le="1.0") == 1
    assert value(after, "athena_subscriber_connected") == 1
    assert any(name == "athena_db_pool_info" for name, _ in after)
    # The GETs above were admitted through the read gate and gave their places back.
    assert value(after, "athena_http_reads_running") == value(after, "athena_http_reads_waiting") == 0
    assert moved("athena_http_reads_waited_total") == 0

    # Latency by route template: the execution's uuid never becomes a label value.
    routes = {dict(labels).get("route") for name, labels in after if name.startswith("athena_http_request_duration")}
    assert {"/api/v1/workflow-executions", "/api/v1/workflow-executions/{execution_uuid}"} <= routes, routes
    assert not any(created["uuid"] in str(route) for route in routes)
    get_one = ("GET", "/api/v1/workflow-executions/{execution_uuid}", "200")
    count = dict(zip(("method", "route", "status"), get_one, strict=True))
    assert value(after, "athena_http_request_duration_seconds_count", **count) == 1
    unauthorized = {"method": "GET", "route": "/api/v1/workflow-executions", "status": "401"}
    assert value(after, "athena_http_request_duration_seconds_count", **unauthorized) == 1

    sub.evict()  # a slow socket's eviction is counted
    evicted = await scrape(client)
    assert (
        value(evicted, "athena_socket_evictions_total", socket="api")
        - value(after, "athena_socket_evictions_total", socket="api")
        == 1
    )
    services.hub.unregister(sub)


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    given = await client.get("/health", headers={"X-Request-ID": "lb-7f3a.42"})
    assert given.headers["x-request-id"] == "lb-7f3a.42"
    for bad in ("has space", "x" * 200, "<script>"):
        generated = await client.get("/health", headers={"X-Request-ID": bad})
        assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"]), bad
    first, second = (await client.get("/health")).headers["x-request-id"], (await client.get("/health")).headers
    assert first != second["x-request-id"]


def test_json_formatter_carries_the_request_id_and_redacts_secrets() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("athena.test_ops")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    token = request_id_var.set("req-1")
    try:
        logger.info(
            "auth %s password=%s url=%s", "Bearer ath_abcdefghijklmnop", "hunter2", "postgresql://u:pw@db:5432/x"
        )
        logger.info("header", extra={"authorization": "Bearer topsecretvalue"})
    finally:
        request_id_var.reset(token)
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["request_id"] for line in lines] == ["req-1", "req-1"]
    assert lines[0]["level"] == "info" and lines[0]["logger"] == "athena.test_ops"
    everything = stream.getvalue()
    for secret in ("ath_abcdefghijklmnop", "hunter2", ":pw@", "topsecretvalue"):
        assert secret not in everything
    assert "postgresql://u:[redacted]@db:5432/x" in lines[0]["message"]


FROZEN_AFTER_START = """
import asyncio, gc, sys
from app.asgi import create_app
from app.config import Settings
from app.ops.runtime import freeze_startup_heap

async def main() -> None:
    app = create_app(Settings(database_url=sys.argv[1], redis_url=None, secret_key="t"))
    async with app.lifespan():
        print(gc.get_freeze_count(), freeze_startup_heap())

asyncio.run(main())
"""


@pytest.mark.parametrize("setting", ["1", "0"])
async def test_start_up_takes_its_heap_out_of_full_collections(settings: Settings, setting: str) -> None:
    """What start-up left alive (modules, routes, ORM metadata) is frozen, so a full collection no
    longer walks it with the event loop stopped (docs/benchmarks.md, goal 8); once per process,
    and not with GC_FREEZE_AFTER_STARTUP=0 (this suite: see conftest). In a process of its own."""
    env = {**os.environ, "GC_FREEZE_AFTER_STARTUP": setting}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", FROZEN_AFTER_START, settings.database_url, env=env, stdout=PIPE, stderr=PIPE
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    frozen, then = map(int, out.split())
    if setting == "1":
        assert frozen > 10_000, frozen
        assert then == 0  # done once: a second app in the process (or a second call) does nothing
    else:
        assert frozen == 0 and then > 10_000  # left to whoever asks
