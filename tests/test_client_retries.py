"""athena-client's retry arithmetic, on an httpx MockTransport (the real 429 is in test_client_lib.py).

Which answers are retried and how long the client waits: exponential backoff capped, Retry-After in
seconds or as a date, give-up rules; every attempt of one POST carries the same Idempotency-Key.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator

import httpx
import pytest
from athena_client import (
    AsyncAthenaClient,
    AthenaClient,
    Conflict,
    ConnectionFailed,
    RateLimited,
    RetryPolicy,
    Unavailable,
    ValidationFailed,
    _http,
)

CREATED = {"data": {"uuid": "e1", "workspace_uuid": "w1", "status": "running", "version": 1}}


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """The waits the client would have slept (not slept, so the test stays quick)."""
    waits: list[float] = []

    async def asleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(_http.time, "sleep", waits.append)
    monkeypatch.setattr(_http.asyncio, "sleep", asleep)
    yield waits


def scripted(answers: list[httpx.Response | Exception], seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handler)


def client_on(transport: httpx.MockTransport, policy: RetryPolicy) -> AthenaClient:
    return AthenaClient(
        token="ath_token", http=httpx.Client(transport=transport, base_url="http://athena.test"), retry=policy
    )


def test_backoff_doubles_from_the_base_delay_up_to_the_cap() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0, jitter=0.0)
    assert [policy.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    jittered = RetryPolicy(base_delay=1.0, jitter=0.2)
    assert jittered.delay(2, rand=0.0) == 2.0 and jittered.delay(2, rand=1.0) == pytest.approx(2.4)


def test_retry_after_in_seconds_or_as_a_date_wins_over_the_backoff() -> None:
    policy = RetryPolicy(base_delay=0.5, jitter=0.0)
    assert policy.delay(1, httpx.Response(429, headers={"Retry-After": "7"})) == 7.0
    in_30s = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= policy.delay(1, httpx.Response(503, headers={"Retry-After": in_30s})) <= 30
    assert policy.delay(3, httpx.Response(503, headers={"Retry-After": "soon"})) == 2.0  # unreadable: backoff


def test_give_up_rules() -> None:
    policy = RetryPolicy(attempts=3, base_delay=1.0, jitter=0.0, max_elapsed=10.0)
    assert policy.next_delay(1, 0.0, None) == 1.0
    assert policy.next_delay(3, 0.0, None) is None  # out of attempts
    assert policy.next_delay(1, 9.5, None) is None  # the wait would end past max_elapsed
    assert policy.next_delay(1, 0.0, httpx.Response(429, headers={"Retry-After": "60"})) is None


def test_a_create_keeps_its_idempotency_key_across_503_429_and_a_dropped_connection(slept: list[float]) -> None:
    seen: list[httpx.Request] = []
    answers: list[httpx.Response | Exception] = [
        httpx.Response(503, headers={"Retry-After": "2"}, json={"message": "The database is unavailable"}),
        httpx.ConnectError("connection refused"),
        httpx.Response(429, headers={"Retry-After": "1"}, json={"message": "Too many requests"}),
        httpx.Response(201, json=CREATED),
        httpx.Response(201, json=CREATED),
        httpx.Response(200, json=CREATED),
    ]
    client = client_on(scripted(answers, seen), RetryPolicy(base_delay=0.25, jitter=0.0))
    assert client.create_execution("wf-1")["uuid"] == "e1"
    client.create_execution("wf-1")
    client.get_execution("e1")
    keys = [r.headers.get("Idempotency-Key") for r in seen]
    assert keys[0] and keys[:4] == [keys[0]] * 4  # one create, four attempts, one key
    assert keys[4] and keys[4] != keys[0]  # another create, another key
    assert keys[5] is None  # GETs carry none
    assert slept == [2.0, 0.5, 1.0]  # Retry-After, backoff (2nd attempt), Retry-After
    assert all(r.headers["Authorization"] == "Bearer ath_token" for r in seen)


def test_errors_that_outlast_the_retries_or_are_not_retried(slept: list[float]) -> None:
    seen: list[httpx.Request] = []
    unavailable = [httpx.Response(503, json={"message": "down"}) for _ in range(3)]
    client = client_on(scripted(unavailable, seen), RetryPolicy(attempts=3, base_delay=0.1, jitter=0.0))
    with pytest.raises(Unavailable) as down:
        client.workspace("w1")
    assert down.value.status == 503 and len(seen) == 3 and slept == [0.1, 0.2]

    refused: list[httpx.Response | Exception] = [httpx.ConnectError("refused") for _ in range(2)]
    client = client_on(scripted(refused, seen), RetryPolicy(attempts=2, base_delay=0.1, jitter=0.0))
    with pytest.raises(ConnectionFailed):
        client.workspace("w1")

    invalid = {"message": "The mode field is invalid", "errors": {"mode": ["too long"]}}
    client = client_on(scripted([httpx.Response(422, json=invalid)], seen), RetryPolicy())
    with pytest.raises(ValidationFailed) as bad:
        client.create_execution("wf-1", mode="x" * 60)
    assert bad.value.errors == {"mode": ["too long"]}

    too_long = [httpx.Response(429, headers={"Retry-After": "3600"}, json={"message": "slow down"})]
    client = client_on(scripted(too_long, seen), RetryPolicy(max_elapsed=60))
    with pytest.raises(RateLimited):
        client.workspace("w1")


async def test_the_async_client_retries_the_same_way(slept: list[float]) -> None:
    seen: list[httpx.Request] = []
    answers: list[httpx.Response | Exception] = [
        httpx.ReadTimeout("no answer"),
        httpx.Response(503, headers={"Retry-After": "2"}, json={"message": "down"}),
        httpx.Response(201, json=CREATED),
    ]
    transport = scripted(answers, seen)
    async_transport = httpx.MockTransport(lambda request: transport.handle_request(request))
    async with httpx.AsyncClient(transport=async_transport, base_url="http://athena.test") as http:
        client = AsyncAthenaClient(token="ath_token", http=http, retry=RetryPolicy(base_delay=0.5, jitter=0.0))
        assert (await client.create_execution("wf-1"))["uuid"] == "e1"
    assert len({r.headers["Idempotency-Key"] for r in seen}) == 1 and len(seen) == 3
    assert slept == [0.5, 2.0]


def test_a_request_that_may_have_reached_the_server_is_resent_only_when_a_repeat_changes_nothing(
    slept: list[float],
) -> None:
    """A dropped connection mid-request (read timeout) is retried for a PATCH whose node reports name
    their run_index (what Run sends), not for one without (a repeat would start another node run);
    a refused connection (never sent) is retried for both."""
    seen: list[httpx.Request] = []
    policy = RetryPolicy(base_delay=0.1, jitter=0.0)
    loose = {"node_runs": [{"node_id": "fetch", "status": "success"}]}
    exact = {"node_runs": [{"node_id": "fetch", "status": "success", "run_index": 0}]}
    answers: list[httpx.Response | Exception] = [
        httpx.ReadTimeout("no answer"),
        httpx.ConnectError("refused"),
        httpx.Response(200, json=CREATED),
        httpx.ReadTimeout("no answer"),
        httpx.Response(200, json=CREATED),
    ]
    client = client_on(scripted(answers, seen), policy)
    with pytest.raises(ConnectionFailed):
        client.update_execution("e1", **loose)
    assert len(seen) == 1
    assert client.update_execution("e1", **loose)["uuid"] == "e1"  # refused, then sent
    assert client.update_execution("e1", **exact)["uuid"] == "e1"  # timed out, then sent again
    assert len(seen) == 5


def test_a_keyed_post_waits_out_the_409_of_its_own_first_attempt_still_running(slept: list[float]) -> None:
    """The idempotency server answers a retry 409 + Retry-After while the key's first request runs;
    a state conflict (409 without Retry-After) is an error at once."""
    seen: list[httpx.Request] = []
    running = {"message": "A request with this Idempotency-Key is still running; retry shortly."}
    answers: list[httpx.Response | Exception] = [
        httpx.ReadTimeout("no answer"),
        httpx.Response(409, headers={"Retry-After": "1"}, json=running),
        httpx.Response(201, json=CREATED),
        httpx.Response(409, json={"message": "Cannot stop an execution that is already 'completed'."}),
    ]
    client = client_on(scripted(answers, seen), RetryPolicy(base_delay=0.25, jitter=0.0))
    assert client.create_execution("wf-1")["uuid"] == "e1"
    assert len({r.headers["Idempotency-Key"] for r in seen}) == 1 and slept == [0.25, 1.0]
    with pytest.raises(Conflict):
        client.stop_execution("e1")
    assert len(seen) == 4
