"""Settings read from the environment (see README's configuration table)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


def _env_list(name: str, default: str) -> list[str]:
    raw = os.environ.get(name, default)
    return [item.strip().rstrip("/") for item in raw.split(",") if item.strip()]


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _default_database_url() -> str:
    return f"sqlite+aiosqlite:///{Path.cwd() / 'athena.db'}"


def normalize_database_url(url: str) -> str:
    """Accept the URLs people paste (``postgres://``, ``postgresql://``) and pick the async drivers."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


def _log_format(raw: str | None) -> str | None:
    if not raw:
        return None
    if raw.lower() not in {"json", "text"}:
        raise ValueError(f"LOG_FORMAT must be json or text, not {raw!r}")
    return raw.lower()


@dataclass(frozen=True)
class Settings:
    database_url: str = field(
        default_factory=lambda: normalize_database_url(os.environ.get("DATABASE_URL") or _default_database_url())
    )
    redis_url: str | None = field(default_factory=lambda: os.environ.get("REDIS_URL") or None)
    secret_key: str = field(default_factory=lambda: os.environ.get("SECRET_KEY") or secrets.token_hex(32))
    allowed_origins: list[str] = field(
        default_factory=lambda: _env_list("ALLOWED_ORIGINS", "http://localhost:8000,http://127.0.0.1:8000")
    )
    debug: bool = field(default_factory=lambda: os.environ.get("ATHENA_DEBUG", "") in {"1", "true", "yes"})
    db_echo: bool = field(default_factory=lambda: os.environ.get("DATABASE_ECHO", "") in {"1", "true"})
    session_cookie_secure: bool = field(
        default_factory=lambda: os.environ.get("SESSION_COOKIE_SECURE", "1") not in {"0", "false", "no"}
    )
    ws_queue_size: int = field(default_factory=lambda: int(os.environ.get("WS_QUEUE_SIZE", "1000")))
    redis_publish_queue: int = field(default_factory=lambda: int(os.environ.get("REDIS_PUBLISH_QUEUE", "10000")))
    db_pool_size: int = field(default_factory=lambda: int(os.environ.get("DATABASE_POOL_SIZE", "10")))
    # None: leave logging as the host process set it up (tests, uvicorn's defaults).
    log_format: str | None = field(default_factory=lambda: _log_format(os.environ.get("LOG_FORMAT")))
    log_level: str = field(default_factory=lambda: os.environ.get("LOG_LEVEL", "info").lower())
    metrics_token: str | None = field(default_factory=lambda: os.environ.get("METRICS_TOKEN") or None)
    # Abuse limits (see README): sign-in attempts per account and per client address per window,
    # API requests per user per window (0 turns a limit off). Shared through Redis when REDIS_URL is set.
    sign_in_limit_per_account: int = field(default_factory=lambda: _env_int("SIGN_IN_LIMIT_PER_ACCOUNT", 10))
    sign_in_limit_per_address: int = field(default_factory=lambda: _env_int("SIGN_IN_LIMIT_PER_ADDRESS", 50))
    sign_in_window_seconds: int = field(default_factory=lambda: _env_int("SIGN_IN_WINDOW_SECONDS", 900))
    # Per account from every address: attempts after this many since the last success wait 0.25 s,
    # doubling, up to the max (a slow-down instead of a lockout; 0 turns the delay off).
    sign_in_delay_after: int = field(default_factory=lambda: _env_int("SIGN_IN_DELAY_AFTER", 5))
    sign_in_max_delay_seconds: float = field(
        default_factory=lambda: float(os.environ.get("SIGN_IN_MAX_DELAY_SECONDS") or 10)
    )
    # API sign-in tokens live this long, sliding: each use (at most once a minute) pushes the end back.
    token_lifetime_days: float = field(default_factory=lambda: float(os.environ.get("TOKEN_LIFETIME_DAYS") or 30))
    # argon2 runs in worker threads: this many at once per process, this many more waiting (then 503).
    password_hash_concurrency: int = field(default_factory=lambda: _env_int("PASSWORD_HASH_CONCURRENCY", 2))
    password_hash_queue: int = field(default_factory=lambda: _env_int("PASSWORD_HASH_QUEUE", 16))
    api_rate_limit: int = field(default_factory=lambda: _env_int("API_RATE_LIMIT", 3000))
    api_rate_window_seconds: int = field(default_factory=lambda: _env_int("API_RATE_WINDOW_SECONDS", 60))
    # WebSockets: open sockets per user on one instance, largest inbound frame, and how often open
    # sockets re-check their token/session and memberships (revocations take effect within that).
    ws_max_connections_per_user: int = field(default_factory=lambda: _env_int("WS_MAX_CONNECTIONS_PER_USER", 20))
    ws_max_message_bytes: int = field(default_factory=lambda: _env_int("WS_MAX_MESSAGE_BYTES", 4096))
    ws_auth_recheck_seconds: float = field(
        default_factory=lambda: float(os.environ.get("WS_AUTH_RECHECK_SECONDS", "2"))
    )
    # gc.freeze() once started (app/ops/runtime.py). Off in the test suite: one process starts many
    # apps there, and each would keep the previous test's objects from the collector for good.
    gc_freeze_after_startup: bool = field(
        default_factory=lambda: os.environ.get("GC_FREEZE_AFTER_STARTUP", "1") not in {"0", "false", "no"}
    )
    # GET requests one process works on at once; the others wait their turn (app/lib/read_gate.py).
    http_read_concurrency: int = field(default_factory=lambda: _env_int("HTTP_READ_CONCURRENCY", 4))
    # Page sockets gather a view's updates for this long and send them as one frame (a row changed
    # several times shows its latest version once); 0 sends each queued item as it comes.
    ws_page_coalesce_ms: int = field(default_factory=lambda: _env_int("WS_PAGE_COALESCE_MS", 250))
    # A list page built this recently is served even if events came since (its socket replays
    # them from its cursor), except after a change this instance committed; 0 always rebuilds.
    page_snapshot_grace_ms: int = field(default_factory=lambda: _env_int("PAGE_SNAPSHOT_GRACE_MS", 250))
    # Soft-deleted executions stay restorable this long; then `athena purge` deletes them for good.
    trash_retention_days: int = field(default_factory=lambda: _env_int("TRASH_RETENTION_DAYS", 30))
    # A POST's answer stored under its Idempotency-Key is replayed to retries this long, then purged.
    idempotency_key_hours: float = field(default_factory=lambda: float(os.environ.get("IDEMPOTENCY_KEY_HOURS") or 24))

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def get_settings() -> Settings:
    return Settings()
