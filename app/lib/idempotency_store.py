"""The ``idempotency_keys`` table: claiming a key, keeping an answer, replaying it, purging.

A key is claimed by inserting its row (``INSERT ... ON CONFLICT DO NOTHING``) in a transaction of
its own, committed before the request runs: of several concurrent requests with one key exactly one
insert wins, on SQLite and PostgreSQL alike, and the others find the row and wait for its answer.
The claim carries a random ``owner`` and a ``locked_at``: only the owner's answer (or release) is
written, and a claim left by a process that died is taken over once ``LEASE`` has passed."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.db.engine import Database
from app.db.models import IdempotencyKey
from app.lib.idempotency_keys import Fingerprint, StoredResponse

logger = logging.getLogger("athena.idempotency")

# A claim older than this without an answer is taken to be abandoned (its process died): the next
# retry runs the request again. Longer than any POST of the API takes.
LEASE = dt.timedelta(seconds=60)
PURGE_EVERY_SECONDS = 600.0
PURGE_BATCH = 1000


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Claim:
    """This request holds the key: it runs, then ``complete`` or ``release``."""

    row_id: int
    owner: str
    token_id: int
    key: str


@dataclass(frozen=True)
class InFlight:
    """The key's first request is still running (or its process died less than ``LEASE`` ago)."""


@dataclass(frozen=True)
class Mismatch:
    """The key was used for another request (method, path, query or body)."""

    method: str
    target: str


Outcome = Claim | InFlight | Mismatch | StoredResponse


@dataclass
class IdempotencyCounts:
    """What keyed POSTs came to in this process, since start (``/metrics``)."""

    ran: int = 0  # claimed the key and ran
    replayed: int = 0  # answered with a stored answer
    mismatched: int = 0  # 422: the key was used for another request
    in_progress: int = 0  # 409: the first request still ran after WAIT_LIMIT
    waited: int = 0  # found the first request running and waited for it


