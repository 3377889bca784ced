"""``Idempotency-Key`` on the API's POST requests: a retry is answered, not run again.

One middleware on the API router, inside authentication (a 401 or 429 comes first and is never
stored) and the query normalisation (the fingerprint sees the query the handler sees). A POST that
carries the header:

1. is read whole (up to the route's body limit: 413 past it) and fingerprinted: method, path,
   query and the body (JSON compared as JSON);
2. claims ``(token, key)`` (app/lib/idempotency_store.py). If the key already holds an answer to the
   same request, that answer is replayed as it was (status, kept headers, body byte for byte) with
   ``Idempotent-Replayed: true``; to another request, 422 naming ``Idempotency-Key``; if its first
   request is still running, this one waits for it (up to ``WAIT_LIMIT``, then 409 with
   ``Retry-After``) and replays its answer;
3. runs with the claim, its answer held back until it is stored: a retry that arrives once the
   client has its answer always finds it. 5xx and transient 4xx answers are not stored (the key is
   freed); neither is an answer over ``MAX_KEPT_BODY``, which streams through as it comes.

Sign-in and logout ignore the header: a sign-in's answer carries a new token, which must never be
stored, and logging out twice is harmless. Other methods ignore it too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, cast

from litestar.enums import ScopeType
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.middleware import ASGIMiddleware
from litestar.openapi.spec import OpenAPI, OpenAPIHeader, OpenAPIResponse, Parameter, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.lib.errors import ConflictError, FieldValidationError
from app.lib.idempotency_keys import (
    HEADER,
    KEY_PATTERN,
    MAX_KEY_LENGTH,
    REPLAYED_HEADER,
    Fingerprint,
    StoredResponse,
    fingerprint,
    is_kept,
    kept_headers,
    parse_key,
)
from app.lib.idempotency_store import Claim, IdempotencyStore, InFlight, Mismatch

logger = logging.getLogger("athena.idempotency")

EXCLUDED_PATHS = frozenset({"/api/v1/auth/sign-in", "/api/v1/auth/logout"})
WAIT_LIMIT = 30.0  # seconds a retry waits for the first request's answer before a 409
MAX_KEPT_BODY = 2 * 1024 * 1024
FIRST_PAUSE = 0.02  # seconds between a waiting retry's looks at the key, growing to 0.25
_HEADER_NAME = HEADER.lower().encode()


class RequestInProgress(ConflictError):
    """409 with ``Retry-After``: the key's first request is still running (IETF draft's answer)."""

    def __init__(self) -> None:
        super().__init__(
            f"A request with this {HEADER} is still in progress; retry it later to get its answer.",
            errors={HEADER: ["A request with this key is still in progress."]},
        )
        self.headers = {"Retry-After": "1"}


class _ClientGone(Exception):
    """The client disconnected while sending its body: there is no one to answer."""


class IdempotencyMiddleware(ASGIMiddleware):
    """POST requests of the API with an ``Idempotency-Key`` run once per token and key."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        token_id = getattr(scope.get("user"), "token_id", None)
        if scope.get("method") != "POST" or scope["path"] in EXCLUDED_PATHS or token_id is None:
            await next_app(scope, receive, send)
            return
        key = parse_key([value for name, value in scope["headers"] if name == _HEADER_NAME])
        if key is None:
            await next_app(scope, receive, send)
            return
        try:
            body = await _read_body(receive, _body_limit(scope))
        except _ClientGone:
            return
        request = fingerprint("POST", scope["path"], scope.get("query_string", b""), body)
        # From the app's state, not held here: Litestar deep-copies the router and its middleware.
        store: IdempotencyStore = scope["litestar_app"].state.services.idempotency
        outcome = await _settle(store, token_id, key, request)
        if isinstance(outcome, StoredResponse):
            await _replay(outcome, send)
            return
        await _run(store, outcome, scope, _replaying(body, receive), send, next_app)


async def _settle(store: IdempotencyStore, token_id: int, key: str, request: Fingerprint) -> Claim | StoredResponse:
    """Claim the key, or wait while its first request runs; the claim or the stored answer."""
    deadline = time.monotonic() + WAIT_LIMIT
    pause = FIRST_PAUSE
    counts = store.counts
    while True:
        outcome = await store.claim(token_id, key, request)
        if isinstance(outcome, Claim):
            counts.ran += 1
            return outcome  # its answer (or release) wakes this process's waiters
        if not isinstance(outcome, InFlight):
            # The other waiters of this process look again too (an answer stored by another
            # process reaches them at once), and the key's entry in the store's wakers goes.
            store.wake(token_id, key)
        if isinstance(outcome, StoredResponse):
            counts.replayed += 1
            return outcome
        if isinstance(outcome, Mismatch):
            counts.mismatched += 1
            raise FieldValidationError(
                HEADER,
                f"This {HEADER} was already used for a different request (first: {outcome.method} {outcome.target}):"
                " a key stands for one request (method, path, query and body); use a new key for a new request.",
            )
        if time.monotonic() >= deadline:
            store.wake(token_id, key)
            counts.in_progress += 1
            raise RequestInProgress()
        if pause == FIRST_PAUSE:
            counts.waited += 1
        await store.wait(token_id, key, pause)
        pause = min(pause * 1.5, 0.25)


