"""A database outage while sockets are open: the sockets' credential re-check (every
``WS_AUTH_RECHECK_SECONDS``) fails at each pass; the log gets one line (with the traceback) when it
starts failing and one when it works again, not a traceback every pass (found by the issue 21
audit: 5 tracebacks in a 10 s PostgreSQL outage with one socket open, ~1,800 an hour). In process:
the guard's loop against a database that is out (tests/test_database_outage.py), then the test's."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path
from typing import Any

import pytest

from app.config import Settings
from app.db.engine import Database
from app.realtime.guard import SocketGuard
from app.realtime.hub import Subscriber
from tests.conftest import World
from tests.test_database_outage import out_database


async def passes_until(guard: SocketGuard, done: Any, counted: list[bool]) -> None:
    for _ in range(1000):
        if done(counted):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the guard's loop did not get there: {counted}")


async def test_a_database_outage_is_logged_once_by_the_socket_recheck_not_every_pass(
    settings: Settings, services: Any, world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with out_database("unreachable", tmp_path) as url:
        out = Database.from_settings(dataclasses.replace(settings, database_url=url))
        guard = SocketGuard(out, dataclasses.replace(settings, ws_auth_recheck_seconds=0.02))
        tracked = guard.admit(
            Subscriber(user_id=world.viewer_a.user_id, workspace_ids=frozenset()), None, on_membership_lost=1012
        )
        assert tracked is not None
        passes: list[bool] = []  # one per re-check: did it work
        recheck = guard.recheck

        async def counted_recheck() -> int:
            try:
                closed = await recheck()
            except Exception:
                passes.append(False)
                raise
            passes.append(True)
            return closed

        guard.recheck = counted_recheck  # type: ignore[method-assign]
        logger = logging.getLogger("athena.realtime.guard")  # the app's logging config may not propagate
        logger.addHandler(caplog.handler)
        try:
            with caplog.at_level(logging.WARNING, logger="athena.realtime.guard"):
                guard.start()
                await passes_until(guard, lambda p: p.count(False) >= 8, passes)
                guard.db = services.db  # the database is back
                await passes_until(guard, lambda p: p and p[-1], passes)
                await guard.stop()
        finally:
            logger.removeHandler(caplog.handler)
            await guard.stop()
            await out.dispose()
    # Deduplicated: the record reaches caplog's handler directly and again through the root logger.
    lines = list({id(r): r for r in caplog.records if r.name == "athena.realtime.guard"}.values())
    failed = passes.count(False)
    assert failed >= 8 and not tracked.closing.done()  # an outage closes no socket
    assert [r.levelno for r in lines] == [logging.ERROR, logging.WARNING], [r.getMessage() for r in lines]
    assert lines[0].exc_info is not None and f"after {failed} failed attempts" in lines[1].getMessage()
