"""The list page's caches (issue 6, goal 8), guarded without timing.

- A page whose workspaces the hub watches, asked again while nothing changed, sends no statement
  at all: the session is a recent one, the sequence numbers are the hub's, and the data, the body
  and the approver's badge are the ones built for those numbers.
- A change made through this instance shows on the very next page (read-your-writes), a session
  revoked here stops at once, and one revoked by another process within the cache's bound.
- Requests that miss together build the page once.
- The cached body is byte for byte what a fresh render gives, and viewers with other access get
  their own.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select, update

from app.db.models import ApiToken, Workspace
from app.db.models.base import utcnow
from app.domain.events.replay import load_events
from app.realtime.hub import Subscriber
from app.services import Services
from tests.conftest import World, patch_execution
from tests.test_listpage_statements import _rows, _sql
from tests.test_scale_guards import captured, seed_rows

DURATION = re.compile(r'(<td class="duration"[^>]*>)[^<]*(</td>)')
CSRF = re.compile(r'("x-csrftoken": "|name="_csrf_token" value=")[^"]*')


def _cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"athena_session={token}"}


def _stable(html: str) -> str:
    """The page without what legitimately differs between two renders: the CSRF token and the
    duration text of running rows (it moves with the clock and ticks in the browser)."""
    return CSRF.sub(r"\1", DURATION.sub(r"\1\2", html))


async def _workspace_id(services: Services, workspace_uuid: str) -> int:
    async with services.db.read() as session:
        return int(
            (
                await session.execute(select(Workspace.id).where(Workspace.uuid == uuid.UUID(workspace_uuid)))
            ).scalar_one()
        )


@pytest.fixture(autouse=True)
def _sessions_held(services: Services) -> None:
    """Statement counts here are the page's own: a signed-in session stays cached for the test, as
    it does between a user's requests seconds apart. With the default 2 s, two requests that took
    longer than that on a loaded machine (load 20+) counted the session's lookup too and failed."""
    services.accounts.recent_sessions.max_age = 60.0


@pytest.fixture
async def watched(services: Services, world: World) -> AsyncIterator[int]:
    """Workspace A watched by a (socket-less) page subscriber, as when a dashboard is open on it."""
    ws_id = await _workspace_id(services, world.ws["A"])
    sub = Subscriber(user_id=world.operator_a.user_id, workspace_ids=frozenset({ws_id}), kind="page")
    await services.hub.register(sub)
    yield ws_id
    services.hub.unregister(sub)


async def test_watched_page_asked_again_sends_no_statement(
    client: httpx.AsyncClient, services: Services, world: World, watched: int
) -> None:
    uuids = await seed_rows(client, world, 3)
    query = {"workspace": world.ws["A"]}
    for actor in (world.operator_a, world.approver_a):  # the approver's badge counts pending reviews
        first = await client.get("/executions", params=query, headers=_cookie(actor.token))
        assert first.status_code == 200
        with captured(services) as statements:
            again = await client.get("/executions", params=query, headers=_cookie(actor.token))
        assert again.status_code == 200
        assert _sql(statements) == [], "\n".join(s[:120] for s, _ in statements)
        assert _stable(again.text) == _stable(first.text)

    # A change through this instance moves the hub's number before the API answers: shown at once.
    assert (await patch_execution(client, world.operator_a, uuids[0], status="completed")).status_code == 200
    after = await client.get("/executions", params=query, headers=_cookie(world.operator_a.token))
    assert 'class="row status-completed"' in _rows(after.text)[uuids[0]]
    seq = services.hub.known_seqs([watched])
    assert seq is not None and f'data-seq="{seq[watched]}"' in after.text  # its cursor, for the socket's replay