async def _run(
    store: IdempotencyStore, claim: Claim, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp
) -> None:
    """Run the claimed request; store its answer (or free the key) before the client gets it."""
    capture = _Capture(send)
    try:
        await next_app(scope, receive, capture.send)
    except BaseException:
        await asyncio.shield(store.release(claim))
        raise
    response = capture.response()
    try:
        if response is None or not is_kept(response.status):
            await store.release(claim)
        else:
            await store.complete(claim, response)
    except Exception as exc:  # the database went away: the client still gets its answer
        # The claim stays; retries wait for it, then take it over once LEASE has passed.
        logger.warning("idempotency key row %d: storing or freeing it failed: %r", claim.row_id, exc)
    await capture.flush()


class _Capture:
    """Holds a response back (up to ``MAX_KEPT_BODY``; past it, lets it stream through)."""

    def __init__(self, send: Send) -> None:
        self.downstream = send
        self.start: dict[str, Any] | None = None
        self.chunks: list[bytes] = []
        self.size = 0
        self.finished = False
        self.streaming = False

    async def send(self, event: Message) -> None:
        message: dict[str, Any] = dict(event)
        if self.streaming:
            await self.downstream(event)
            return
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body" and self.start is not None:
            body = message.get("body", b"")
            self.chunks.append(body)
            self.size += len(body)
            self.finished = not message.get("more_body", False)
            if self.size > MAX_KEPT_BODY and not self.finished:
                await self._stream()
        else:  # anything unusual (a file sent by path...): not stored, passed on
            await self._stream()
            await self.downstream(event)

    async def _stream(self) -> None:
        self.streaming = True
        if self.start is not None:
            await self.downstream(cast("Message", self.start))
            await self.downstream({"type": "http.response.body", "body": b"".join(self.chunks), "more_body": True})

    def response(self) -> StoredResponse | None:
        """The held response, when it is complete and still held."""
        if self.streaming or self.start is None or not self.finished or self.size > MAX_KEPT_BODY:
            return None
        return StoredResponse(self.start["status"], kept_headers(self.start.get("headers", [])), b"".join(self.chunks))

    async def flush(self) -> None:
        if self.streaming or self.start is None:
            return
        await self.downstream(cast("Message", self.start))
        await self.downstream({"type": "http.response.body", "body": b"".join(self.chunks), "more_body": False})


async def _replay(stored: StoredResponse, send: Send) -> None:
    await send({"type": "http.response.start", "status": stored.status, "headers": stored.replay_headers()})
    await send({"type": "http.response.body", "body": stored.body, "more_body": False})


def _body_limit(scope: Scope) -> float:
    handler: Any = scope.get("route_handler")
    limit = handler.resolve_request_max_body_size() if handler is not None else None
    return float(limit) if limit else float("inf")


async def _read_body(receive: Receive, limit: float) -> bytes:
    """The whole request body (413 past ``limit``, as the handler itself would answer)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message: dict[str, Any] = dict(await receive())
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the handler the body read here, then the client's next messages."""
    given = False

    async def replay() -> Any:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


KEY_DESCRIPTION = (
    "Makes this POST safe to retry: a retry with the same key and the same request (method, path, "
    "query, body) is answered with the first answer, replayed as it was (marked `Idempotent-Replayed: "
    "true`), instead of running again; while the first still runs, a retry waits for its answer. "
    "The same key with another request: 422 naming `Idempotency-Key`. Keys are per token and kept "
    "`IDEMPOTENCY_KEY_HOURS` (24 h). 5xx, 408, 409, 423, 425 and 429 answers are not kept."
)


def document_idempotency(openapi: OpenAPI, prefix: str = "/api/v1/") -> None:
    """Declare the header on every POST of the API that honours it, and the replay mark on its answers."""
    key = Parameter(
        name=HEADER,
        param_in="header",
        required=False,
        description=KEY_DESCRIPTION,
        schema=Schema(type=OpenAPIType.STRING, min_length=1, max_length=MAX_KEY_LENGTH, pattern=KEY_PATTERN),
    )
    replayed = OpenAPIHeader(
        schema=Schema(type=OpenAPIType.STRING, enum=["true"]),
        description="Present on an answer replayed for a retry with the same Idempotency-Key.",
    )
    for path, item in (openapi.paths or {}).items():
        operation = item.post
        if operation is None or not path.startswith(prefix) or path in EXCLUDED_PATHS:
            continue
        operation.parameters = [*(operation.parameters or []), key]
        for status, response in (operation.responses or {}).items():
            if isinstance(response, OpenAPIResponse) and not status.startswith("5"):
                response.headers = {**(response.headers or {}), REPLAYED_HEADER: replayed}
