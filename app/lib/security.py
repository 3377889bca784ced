"""Passwords (argon2id, a deliberately slow hash) and API tokens (256-bit CSPRNG, stored as SHA-256).

argon2 costs ~0.3-0.8 s of CPU here, so the server never runs it on the event loop: ``PasswordCheck``
runs it in worker threads (argon2-cffi releases the GIL), a bounded number at once per process,
at the lowest CPU priority (Linux), so on a busy machine the event loop's thread is served first.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar, TypeVarTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.lib.errors import AppError

Args = TypeVarTuple("Args")
Result = TypeVar("Result")

# argon2-cffi's defaults (RFC 9106 "low memory" profile: argon2id, t=3, m=64 MiB, p=4).
PASSWORD_HASHER = PasswordHasher()
_hasher = PASSWORD_HASHER
TOKEN_PREFIX = "ath_"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


_dummy: list[str] = []


def dummy_hash() -> str:
    """A hash of a random secret with today's parameters: unknown and inactive accounts are verified
    against it, so they cost the same as a real account and timing does not tell them apart."""
    if not _dummy or _hasher.check_needs_rehash(_dummy[0]):
        _dummy[:] = [_hasher.hash(secrets.token_urlsafe(24))]
    return _dummy[0]


def verify_password(password_hash: str | None, password: str) -> bool:
    """One argon2 verification (against ``dummy_hash()`` when there is no hash); blocking."""
    try:
        return _hasher.verify(password_hash or dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Verified:
    ok: bool
    rehashed: str | None = None  # a new hash to store when the stored one uses outdated parameters


def _verify_and_rehash(password_hash: str | None, password: str) -> Verified:
    if not verify_password(password_hash, password):
        return Verified(False)
    assert password_hash is not None
    return Verified(True, _hasher.hash(password) if _hasher.check_needs_rehash(password_hash) else None)


class HashingBusy(AppError):
    """503 with ``Retry-After``: more sign-ins are waiting for a hash than this process queues."""

    status_code = 503

    def __init__(self) -> None:
        super().__init__("Too many sign-ins at once. Try again in a moment.")
        self.headers = {"Retry-After": "1"}


def _lower_priority() -> None:
    """Nice this worker thread (Linux: priority is per thread), so hashing yields the CPU to the loop."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


class PasswordCheck:
    """argon2 off the event loop: in worker threads, ``concurrency`` at once per process; up to
    ``queue`` more wait their turn, beyond that ``HashingBusy`` (503). Build one per app (its
    semaphore belongs to the app's event loop)."""

    def __init__(self, concurrency: int = 2, queue: int = 16) -> None:
        self.concurrency = max(1, concurrency)
        self.queue = max(0, queue)
        self._slots = asyncio.Semaphore(self.concurrency)
        self._waiting = 0
        self._pool: ThreadPoolExecutor | None = None

    async def verify(self, password_hash: str | None, password: str) -> Verified:
        """Verify (against the dummy hash when ``password_hash`` is None); on success say whether
        the hash needs upgrading, with the upgraded hash."""
        return await self._run(_verify_and_rehash, password_hash, password)

    async def hash(self, password: str) -> str:
        return await self._run(_hasher.hash, password)

    async def _run(self, fn: Callable[[*Args], Result], *args: *Args) -> Result:
        if self._slots.locked() and self._waiting >= self.queue:
            raise HashingBusy()
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.concurrency, "argon2", initializer=_lower_priority)
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        finally:
            self._slots.release()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: no dictionary to guess from.
    return hashlib.sha256(token.encode()).hexdigest()
