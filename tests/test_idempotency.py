"""``Idempotency-Key`` on the API's POSTs, in process (app/lib/idempotency.py; docs/api.md,
"Idempotent requests"): what is replayed, what is refused, what is not kept, claims left behind,
the purge. The retry storm and the rest against a real server: tests/test_idempotency_server.py."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, insert, select

import app.lib.idempotency as idempotency
from app.asgi import create_app
from app.config import Settings
from app.db.models import ApiToken, IdempotencyKey, WorkflowExecution
from app.lib.idempotency_keys import fingerprint
from app.lib.idempotency_store import LEASE, utcnow
from app.services import Services
from tests.approval_helpers import APPROVALS, decide, pending_approval
from tests.conftest import API, EXECUTIONS, Actor, World, create_execution

REPLAYED = "idempotent-replayed"
OUTCOMES = ("ran", "replayed", "mismatch", "in_progress")


def keyed(actor: Actor, key: str | bytes) -> dict[str, Any]:
    return {**actor.headers, "Idempotency-Key": key}


async def key_rows(services: Services) -> list[IdempotencyKey]:
    async with services.db.read() as session:
        return list((await session.execute(select(IdempotencyKey).order_by(IdempotencyKey.id))).scalars())


async def execution_count(services: Services) -> int:
    async with services.db.read() as session:
        return int((await session.execute(select(func.count()).select_from(WorkflowExecution))).scalar_one())


async def test_a_retry_is_answered_with_the_first_answer_byte_for_byte(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    body = {"workflow_uuid": world.workflows["Invoice approval"], "status": "running", "mode": "webhook"}
    first = await client.post(EXECUTIONS, json=body, headers=keyed(world.operator_a, "create-1"))
    assert first.status_code == 201 and REPLAYED not in first.headers
    # The same JSON with its keys in another order and other spacing is the same request.
    again = b'{ "mode" : "webhook", "status": "running",\n "workflow_uuid": "%s" }' % body["workflow_uuid"].encode()
    headers = {**keyed(world.operator_a, "create-1"), "Content-Type": "application/json"}
    retry = await client.post(EXECUTIONS, content=again, headers=headers)
    assert retry.status_code == 201 and retry.headers[REPLAYED] == "true"
    assert retry.content == first.content
    assert retry.headers["content-type"] == first.headers["content-type"]
    assert retry.headers["content-length"] == first.headers["content-length"]
    assert await execution_count(services) == 1
    # Without a key every POST runs: a second execution.
    await create_execution(client, world.operator_a, body["workflow_uuid"])
    assert await execution_count(services) == 2
    [row] = await key_rows(services)
    assert (row.key, row.status_code, row.owner, row.path) == ("create-1", 201, None, "/api/v1/workflow-executions")
    assert dt.timedelta(hours=23, minutes=59) < row.expires_at - row.created_at <= dt.timedelta(hours=24)


async def test_the_same_key_for_another_request_is_a_422_naming_the_header(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    workflow = world.workflows["Invoice approval"]
    headers = keyed(world.operator_a, "one-key")
    first = await client.post(EXECUTIONS, json={"workflow_uuid": workflow}, headers=headers)
    assert first.status_code == 201
    other_body = await client.post(EXECUTIONS, json={"workflow_uuid": workflow, "mode": "cli"}, headers=headers)
    target = first.json()["data"]["uuid"]
    other_path = await client.post(f"{EXECUTIONS}/{target}/stop", json={}, headers=headers)
    for response in (other_body, other_path):
        assert response.status_code == 422, response.text
        assert list(response.json()["errors"]) == ["Idempotency-Key"]
        assert "POST /api/v1/workflow-executions" in response.json()["message"]
    assert await execution_count(services) == 1
    assert (await client.get(f"{EXECUTIONS}/{target}", headers=world.operator_a.headers)).json()["data"][
        "status"
    ] == "pending"


@pytest.mark.parametrize(
    "key",
    [b"", b" ", b"x" * 256, b"tab\there", b"caf\xc3\xa9", b"nul\x7f"],
    ids=["empty", "blank", "256 long", "tab", "utf-8", "DEL"],
)
async def test_a_malformed_key_is_a_422_naming_the_header(
    client: httpx.AsyncClient, world: World, services: Services, key: bytes
) -> None:
    response = await client.post(
        EXECUTIONS, json={"workflow_uuid": world.workflows["Invoice approval"]}, headers=keyed(world.operator_a, key)
    )
    assert response.status_code == 422, response.text
    assert list(response.json()["errors"]) == ["Idempotency-Key"]
    assert await execution_count(services) == 0


async def test_key_format_limits_and_two_headers(client: httpx.AsyncClient, world: World, services: Services) -> None:
    body = {"workflow_uuid": world.workflows["Invoice approval"]}
    for key in ("x" * 255, "a b ~!", '"quoted-as-in-the-ietf-draft"'):
        assert (await client.post(EXECUTIONS, json=body, headers=keyed(world.operator_a, key))).status_code == 201
    # The draft's structured-field form is the same key as its content.
    unquoted = await client.post(EXECUTIONS, json=body, headers=keyed(world.operator_a, "quoted-as-in-the-ietf-draft"))
    assert unquoted.headers.get(REPLAYED) == "true"
    headers = [*world.operator_a.headers.items(), ("Idempotency-Key", "a"), ("Idempotency-Key", "b")]
    twice = await client.post(EXECUTIONS, json=body, headers=headers)
    assert twice.status_code == 422 and "Idempotency-Key" in twice.json()["errors"]
    assert await execution_count(services) == 3


async def test_keys_belong_to_a_token(client: httpx.AsyncClient, world: World, services: Services) -> None:
    """The same key from another token of the same user, or from another user, is another key."""
    second_token = await services.accounts.create_token(world.operator_a.user_id, name="second")
    other_token_of_same_user = Actor(world.operator_a.email, second_token, world.operator_a.user_id)
    body = {"workflow_uuid": world.workflows["Invoice approval"]}
    answers = [
        await client.post(EXECUTIONS, json=body, headers=keyed(actor, "shared-key"))
        for actor in (world.operator_a, other_token_of_same_user, world.admin_a)
    ]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert len({a.json()["data"]["uuid"] for a in answers}) == 3
    assert not any(REPLAYED in a.headers for a in answers)
    assert len(await key_rows(services)) == 3


async def test_validation_answers_are_kept_conflicts_and_server_errors_are_not(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    invalid = {"workflow_uuid": world.workflows["Invoice approval"], "status": "exploded"}
    first = await client.post(EXECUTIONS, json=invalid, headers=keyed(world.operator_a, "bad-body"))
    retry = await client.post(EXECUTIONS, json=invalid, headers=keyed(world.operator_a, "bad-body"))
    assert (first.status_code, retry.status_code) == (422, 422)
    assert retry.content == first.content and retry.headers[REPLAYED] == "true"
    # A stop of a completed execution is a 409: not kept, the key is free again.
    done = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="completed")
    stop = f"{EXECUTIONS}/{done['uuid']}/stop"
    for _ in range(2):
        conflict = await client.post(stop, json={}, headers=keyed(world.operator_a, "stop-done"))
        assert conflict.status_code == 409 and REPLAYED not in conflict.headers
    assert [r.key for r in await key_rows(services)] == ["bad-body"]


async def test_a_decision_retried_with_its_key_is_answered_not_refused(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    """Without a key a second approve is a 409 (already decided); with the first one's key, its answer."""
    _, approval = await pending_approval(client, world.operator_a, world.workflows["Invoice approval"])
    url = f"{APPROVALS}/{approval['uuid']}/approve"
    first = await client.post(url, json={"comment": "ok"}, headers=keyed(world.approver_a, "decide-1"))
    retry = await client.post(url, json={"comment": "ok"}, headers=keyed(world.approver_a, "decide-1"))
    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.content == first.content and retry.headers[REPLAYED] == "true"
    assert (await decide(client, world.approver_a, approval["uuid"], comment="ok")).status_code == 409


