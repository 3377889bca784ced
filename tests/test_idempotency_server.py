"""``Idempotency-Key`` against a real server (uvicorn, its own process), on the test's database:
the retry storm of issue 23 (the same create sent 20 times at once: one execution, 20 equal
answers), the same for a decision, replays after the first answer, keys per token, and expired keys
purged by the server and by ``athena purge``."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, insert, select

from app.db.models import ApiToken, ApprovalAction, ApprovalAudit, IdempotencyKey, WorkflowExecution
from app.lib.idempotency_store import utcnow
from app.services import Services
from tests.approval_helpers import APPROVALS, pending_approval
from tests.conftest import EXECUTIONS, Actor, World, read_events
from tests.servers import AppServer

STORM = 20
REPLAYED = "idempotent-replayed"
METRICS_TOKEN = "metrics-test"


@pytest.fixture
def server(database_url: str, tmp_path: Path, world: World) -> Iterator[AppServer]:
    app_server = AppServer(database_url, None, tmp_path, METRICS_TOKEN=METRICS_TOKEN)
    app_server.start()
    yield app_server
    app_server.stop()


def outcomes(server: AppServer) -> dict[str, float]:
    """The server's ``athena_idempotency_requests_total`` by outcome."""
    scraped = httpx.get(server.base_url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10)
    return {
        s.labels["outcome"]: s.value
        for family in text_string_to_metric_families(scraped.text)
        for s in family.samples
        if s.name == "athena_idempotency_requests_total"
    }


def keyed(actor: Actor, key: str) -> dict[str, str]:
    return {**actor.headers, "Idempotency-Key": key}


async def count(services: Services, table: Any, *where: Any) -> int:
    async with services.db.read() as session:
        return int((await session.execute(select(func.count()).select_from(table).where(*where))).scalar_one())


async def storm(
    servers: list[AppServer], url: str, body: dict[str, Any], headers: dict[str, str]
) -> list[httpx.Response]:
    """``STORM`` copies of one request, each on its own connection, all sent at once (spread over
    ``servers`` in turn)."""
    limits = httpx.Limits(max_connections=STORM, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        started = time.perf_counter()
        answers = await asyncio.gather(
            *(http.post(servers[n % len(servers)].base_url + url, json=body, headers=headers) for n in range(STORM))
        )
        elapsed = time.perf_counter() - started
        print(f"\nretry storm: {STORM} x POST {url} on {len(servers)} server(s) in {elapsed:.2f} s")
    return list(answers)


def assert_one_ran_and_all_equal(answers: list[httpx.Response], status: int) -> None:
    assert [a.status_code for a in answers] == [status] * STORM, [a.text for a in answers if a.status_code != status]
    assert len({a.content for a in answers}) == 1, "every answer is the first one, byte for byte"
    assert sorted(a.headers.get(REPLAYED, "") for a in answers) == [""] + ["true"] * (STORM - 1)


async def test_retry_storms_a_create_a_decision_and_two_servers_each_run_once(
    server: AppServer, world: World, services: Services, tmp_path: Path
) -> None:
    """The issue's storm: the same create 20 times at once makes one execution and 20 equal answers.
    Then a decision: without a key 19 of these would be 409 (already decided); with one, all get it.
    Then a create spread over two server processes."""
    body = {"workflow_uuid": world.workflows["Invoice approval"], "status": "running", "mode": "webhook"}
    answers = await storm([server], EXECUTIONS, body, keyed(world.operator_a, f"storm-{uuid.uuid4()}"))
    assert_one_ran_and_all_equal(answers, 201)
    executions = await count(services, WorkflowExecution)
    created = [e for e in await read_events(services, world.ws["A"]) if e.type == "execution.created"]
    keys = await count(services, IdempotencyKey)
    print(f"retry storm: {executions} execution, {len(created)} created event, {keys} key row")
    assert (executions, len(created), keys) == (1, 1, 1)
    assert created[0].execution_uuid == answers[0].json()["data"]["uuid"]
    assert outcomes(server) == {"ran": 1, "replayed": STORM - 1, "mismatch": 0, "in_progress": 0}

    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        execution, approval = await pending_approval(http, world.operator_a, world.workflows["Invoice approval"])
    url = f"{APPROVALS}/{approval['uuid']}/approve"
    answers = await storm([server], url, {"comment": "checked"}, keyed(world.approver_a, "approve-once"))
    assert_one_ran_and_all_equal(answers, 200)
    assert answers[0].json()["data"]["status"] == "approved"
    assert await count(services, ApprovalAudit, ApprovalAudit.action == ApprovalAction.APPROVED) == 1
    events = [(e.type, e.status) for e in await read_events(services) if e.execution_uuid == execution["uuid"]]
    assert events[-1] == ("approval.decided", "running") and events.count(events[-1]) == 1  # resumed once
    assert outcomes(server) == {"ran": 2, "replayed": 2 * (STORM - 1), "mismatch": 0, "in_progress": 0}

    # Instances behind a load balancer: the copies that reach the process without the claim find it
    # in the database, wait (polling: no in-process wake-up there) and replay the same answer.
    other = AppServer(server.env["DATABASE_URL"], None, tmp_path)
    other.start()
    try:
        before = await count(services, WorkflowExecution), await count(services, IdempotencyKey)
        body = {"workflow_uuid": world.workflows["Customer onboarding"], "status": "running"}
        answers = await storm([server, other], EXECUTIONS, body, keyed(world.operator_a, f"two-{uuid.uuid4()}"))
    finally:
        other.stop()
    assert_one_ran_and_all_equal(answers, 201)
    after = await count(services, WorkflowExecution), await count(services, IdempotencyKey)
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)


