"""Run Alembic migrations from code (``athena serve``, the CLI, tests) — same scripts as the CLI.

Alembic is imported inside the functions that need it: a command that finds the database at the
scripts' head (``ensure_at_head``) never loads it."""

from __future__ import annotations

import ast
import asyncio
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

if TYPE_CHECKING:
    from alembic.config import Config

    from app.db.engine import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_versions"
_ASSIGNMENT = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.MULTILINE)


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def upgrade_to_head() -> None:
    """Blocking; env.py runs its own event loop, so call it from a thread when one is running."""
    from alembic import command

    command.upgrade(alembic_config(), "head")


async def upgrade_to_head_async() -> None:
    await asyncio.to_thread(upgrade_to_head)


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def script_heads() -> set[str]:
    """The heads of the version scripts, read from their ``revision``/``down_revision`` lines
    without importing them (or Alembic). tests/test_cli.py checks it against Alembic's answer."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = dict(_ASSIGNMENT.findall(path.read_text()))
        if "revision" not in found:
            continue
        revisions.add(ast.literal_eval(found["revision"]))
        down = ast.literal_eval(found.get("down_revision", "None"))
        parents.update([down] if isinstance(down, str) else down or ())
    return revisions - parents


async def ensure_at_head(db: Database) -> None:
    """Upgrade the database unless its revision already is the scripts' single head."""
    try:
        async with db.read() as session:
            current = (await session.execute(text("SELECT version_num FROM alembic_versions"))).scalars().all()
    except Exception:  # no version table yet: a new database
        current = []
    if len(current) == 1 and {current[0]} == script_heads():
        return
    await upgrade_to_head_async()


def current_revision(sync_connection: Any) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(sync_connection, opts={"version_table": VERSION_TABLE}).get_current_revision()
