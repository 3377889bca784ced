"""Tests whose assertions hold within one hour or one day of the wall clock (the insights page's
current hour, "today" in a summary) start clear of its turn: at 23:59:56 UTC the executions a test
creates are in an hour that ends before the page refreshes, and the page rightly shows the new hour
empty (a CI run failed exactly so at midnight)."""

from __future__ import annotations

import asyncio
import datetime as dt


async def clear_of_the_turn(period: dt.timedelta, *, margin: dt.timedelta, zone: dt.tzinfo = dt.UTC) -> None:
    """Wait, if the wall clock is within ``margin`` of the end of its current ``period`` (an hour,
    a day: aligned on midnight in ``zone``, UTC unless given, e.g. a browser context's timezone; a
    zone without a daylight-saving change that day), until a second past that end."""
    now = dt.datetime.now(zone)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = (now - midnight) % period
    left = period - elapsed
    if left < margin:
        await asyncio.sleep(left.total_seconds() + 1)
