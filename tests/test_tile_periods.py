"""Tile numbers and their sparklines cover the same period and say which (issue 19 item 6): for
every range of the list (none = all time, 1 h, 24 h, 7 days, 30 days, From/To dates) each tile's
number is the count of the view's executions created in it by status now, and the sum of its
line's buckets is that number. On SQLite and PostgreSQL (the day-count table answers the long
periods, with folded retry chains taken off; short ones count the executions)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
import pytest

from app.domain.dashboard.tile_series import MAX_BUCKETS, plan
from app.services import Services
from app.web.pages.executions.view import ExecutionView
from tests.conftest import World, create_execution, set_created_at
from tests.web_session import PageSession

# (status, age): spread over the periods' edges; ages in hours.
AGES = [
    ("running", 0.05), ("running", 0.5), ("failed", 0.9), ("completed", 1.5), ("failed", 5),
    ("completed", 23), ("cancelled", 26), ("waiting", 47), ("completed", 24 * 3), ("failed", 24 * 6.5),
    ("completed", 24 * 8), ("paused", 24 * 20), ("completed", 24 * 29.5), ("failed", 24 * 45), ("completed", 24 * 400),
]  # fmt: skip


@pytest.fixture
async def history(client: httpx.AsyncClient, services: Services, world: World) -> list[tuple[str, dt.datetime]]:
    """Executions of workspace A created at known moments, one retried (a folded list hides it) and
    one deleted; returns the (status, created_at) the list counts."""
    now = dt.datetime.now(dt.UTC)
    wf = world.workflows["Invoice approval"]
    counted = []
    for status, hours in AGES:
        made = await create_execution(client, world.operator_a, wf, status=status)
        created = now - dt.timedelta(hours=hours)
        await set_created_at(services, made["uuid"], created)
        counted.append((status, created))
    retried = await create_execution(client, world.operator_a, wf, status="failed")
    await set_created_at(services, retried["uuid"], now - dt.timedelta(days=3))
    retry = await create_execution(client, world.operator_a, wf, status="completed", retry_of=retried["uuid"])
    await set_created_at(services, retry["uuid"], now - dt.timedelta(days=2))
    counted.append(("completed", now - dt.timedelta(days=2)))  # the chain's row; its first attempt folds
    gone = await create_execution(client, world.operator_a, wf, status="failed")
    deleted = await client.delete(f"/api/v1/workflow-executions/{gone['uuid']}", headers=world.operator_a.headers)
    assert deleted.status_code in (200, 204), deleted.text
    return counted


def _expected(counted: list[tuple[str, dt.datetime]], since: dt.datetime | None, until: dt.datetime | None) -> dict:
    out: dict[str, int] = {}
    for status, created in counted:
        if (since is None or created >= since) and (until is None or created <= until):
            out[status] = out.get(status, 0) + 1
    return out


PERIODS: list[tuple[dict[str, str], Any]] = [
    ({}, None),
    ({"range": "1h"}, dt.timedelta(hours=1)),
    ({"range": "24h"}, dt.timedelta(hours=24)),
    ({"range": "7d"}, dt.timedelta(days=7)),
    ({"range": "30d"}, dt.timedelta(days=30)),
]


async def test_tile_numbers_count_the_period_and_each_line_sums_to_its_number(
    services: Services, world: World, history: list[tuple[str, dt.datetime]]
) -> None:
    user = await services.accounts.authenticate_token(world.operator_a.token)
    assert user is not None
    today = dt.datetime.now(dt.UTC).date()
    dated = {"from": (today - dt.timedelta(days=10)).isoformat(), "to": (today - dt.timedelta(days=2)).isoformat()}
    cases = [*PERIODS, (dated, "dates")]
    for query, span in cases:
        view = ExecutionView.from_query(user, {"workspace": world.ws["A"], **query})
        tiles = await services.dashboard.tiles(view)
        if span == "dates":
            expected = _expected(history, view.date_from, view.date_to)
        else:
            expected = _expected(history, dt.datetime.now(dt.UTC) - span if span else None, None)
        for status in ("running", "pending", "waiting", "paused", "failed", "completed", "cancelled"):
            assert tiles[status] == expected.get(status, 0), (query, status, tiles[status], expected)
            assert sum(tiles["spark"][status]) == tiles[status], (query, status)
            assert len(tiles["spark"][status]) == tiles["period"]["buckets"] <= MAX_BUCKETS
        steps = {"1h": "5 min", "24h": "hour", "7d": "day", "30d": "day"}
        if query.get("range"):
            assert tiles["period"]["step"] == steps[query["range"]], query
    # All time reaches back to the oldest execution, in buckets of several days (400 days / 48).
    view = ExecutionView.from_query(user, {"workspace": world.ws["A"]})
    period = (await services.dashboard.tiles(view))["period"]
    oldest = min(created for _, created in history)
    assert period["since"] == dt.datetime.combine(oldest.date(), dt.time.min, tzinfo=dt.UTC).isoformat()
    assert period["step"] == "9 days"


async def test_every_chain_attempt_is_counted_when_chains_are_unfolded(
    services: Services, world: World, history: list[tuple[str, dt.datetime]]
) -> None:
    user = await services.accounts.authenticate_token(world.operator_a.token)
    assert user is not None
    folded = await services.dashboard.tiles(ExecutionView.from_query(user, {"workspace": world.ws["A"]}))
    unfolded = await services.dashboard.tiles(
        ExecutionView.from_query(user, {"workspace": world.ws["A"], "chains": "all"})
    )
    assert unfolded["failed"] == folded["failed"] + 1  # the retried first attempt
    assert sum(unfolded["spark"]["failed"]) == unfolded["failed"]


def test_buckets_span_the_period() -> None:
    now = dt.datetime(2026, 12, 7, 15, 42, 10, tzinfo=dt.UTC)
    hour = plan(now - dt.timedelta(hours=1), now, "minute")
    assert (hour.origin, hour.count, hour.step) == (dt.datetime(2026, 12, 7, 14, 40, tzinfo=dt.UTC), 13, "5 min")
    day = plan(now - dt.timedelta(hours=24), now, "hour")
    assert (day.count, day.step) == (25, "hour")
    assert day.slot(now) == 24 and day.slot(now - dt.timedelta(hours=24)) == 0
    assert day.slot(now + dt.timedelta(hours=3)) == 24  # a clock ahead: clamped, never dropped
    month = plan(now - dt.timedelta(days=30), now, "day")
    assert (month.count, month.step) == (31, "day")
    years = plan(now - dt.timedelta(days=800), now, "day")
    assert years.count <= MAX_BUCKETS and years.step == "17 days"


async def test_the_page_says_the_period_and_the_lines_sum_to_the_numbers(
    client: httpx.AsyncClient, world: World, history: list[tuple[str, dt.datetime]]
) -> None:
    html = (await PageSession(client, world.operator_a).get(f"/executions?workspace={world.ws['A']}&range=7d")).text
    assert "created in the last 7 days, by status now. Each line counts them per day, since" in html
    assert html.count('<svg class="spark"') == 7
    failed = re.search(
        r'class="tile tile-failed.*?class="tile-count">([^<]+)<.*?data-sum="(\d+)" data-buckets="(\d+)"', html, re.S
    )
    assert failed and failed.groups() == ("3", "3", "8")  # 0.9 h, 5 h and 6.5 days ago, in 8 days
