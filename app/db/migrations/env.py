"""Alembic environment: one code path for SQLite and PostgreSQL, URL taken from the settings."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from app.config import get_settings
from app.db.engine import create_migration_engine
from app.db.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection | None = None, url: str | None = None) -> None:
    context.configure(
        connection=connection,
        url=url,
        target_metadata=target_metadata,
        version_table="alembic_versions",
        render_as_batch=(connection is not None and connection.dialect.name == "sqlite"),
        compare_type=True,
        user_module_prefix="sa_types.",
    )


def do_run_migrations(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = create_migration_engine(get_settings())
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    _configure(url=get_settings().database_url)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run_async_migrations())
