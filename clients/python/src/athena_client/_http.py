"""Sending a request with retries: backoff on connection errors, 429 (honouring ``Retry-After``) and
502/503/504; the same idempotency key on every attempt of one POST. A keyed POST's 409 that carries
``Retry-After`` (a server that keeps idempotency keys saying the key's first attempt still runs) is
waited out too; other 409s are conflicts and raise."""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from athena_client.errors import ConnectionFailed, error_for

RETRY_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENCY_HEADER = "Idempotency-Key"

# What a retry hook is told: the attempt that failed (1-based), its status (None for a connection
# error) and how long the client waits before the next one.
RetryHook = Callable[[int, int | None, float], None]


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. A failed attempt waits ``base_delay * 2**(n-1)`` (capped at ``max_delay``,
    plus up to ``jitter`` of it at random), or exactly what ``Retry-After`` says; the client gives up
    after ``attempts`` tries or when the next wait would end past ``max_elapsed`` seconds."""

    attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 10.0
    max_elapsed: float = 60.0
    jitter: float = 0.2
    statuses: frozenset[int] = field(default=RETRY_STATUSES)

    def delay(self, attempt: int, response: httpx.Response | None = None, rand: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        retry_after = retry_after_seconds(response) if response is not None else None
        if retry_after is not None:
            return retry_after
        backoff = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return backoff * (1 + self.jitter * (random.random() if rand is None else rand))

    def next_delay(self, attempt: int, elapsed: float, response: httpx.Response | None) -> float | None:
        """The wait before the next attempt, or None to give up."""
        if attempt >= self.attempts:
            return None
        wait = self.delay(attempt, response)
        return None if elapsed + wait > self.max_elapsed else wait


NO_RETRIES = RetryPolicy(attempts=1)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date (RFC 9110); None if absent."""
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    if raw.isdigit():
        return float(raw)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


# The request never reached the server: always safe to send again.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass
class Request:
    """One API call, ready to send (and to send again). ``replayable``: sending it twice does what
    sending it once does (GETs, POSTs with an idempotency key, PATCHes whose node reports name their
    ``run_index``), so it is retried after a connection dropped mid-request too; other requests are
    retried only when they never reached the server."""

    method: str
    path: str
    json: Any = None
    params: dict[str, Any] | None = None
    idempotency_key: str | None = None
    replayable: bool | None = None

    def __post_init__(self) -> None:
        if self.replayable is None:
            self.replayable = self.method == "GET" or self.idempotency_key is not None

    def may_retry(self, error: httpx.TransportError) -> bool:
        return bool(self.replayable) or isinstance(error, NOT_SENT)

    def headers(self) -> dict[str, str]:
        return {IDEMPOTENCY_HEADER: self.idempotency_key} if self.idempotency_key else {}


def post(path: str, body: Any = None, idempotency_key: str | None = None) -> Request:
    """A POST: every one carries an idempotency key, reused on each retry of it."""
    return Request("POST", path, json=body, idempotency_key=idempotency_key or str(uuid.uuid4()))


def _outcome(response: httpx.Response, policy: RetryPolicy, request: Request) -> bool:
    """True when ``response`` is final (success raises nothing; an error raises); False to retry."""
    if response.status_code in policy.statuses:
        return False
    if response.status_code == 409 and request.idempotency_key and "retry-after" in response.headers:
        return False  # the key's first attempt is still running on the server: ask again later
    if response.status_code >= 400:
        raise error_for(response)
    return True


def _retry_wait(
    request: Request,
    policy: RetryPolicy,
    attempt: int,
    started: float,
    response: httpx.Response | None,
    exc: httpx.TransportError | None,
) -> float:
    """Seconds to wait before the next attempt, or the error to raise when there is none (shared by
    ``send`` and ``asend``): a transport error is retried only where ``request.may_retry`` allows."""
    elapsed = time.monotonic() - started
    if exc is not None:
        wait = policy.next_delay(attempt, elapsed, None) if request.may_retry(exc) else None
        if wait is None:
            raise ConnectionFailed(f"{request.method} {request.path}: {exc!r}", exc) from exc
        return wait
    assert response is not None
    delay = policy.next_delay(attempt, elapsed, response)
    if delay is None:
        raise error_for(response)
    return delay


def send(
    client: httpx.Client,
    request: Request,
    policy: RetryPolicy,
    on_retry: RetryHook | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """Send with retries (blocking); the parsed JSON of the answer (None when it has no body)."""
    started, attempt = time.monotonic(), 0
    while True:
        attempt += 1
        response: httpx.Response | None = None
        try:
            response = client.request(
                request.method,
                request.path,
                json=request.json,
                params=request.params,
                headers={**(headers or {}), **request.headers()},
            )
        except httpx.TransportError as exc:
            wait = _retry_wait(request, policy, attempt, started, None, exc)
        else:
            if _outcome(response, policy, request):
                return _body(response)
            wait = _retry_wait(request, policy, attempt, started, response, None)
        if on_retry is not None:
            on_retry(attempt, response.status_code if response is not None else None, wait)
        time.sleep(wait)


async def asend(
    client: httpx.AsyncClient,
    request: Request,
    policy: RetryPolicy,
    on_retry: RetryHook | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """``send``, for asyncio."""
    started, attempt = time.monotonic(), 0
    while True:
        attempt += 1
        response: httpx.Response | None = None
        try:
            response = await client.request(
                request.method,
                request.path,
                json=request.json,
                params=request.params,
                headers={**(headers or {}), **request.headers()},
            )
        except httpx.TransportError as exc:
            wait = _retry_wait(request, policy, attempt, started, None, exc)
        else:
            if _outcome(response, policy, request):
                return _body(response)
            wait = _retry_wait(request, policy, attempt, started, response, None)
        if on_retry is not None:
            on_retry(attempt, response.status_code if response is not None else None, wait)
        await asyncio.sleep(wait)


def _body(response: httpx.Response) -> Any:
    return response.json() if response.content else None
