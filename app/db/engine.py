"""Engine and transaction helpers.

Services open their own transactions (``Database.read()`` / ``Database.write()``) so they can
publish events strictly after commit.  On SQLite a write transaction starts with
``BEGIN IMMEDIATE``: a deferred transaction that reads and then writes fails with
SQLITE_BUSY_SNAPSHOT under concurrency instead of waiting, and that must never reach a user.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event, exc, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from app.config import Settings

SQLITE_BEGIN_OPTION = "athena_sqlite_begin"


def create_engine(settings: Settings) -> AsyncEngine:
    if settings.is_sqlite:
        engine = create_async_engine(
            settings.database_url,
            echo=settings.db_echo,
            connect_args={"timeout": 30},
        )
        _configure_sqlite(engine)
        return engine
    engine = create_async_engine(
        settings.database_url,
        echo=settings.db_echo,
        # Up to twice DATABASE_POOL_SIZE, all kept once opened: a pool of N plus N overflow closed
        # each overflow connection as it came back, so a busy process kept connecting and
        # disconnecting (each a few ms of its event loop, and a backend start on the server) at
        # the very moments it was most loaded (docs/benchmarks.md, goal 8).
        pool_size=2 * settings.db_pool_size,
        max_overflow=0,
        pool_recycle=1800,
        # asyncpg prepares every statement; after five runs PostgreSQL may switch a prepared
        # statement to a generic plan, blind to its parameters. On skewed data that plan is the
        # wrong one for most values (the busiest workflow's filtered list: 10 ms -> 130-230 ms at
        # 1M rows). Planning each run costs well under a millisecond for our statements.
        connect_args={"server_settings": {"plan_cache_mode": "force_custom_plan"}},
    )
    _cheap_pre_ping(engine)
    return engine


# A connection idle longer than this is pinged on checkout; a busy pool's connections never are.
PING_AFTER_IDLE_SECONDS = 5.0


def _cheap_pre_ping(engine: AsyncEngine) -> None:
    """``pool_pre_ping`` costs a ``SELECT 1`` round trip on every checkout (one per request and per
    session on the list page). Instead: a connection the server closed (restart, terminate) is
    already marked closed by asyncpg, which reads the server's EOF as soon as it arrives, so that
    check is free; only a connection idle for a while gets a real ping (a half-open socket gives no
    EOF). Raising ``DisconnectionError`` makes the pool discard it and retry with a fresh one."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        driver = getattr(dbapi_connection, "driver_connection", None)
        if driver is not None and driver.is_closed():
            raise exc.DisconnectionError("the server closed this connection")
        idle_since = record.info.get("checked_in_at")
        if idle_since is not None and time.monotonic() - idle_since > PING_AFTER_IDLE_SECONDS:
            try:
                dbapi_connection.ping()
            except Exception as error:  # any failure: the pool replaces the connection
                raise exc.DisconnectionError(str(error)) from error


def create_migration_engine(settings: Settings) -> AsyncEngine:
    engine = create_async_engine(settings.database_url, poolclass=NullPool)
    if settings.is_sqlite:
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "BEGIN"))


# Set while a task holds a write slot, so a write opened inside another never waits on itself.
_holding_write_slot: ContextVar[bool] = ContextVar("athena_holding_write_slot", default=False)


class Database:
    """Owns the engine; hands out read and write sessions.

    Write transactions take a slot first (``write_slots``: ``DATABASE_POOL_SIZE``, half the pool,
    on PostgreSQL; one on SQLite, which has one writer anyway). A burst of writes then queues in
    order, without a timeout, instead of all of them holding or waiting for pool connections: the
    pool's 30 s checkout timeout (a 503) is left for an unreachable database, and reads keep the
    other half of the pool while writes queue."""

    def __init__(self, engine: AsyncEngine, *, is_sqlite: bool, write_slots: int = 10) -> None:
        self.engine = engine
        self.is_sqlite = is_sqlite
        self._write_slots = asyncio.Semaphore(1 if is_sqlite else max(1, write_slots))
        self._read_sessions = async_sessionmaker(engine, expire_on_commit=False)
        write_bind = engine.execution_options(**{SQLITE_BEGIN_OPTION: "BEGIN IMMEDIATE"}) if is_sqlite else engine
        self._write_sessions = async_sessionmaker(write_bind, expire_on_commit=False)
        # PostgreSQL reads without BEGIN / ROLLBACK: READ COMMITTED gives each statement its own
        # snapshot inside a transaction too, so only the two extra round trips go away.
        quick_bind = engine if is_sqlite else engine.execution_options(isolation_level="AUTOCOMMIT")
        self._quick_read_sessions = async_sessionmaker(quick_bind, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(create_engine(settings), is_sqlite=settings.is_sqlite, write_slots=settings.db_pool_size)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._read_sessions() as session:
            yield session

    @asynccontextmanager
    async def quick_read(self) -> AsyncIterator[AsyncSession]:
        """A session for a few independent reads on a hot path (page, auth). Not for reads that
        need one snapshot or ``SET LOCAL``: on PostgreSQL each statement runs on its own (no
        transaction); on SQLite it is ``read()``."""
        async with self._quick_read_sessions() as session:
            yield session

    @asynccontextmanager
    async def serial_read(self) -> AsyncIterator[AsyncSession]:
        """A read transaction whose statements start no parallel workers (PostgreSQL: ``SET LOCAL
        max_parallel_workers_per_gather = 0``; SQLite: ``read()``). For small statements over big
        tables that the planner would still parallelise: launching the workers costs more than the
        work (a 30-day list total sums ~3,000 summary rows in 1-2 ms, yet took 40-160 ms with two
        workers on a loaded machine; docs/benchmarks.md, issue 20)."""
        async with self._read_sessions() as session:
            if not self.is_sqlite:
                await session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits when the block exits cleanly, else rolls back."""
        if _holding_write_slot.get():
            async with self._write_sessions() as session, session.begin():
                yield session
            return
        async with self._write_slots:
            token = _holding_write_slot.set(True)
            try:
                async with self._write_sessions() as session, session.begin():
                    yield session
            finally:
                _holding_write_slot.reset(token)

    @property
    def writes_waiting(self) -> int:
        """Write transactions queued for a slot right now (for /ready and benchmarks)."""
        waiters = getattr(self._write_slots, "_waiters", None)
        return len(waiters) if waiters else 0

    async def dispose(self) -> None:
        await self.engine.dispose()


def is_deadlock(exc: BaseException) -> bool:
    """Whether a DBAPI error is PostgreSQL's deadlock_detected (SQLSTATE 40P01): the victim's
    transaction was rolled back and may simply run again."""
    orig = getattr(exc, "orig", exc)
    codes = {getattr(orig, "sqlstate", None), getattr(orig, "pgcode", None)}
    cause = getattr(orig, "__cause__", None)
    return "40P01" in codes or getattr(cause, "sqlstate", None) == "40P01"
