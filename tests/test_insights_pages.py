"""The insights page renders the seeded numbers (cards, chart titles, tables, top lists), keeps its
state in the URL, and its live part answers the current interval or asks for a reload."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest

from app.services import Services
from app.web.pages.executions.view import ExecutionView
from tests.clock import clear_of_the_turn
from tests.conftest import World, create_execution, set_created_at
from tests.metrics_seed import seed_metrics
from tests.web_session import PageSession

MARCH = "from=2025-03-03&to=2025-03-04"


@pytest.fixture
async def seeded(services: Services, world: World) -> None:
    await seed_metrics(services, world)


def text_of(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)<', html, re.S)
    assert match, element_id
    return match.group(1).strip()


async def test_page_shows_the_seeded_numbers(client: httpx.AsyncClient, world: World, seeded: None) -> None:
    page = PageSession(client, world.viewer_a)
    response = await page.get(f"/insights?workspace={world.ws['A']}&{MARCH}")
    assert response.status_code == 200
    html = response.text
    # Mar 3-4 in A: 3 completed, 1 failed, 1 cancelled, 1 running; runs of 5, 10, 20, 30 and 40 s.
    assert text_of(html, "stat-total") == "6"
    assert text_of(html, "stat-failure") == "20.0%"  # 1 failed of 5 finished
    assert text_of(html, "stat-duration") == "20.0 s / 38.0 s"
    assert text_of(html, "stat-wait") == "2 min 00 s / 9 min 12 s"  # 6 s, 120 s, 600 s
    assert 'aria-current="page">Insights</a>' in html
    # The bar's title and the table view carry the same numbers.
    assert "Mon Mar 03: 5 (Completed 3, Failed 1, Running 1)" in html
    assert re.search(r"<th scope=\"row\">Mon Mar 03</th><td class=\"num\">5</td><td class=\"num\">3</td>", html)
    assert re.search(r"<th scope=\"row\">Tue Mar 04</th><td class=\"num\">1</td>", html)
    assert 'role="img"' in html and "Failure rate per interval" in html
    slowest = html.split('id="slowest-workflows"')[1].split("</table>")[0]
    assert slowest.index("Invoice approval") < slowest.index("Customer onboarding")
    assert "37.0 s" in slowest  # Invoice approval p95 of 5, 10, 20, 40 s
    failing_nodes = html.split('id="failing-nodes"')[1].split("</table>")[0]
    assert "Review" in failing_nodes and "50.0%" in failing_nodes
    assert 'id="now"' not in html  # a range in the past has no live part


async def test_scope_range_and_live_part(client: httpx.AsyncClient, world: World, seeded: None) -> None:
    # The live page names its hour in the poll URL and the poll below must find the same hour (in a
    # new one it answers a reload instead): a few requests, all within one hour.
    await clear_of_the_turn(dt.timedelta(hours=1), margin=dt.timedelta(seconds=10))
    page = PageSession(client, world.multi)
    # Organization view: B's failure joins A's; hourly bars.
    html = (await page.get(f"/insights?organization=org-1&{MARCH}&interval=hour")).text
    assert text_of(html, "stat-total") == "7" and text_of(html, "stat-failure") == "33.3%"  # 2 of 6
    assert "Mar 03 10:00: 4 (Completed 2, Failed 2)" in html
    # A foreign workspace in the URL falls back to the default scope, never another tenant's data.
    viewer = PageSession(client, world.viewer_a)
    foreign = (await viewer.get(f"/insights?workspace={world.ws['B']}&{MARCH}")).text
    assert text_of(foreign, "stat-total") == "6"
    # Quick range: live, with the current interval's panel polling itself.
    live = (await viewer.get(f"/insights?workspace={world.ws['A']}&range=24h")).text
    assert 'id="now"' in live and 'hx-trigger="every 10s"' in live and 'id="bar-current"' in live
    poll = re.search(r'hx-get="(/insights/current\?[^"]+)"', live)
    assert poll
    fragment = await viewer.get(poll.group(1).replace("&amp;", "&"))
    assert fragment.status_code == 200 and 'id="now"' in fragment.text
    assert 'hx-swap-oob="true" id="bar-current"' in fragment.text
    stale = await viewer.get(f"/insights/current?workspace={world.ws['A']}&range=24h&bucket=2025-03-03T10:00:00Z")
    assert stale.headers.get("hx-refresh") == "true"  # a new hour began: reload the page


async def test_signed_out_goes_to_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/insights")
    assert response.status_code in (302, 303) and "/sign-in" in response.headers["location"]


async def test_status_tiles_and_their_sparklines_cover_the_same_period(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    # The hourly line's last bucket is the hour the executions below are created in (and the failure
    # 3 h ago is 3 buckets before it): a few requests, all within one hour.
    await clear_of_the_turn(dt.timedelta(hours=1), margin=dt.timedelta(seconds=10))
    now = dt.datetime.now(dt.UTC)
    inv = world.workflows["Invoice approval"]
    for status, hours_ago in (("running", 0), ("running", 0), ("failed", 3), ("failed", 25)):
        made = await create_execution(client, world.operator_a, inv, status=status)
        if hours_ago:
            await set_created_at(services, made["uuid"], now - dt.timedelta(hours=hours_ago))
    user = await services.accounts.authenticate_token(world.viewer_a.token)
    assert user is not None
    tiles = await services.dashboard.tiles(ExecutionView.from_query(user, {"workspace": world.ws["A"]}))
    assert tiles["failed"] == 2 and sum(tiles["spark"]["failed"]) == 2  # all time, per day
    assert tiles["period"]["step"] == "day"
    day = await services.dashboard.tiles(ExecutionView.from_query(user, {"workspace": world.ws["A"], "range": "24h"}))
    assert day["failed"] == 1 and sum(day["spark"]["failed"]) == 1  # the last 24 h, per hour
    assert len(day["spark"]["running"]) == 25 and day["spark"]["running"][-1] == 2
    assert day["spark"]["failed"][-4] == 1 and day["period"]["step"] == "hour"
    assert sum(day["spark"]["completed"]) == 0
    html = (await PageSession(client, world.viewer_a).get(f"/executions?workspace={world.ws['A']}")).text
    assert html.count('<svg class="spark"') == 7
    assert 'title="2 created in all time are failed now; the line counts them per day"' in html


async def test_dates_typed_the_wrong_way_round_mean_the_days_between(
    client: httpx.AsyncClient, world: World, seeded: None
) -> None:
    """From after To: the insights page shows the days between them (it showed the last 24 h and
    cleared both fields), with the fields set the right way round."""
    page = PageSession(client, world.viewer_a)
    html = (await page.get(f"/insights?workspace={world.ws['A']}&from=2025-03-04&to=2025-03-03")).text
    assert text_of(html, "stat-total") == "6"  # as for from=2025-03-03&to=2025-03-04
    assert 'name="from" value="2025-03-03"' in html and 'name="to" value="2025-03-04"' in html
