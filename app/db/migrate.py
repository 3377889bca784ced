"""Run Alembic migrations from code (``athena serve``, tests) — same scripts as the CLI."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def upgrade_to_head() -> None:
    """Blocking; env.py runs its own event loop, so call it from a thread when one is running."""
    command.upgrade(alembic_config(), "head")


async def upgrade_to_head_async() -> None:
    await asyncio.to_thread(upgrade_to_head)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(sync_connection) -> str | None:  # type: ignore[no-untyped-def]
    return MigrationContext.configure(
        sync_connection, opts={"version_table": "alembic_versions"}
    ).get_current_revision()
