"""Issue 21, items 1-2: sign-in never stalls the event loop, and its timing does not tell whether an
e-mail has an account (unknown and inactive users cost one real argon2 verification too)."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from app.asgi import create_app
from app.config import Settings
from app.db.models import User
from app.lib import security
from tests.conftest import API, World
from tests.servers import AppServer

SIGN_IN = f"{API}/auth/sign-in"
NO_LIMITS = {"sign_in_limit_per_account": 0, "sign_in_limit_per_address": 0, "sign_in_max_delay_seconds": 0}


def p90(values: list[float]) -> float:
    return sorted(values)[int(0.9 * (len(values) - 1))]


async def set_password_hash(services: Any, email: str, password_hash: str, **values: Any) -> None:
    async with services.db.write() as session:
        await session.execute(update(User).where(User.email == email).values(password_hash=password_hash, **values))


@pytest.mark.serial  # compares wall times: run alone, not beside another worker's load
async def test_parallel_sign_ins_do_not_stall_the_server(
    world: World, services: Any, database_url: str, tmp_path: Path
) -> None:
    """Item 1: argon2 at production cost runs off the event loop, so /health keeps answering."""
    await set_password_hash(services, world.admin_a.email, security.PASSWORD_HASHER.hash("correct horse"))
    server = AppServer(database_url, None, tmp_path, SIGN_IN_LIMIT_PER_ACCOUNT="0", SIGN_IN_LIMIT_PER_ADDRESS="0")
    server.start()
    try:
        # Clients made up front: building one (its TLS context) in a thread would hold this process's GIL.
        with httpx.Client(base_url=server.base_url, timeout=30) as http, httpx.Client(timeout=60) as burst_http:

            def health_ms() -> float:
                started = time.perf_counter()
                assert http.get("/health").status_code == 200
                return (time.perf_counter() - started) * 1000

            def wrong_sign_in(_: int) -> int:
                body = {"email": world.admin_a.email, "password": "wrong"}
                return burst_http.post(server.base_url + SIGN_IN, json=body).status_code

            for _ in range(5):
                health_ms()  # warm the connection and the route
            idle = [health_ms() for _ in range(30)]
            with ThreadPoolExecutor(6) as pool:
                burst = [pool.submit(wrong_sign_in, i) for i in range(6)]
                during = []
                while not all(f.done() for f in burst):  # sampled for as long as the burst lasts
                    during.append(health_ms())
                codes = [f.result() for f in burst]
    finally:
        server.stop()
    assert codes == [422] * 6
    assert p90(during) <= 5 * p90(idle), f"/health p90 idle {p90(idle):.1f} ms, during sign-ins {p90(during):.1f} ms"


@pytest.fixture
async def measured(
    settings: Settings, world: World, services: Any, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Any]:
    """An app without sign-in limits, hashing at a cost that dwarfs a query (~tens of ms), with one
    active and one inactive account hashed at that cost."""
    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=2, memory_cost=32 * 1024, parallelism=1))
    for actor, active in ((world.admin_a, True), (world.viewer_a, False)):
        await set_password_hash(services, actor.email, security.hash_password("correct horse"), is_active=active)
    app = create_app(Settings(**{**settings.__dict__, **NO_LIMITS}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
        yield client
    await app.state.services.close()


async def timed(call: Any) -> float:
    started = time.perf_counter()
    response = await call()
    assert response.status_code == 422, response.text
    return time.perf_counter() - started


@pytest.mark.serial  # compares wall times: run alone, not beside another worker's load
async def test_sign_in_timing_does_not_reveal_accounts(measured: httpx.AsyncClient, world: World) -> None:
    """Item 2: medians of 20 interleaved attempts, known vs unknown vs inactive e-mail, API and page."""
    form = await measured.get("/sign-in")
    csrf = form.cookies["athena_csrf"]

    def api(email: str) -> Any:
        return lambda: measured.post(SIGN_IN, json={"email": email, "password": "wrong"})

    def page(email: str) -> Any:
        data = {"_csrf_token": csrf, "email": email, "password": "wrong", "next": "/executions"}
        return lambda: measured.post("/sign-in", data=data, headers={"Cookie": f"athena_csrf={csrf}"})

    emails = {"known": world.admin_a.email, "unknown": "nobody@example.test", "inactive": world.viewer_a.email}
    for kind in (api, page):
        times: dict[str, list[float]] = {name: [] for name in emails}
        for _ in range(20):
            for name, email in emails.items():
                times[name].append(await timed(kind(email)))
        medians = {name: statistics.median(values) for name, values in times.items()}
        for name in ("unknown", "inactive"):
            ratio = medians["known"] / medians[name]
            assert 0.5 <= ratio <= 2.0, f"{kind.__name__}: medians {medians}"


async def test_a_hash_with_outdated_parameters_is_upgraded_on_sign_in(
    measured: httpx.AsyncClient, world: World, services: Any
) -> None:
    old = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("correct horse")
    await set_password_hash(services, world.operator_a.email, old)
    ok = await measured.post(SIGN_IN, json={"email": world.operator_a.email, "password": "correct horse"})
    assert ok.status_code == 200, ok.text
    async with services.db.read() as session:
        stored = (
            await session.execute(select(User.password_hash).where(User.email == world.operator_a.email))
        ).scalar()
    assert stored != old and not security._hasher.check_needs_rehash(stored)
    assert security._hasher.verify(stored, "correct horse")


async def test_sign_ins_past_the_hashing_queue_get_503_with_retry_after_not_a_stalled_loop(
    settings: Settings, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 1: one hash at a time and one waiting (PASSWORD_HASH_CONCURRENCY=1, _QUEUE=1); while
    the hash is held, further sign-ins (API and page form) are answered at once with 503 and
    ``Retry-After``, and /health answers; the two admitted ones finish when the hash is released."""
    gate = threading.Event()
    real = security._verify_and_rehash

    def held_verification(password_hash: str | None, password: str) -> security.Verified:
        gate.wait(30)  # a worker thread, never the event loop
        return real(password_hash, password)

    monkeypatch.setattr(security, "_verify_and_rehash", held_verification)
    app = create_app(
        Settings(**{**settings.__dict__, **NO_LIMITS, "password_hash_concurrency": 1, "password_hash_queue": 1})
    )
    wrong = {"email": world.admin_a.email, "password": "wrong"}
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t.local") as c:
            csrf = (await c.get("/sign-in")).cookies["athena_csrf"]
            admitted = [asyncio.create_task(c.post(SIGN_IN, json=wrong)) for _ in range(2)]
            for _ in range(3000):  # until one is hashing and one waits in the queue
                if app.state.services.accounts.passwords._waiting == 1:
                    break
                await asyncio.sleep(0.01)
            busy = await c.post(SIGN_IN, json=wrong)
            form = await c.post(
                "/sign-in",
                data={"_csrf_token": csrf, **wrong},
                headers={"Cookie": f"athena_csrf={csrf}"},
            )
            health = await c.get("/health")
            gate.set()
            done = await asyncio.gather(*admitted)
    finally:
        gate.set()
        await app.state.services.close()
    assert busy.status_code == 503 and busy.headers["retry-after"] == "1", busy.text
    assert "Too many sign-ins at once" in busy.json()["message"]
    assert form.status_code == 503 and form.headers["retry-after"] == "1", form.text[:300]
    assert "Too many sign-ins at once" in form.text
    assert health.status_code == 200
    assert [r.status_code for r in done] == [422, 422]
