"""Engine and transaction helpers.

Services open their own transactions (``Database.read()`` / ``Database.write()``) so they can
publish events strictly after commit.  On SQLite a write transaction starts with
``BEGIN IMMEDIATE``: a deferred transaction that reads and then writes fails with
SQLITE_BUSY_SNAPSHOT under concurrency instead of waiting, and that must never reach a user.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
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
    return create_async_engine(
        settings.database_url,
        echo=settings.db_echo,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
    )


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


class Database:
    """Owns the engine; hands out read and write sessions."""

    def __init__(self, engine: AsyncEngine, *, is_sqlite: bool) -> None:
        self.engine = engine
        self.is_sqlite = is_sqlite
        self._read_sessions = async_sessionmaker(engine, expire_on_commit=False)
        write_bind = engine.execution_options(**{SQLITE_BEGIN_OPTION: "BEGIN IMMEDIATE"}) if is_sqlite else engine
        self._write_sessions = async_sessionmaker(write_bind, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(create_engine(settings), is_sqlite=settings.is_sqlite)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._read_sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits when the block exits cleanly, else rolls back."""
        async with self._write_sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
