"""Issue 19, item 2: the id a person sees finds the execution. Lists show an id as its last 8 hex
characters; those (or their first 6+), the start of the uuid, or its end find it in the list's
search, the API's ``search`` and ``/executions/<id>``; an id of another of the user's workspaces
says where it is; an id of a workspace the user does not belong to stays a plain 404."""

from __future__ import annotations

import itertools
import uuid

import httpx
from sqlalchemy import update

from app.db.models import WorkflowExecution
from app.domain.executions.id_search import parse_id_ref
from app.services import Services
from tests.conftest import EXECUTIONS, World, create_execution
from tests.web_session import PageSession

FIRST = "01a24f25-517b-725d-99a8-7c8d306f761d"
SECOND = "01a24f25-517b-725d-99a8-7c8dab12cd34"


async def set_uuid(services: Services, current: str, wanted: str) -> None:
    """Give an execution a chosen id (test setup only) so fragments can be shared on purpose."""
    async with services.db.write() as session:
        await session.execute(
            update(WorkflowExecution).where(WorkflowExecution.uuid == uuid.UUID(current)).values(uuid=uuid.UUID(wanted))
        )


async def two_executions(client: httpx.AsyncClient, services: Services, world: World) -> None:
    wf = world.workflows["Invoice approval"]
    for wanted in (FIRST, SECOND):
        created = await create_execution(client, world.operator_a, wf, status="running")
        await set_uuid(services, created["uuid"], wanted)
    services.dashboard.pages.clear()  # the ids changed under the page cache's feet (test setup only)


