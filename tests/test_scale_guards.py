"""Regression guards for lists, counts and search at scale (issue 6, goals 4-7). Not timed:

- every list, count and page query, for every supported filter combination, is planned without a
  sequential scan of ``workflow_executions`` (EXPLAIN on PostgreSQL with ``enable_seqscan`` off, so
  a Seq Scan means no index can serve it; EXPLAIN QUERY PLAN on SQLite, no bare ``SCAN``);
- the number of statements per list page, page of the dashboard and stop cascade does not grow
  with the page size or the tree size (no N+1);
- keyset cursors walk every row once, ties included, and the total is capped, flagged, never guessed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import re
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event, update

from app.db.models import WorkflowExecution
from app.domain.executions import listing
from app.domain.executions.queries import ExecutionFilters
from app.domain.executions.services import Includes
from app.lib.pagination import PageRequest
from app.services import Services
from app.web.pages.executions.view import ExecutionView
from tests.conftest import EXECUTIONS, IS_POSTGRES, World, create_execution, list_executions, stop_execution

SEQ_SCAN_PG = re.compile(r"Seq Scan on workflow_executions")
SCAN_SQLITE = re.compile(r"^SCAN (workflow_executions|parent_execution)\b(?! USING)")


def _in_background_task() -> bool:
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running loop: a worker thread (SQLite's), acting for the caller
        return False
    return task is not None and not task.get_name().startswith("Task-")


@contextmanager
def captured(services: Services) -> Iterator[list[tuple[str, Any]]]:
    """Every statement the app sends to the database meanwhile for requests, with its parameters.

    The app's named background tasks (the hub's event tail, the tile ticker, the idempotency purge...)
    also read the database now and then; a statement of theirs that happened to fall inside the window
    made the counts flaky under load, so statements from named tasks are left out. Requests (here run
    in the test's own task by httpx's ASGI transport) and what they gather run in unnamed tasks."""
    statements: list[tuple[str, Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if _in_background_task():
            return
        statements.append((statement, parameters))

    engine = services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def data_statements(statements: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The SELECTs (also those opening with a CTE), each distinct (statement, parameters) pair once."""
    unique = {(s, repr(p)): (s, p) for s, p in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))}
    return list(unique.values())


async def scans_of_executions(services: Services, statements: list[tuple[str, Any]]) -> list[str]:
    """Plans (as text) of the statements that read workflow_executions with a sequential scan."""
    bad = []
    async with services.db.engine.connect() as conn:
        if IS_POSTGRES:
            await conn.exec_driver_sql("SET enable_seqscan = off")
        for statement, params in statements:
            if "workflow_executions" not in statement:
                continue
            prefix = "EXPLAIN " if IS_POSTGRES else "EXPLAIN QUERY PLAN "
            rows = (await conn.exec_driver_sql(prefix + statement, params)).all()
            lines = [r[0] for r in rows] if IS_POSTGRES else [r[-1] for r in rows]
            if any(SEQ_SCAN_PG.search(line) if IS_POSTGRES else SCAN_SQLITE.match(line) for line in lines):
                bad.append(statement + "\n  " + "\n  ".join(lines))
        await conn.rollback()
    return bad


async def seed_rows(client: httpx.AsyncClient, world: World, n: int) -> list[str]:
    wf = world.workflows["Invoice approval"]
    statuses = ["running", "failed", "completed", "waiting"]
    return [
        (
            await create_execution(
                client,
                world.operator_a,
                wf,
                status=statuses[i % 4],
                **({"error": f"fetch: HTTP 503 from crm{i}.example.com"} if statuses[i % 4] == "failed" else {}),
            )
        )["uuid"]
        for i in range(n)
    ]


FILTER_AXES: dict[str, list[dict[str, Any]]] = {
    "workflow": [{}, {"workflow": True}],
    "status": [{}, {"statuses": ["failed", "running"]}],
    "dates": [{}, {"date_from": True, "date_to": True}],
    "search": [{}, {"search": "crm1.example"}, {"search": "ab"}, {"search": "uuid"}],
    "review": [{}, {"requires_human_review": True}, {"has_command_room_task": False}],
    "sort": [
        {"sort_by": "created_at", "sort_direction": "desc"},
        {"sort_by": "updated_at", "sort_direction": "asc"},
    ],
}


