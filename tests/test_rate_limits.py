"""Item 15: abuse limits and credential storage.

Sign-in is limited per account and per client address (429 with Retry-After), the API per user;
with Redis the limits are shared by every instance. Passwords are hashed with argon2id at a slow
cost; API tokens carry 256 bits from the OS CSPRNG and only their SHA-256 is stored.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import logging
import re
import secrets
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import Type
from sqlalchemy import select, text

from app.asgi import create_app
from app.config import Settings
from app.db.models import ApiToken, User
from app.lib import security
from app.services import Services
from tests.conftest import API, TABLES, World, need_service
from tests.realtime.conftest import redis_server  # noqa: F401  (the fixture, shared)
from tests.servers import AppServer, RedisServer

SIGN_IN = f"{API}/auth/sign-in"
LIMITS = {
    "sign_in_limit_per_account": 3,
    "sign_in_limit_per_address": 6,
    "api_rate_limit": 5,
    "sign_in_delay_after": 2,
    "sign_in_max_delay_seconds": 0.5,
}


@pytest.fixture
async def limited(settings: Settings, world: World) -> AsyncIterator[Any]:
    """An app with small limits on the test database; ``client(address)`` talks to it from that address."""
    app = create_app(Settings(**{**settings.__dict__, **LIMITS}))
    clients: list[httpx.AsyncClient] = []

    def client(address: str = "10.0.0.1") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://testserver.local"))
        return clients[-1]

    yield client
    for c in clients:
        await c.aclose()
    await app.state.services.close()


def assert_429(response: httpx.Response, window: int) -> None:
    assert response.status_code == 429, response.text
    assert 0 < int(response.headers["retry-after"]) <= window


async def timed_post(client: httpx.AsyncClient, body: dict[str, str]) -> tuple[int, float]:
    started = time.perf_counter()
    status = (await client.post(SIGN_IN, json=body)).status_code
    return status, time.perf_counter() - started


async def test_guesses_from_elsewhere_slow_an_account_down_but_never_lock_its_owner_out(
    limited: Any, world: World
) -> None:
    """Issue 21 item 3: failures count per (account, address) and per address; per account they
    only add a growing delay (0.25 s doubling past SIGN_IN_DELAY_AFTER=2, capped at 0.5 s here)."""
    wrong = {"email": world.admin_a.email, "password": "guess"}
    guesses = [await timed_post(limited(f"10.1.0.{i}"), wrong) for i in range(10)]  # one address each
    assert [code for code, _ in guesses] == [422] * 10  # no lockout, whatever the count
    waits = [seconds for _, seconds in guesses]
    assert waits[2] >= 0.25 and all(w >= 0.5 for w in waits[3:]), waits  # the 3rd waits, then the cap
    owner, seconds = await timed_post(limited("10.1.0.200"), {**wrong, "password": "correct horse"})
    assert owner == 200 and seconds >= 0.5  # the owner signs in, just slowed down
    assert (await timed_post(limited("10.1.0.0"), wrong))[1] < 0.25  # a success cleared the delay

    # One address is still refused after SIGN_IN_LIMIT_PER_ACCOUNT attempts at one account.
    viewer = {"email": world.operator_a.email, "password": "nope"}
    c = limited("10.2.0.1")
    codes = [(await c.post(SIGN_IN, json=viewer)).status_code for _ in range(4)]
    assert codes == [422, 422, 422, 429]
    # ... while the owner, elsewhere, signs in; other accounts from that address are unaffected.
    assert (await limited("10.2.0.2").post(SIGN_IN, json={**viewer, "password": "correct horse"})).status_code == 200
    assert (await c.post(SIGN_IN, json={"email": world.viewer_a.email, "password": "correct horse"})).status_code == 200


async def test_sign_in_is_limited_per_address_and_bursts_cannot_slip_through(limited: Any, world: World) -> None:
    attacker = limited("10.3.0.1")
    codes = [
        (await attacker.post(SIGN_IN, json={"email": f"user{i}@example.test", "password": "x"})).status_code
        for i in range(7)
    ]
    assert codes == [422] * 6 + [429]  # six accounts tried from one address, the seventh is refused
    assert_429(await attacker.post(SIGN_IN, json={"email": world.viewer_a.email, "password": "correct horse"}), 900)
    assert (
        await limited("10.3.0.2").post(SIGN_IN, json={"email": world.viewer_a.email, "password": "correct horse"})
    ).status_code == 200

    # 20 parallel guesses at one account from one address: exactly the limit get a verdict.
    burst = limited("10.4.0.1")
    guesses = [burst.post(SIGN_IN, json={"email": world.approver_a.email, "password": "g"}) for i in range(20)]
    codes = sorted(r.status_code for r in await asyncio.gather(*guesses))
    assert codes == [422] * 3 + [429] * 17

    # The dashboard's sign-in form shares the same counts and answers a page with Retry-After.
    page = limited("10.4.0.1")
    form = await page.get("/sign-in")
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    response = await page.post(
        "/sign-in",
        data={"email": world.approver_a.email, "password": "correct horse", "_csrf_token": csrf},
        headers={"Cookie": f"athena_csrf={form.cookies['athena_csrf']}"},
    )
    assert_429(response, 900)
    assert "Too many sign-in attempts" in response.text and response.headers["content-type"].startswith("text/html")


async def test_api_requests_are_limited_per_user(limited: Any, world: World) -> None:
    c = limited()
    codes = [(await c.get(f"{API}/user", headers=world.viewer_a.headers)).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    refused = await c.get(f"{API}/workspaces", headers=world.viewer_a.headers)
    assert_429(refused, 60)
    assert "Rate limit exceeded" in refused.json()["message"]
    # Per user, not per address: another user from the same address is served; no token is 401, not counted.
    assert (await c.get(f"{API}/user", headers=world.operator_a.headers)).status_code == 200
    assert (await c.get(f"{API}/user")).status_code == 401


async def test_limits_are_shared_by_instances_through_redis(
    database_url: str,
    redis_server: RedisServer,  # noqa: F811
    tmp_path: Path,
    world: World,
) -> None:
    env = {"API_RATE_LIMIT": "6", "SIGN_IN_LIMIT_PER_ACCOUNT": "3", "WS_AUTH_RECHECK_SECONDS": "0"}
    servers = [AppServer(database_url, redis_server.url, tmp_path, **env) for _ in range(2)]
    try:
        for server in servers:
            server.launch()
        for server in servers:
            server.wait_ready()
        a, b = (httpx.AsyncClient(base_url=s.base_url) for s in servers)
        async with a, b:
            codes = [
                (await (a if i % 2 else b).get(f"{API}/user", headers=world.viewer_a.headers)).status_code
                for i in range(8)
            ]
            assert codes == [200] * 6 + [429] * 2  # 3 + 3 across the two instances, then refused on both
            wrong = {"email": world.operator_a.email, "password": "guess"}
            codes = [(await (a if i % 2 else b).post(SIGN_IN, json=wrong)).status_code for i in range(4)]
            assert codes == [422, 422, 422, 429]

            import redis.asyncio as aioredis

            store = aioredis.from_url(redis_server.url)
            keys = [k async for k in store.scan_iter("athena:rl:*")]
            assert len(keys) >= 3
            assert all([await store.pttl(k) > 0 for k in keys])  # every window expires by itself
            await store.aclose()

            # Redis gone: the limits fail open rather than locking everyone out.
            redis_server.kill()
            response = await a.get(f"{API}/user", headers=world.operator_a.headers)
            assert response.status_code == 200, response.text
    finally:
        for server in servers:
            server.stop()


async def test_passwords_are_slow_hashed_and_tokens_random_and_stored_hashed(
    services: Services, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    production = security.PASSWORD_HASHER
    assert production.type is Type.ID
    # At least OWASP's argon2id floor (19 MiB, 2 passes); ours is 64 MiB and 3 passes.
    assert production.memory_cost >= 64 * 1024 and production.time_cost >= 3
    async with services.db.read() as session:
        stored = (await session.execute(select(User.password_hash))).scalars().all()
    assert stored and all(h.startswith("$argon2id$") for h in stored)

    drawn: list[int | None] = []
    real_token_bytes = secrets.token_bytes

    def token_bytes(n: int | None = None) -> bytes:
        drawn.append(n)
        return real_token_bytes(n)

    monkeypatch.setattr(secrets, "token_bytes", token_bytes)
    token = await services.accounts.create_token(world.viewer_a.user_id, name="probe")
    monkeypatch.undo()
    assert drawn == [32]  # 256 bits from the secrets module (the OS CSPRNG)
    secret = token.removeprefix(security.TOKEN_PREFIX)
    assert len(base64.urlsafe_b64decode(secret + "=")) * 8 >= 128
    assert len({security.generate_token() for _ in range(1000)}) == 1000

    async with services.db.read() as session:
        row = (await session.execute(select(ApiToken).where(ApiToken.name == "probe"))).scalar_one()
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        for table in TABLES:  # the secret itself is stored nowhere
            for values in (await session.execute(text(f"SELECT * FROM {table}"))).all():
                assert not any(secret in str(v) for v in values), table


async def test_a_redis_outage_logs_its_changes_of_state_not_every_request(
    settings: Settings, world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 21 item 8: one warning when the store goes away, one when it answers again, and the
    requests allowed meanwhile counted in /metrics (not 1 line per request)."""
    if shutil.which("redis-server") is None:
        need_service("redis-server", "not on PATH")
    store = RedisServer(tmp_path)  # not started yet: its port refuses connections
    app = create_app(dataclasses.replace(settings, redis_url=store.url, metrics_token="m"))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
            logger = logging.getLogger("athena.ratelimit")  # the app's logging config may not propagate
            logger.addHandler(caplog.handler)
            with caplog.at_level(logging.WARNING, logger="athena.ratelimit"):
                for _ in range(20):
                    assert (await c.get(f"{API}/user", headers=world.viewer_a.headers)).status_code == 200
                down = await c.get("/metrics", headers={"Authorization": "Bearer m"})
                store.start()
                for _ in range(5):
                    assert (await c.get(f"{API}/user", headers=world.viewer_a.headers)).status_code == 200
                up = await c.get("/metrics", headers={"Authorization": "Bearer m"})
    finally:
        logging.getLogger("athena.ratelimit").removeHandler(caplog.handler)
        store.kill()
        await app.state.services.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "athena.ratelimit"]
    assert len(lines) == 2, lines
    assert "unavailable" in lines[0] and "answers again" in lines[1] and "20 calls" in lines[1]
    assert "athena_ratelimit_store_up 0.0" in down.text
    assert "athena_ratelimit_store_failures_total 20.0" in down.text
    assert "athena_ratelimit_store_up 1.0" in up.text and "athena_ratelimit_store_failures_total 20.0" in up.text