class IdempotencyStore:
    """The keys of one app (``Services.idempotency``): claims, answers, waiting, the purge loop."""

    def __init__(self, db: Database, retention: dt.timedelta) -> None:
        self.db = db
        self.retention = retention
        self._purger: asyncio.Task[None] | None = None
        self.counts = IdempotencyCounts()
        self.purged = 0  # expired keys deleted by this process
        # Requests of this process waiting on a key another request of this process holds: woken
        # as soon as it is answered or freed (across processes, waiting falls back to polling).
        self._wakers: dict[tuple[int, str], asyncio.Event] = {}

    async def wait(self, token_id: int, key: str, seconds: float) -> None:
        """Until this process answers or frees ``key``, or ``seconds`` pass."""
        event = self._wakers.setdefault((token_id, key), asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)

    def wake(self, token_id: int, key: str) -> None:
        """Wake this process's waiters on ``key`` (they claim again and see what holds it now)."""
        event = self._wakers.pop((token_id, key), None)
        if event is not None:
            event.set()

    async def claim(self, token_id: int, key: str, request: Fingerprint) -> Outcome:
        """Claim ``key`` for this request, or say what holds it: its stored answer, a request still
        running, or another request's fingerprint."""
        while True:
            now = utcnow()
            # Read first: a retry that waits on a running request polls with reads only.
            async with self.db.quick_read() as session:
                row = (
                    await session.execute(
                        select(IdempotencyKey).where(IdempotencyKey.token_id == token_id, IdempotencyKey.key == key)
                    )
                ).scalar_one_or_none()
            if row is None:
                claim = await self._insert(token_id, key, request, now)
                if claim is not None:
                    return claim
                continue  # another request inserted it first: read what it holds
            if row.expires_at <= now:
                await self._drop_expired(row.id, now)  # past retention, not yet purged: a new key
                continue
            if row.request_hash != request.digest:
                return Mismatch(row.method, row.path)
            if row.status_code is not None:
                return StoredResponse(
                    row.status_code, [(n, v) for n, v in row.response_headers or []], row.response_body or b""
                )
            if row.locked_at is not None and row.locked_at > now - LEASE:
                return InFlight()
            taken = await self._take_over(row, now)
            if taken is not None:
                return taken

    async def _insert(self, token_id: int, key: str, request: Fingerprint, now: dt.datetime) -> Claim | None:
        owner = secrets.token_hex(16)
        dialect = postgresql if not self.db.is_sqlite else sqlite
        stmt = (
            dialect.insert(IdempotencyKey)
            .values(
                token_id=token_id,
                key=key,
                method=request.method,
                path=request.target,
                request_hash=request.digest,
                owner=owner,
                locked_at=now,
                expires_at=now + self.retention,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["token_id", "key"])
            .returning(IdempotencyKey.id)
        )
        async with self.db.write() as session:
            row_id = (await session.execute(stmt)).scalar_one_or_none()
        return None if row_id is None else Claim(row_id, owner, token_id, key)

    async def _drop_expired(self, row_id: int, now: dt.datetime) -> None:
        async with self.db.write() as session:
            await session.execute(
                delete(IdempotencyKey).where(IdempotencyKey.id == row_id, IdempotencyKey.expires_at <= now)
            )

    async def _take_over(self, row: IdempotencyKey, now: dt.datetime) -> Claim | None:
        """Claim a row whose owner vanished: a conditional UPDATE, so one of several retries wins."""
        owner = secrets.token_hex(16)
        async with self.db.write() as session:
            result = await session.execute(
                update(IdempotencyKey)
                .where(
                    IdempotencyKey.id == row.id,
                    IdempotencyKey.status_code.is_(None),
                    _owned_by(row.owner),
                )
                .values(owner=owner, locked_at=now, updated_at=now)
            )
        if _rowcount(result) != 1:
            return None
        logger.warning("idempotency key row %d: its request left no answer within %s; running it again", row.id, LEASE)
        return Claim(row.id, owner, row.token_id, row.key)

    async def complete(self, claim: Claim, response: StoredResponse) -> None:
        """Keep the answer of the claimed request (only while this request still owns the claim)."""
        now = utcnow()
        async with self.db.write() as session:
            result = await session.execute(
                update(IdempotencyKey)
                .where(IdempotencyKey.id == claim.row_id, IdempotencyKey.owner == claim.owner)
                .values(
                    owner=None,
                    status_code=response.status,
                    response_headers=[list(pair) for pair in response.headers],
                    response_body=response.body,
                    updated_at=now,
                )
            )
        self.wake(claim.token_id, claim.key)
        if _rowcount(result) != 1:
            logger.warning("idempotency key row %d was taken over before its answer was stored", claim.row_id)

    async def release(self, claim: Claim) -> None:
        """Free the key (an answer that is not kept, or a request that failed): a retry runs anew."""
        async with self.db.write() as session:
            await session.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.id == claim.row_id,
                    IdempotencyKey.owner == claim.owner,
                    IdempotencyKey.status_code.is_(None),
                )
            )
        self.wake(claim.token_id, claim.key)

    async def purge_expired(self, now: dt.datetime | None = None, batch_size: int = PURGE_BATCH) -> int:
        """Delete the keys past ``expires_at``, ``batch_size`` per transaction; returns how many."""
        cutoff = now or utcnow()
        purged = 0
        while True:
            async with self.db.write() as session:
                purged_now = await _purge_batch(session, cutoff, batch_size)
            purged += purged_now
            if purged_now < batch_size:
                return purged

    def start(self) -> None:
        """Purge expired keys now and every ``PURGE_EVERY_SECONDS`` while the server runs."""
        if self._purger is None:
            self._purger = asyncio.create_task(self._purge_forever(), name="idempotency-purge")

    async def stop(self) -> None:
        if self._purger is not None:
            self._purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._purger
            self._purger = None

    async def _purge_forever(self) -> None:
        while True:
            try:
                purged = await self.purge_expired()
                self.purged += purged
                if purged:
                    logger.info("purged %d expired idempotency key(s)", purged)
            except Exception as exc:  # a database outage must not end the loop: try again next time
                logger.warning(
                    "purging expired idempotency keys failed (%r); next try in %d s", exc, PURGE_EVERY_SECONDS
                )
            await asyncio.sleep(PURGE_EVERY_SECONDS)


async def _purge_batch(session: AsyncSession, cutoff: dt.datetime, batch_size: int) -> int:
    ids = select(IdempotencyKey.id).where(IdempotencyKey.expires_at <= cutoff).limit(batch_size)
    result = await session.execute(delete(IdempotencyKey).where(IdempotencyKey.id.in_(ids)))
    return _rowcount(result)


def _owned_by(owner: str | None) -> ColumnElement[bool]:
    return IdempotencyKey.owner.is_(None) if owner is None else IdempotencyKey.owner == owner


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
