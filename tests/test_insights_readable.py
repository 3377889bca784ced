"""Insights stay readable (issue 19): when one hour dwarfs the rest the per-hour chart cuts its axis
(split axis) and says so, and the failure-rate line says what each rate is made of ("1 of 3")."""

from __future__ import annotations

import re

import httpx

from app.services import Services
from app.web.charts import Series, split_axis_max, stacked_bars
from tests.conftest import World, create_execution, set_created_at
from tests.metrics_seed import at, seed_metrics
from tests.web_session import PageSession

MARCH = "from=2025-03-03&to=2025-03-04&interval=hour"


def test_split_axis_only_when_a_few_bars_dwarf_the_rest() -> None:
    assert split_axis_max([3, 2, 1, 0]) == 5  # nothing dwarfs: the tallest bar sets the axis
    assert split_axis_max([400, 3, 2, 5]) == 5  # one hour 80 times the next: the rest set the axis
    assert split_axis_max([400, 380, 3, 2, 5]) == 5  # two tall hours are both cut
    assert split_axis_max([12, 3]) == 20  # two bars: nothing to compare the second with, no cut
    assert split_axis_max([]) == 1


def test_a_cut_bar_is_marked_and_shows_its_total() -> None:
    series = [Series("completed", "Completed", [2, 400, 3]), Series("failed", "Failed", [1, 0, 0])]
    svg, y_max = stacked_bars("Per hour", ["09:00", "10:00", "11:00"], series)
    assert y_max == 5
    assert svg.count('class="cut"') == 1 and '<text class="axis cut-total"' in svg and ">400</text>" in svg
    assert "the axis stops at 5" in svg  # in the chart's accessible name too
    heights = [float(h) for h in re.findall(r'<rect class="s-completed"[^>]* height="([\d.]+)"', svg)]
    assert heights[0] > 40 and heights[2] > 60  # the small bars keep most of the plot's height


async def test_the_page_cuts_the_axis_and_states_the_failure_counts(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    await seed_metrics(services, world)  # Mar 03 10:00 in A: 2 completed, 1 failed; 11:00: 2 runs
    page = PageSession(client, world.viewer_a)
    html = (await page.get(f"/insights?workspace={world.ws['A']}&{MARCH}")).text
    assert 'id="volume-cut-note"' not in html
    failure = html.split('id="chart-failure"')[1].split("</section>")[0]
    assert "Mar 03 10:00: Failure rate 33.3% (1 of 3 finished)" in failure  # the point's tooltip
    assert re.search(r'class="axis peak-label"[^>]*>33\.3% \(1 of 3 finished\)</text>', failure)
    assert "highest 33.3% (1 of 3 finished) at Mar 03 10:00" in failure  # and the accessible name

    for _ in range(30):  # a burst at 14:00 dwarfs the other hours
        execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
        await set_created_at(services, execution["uuid"], at(3, 14, 5))
    html = (await page.get(f"/insights?workspace={world.ws['A']}&{MARCH}")).text
    volume = html.split('id="chart-volume"')[1].split("</section>")[0]
    assert 'id="volume-cut-note"' in volume and "the axis stops at 5" in volume
    assert ">30</text>" in volume and volume.count('class="cut"') == 1