async def test_unwatched_page_reads_the_sequence_numbers(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    """Without a local subscriber the hub's numbers may be anything: the database's are read."""
    await seed_rows(client, world, 2)
    query = {"workspace": world.ws["A"]}
    await client.get("/executions", params=query, headers=_cookie(world.operator_a.token))
    with captured(services) as statements:
        await client.get("/executions", params=query, headers=_cookie(world.operator_a.token))
    sql = _sql(statements)
    assert len(sql) == 1 and "event_seq" in sql[0], sql


async def test_sessions_revoked_here_stop_at_once_elsewhere_within_the_bound(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    query = {"workspace": world.ws["A"]}
    assert (await client.get("/executions", params=query, headers=_cookie(world.viewer_a.token))).status_code == 200
    user = await services.accounts.authenticate_token(world.viewer_a.token)
    assert user is not None and user.token_id is not None
    await services.accounts.revoke_token(user.token_id)  # this process: forgotten at once
    gone = await client.get("/executions", params=query, headers=_cookie(world.viewer_a.token))
    assert gone.status_code == 303 and gone.headers["location"].startswith("/sign-in")

    # Another process (the CLI, another instance) revokes in the database only: the recent
    # session holds until its max age, then the page asks for a sign-in. The age is an entry's time
    # since it was stored, compared with max_age when read: a long max_age while the session must
    # hold, then a short one that has surely passed (no wall-time window a loaded machine can miss).
    recent = services.accounts.recent_sessions
    recent.max_age = 60.0
    token = world.operator_a.token
    assert (await client.get("/executions", params=query, headers=_cookie(token))).status_code == 200
    async with services.db.write() as session:
        await session.execute(
            update(ApiToken).where(ApiToken.user_id == world.operator_a.user_id).values(revoked_at=utcnow())
        )
    assert (await client.get("/executions", params=query, headers=_cookie(token))).status_code == 200
    recent.max_age = 0.001
    await asyncio.sleep(0.01)  # past the max age
    assert (await client.get("/executions", params=query, headers=_cookie(token))).status_code == 303


async def test_concurrent_misses_build_the_page_once(
    client: httpx.AsyncClient, services: Services, world: World, watched: int
) -> None:
    await seed_rows(client, world, 4)
    query = {"workspace": world.ws["A"]}
    headers = _cookie(world.operator_a.token)
    await client.get("/executions", params=query, headers=headers)
    services.dashboard.pages.clear()
    with captured(services) as statements:
        await client.get("/executions", params=query, headers=headers)
    one_build = len(_sql(statements))
    assert one_build > 0

    services.dashboard.pages.clear()
    builds = services.dashboard.pages.misses
    with captured(services) as statements:
        pages = await asyncio.gather(*(client.get("/executions", params=query, headers=headers) for _ in range(8)))
    assert {p.status_code for p in pages} == {200}
    assert services.dashboard.pages.misses == builds + 1
    assert len(_sql(statements)) == one_build
    assert len({_stable(p.text) for p in pages}) == 1


async def test_cached_body_equals_a_fresh_render_per_kind_of_viewer(
    client: httpx.AsyncClient, app: object, services: Services, world: World, watched: int
) -> None:
    uuids = await seed_rows(client, world, 3)
    query = {"workspace": world.ws["A"]}
    bodies = app.state.list_bodies  # type: ignore[attr-defined]
    cached = await client.get("/executions", params=query, headers=_cookie(world.operator_a.token))
    cached = await client.get("/executions", params=query, headers=_cookie(world.operator_a.token))
    renders = bodies.renders
    bodies.clear()
    services.dashboard.pages.clear()
    fresh = await client.get("/executions", params=query, headers=_cookie(world.operator_a.token))
    assert bodies.renders == renders + 1
    assert _stable(cached.text) == _stable(fresh.text)
    # A viewer of the same workspace may not act: not the operator's body, even at the same data.
    viewer = await client.get("/executions", params=query, headers=_cookie(world.viewer_a.token))
    assert bodies.renders == renders + 2
    assert "/delete" in _rows(fresh.text)[uuids[0]] and "/delete" not in _rows(viewer.text)[uuids[0]]
    assert 'class="btn btn-ghost trash-link"' in fresh.text and "trash-link" not in viewer.text


async def test_a_snapshot_in_its_grace_period_carries_the_cursor_that_replays_what_it_misses(
    client: httpx.AsyncClient, services: Services, world: World, watched: int
) -> None:
    """Within PAGE_SNAPSHOT_GRACE_MS a page built before another instance's change is served as it
    was; its cursor is the one it was built at, so the socket's replay brings that change. A change
    this instance committed is never hidden so."""
    uuids = await seed_rows(client, world, 5)  # 0 and 4 are running
    services.dashboard.pages.grace = 30.0  # the whole test runs inside one grace period
    query = {"workspace": world.ws["A"]}
    headers = _cookie(world.operator_a.token)
    first = await client.get("/executions", params=query, headers=headers)
    assert 'status-running"' in _rows(first.text)[uuids[0]]

    # Committed here: the next page shows it, snapshot or not.
    assert (await patch_execution(client, world.operator_a, uuids[0], status="completed")).status_code == 200
    mine = await client.get("/executions", params=query, headers=headers)
    assert 'class="row status-completed"' in _rows(mine.text)[uuids[0]]

    # Committed elsewhere (as if on another instance: this one only hears the event).
    shown_seq = int(re.search(r'data-seq="(\d+)"', mine.text).group(1))  # type: ignore[union-attr]
    written = dict(services.hub.written_here)
    assert (await patch_execution(client, world.operator_a, uuids[4], status="completed")).status_code == 200
    services.hub.written_here.clear()
    services.hub.written_here.update(written)
    theirs = await client.get("/executions", params=query, headers=headers)
    assert 'status-running"' in _rows(theirs.text)[uuids[4]]  # the snapshot, not yet the change
    assert f'data-seq="{shown_seq}"' in theirs.text  # ...with the cursor it was built at
    async with services.db.read() as session:
        replay = await load_events(session, watched, shown_seq)
    assert [(e["execution_uuid"], e["status"]) for e in replay] == [(uuids[4], "completed")]

    services.dashboard.pages.grace = 0.0  # without a grace period: rebuilt at once
    exact = await client.get("/executions", params=query, headers=headers)
    assert 'class="row status-completed"' in _rows(exact.text)[uuids[4]]