async def test_a_bulk_action_and_a_command_room_task_retried_with_their_keys(
    client: httpx.AsyncClient, world: World
) -> None:
    running = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    bulk = {"action": "stop", "ids": [running["uuid"]], "reason": "cleanup"}
    answers = [
        await client.post(f"{EXECUTIONS}/bulk", json=bulk, headers=keyed(world.operator_a, "bulk-1")) for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[1].content == answers[0].content  # the same operation, not a second one (or a 409)
    task = {"execution_uuid": running["uuid"]}
    tasks = [
        await client.post(f"{API}/command-room-tasks", json=task, headers=keyed(world.operator_a, "flag-1"))
        for _ in range(2)
    ]
    assert [t.status_code for t in tasks] == [201, 201] and tasks[1].content == tasks[0].content


async def test_a_retry_while_the_first_runs_waits_then_409_with_retry_after(
    client: httpx.AsyncClient, world: World, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim held by a request still running (here: a row claimed just now by no one) holds
    its retries; past ``WAIT_LIMIT`` the answer is the IETF draft's 409 with ``Retry-After``."""
    monkeypatch.setattr(idempotency, "WAIT_LIMIT", 0.3)
    body = {"workflow_uuid": world.workflows["Invoice approval"]}
    await claim_row(client, services, world.operator_a, body, locked_at=utcnow())
    response = await client.post(EXECUTIONS, json=body, headers=keyed(world.operator_a, "held"))
    assert response.status_code == 409, response.text
    assert response.headers["retry-after"] == "1" and list(response.json()["errors"]) == ["Idempotency-Key"]
    assert await execution_count(services) == 0
    counts = services.idempotency.counts
    assert (counts.waited, counts.in_progress, counts.ran) == (1, 1, 0)


async def test_a_claim_left_by_a_dead_process_is_taken_over_after_the_lease(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    body = {"workflow_uuid": world.workflows["Invoice approval"]}
    await claim_row(client, services, world.operator_a, body, locked_at=utcnow() - LEASE - dt.timedelta(seconds=1))
    response = await client.post(EXECUTIONS, json=body, headers=keyed(world.operator_a, "held"))
    assert response.status_code == 201 and REPLAYED not in response.headers
    [row] = await key_rows(services)
    assert row.status_code == 201 and row.owner is None and row.response_body == response.content


async def claim_row(
    client: httpx.AsyncClient, services: Services, actor: Actor, body: dict[str, Any], locked_at: dt.datetime
) -> None:
    """A claim on key ``held`` for ``body`` as a request that is running (or died) would leave it."""
    tokens = await client.get(f"{API}/user/tokens", headers=actor.headers)
    token_uuid = uuid.UUID(next(t["uuid"] for t in tokens.json()["data"] if t["current"]))
    request = fingerprint("POST", EXECUTIONS, b"", httpx.Request("POST", "http://x", json=body).content)
    now = utcnow()
    async with services.db.write() as session:
        token_id = (await session.execute(select(ApiToken.id).where(ApiToken.uuid == token_uuid))).scalar_one()
        await session.execute(
            insert(IdempotencyKey).values(
                token_id=token_id, key="held", method="POST", path=request.target, request_hash=request.digest,
                owner="f" * 32, locked_at=locked_at, expires_at=now + dt.timedelta(hours=24),
                created_at=now, updated_at=now,
            )
        )  # fmt: skip


async def test_an_answer_too_big_to_keep_streams_through_and_frees_the_key(
    client: httpx.AsyncClient, world: World, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idempotency, "MAX_KEPT_BODY", 64)
    body = {"workflow_uuid": world.workflows["Invoice approval"]}
    response = await client.post(EXECUTIONS, json=body, headers=keyed(world.operator_a, "big"))
    assert response.status_code == 201 and response.json()["data"]["uuid"]
    assert await key_rows(services) == []


async def test_a_body_over_the_limit_is_a_413_before_anything_is_claimed(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    big = (
        b'{"workflow_uuid": "%s", "mode": "' % world.workflows["Invoice approval"].encode() + b"x" * 10_000_001 + b'"}'
    )
    headers = {**keyed(world.operator_a, "huge"), "Content-Type": "application/json"}
    response = await client.post(EXECUTIONS, content=big, headers=headers)
    assert response.status_code == 413 and "message" in response.json()
    assert await key_rows(services) == [] and await execution_count(services) == 0


async def test_sign_in_other_methods_and_unkeyed_requests_store_nothing(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    credentials = {"email": world.operator_a.email, "password": "correct horse"}
    sign_ins = [
        await client.post(f"{API}/auth/sign-in", json=credentials, headers={"Idempotency-Key": "s"}) for _ in range(2)
    ]
    assert [s.status_code for s in sign_ins] == [200, 200]
    assert sign_ins[0].json()["data"]["token"] != sign_ins[1].json()["data"]["token"]  # never a stored token
    execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    patch = await client.patch(
        f"{EXECUTIONS}/{execution['uuid']}", json={"status": "running"}, headers=keyed(world.operator_a, "p")
    )
    assert patch.status_code == 200
    listed = await client.get(
        EXECUTIONS, params={"workspace_uuid": world.ws["A"]}, headers=keyed(world.operator_a, "\x01")
    )
    assert listed.status_code == 200  # a GET ignores the header, malformed or not
    assert await key_rows(services) == []


async def test_the_purge_deletes_expired_keys_in_batches_and_an_expired_key_runs_anew(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    body = {"workflow_uuid": world.workflows["Invoice approval"]}
    for n in range(5):
        await client.post(EXECUTIONS, json=body, headers=keyed(world.operator_a, f"old-{n}"))
    fresh = await client.post(EXECUTIONS, json=body, headers=keyed(world.operator_a, "fresh"))
    later = utcnow() + dt.timedelta(hours=24, seconds=1)
    # Past retention and not yet purged, a key is a new key: the request runs again.
    async with services.db.write() as session:
        await session.execute(
            IdempotencyKey.__table__.update().where(IdempotencyKey.key == "old-0").values(expires_at=utcnow())
        )
    rerun = await client.post(EXECUTIONS, json=body, headers=keyed(world.operator_a, "old-0"))
    assert rerun.status_code == 201 and REPLAYED not in rerun.headers and await execution_count(services) == 7
    assert await services.idempotency.purge_expired(now=utcnow(), batch_size=2) == 0
    assert await services.idempotency.purge_expired(now=later, batch_size=2) == 6
    assert await key_rows(services) == []
    assert fresh.status_code == 201


async def test_openapi_documents_the_header_on_the_posts_that_honour_it(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    posts = {path: item["post"] for path, item in paths.items() if "post" in item and path.startswith("/api/v1/")}
    keyed_posts = {
        p for p, op in posts.items() if any(x["name"] == "Idempotency-Key" for x in op.get("parameters", []))
    }
    assert keyed_posts == set(posts) - {"/api/v1/auth/sign-in", "/api/v1/auth/logout"}
    assert {
        "/api/v1/workflow-executions",
        "/api/v1/workflow-executions/bulk",
        "/api/v1/workflow-approvals/{approval_uuid}/approve",
        "/api/v1/command-room-tasks",
        "/api/v1/workflows",
    } <= keyed_posts
    create = posts["/api/v1/workflow-executions"]
    assert "Idempotent-Replayed" in create["responses"]["201"]["headers"]


async def test_metrics_count_keyed_requests_by_outcome(settings: Settings, world: World) -> None:
    app = create_app(dataclasses.replace(settings, metrics_token="metrics-test"))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local") as c:
            body = {"workflow_uuid": world.workflows["Invoice approval"]}
            for sent in (body, body, {**body, "mode": "cli"}):
                await c.post(EXECUTIONS, json=sent, headers=keyed(world.operator_a, "counted"))
            scraped = await c.get("/metrics", headers={"Authorization": "Bearer metrics-test"})
    finally:
        await app.state.services.close()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(scraped.text)
        for s in family.samples
    }
    outcomes = {o: samples[("athena_idempotency_requests_total", (("outcome", o),))] for o in OUTCOMES}
    assert outcomes == {"ran": 1, "replayed": 1, "mismatch": 1, "in_progress": 0}
    assert samples[("athena_idempotency_waits_total", ())] == 0


async def test_an_answer_that_cannot_be_stored_still_reaches_the_client(
    client: httpx.AsyncClient, world: World, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database fails between the request's commit and storing its answer (injected): the client
    gets the answer; the claim stays, so a retry waits and, after the lease, runs again."""

    async def database_gone(*_: Any) -> None:
        raise OSError("connection refused")

    monkeypatch.setattr(services.idempotency, "complete", database_gone)
    body = {"workflow_uuid": world.workflows["Invoice approval"]}
    response = await client.post(EXECUTIONS, json=body, headers=keyed(world.operator_a, "unstored"))
    assert response.status_code == 201 and response.json()["data"]["uuid"]
    [row] = await key_rows(services)
    assert row.status_code is None and row.owner is not None