async def found(client: httpx.AsyncClient, world: World, term: str, actor: str = "viewer_a") -> dict:
    params = {"workspace_uuid": world.ws["A"], "search": term}
    response = await client.get(EXECUTIONS, params=params, headers=world.users[actor].headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_fragments_are_read_as_ids_only_when_they_can_be_one() -> None:
    assert parse_id_ref("306f761d").fragment == "306f761d"  # type: ignore[union-attr]
    assert parse_id_ref("306F76").fragment == "306f76"  # type: ignore[union-attr]
    assert parse_id_ref("01a24f25-517b").fragment == "01a24f25517b"  # type: ignore[union-attr]
    assert parse_id_ref("d-7c8d306f761d").fragment == "d7c8d306f761d"  # type: ignore[union-attr]
    assert parse_id_ref(FIRST.upper()).whole == uuid.UUID(FIRST)  # type: ignore[union-attr]
    for not_an_id in ("306f7", "ab-cdef12", "invoice", "306f761g", "a" * 33):
        assert parse_id_ref(not_an_id) is None, not_an_id


async def test_api_search_finds_the_short_id_its_start_and_the_uuid_start(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    await two_executions(client, services, world)

    async def uuids(term: str) -> set[str]:
        body = await found(client, world, term)
        assert body["meta"]["total"] == len(body["data"]), term
        return {e["uuid"] for e in body["data"]}

    assert await uuids("306f761d") == {FIRST}  # the 8 characters the list shows
    assert await uuids("306F76") == {FIRST}  # their first 6, any case
    assert await uuids("ab12cd") == {SECOND}
    assert await uuids("7c8d306f761d") == {FIRST}  # the last group, copied from a log
    assert await uuids("99a8-7c8d306f761d") == {FIRST}  # the end of the canonical form
    assert await uuids("01a24f25-517b") == {FIRST, SECOND}  # the start of both uuids
    assert await uuids("01a24f25517b725d99a87c8d30") == {FIRST}
    assert await uuids(FIRST) == {FIRST}
    assert await uuids("306f7") == set()  # under 6 characters: text search only
    assert await uuids("6f761d") == set()  # the middle of the short id is not an id
    assert "found_elsewhere" not in (await found(client, world, "306f7"))["meta"]


async def test_page_search_and_url_open_an_execution_by_the_id_shown(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    await two_executions(client, services, world)
    page = PageSession(client, world.operator_a)
    html = (await page.get(f"/executions?workspace={world.ws['A']}&q=306f761d")).text
    assert f'id="row-{FIRST}"' in html and f'id="row-{SECOND}"' not in html

    opened = await page.get("/executions/306f761d")
    assert opened.status_code == 302 and opened.headers["location"] == f"/executions/{FIRST}"
    assert (await page.get(f"/executions/{FIRST.upper()}")).headers["location"] == f"/executions/{FIRST}"
    detail = await page.get(f"/executions/{FIRST}")
    assert detail.status_code == 200 and 'id="detail-body"' in detail.text

    ambiguous = await page.get("/executions/01a24f25")
    assert ambiguous.status_code == 200
    assert ambiguous.text.count('class="id-match"') == 2
    assert f'href="/executions/{FIRST}"' in ambiguous.text and f'href="/executions/{SECOND}"' in ambiguous.text
    for missing in ("/executions/ffffffff", "/executions/not-an-id", "/executions/306f7"):
        assert (await page.get(missing)).status_code == 404, missing


async def test_an_id_in_another_of_my_workspaces_says_where_it_is(client: httpx.AsyncClient, world: World) -> None:
    """``multi`` belongs to A and B (org-1) and C (org-2); ``operator_a`` to A only."""
    in_b = await create_execution(client, world.operator_b, world.workflows["Invoice sync"], status="running")
    short = in_b["uuid"][-8:]
    for term in (in_b["uuid"], short):
        body = await found(client, world, term, actor="multi")
        assert body["data"] == []
        [where] = body["meta"]["found_elsewhere"]
        assert where["uuid"] == in_b["uuid"] and where["workspace_uuid"] == world.ws["B"]
        assert where["workspace_name"] == "Workspace B" and where["organization"] == "org-1"

    multi = PageSession(client, world.multi)
    html = (await multi.get(f"/executions?workspace={world.ws['A']}&q={in_b['uuid']}")).text
    assert "Found in another of your workspaces" in html
    assert f'href="/executions/{in_b["uuid"]}"' in html and "Workspace B" in html
    assert (await multi.get(f"/executions/{short}")).headers["location"] == f"/executions/{in_b['uuid']}"
    assert (await multi.get(f"/executions/{in_b['uuid']}")).status_code == 200


async def test_a_foreign_id_stays_a_404_with_no_hint(client: httpx.AsyncClient, world: World) -> None:
    in_b = await create_execution(client, world.operator_b, world.workflows["Invoice sync"], status="running")
    for term in (in_b["uuid"], in_b["uuid"][-8:]):
        body = await found(client, world, term, actor="operator_a")
        assert body["data"] == [] and "found_elsewhere" not in body["meta"]
    page = PageSession(client, world.operator_a)
    html = (await page.get(f"/executions?workspace={world.ws['A']}&q={in_b['uuid']}")).text
    assert "Found in another" not in html and "Workspace B" not in html
    for ref in (in_b["uuid"], in_b["uuid"][-8:], in_b["uuid"][:13]):
        response = await page.get(f"/executions/{ref}")
        assert response.status_code == 404 and in_b["uuid"] not in response.text, ref


async def test_id_searches_and_lookups_are_served_by_indexes(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    """Every statement of an id search (list page, count, the dashboard page, ``/executions/<id>``
    and ``found_elsewhere``) is planned without a sequential scan of workflow_executions (see
    tests/test_scale_guards.py: PostgreSQL with ``enable_seqscan`` off; SQLite without bare SCAN)."""
    from app.domain.executions.queries import ExecutionFilters
    from app.domain.executions.services import Includes
    from app.lib.pagination import PageRequest
    from app.web.pages.executions.view import ExecutionView
    from tests.test_scale_guards import captured, data_statements, scans_of_executions

    await two_executions(client, services, world)
    user = await services.accounts.authenticate_token(world.multi.token)
    assert user is not None
    a = user.workspace_by_uuid(uuid.UUID(world.ws["A"])).workspace_id
    terms = ["306f761d", "306f76", "7c8d306f761d", "01a24f25-517b", FIRST, "ffffff"]
    with captured(services) as statements:
        for term, statuses in itertools.product(terms, (None, ["running"])):
            filters = ExecutionFilters(workspace_ids=[a], statuses=statuses, search=term)
            await services.executions.page(user, filters, PageRequest(page=1, per_page=2), Includes())
            await services.executions.count(user, filters)
            view = ExecutionView.from_query(user, {"workspace": world.ws["A"], "q": term})
            await services.dashboard.with_elsewhere(user, view, await services.dashboard.execution_page(view))
            await services.dashboard.lookup(user, term)
            await services.executions.found_elsewhere(user, term, [a])
    checked = data_statements(statements)
    assert len([s for s, _ in checked if "workflow_executions" in s]) > 20
    assert await scans_of_executions(services, checked) == []
