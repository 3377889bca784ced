"""The HTML list page's hot path (issue 6, goal 8), guarded without timing:

- one ``/executions`` page costs a fixed, small number of SQL statements, whatever the rows: the
  session lookup (token, user and memberships in one), the user's default saved view (when the URL
  names no view), the workspaces' cursors, the retried executions (to fold retry chains), the page's
  rows with their approval counts and command-room flags, their run metadata (for metadata columns),
  the workflow ids for the slow-run chip's percentiles, the five "needs attention" chip counts, the
  status tiles, the review count, the sparklines, the workflow choices and the approver's badge;
- the rows' HTML served from the content-keyed cache is what a fresh render gives, and follows
  every change of a row.
"""

from __future__ import annotations

import re

import httpx

from app.services import Services
from app.web import rowcache
from tests.conftest import World, patch_execution
from tests.test_scale_guards import captured, seed_rows

# 1 session lookup + 1 default view + 14 for the page + 1 for the approver's badge (BEGIN, a SQLite
# thread hop, apart). Cached: the session, the default view, the sequence numbers, the badge.
MAX_STATEMENTS = 17
CACHED_STATEMENTS = 4
DURATION = re.compile(r'(<td class="duration"[^>]*>)[^<]*(</td>)')


def _sql(statements: list[tuple[str, object]]) -> list[str]:
    return [s for s, _ in statements if s.strip().upper() not in ("BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK")]


async def test_one_list_page_costs_a_fixed_small_number_of_statements(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    await seed_rows(client, world, 24)
    counts = []
    for actor, query in ((world.approver_a, {}), (world.approver_a, {"status": "failed", "q": "crm"})):
        cookies = {"Cookie": f"athena_session={actor.token}"}
        await client.get("/executions", params=query, headers=cookies)  # stamps the token's last_used_at
        services.dashboard.pages.clear()
        with captured(services) as statements:
            response = await client.get("/executions", params=query, headers=cookies)
        assert response.status_code == 200, response.text
        sql = _sql(statements)
        assert len(sql) <= MAX_STATEMENTS + bool(query.get("q")), "\n".join(s[:120] for s in sql)
        counts.append(len(sql))
        # Again while nothing changed: the session, the workspaces' sequence numbers, the badge.
        with captured(services) as statements:
            again = await client.get("/executions", params=query, headers=cookies)
        assert again.status_code == 200 and _rows(again.text) == _rows(response.text)
        assert len(_sql(statements)) <= CACHED_STATEMENTS, "\n".join(s[:120] for s, _ in statements)
    # Not one statement per row: the full page (24 rows) and a filtered one cost the same, bar the
    # search's workflow-name lookup (and minus the default-view lookup: that URL names its view).
    assert counts[1] == counts[0]


async def test_cached_page_data_follows_every_event(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    uuids = await seed_rows(client, world, 2)
    cookies = {"Cookie": f"athena_session={world.operator_a.token}"}
    query = {"workspace": world.ws["A"]}
    before = _rows((await client.get("/executions", params=query, headers=cookies)).text)
    assert 'status-running"' in before[uuids[0]]
    assert (await patch_execution(client, world.operator_a, uuids[0], status="completed")).status_code == 200
    after = (await client.get("/executions", params=query, headers=cookies)).text  # at once, not after the TTL
    assert 'status-completed"' in _rows(after)[uuids[0]]


async def test_cached_rows_equal_a_fresh_render_and_follow_changes(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    uuids = await seed_rows(client, world, 3)
    cookies = {"Cookie": f"athena_session={world.operator_a.token}"}
    query = {"workspace": world.ws["A"]}
    rowcache._cache.clear()
    fresh = (await client.get("/executions", params=query, headers=cookies)).text
    cached = (await client.get("/executions", params=query, headers=cookies)).text
    assert rowcache._cache and _rows(cached) == _rows(fresh)

    assert (await patch_execution(client, world.operator_a, uuids[0], status="completed")).status_code == 200
    changed = (await client.get("/executions", params=query, headers=cookies)).text
    row = _rows(changed)[uuids[0]]
    assert 'class="row status-completed"' in row and row != _rows(cached)[uuids[0]]
    # Viewers may not act: the same row without its actions, not the operator's cached HTML.
    viewer = await client.get("/executions", params=query, headers={"Cookie": f"athena_session={world.viewer_a.token}"})
    assert "/delete" in row and "/delete" not in _rows(viewer.text)[uuids[0]]


def _rows(html: str) -> dict[str, str]:
    """Each row's HTML by execution uuid; a running row's duration text (it moves with the clock,
    and is part of the cache key for that reason) is left out of the comparison."""
    out = {}
    for chunk in html.split('<tr id="row-')[1:]:
        out[chunk[:36]] = DURATION.sub("", chunk.split("</tr>")[0])
    return out