async def test_replay_after_the_answer_other_body_and_keys_per_token(
    server: AppServer, world: World, services: Services
) -> None:
    body = {"workflow_uuid": world.workflows["Invoice approval"]}
    second_token = Actor(
        world.operator_a.email,
        await services.accounts.create_token(world.operator_a.user_id, name="engine-2"),
        world.operator_a.user_id,
    )
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        first = await http.post(EXECUTIONS, json=body, headers=keyed(world.operator_a, "k"))
        later = await http.post(EXECUTIONS, json=body, headers=keyed(world.operator_a, "k"))
        other = await http.post(EXECUTIONS, json={**body, "mode": "cli"}, headers=keyed(world.operator_a, "k"))
        own_token = await http.post(EXECUTIONS, json=body, headers=keyed(second_token, "k"))
        other_user = await http.post(EXECUTIONS, json=body, headers=keyed(world.admin_a, "k"))
    assert (first.status_code, later.status_code) == (201, 201)
    assert later.content == first.content and later.headers[REPLAYED] == "true"
    assert other.status_code == 422 and list(other.json()["errors"]) == ["Idempotency-Key"]
    assert own_token.status_code == other_user.status_code == 201
    assert REPLAYED not in own_token.headers and REPLAYED not in other_user.headers
    uuids = {r.json()["data"]["uuid"] for r in (first, own_token, other_user)}
    assert len(uuids) == 3 and await count(services, WorkflowExecution) == 3


async def expired_key(services: Services, actor: Actor, key: str) -> None:
    """A key stored more than ``IDEMPOTENCY_KEY_HOURS`` ago."""
    long_ago = utcnow() - dt.timedelta(hours=25)
    async with services.db.write() as session:
        token_id = (
            await session.execute(select(ApiToken.id).where(ApiToken.user_id == actor.user_id).limit(1))
        ).scalar_one()
        await session.execute(
            insert(IdempotencyKey).values(
                token_id=token_id, key=key, method="POST", path=EXECUTIONS, request_hash="0" * 64,
                status_code=201, response_headers=[], response_body=b"{}", expires_at=long_ago + dt.timedelta(hours=24),
                created_at=long_ago, updated_at=long_ago,
            )
        )  # fmt: skip


async def test_expired_keys_are_purged_by_the_server_and_by_athena_purge(
    database_url: str, tmp_path: Path, world: World, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    await expired_key(services, world.operator_a, "yesterday")
    app_server = AppServer(database_url, None, tmp_path)
    app_server.start()
    try:
        deadline = time.monotonic() + 30
        while await count(services, IdempotencyKey) and time.monotonic() < deadline:  # noqa: ASYNC110 (another process)
            await asyncio.sleep(0.1)
        assert await count(services, IdempotencyKey) == 0, "the server purges expired keys when it starts"
    finally:
        app_server.stop()
    from app.cli import athena

    await expired_key(services, world.operator_a, "the-day-before")
    monkeypatch.setenv("DATABASE_URL", database_url)
    dry = await asyncio.to_thread(CliRunner().invoke, athena, ["purge", "--dry-run"])
    assert dry.exit_code == 0 and "would purge 1 expired idempotency key(s)" in dry.output, dry.output
    real = await asyncio.to_thread(CliRunner().invoke, athena, ["purge"])
    assert real.exit_code == 0 and "purged 1 expired idempotency key(s)" in real.output, real.output
    assert await count(services, IdempotencyKey) == 0
