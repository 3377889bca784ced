"""What a maintenance command runs against: the settings, the database and the account service,
without the hub, Redis, the web layer or the other services (``app.services.Services``) that a
command never uses and whose imports cost seconds on a busy machine."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

import click

if TYPE_CHECKING:
    from app.config import Settings
    from app.db.engine import Database
    from app.domain.accounts.services import AccountService

T = TypeVar("T")


@dataclass
class CliContext:
    """The part of ``Services`` the commands use (same attribute names)."""

    settings: Settings
    db: Database = field(init=False)

    def __post_init__(self) -> None:
        from app.db.engine import Database

        self.db = Database.from_settings(self.settings)

    @cached_property
    def accounts(self) -> AccountService:
        from app.domain.accounts.services import AccountService

        return AccountService(self.db, session_cache_seconds=self.settings.ws_auth_recheck_seconds)

    async def close(self) -> None:
        await self.db.dispose()


def run(make: Callable[[CliContext], Awaitable[T]]) -> T:
    """Bring the database to the migrations' head (Alembic only when it is behind), run ``make``
    against a fresh context, then close it. An ``AppError`` becomes a one-line error."""
    from app.config import get_settings
    from app.db.migrate import ensure_at_head
    from app.lib.errors import AppError

    settings = get_settings()

    async def runner() -> T:
        context = CliContext(settings)
        try:
            await ensure_at_head(context.db)
            return await make(context)
        finally:
            await context.close()

    try:
        return asyncio.run(runner())
    except AppError as exc:  # a clear one-line error, not a traceback
        raise click.ClickException(exc.message) from None