def combinations(world_ids: dict[str, Any], axes: dict[str, list[dict[str, Any]]]) -> Iterator[ExecutionFilters]:
    now = dt.datetime.now(dt.UTC)
    for parts in itertools.product(*axes.values()):
        spec: dict[str, Any] = {}
        for part in parts:
            spec |= part
        yield ExecutionFilters(
            workspace_ids=world_ids["workspaces"],
            workflow_ids=world_ids["workflows"] if spec.get("workflow") else None,
            statuses=spec.get("statuses"),
            date_from=now - dt.timedelta(days=30) if spec.get("date_from") else None,
            date_to=now if spec.get("date_to") else None,
            search=world_ids["uuid"] if spec.get("search") == "uuid" else spec.get("search"),
            requires_human_review=spec.get("requires_human_review"),
            has_command_room_task=spec.get("has_command_room_task"),
            sort_by=spec["sort_by"],
            sort_direction=spec["sort_direction"],
        )


async def test_no_sequential_scan_of_executions_for_any_filter_combination(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    uuids = await seed_rows(client, world, 8)
    user = await services.accounts.authenticate_token(world.multi.token)
    assert user is not None
    a = user.workspace_by_uuid(uuid.UUID(world.ws["A"])).workspace_id
    b = user.workspace_by_uuid(uuid.UUID(world.ws["B"])).workspace_id
    _, wf_ids = await services.executions.resolve_scope(
        user, None, None, [uuid.UUID(world.workflows["Invoice approval"])]
    )
    first_page, _ = await services.executions.page(
        user, ExecutionFilters(workspace_ids=[a]), PageRequest(1, 2), Includes()
    )
    checked = 0
    # Every combination in one workspace; across workspaces (organization scope) search x sort.
    few = {"search": FILTER_AXES["search"], "sort": FILTER_AXES["sort"]}
    for scope, axes in (([a], FILTER_AXES), ([a, b], few)):
        ids = {"workspaces": scope, "workflows": wf_ids, "uuid": uuids[0]}
        with captured(services) as statements:
            for filters in combinations(ids, axes):
                await services.executions.page(user, filters, PageRequest(page=3, per_page=2), Includes())
                if filters.sort_by == "created_at":
                    await services.executions.count(user, filters)
        # The keyset path (cursor) too, once per sort order.
        with captured(services) as keyset:
            for sort_by, direction in (("created_at", "desc"), ("updated_at", "asc")):
                f = ExecutionFilters(workspace_ids=scope, sort_by=sort_by, sort_direction=direction)
                _, page = await services.executions.page(user, f, PageRequest(1, 2), Includes())
                assert page.next_cursor
                await services.executions.page(user, f, PageRequest(2, 2), Includes(), page.next_cursor)
        to_check = data_statements(statements + keyset)
        checked += len(to_check)
        assert await scans_of_executions(services, to_check) == []
    assert checked > 300 and first_page  # the products above really ran (192 + 8 combinations)
    # The guard itself can fail: a filter no index serves is reported.
    unindexed = "SELECT id FROM workflow_executions WHERE mode = 'manual'"
    assert len(await scans_of_executions(services, [(unindexed, ())])) == 1


async def test_dashboard_page_queries_use_indexes(client: httpx.AsyncClient, services: Services, world: World) -> None:
    await seed_rows(client, world, 4)
    user = await services.accounts.authenticate_token(world.multi.token)
    assert user is not None
    queries = [
        {},
        {"status": "failed", "search": "crm1.example"},
        {"review": "1", "from": "2020-01-01", "sort": "updated", "dir": "asc"},
        {"page": "3"},
    ]
    with captured(services) as statements:
        for params in queries:
            await services.dashboard.execution_page(ExecutionView.from_query(user, params))
    assert await scans_of_executions(services, data_statements(statements)) == []


async def count_list_statements(client: httpx.AsyncClient, services: Services, world: World, **params: Any) -> int:
    # Warm-up: the first request of a token also stamps its last_used_at.
    await list_executions(client, world.viewer_a, workspace_uuid=world.ws["A"], **params)
    with captured(services) as statements:
        body = await list_executions(client, world.viewer_a, workspace_uuid=world.ws["A"], **params)
    assert body["data"]
    return len(statements)


async def test_statements_per_list_page_do_not_grow_with_page_size(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    await seed_rows(client, world, 24)
    full = {"with": "workflow,workflowExecutionData", "with_count": "workflowApprovals"}
    small = await count_list_statements(client, services, world, per_page=2, **full)
    large = await count_list_statements(client, services, world, per_page=24, **full)
    deep = await count_list_statements(client, services, world, per_page=2, page=7, **full)
    assert small == large == deep
    bare = await count_list_statements(client, services, world, per_page=24)
    assert bare < small  # each include adds a fixed number of batch queries, not one per row

    # The HTML page: the same number of statements for 2 rows as for 24.
    cookies = {"Cookie": f"athena_session={world.viewer_a.token}"}
    page_counts = []
    for status in ("waiting", None):
        await client.get("/executions", params={"workspace": world.ws["A"]}, headers=cookies)
        services.dashboard.pages.clear()  # the page's statements, not the cached page's one
        with captured(services) as statements:
            query = {"workspace": world.ws["A"], **({"status": status} if status else {})}
            response = await client.get("/executions", params=query, headers=cookies)
        assert response.status_code == 200, response.text
        page_counts.append(len(statements))
    assert page_counts[0] == page_counts[1]


async def test_stop_cascade_statements_do_not_grow_with_the_tree(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    wf = world.workflows["Invoice approval"]

    async def tree(children: int) -> str:
        root = (await create_execution(client, world.operator_a, wf, status="running"))["uuid"]
        parent = root
        for i in range(children):
            child = await create_execution(client, world.operator_a, wf, status="running", parent_execution_uuid=parent)
            parent = child["uuid"] if i % 2 else parent  # a mix of depth and breadth
        return root

    counts = []
    for size in (2, 12):
        root = await tree(size)
        with captured(services) as statements:
            response = await stop_execution(client, world.operator_a, root)
        assert response.status_code == 200 and len(response.json()["meta"]["cascade_cancelled"]) == size
        counts.append(len(statements))
    assert counts[0] == counts[1]


async def test_cursor_walks_every_row_once_in_order_with_ties(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    uuids = await seed_rows(client, world, 9)
    # Three rows share one timestamp: the id breaks the tie, in the sort's direction.
    same = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    async with services.db.write() as session:
        await session.execute(
            update(WorkflowExecution)
            .where(WorkflowExecution.uuid.in_([uuid.UUID(u) for u in uuids[2:5]]))
            .values(created_at=same, updated_at=same)
        )
    for direction in ("desc", "asc"):
        expected = [
            e["uuid"]
            for e in (
                await list_executions(
                    client, world.viewer_a, workspace_uuid=world.ws["A"], per_page=100, sort_direction=direction
                )
            )["data"]
        ]
        body = await list_executions(
            client, world.viewer_a, workspace_uuid=world.ws["A"], per_page=2, sort_direction=direction
        )
        seen = [e["uuid"] for e in body["data"]]
        pages = 1
        while body["links"]["next"]:
            assert "cursor=" in body["links"]["next"]
            response = await client.get(body["links"]["next"], headers=world.viewer_a.headers)
            body = response.json()
            pages += 1
            assert body["meta"]["current_page"] == pages
            assert body["meta"]["from"] == (pages - 1) * 2 + 1
            seen += [e["uuid"] for e in body["data"]]
        assert seen == expected and sorted(seen) == sorted(uuids)


async def test_bad_cursor_answers_422(client: httpx.AsyncClient, world: World) -> None:
    await seed_rows(client, world, 3)
    body = await list_executions(client, world.viewer_a, workspace_uuid=world.ws["A"], per_page=1)
    cursor = httpx.URL(body["links"]["next"]).params["cursor"]
    for bad, params in (
        ("not-a-cursor", {}),
        (cursor, {"sort_by": "updated_at"}),
        (cursor, {"sort_direction": "asc"}),
        ("W10", {}),
    ):
        response = await client.get(
            EXECUTIONS,
            params={"workspace_uuid": world.ws["A"], "cursor": bad, **params},
            headers=world.viewer_a.headers,
        )
        assert response.status_code == 422, (bad, params, response.text)
        assert "cursor" in response.json()["errors"]


async def test_api_total_is_exact_and_the_page_caps_its_display(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API's total is exact past the dashboard's display cap: paging 1..last_page sees every row
    once and last_page + 1 is empty (issue 20). The page still shows "5+" past a cap of 5."""
    await seed_rows(client, world, 7)
    monkeypatch.setattr(listing, "COUNT_CAP", 5)
    seen: list[str] = []
    page, last_page = 1, 1
    while page <= last_page:
        body = await list_executions(client, world.viewer_a, workspace_uuid=world.ws["A"], per_page=2, page=page)
        assert body["meta"]["total"] == 7 and body["meta"]["total_capped"] is False
        last_page = body["meta"]["last_page"]
        seen += [e["uuid"] for e in body["data"]]
        page += 1
    assert last_page == 4 and len(seen) == len(set(seen)) == 7
    past = await list_executions(client, world.viewer_a, workspace_uuid=world.ws["A"], per_page=2, page=5)
    assert past["data"] == [] and past["meta"]["total"] == 7
    narrow = await list_executions(client, world.viewer_a, workspace_uuid=world.ws["A"], status="failed")
    assert narrow["meta"]["total"] == 2 and narrow["meta"]["total_capped"] is False
    # The page says "5+".
    response = await client.get(
        "/executions", params={"workspace": world.ws["A"]}, headers={"Cookie": f"athena_session={world.viewer_a.token}"}
    )
    assert "5+ executions" in response.text


async def test_search_follows_error_changes(client: httpx.AsyncClient, world: World) -> None:
    """The search index (FTS5 table on SQLite, GIN on PostgreSQL) follows writes to the error text."""
    wf = world.workflows["Invoice approval"]
    e = await create_execution(client, world.operator_a, wf, status="running", error="quota exceeded on acme-7")
    a = world.ws["A"]

    async def found(term: str) -> list[str]:
        return [
            x["uuid"] for x in (await list_executions(client, world.viewer_a, workspace_uuid=a, search=term))["data"]
        ]

    assert await found("ACME-7") == [e["uuid"]]
    response = await client.patch(
        f"{EXECUTIONS}/{e['uuid']}", json={"error": "disk full"}, headers=world.operator_a.headers
    )
    assert response.status_code == 200, response.text
    assert await found("acme-7") == []
    assert await found("isk fu") == [e["uuid"]]
    assert await found('"quoted" OR x') == []  # FTS syntax in a term is matched literally


async def test_a_long_error_that_does_not_compress_is_saved_whole_and_found(
    client: httpx.AsyncClient, world: World
) -> None:
    """An error of kilobytes of text that does not compress (a payload dump) is saved and returned
    whole: the covering search indexes hold only ``error_folded``, its first 500 characters, so no
    index entry passes PostgreSQL's 2,704-byte limit (before migration 0013 such a write failed).
    Search folds case beyond ASCII, and on PostgreSQL covers the error's first 500 characters."""
    wf = world.workflows["Invoice approval"]
    noise = secrets.token_urlsafe(9_000)  # ~12,000 characters, incompressible
    error = f"ÉCHEC du paiement cust-99121: {noise}"
    e = await create_execution(client, world.operator_a, wf, status="running")
    response = await client.patch(f"{EXECUTIONS}/{e['uuid']}", json={"error": error}, headers=world.operator_a.headers)
    assert response.status_code == 200, response.text
    got = await client.get(f"{EXECUTIONS}/{e['uuid']}", headers=world.viewer_a.headers)
    assert got.json()["data"]["error"] == error
    a = world.ws["A"]

    async def found(term: str, **filters: str) -> list[str]:
        body = await list_executions(client, world.viewer_a, workspace_uuid=a, search=term, **filters)
        return [x["uuid"] for x in body["data"]]

    assert await found("échec du") == [e["uuid"]]
    assert await found("CUST-99121", status="running", workflow_uuid=wf) == [e["uuid"]]
    assert await found(noise[200:230]) == [e["uuid"]]  # mixed case, "-" and "_" taken literally
    # Past the first ERROR_SEARCHED characters only SQLite's FTS5 table (the whole text) finds it.
    assert await found(noise[-40:]) == ([] if IS_POSTGRES else [e["uuid"]])


async def test_counts_on_every_time_axis_read_an_index(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    """The count endpoint's ``time_axis`` (issue 9) with each status / review filter, one workspace
    and two, over a 30-day range: no sequential scan of workflow_executions on any axis."""
    await seed_rows(client, world, 8)
    user = await services.accounts.authenticate_token(world.multi.token)
    assert user is not None
    a = user.workspace_by_uuid(uuid.UUID(world.ws["A"])).workspace_id
    b = user.workspace_by_uuid(uuid.UUID(world.ws["B"])).workspace_id
    now = dt.datetime.now(dt.UTC)
    with captured(services) as statements:
        for scope, axis, spec in itertools.product(
            ([a], [a, b]),
            ("created", "started", "stopped", "active"),
            (
                {},
                {"statuses": ["running", "failed"]},
                {"requires_human_review": True},
                {"has_command_room_task": False},
            ),
        ):
            filters = ExecutionFilters(
                workspace_ids=scope, date_from=now - dt.timedelta(days=30), date_to=now, time_axis=axis, **spec
            )
            await services.executions.count(user, filters)
    to_check = data_statements(statements)
    assert len(to_check) >= 32
    assert await scans_of_executions(services, to_check) == []


async def test_list_view_extras_use_indexes(client: httpx.AsyncClient, services: Services, world: World) -> None:
    """Attention chips (counts and filters), folded retry chains, their fragment and the CSV export."""
    uuids = await seed_rows(client, world, 8)
    wf = world.workflows["Invoice approval"]
    retry = await create_execution(client, world.operator_a, wf, status="completed", retry_of=uuids[1])
    user = await services.accounts.authenticate_token(world.multi.token)
    assert user is not None
    views = [{"attention": key} for key in ("slow", "wait_overdue", "child_failed", "approval_overdue")]
    views += [{"attention": "failed_unretried", "chains": "all"}, {"cols": "status,retry_count", "sort": "updated"}]
    with captured(services) as statements:
        for params in views:
            view = ExecutionView.from_query(user, {"workspace": world.ws["A"], **params})
            await services.dashboard.execution_page(view)
            async for _ in services.dashboard.export_batches(view):
                pass
        await services.dashboard.retry_chain(user, uuid.UUID(retry["uuid"]))
    assert await scans_of_executions(services, data_statements(statements)) == []


async def test_a_searched_list_reuses_its_compiled_statement(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    """Once ``resolve_search`` has resolved the workflow-name arm, the search is plain clauses with
    bound parameters: a second search of the same shape is a compiled-cache hit (``SearchMatch``
    compiled the whole list statement again on every request: a few ms of Python each)."""
    from sqlalchemy.engine.default import CACHE_HIT

    await seed_rows(client, world, 3)
    user = await services.accounts.authenticate_token(world.viewer_a.token)
    assert user is not None
    a = user.workspace_by_uuid(uuid.UUID(world.ws["A"])).workspace_id
    hits: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        hits.append((statement, context.cache_hit))

    engine = services.db.engine.sync_engine
    for term in ("timeout", "invoice", "HTTP 503"):
        hits.clear()
        event.listen(engine, "before_cursor_execute", seen)
        try:
            await services.executions.page(user, ExecutionFilters([a], search=term), PageRequest(1, 2), Includes())
        finally:
            event.remove(engine, "before_cursor_execute", seen)
    listing_statements = [h for s, h in hits if "workflow_executions" in s and "LIMIT" in s.upper()]
    assert listing_statements and all(h is CACHE_HIT for h in listing_statements), hits
