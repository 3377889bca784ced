"""Operations against a real server process: /ready and /metrics across a Redis outage (a private
redis-server, never the shared one), and what the JSON logs carry and never carry."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import websockets
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import World
from tests.realtime.test_multi_instance import api_ws, create, recv_json
from tests.servers import AppServer, RedisServer, wait_until

TOKEN = "scrape-me"


def ready(server: AppServer) -> httpx.Response:
    return httpx.get(server.base_url + "/ready", timeout=5)


def scrape(server: AppServer) -> dict[str, float]:
    """Unlabelled samples by name, labelled ones as name{k=v,...} (sorted labels)."""
    response = httpx.get(server.base_url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert response.status_code == 200, response.text
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return out


async def test_ready_degrades_without_redis_and_recovers_and_metrics_follow(
    database_url: str, redis_server: RedisServer, tmp_path: Path, world: World
) -> None:
    server = AppServer(database_url, redis_server.url, tmp_path, METRICS_TOKEN=TOKEN)
    server.start()
    try:
        assert await asyncio.to_thread(wait_until, lambda: ready(server).status_code == 200, 10)
        body = ready(server).json()
        assert body["status"] == "ok"
        assert body["checks"]["redis"] == {"ok": True, "configured": True}
        assert body["checks"]["subscriber"]["ok"] and body["checks"]["subscriber"]["backend"] == "redis"
        start = scrape(server)

        async with api_ws(server, world, since=0) as sock:  # a cursor: the socket replays (nothing yet)
            created = await create(server, world)
            assert (await recv_json(sock))["execution_uuid"] == created["uuid"]
            flowing = scrape(server)
            assert flowing["athena_websockets_open{socket=api}"] == 1
        assert flowing["athena_events_published_total"] - start["athena_events_published_total"] == 1
        assert flowing["athena_events_delivered_total"] - start["athena_events_delivered_total"] == 1
        assert (
            flowing["athena_socket_replays_total{socket=api}"] - start["athena_socket_replays_total{socket=api}"] == 1
        )
        assert flowing["athena_subscriber_reconnects_total"] == 0

        redis_server.kill()
        assert await asyncio.to_thread(wait_until, lambda: ready(server).status_code == 503, 10)
        down = ready(server).json()
        assert down["status"] == "degraded"
        assert down["checks"]["redis"]["ok"] is False and down["checks"]["redis"]["error"]
        assert down["checks"]["database"] == {"ok": True}
        assert down["checks"]["migrations"]["ok"] is True
        assert await asyncio.to_thread(wait_until, lambda: not ready(server).json()["checks"]["subscriber"]["ok"], 10)
        assert scrape(server)["athena_subscriber_connected"] == 0

        redis_server.start()  # same port: the subscriber reconnects by itself
        assert await asyncio.to_thread(wait_until, lambda: ready(server).status_code == 200, 15)
        assert all(check["ok"] for check in ready(server).json()["checks"].values())
        after = scrape(server)
        assert after["athena_subscriber_connected"] == 1
        assert after["athena_subscriber_reconnects_total"] == 1
    finally:
        server.stop()


async def test_logs_are_json_with_request_ids_and_no_secrets(database_url: str, tmp_path: Path, world: World) -> None:
    server = AppServer(database_url, None, tmp_path, LOG_FORMAT="json", LOG_LEVEL="debug")
    server.start()
    password = "correct horse"  # the world's users' password
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
            signed = await client.post(
                "/api/v1/auth/sign-in",
                json={"email": world.operator_a.email, "password": password},
                headers={"X-Request-ID": "req-sign-in"},
            )
            assert signed.status_code == 200 and signed.headers["x-request-id"] == "req-sign-in"
            new_token = signed.json()["data"]["token"]
            wrong = await client.post("/api/v1/auth/sign-in", json={"email": world.operator_a.email, "password": "x"})
            assert wrong.status_code == 422
            me = await client.get("/api/v1/user", headers={"Authorization": f"Bearer {new_token}"})
            assert me.status_code == 200
            bad = await client.get("/api/v1/user", headers={"Authorization": "Bearer ath_not-a-real-token-1234"})
            assert bad.status_code == 401
            page = await client.get("/executions", headers={"Cookie": f"athena_session={world.operator_a.token}"})
            assert page.status_code == 200
        url = f"{server.ws_url}/api/v1/ws?workspace_uuid={world.ws['A']}"
        headers = {**world.operator_a.headers, "X-Request-ID": "req-socket"}
        async with websockets.connect(url, additional_headers=headers, open_timeout=10) as sock:
            assert sock.response is not None and sock.response.headers["x-request-id"] == "req-socket"
        await asyncio.sleep(0.5)  # let the server flush its last lines
    finally:
        server.stop()
    log = server.log.read_text()
    lines: list[dict[str, Any]] = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert len(lines) >= 5
    by_id = [line for line in lines if line.get("request_id") == "req-sign-in"]
    assert any(line.get("path") == "/api/v1/auth/sign-in" and line.get("status") == 200 for line in by_id), by_id
    assert any(line.get("request_id") == "req-socket" for line in lines), "the socket handshake's line has its id"
    for secret in (password, new_token, world.operator_a.token, "ath_not-a-real-token-1234", "test-secret"):
        assert secret not in log, f"a secret reached the log: {secret[:8]}..."
