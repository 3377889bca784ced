"""Fixed-window rate limits: in-process, or shared by every instance through Redis.

A window starts at a key's first hit and lasts ``window`` seconds; each hit counts (INCR), and the
key expires with its window (PEXPIRE set by the first hit, in the same Lua script, so a key can
never be left without an expiry). With REDIS_URL every instance counts in the same keys, so the
limit holds for the whole deployment, not per process.

When Redis does not answer, limits fail open (the request is allowed): an outage of the event bus
must not lock every user out. Sign-in stays protected by argon2's cost. The log gets one warning
when the store becomes unavailable and one line when it answers again, not one per request;
``/metrics`` counts the requests allowed unchecked (``athena_ratelimit_store_failures``) and
shows the store's state (``athena_ratelimit_store_up``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from app.config import Settings
from app.lib.errors import AppError

logger = logging.getLogger("athena.ratelimit")

KEY_PREFIX = "athena:rl:"
_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
"""


@dataclass(frozen=True)
class Verdict:
    count: int
    limit: int
    retry_after: int  # seconds until the window ends

    @property
    def allowed(self) -> bool:
        return self.limit <= 0 or self.count <= self.limit


class RateLimited(AppError):
    """429 with ``Retry-After``."""

    status_code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)
        self.headers = {"Retry-After": str(self.retry_after)}


class RateLimiter:
    def __init__(self, redis_url: str | None = None) -> None:
        self.redis_url = redis_url
        self._redis: Redis | None = None
        self._script: AsyncScript | None = None
        self._memory: dict[str, tuple[int, float]] = {}
        self._lock = asyncio.Lock()
        self.failures = 0  # calls that found the store unavailable (requests allowed unchecked)
        self.outages = 0
        self.available = True

    @property
    def backend(self) -> str:
        return "redis" if self.redis_url else "memory"

    async def hit(self, key: str, limit: int, window: int) -> Verdict:
        """Count one hit on ``key``; ``allowed`` is False once the count passes ``limit``."""
        if limit <= 0:
            return Verdict(0, limit, 0)
        if self.redis_url:
            try:
                count, ttl_ms = await self._redis_hit(key, window)
            except (RedisError, OSError) as exc:
                self._unavailable(exc)
                return Verdict(0, limit, 0)
            self._answered()
            return Verdict(count, limit, math.ceil(ttl_ms / 1000))
        return self._memory_hit(key, limit, window)

    def _unavailable(self, exc: BaseException) -> None:
        """Count a call the store could not serve; log only the change of state."""
        self.failures += 1
        if self.available:
            self.available = False
            self.outages += 1
            logger.warning("rate limit store unavailable, limits fail open until it answers: %r", exc)

    def _answered(self) -> None:
        if not self.available:
            self.available = True
            logger.warning("rate limit store answers again; %d calls were allowed unchecked so far", self.failures)

    async def forget(self, key: str, *, one: bool = False) -> None:
        """Drop a key (``one``: take back one hit only), e.g. after a successful sign-in."""
        if self.redis_url:
            try:
                redis = self._client()
                await (redis.decr(KEY_PREFIX + key) if one else redis.delete(KEY_PREFIX + key))
            except (RedisError, OSError) as exc:
                self._unavailable(exc)
            else:
                self._answered()
            return
        if key in self._memory:
            count, reset_at = self._memory[key]
            if one and count > 1:
                self._memory[key] = (count - 1, reset_at)
            else:
                del self._memory[key]

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    def _client(self) -> Redis:
        if self._redis is None:
            assert self.redis_url
            self._redis = Redis.from_url(self.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        return self._redis

    async def _redis_hit(self, key: str, window: int) -> tuple[int, int]:
        redis = self._client()
        if self._script is None:
            self._script = redis.register_script(_HIT)
        count, ttl = await self._script(keys=[KEY_PREFIX + key], args=[window * 1000])
        return int(count), int(ttl)

    def _memory_hit(self, key: str, limit: int, window: int) -> Verdict:
        now = time.monotonic()
        if len(self._memory) > 50_000:  # bounded: drop windows that are over
            self._memory = {k: v for k, v in self._memory.items() if v[1] > now}
        count, reset_at = self._memory.get(key, (0, 0.0))
        if reset_at <= now:
            count, reset_at = 0, now + window
        count += 1
        self._memory[key] = (count, reset_at)
        return Verdict(count, limit, math.ceil(reset_at - now))


def _account_key(email: str) -> str:
    # Hashed: Redis need not hold the addresses people typed.
    return "signin:account:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


class SignInGuard:
    """Brute-force brake on sign-in that cannot be turned against the account's owner.

    - per client address: ``SIGN_IN_LIMIT_PER_ADDRESS`` attempts per window, then 429;
    - per (account, address): ``SIGN_IN_LIMIT_PER_ACCOUNT`` attempts per window, then 429 for that
      address only: guesses from elsewhere never lock the owner out;
    - per account, from every address: past ``SIGN_IN_DELAY_AFTER`` attempts since the last
      success, each attempt waits before its password is checked, 0.25 s doubling per attempt up to
      ``SIGN_IN_MAX_DELAY_SECONDS``: a slow-down, not a lockout.

    Every attempt counts before the password is checked (so a burst of parallel guesses cannot slip
    past a limit); a success clears the account's counts and takes back its address hit.
    """

    FIRST_DELAY = 0.25

    def __init__(self, limiter: RateLimiter, settings: Settings) -> None:
        self.limiter = limiter
        self.per_account = settings.sign_in_limit_per_account
        self.per_address = settings.sign_in_limit_per_address
        self.window = settings.sign_in_window_seconds
        self.delay_after = settings.sign_in_delay_after
        self.max_delay = settings.sign_in_max_delay_seconds

    async def attempt(self, email: str, address: str | None) -> None:
        """Count an attempt; raise RateLimited (429) when the address, or this account from this
        address, is over its limit; else wait the account's current delay."""
        account, where = _account_key(email), f"signin:address:{address or 'unknown'}"
        verdicts = [
            await self.limiter.hit(where, self.per_address, self.window),
            await self.limiter.hit(f"{account}:{address or 'unknown'}", self.per_account, self.window),
        ]
        refused = [v for v in verdicts if not v.allowed]
        if refused:
            wait = max(v.retry_after for v in refused)
            raise RateLimited(f"Too many sign-in attempts. Try again in {wait} seconds.", wait)
        if self.max_delay > 0:
            tried = await self.limiter.hit(account, 1 << 30, self.window)
            await asyncio.sleep(self.delay(tried.count))

    def delay(self, attempts: int) -> float:
        """Seconds the ``attempts``-th attempt on an account waits (0 up to SIGN_IN_DELAY_AFTER)."""
        over = attempts - self.delay_after
        if over <= 0 or self.max_delay <= 0:
            return 0.0
        return min(self.max_delay, self.FIRST_DELAY * 2.0 ** min(over - 1, 30))

    async def succeeded(self, email: str, address: str | None) -> None:
        account = _account_key(email)
        await self.limiter.forget(account)
        await self.limiter.forget(f"{account}:{address or 'unknown'}")
        await self.limiter.forget(f"signin:address:{address or 'unknown'}", one=True)


class ApiRateLimit:
    """Requests per user per window, across every instance when Redis is configured."""

    def __init__(self, limiter: RateLimiter, settings: Settings) -> None:
        self.limiter = limiter
        self.limit = settings.api_rate_limit
        self.window = settings.api_rate_window_seconds

    async def check(self, user_id: int) -> None:
        verdict = await self.limiter.hit(f"api:user:{user_id}", self.limit, self.window)
        if not verdict.allowed:
            raise RateLimited(
                f"Rate limit exceeded: {self.limit} requests per {self.window} seconds. "
                f"Try again in {verdict.retry_after} seconds.",
                verdict.retry_after,
            )
