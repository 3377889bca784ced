"""``execution_day_counts``: the triggers keep it equal to a GROUP BY of the live executions after
every kind of write (API create, status change, stop cascade, delete, restore, purge, backdating,
bulk SQL, a change of user and a deleted user), and counts read from it (count endpoint, list
total, dashboard tiles) equal plain counts for ranges that start and end mid-day, at midnight and a
microsecond before it, with and without a user filter."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from app.db.engine import is_deadlock
from app.db.models import (
    User,
    Workflow,
    WorkflowExecution,
    Workspace,
    execution_day_counts,
    execution_status_counts,
)
from app.domain.executions.day_counts import split_range
from app.domain.executions.queries import ExecutionFilters
from app.domain.executions.services import Includes
from app.domain.executions.trash import purge_trash
from app.lib.pagination import PageRequest
from app.services import Services
from tests.conftest import (
    EXECUTIONS,
    IS_POSTGRES,
    World,
    create_execution,
    list_executions,
    patch_execution,
    set_created_at,
    stop_execution,
)

E = WorkflowExecution
UTC = dt.UTC
D1 = dt.datetime(2025, 5, 1, tzinfo=UTC)
TICK = dt.timedelta(microseconds=1)


def test_split_range_whole_days_and_partial_ends() -> None:
    day = dt.timedelta(days=1)
    mid = D1 + dt.timedelta(hours=5)
    s = split_range(mid, mid + 3 * day)
    assert (s.first_day, s.last_day) == (dt.date(2025, 5, 2), dt.date(2025, 5, 3))
    assert s.head == (mid, D1 + day) and s.tail == (D1 + 3 * day, mid + 3 * day)
    # Midnight to a microsecond before midnight: whole days only.
    s = split_range(D1, D1 + 2 * day - TICK)
    assert (s.first_day, s.last_day, s.head, s.tail) == (dt.date(2025, 5, 1), dt.date(2025, 5, 2), None, None)
    # Ending exactly at midnight: that instant is a partial tail.
    s = split_range(D1, D1 + 2 * day)
    assert s.last_day == dt.date(2025, 5, 2) and s.tail == (D1 + 2 * day, D1 + 2 * day)
    # No whole day inside: the caller counts plainly.
    assert split_range(mid, mid + dt.timedelta(hours=20)) is None
    # Open ends; other time zones are converted to UTC days.
    assert split_range(None, None) == type(s)(None, None, None, None)
    paris = dt.timezone(dt.timedelta(hours=2))
    s = split_range(dt.datetime(2025, 5, 2, 2, 0, tzinfo=paris), None)
    assert s.first_day == dt.date(2025, 5, 2) and s.head is None and s.last_day is None


async def kept(services: Services) -> Counter[tuple[Any, ...]]:
    async with services.db.read() as session:
        rows = (await session.execute(select(execution_day_counts))).all()
    return Counter({(r.workspace_id, r.day, r.workflow_id, r.status, r.user_id): r.n for r in rows if r.n})


async def truth(services: Services) -> Counter[tuple[Any, ...]]:
    async with services.db.read() as session:
        rows = (
            await session.execute(
                select(E.workspace_id, E.created_at, E.workflow_id, E.status, E.user_id).where(E.deleted_at.is_(None))
            )
        ).all()
    return Counter(
        (r.workspace_id, r.created_at.astimezone(UTC).date(), r.workflow_id, r.status, r.user_id or 0) for r in rows
    )


async def kept_all_time(services: Services) -> Counter[tuple[Any, ...]]:
    async with services.db.read() as session:
        rows = (await session.execute(select(execution_status_counts))).all()
    return Counter({(r.workspace_id, r.workflow_id, r.status, r.user_id): r.n for r in rows if r.n})


async def assert_kept(services: Services, step: str) -> None:
    """Both summaries: the day table (migration 0011) and the all-time one kept from it (0014),
    each by user (0018; 0 for an execution without one)."""
    days = await truth(services)
    assert await kept(services) == days, step
    all_time: Counter[tuple[Any, ...]] = Counter()
    for (workspace_id, _, workflow_id, status, user_id), n in days.items():
        all_time[(workspace_id, workflow_id, status, user_id)] += n
    assert await kept_all_time(services) == all_time, step


async def live_rows(services: Services) -> list[Any]:
    async with services.db.read() as session:
        return (
            await session.execute(
                select(E.uuid, E.workspace_id, E.workflow_id, E.status, E.created_at, E.user_id).where(
                    E.deleted_at.is_(None)
                )
            )
        ).all()


# Moments around midnights, so that ranges cut days at every kind of place.
MOMENTS = [
    D1 - TICK,
    D1,
    D1 + dt.timedelta(hours=9),
    D1 + dt.timedelta(days=1) - TICK,
    D1 + dt.timedelta(days=1),
    D1 + dt.timedelta(days=1, hours=13),
    D1 + dt.timedelta(days=2, hours=23, minutes=59),
    D1 + dt.timedelta(days=4, hours=1),
]


async def build(client: httpx.AsyncClient, services: Services, world: World) -> dict[str, str]:
    """Twelve executions in A (two workflows) and two in B, created at the moments above, with a
    tree under ``root``; each write checked against the truth."""
    made: dict[str, str] = {}
    invoice, onboarding = world.workflows["Invoice approval"], world.workflows["Customer onboarding"]
    root = await create_execution(client, world.operator_a, invoice)
    made["root"] = root["uuid"]
    await assert_kept(services, "create")
    for i in range(3):
        child = await create_execution(client, world.operator_a, onboarding, parent_execution_uuid=made["root"])
        made[f"child{i}"] = child["uuid"]
    for i, when in enumerate(MOMENTS):
        made[f"e{i}"] = (await create_execution(client, world.operator_a, invoice if i % 2 else onboarding))["uuid"]
        await set_created_at(services, made[f"e{i}"], when)
    for i in range(2):
        made[f"b{i}"] = (await create_execution(client, world.operator_b, world.workflows["Invoice sync"]))["uuid"]
        await set_created_at(services, made[f"b{i}"], MOMENTS[i * 3])
    for i, key in enumerate(["root", "child0", "child1", "child2"]):
        await set_created_at(services, made[key], MOMENTS[(i * 3 + 1) % len(MOMENTS)])
    await assert_kept(services, "backdated")
    for key, status in (
        ("root", "running"),
        ("child0", "running"),
        ("child1", "running"),
        ("child1", "waiting"),
        ("e1", "running"),
    ):
        assert (await patch_execution(client, world.operator_a, made[key], status=status)).status_code == 200
    for key in ("e2", "e3"):
        assert (await patch_execution(client, world.operator_a, made[key], status="running")).status_code == 200
        assert (await patch_execution(client, world.operator_a, made[key], status="completed")).status_code == 200
    await assert_kept(services, "status changes")
    return made


async def test_table_follows_every_write(client: httpx.AsyncClient, services: Services, world: World) -> None:
    made = await build(client, services, world)
    assert (await stop_execution(client, world.operator_a, made["root"])).status_code == 200
    await assert_kept(services, "stop cascade")
    gone = await client.request("DELETE", f"{EXECUTIONS}/{made['e4']}", headers=world.admin_a.headers)
    assert gone.status_code in (200, 204), gone.text
    gone = await client.request("DELETE", f"{EXECUTIONS}/{made['e5']}", headers=world.admin_a.headers)
    assert gone.status_code in (200, 204), gone.text
    await assert_kept(services, "delete")
    restored = await client.post(f"{EXECUTIONS}/{made['e4']}/restore", headers=world.admin_a.headers)
    assert restored.status_code == 200, restored.text
    await assert_kept(services, "restore")
    async with services.db.write() as session:
        old = dt.datetime.now(UTC) - dt.timedelta(days=90)
        await session.execute(update(E).where(E.uuid == uuid.UUID(made["e5"])).values(deleted_at=old))
    assert (await purge_trash(services.db, dt.timedelta(days=30))).purged == 1
    await assert_kept(services, "purge")
    async with services.db.write() as session:
        # Bulk SQL no service wrote: a statement over several rows, then a hard delete of live rows.
        await session.execute(update(E).where(E.status == "pending").values(status="paused"))
        await session.execute(delete(E).where(E.uuid == uuid.UUID(made["b0"])))
        await session.execute(update(E).where(E.uuid == uuid.UUID(made["e6"])).values(created_at=MOMENTS[0]))
    await assert_kept(services, "bulk SQL")
    async with services.db.write() as session:
        # Another user takes two executions over (and one loses its user): the counts move like a
        # status change.
        courier = User(email="courier@example.test", name="courier", multiplai_id="mp-courier")
        session.add(courier)
        await session.flush()
        moved = [uuid.UUID(made[k]) for k in ("e1", "e2", "child0")]
        await session.execute(update(E).where(E.uuid.in_(moved)).values(user_id=courier.id))
        await session.execute(update(E).where(E.uuid == uuid.UUID(made["e3"])).values(user_id=None))
        courier_id = courier.id
    await assert_kept(services, "user changed")
    listed = await list_executions(client, world.viewer_a, workspace_uuid=world.ws["A"], user_multiplai_id="mp-courier")
    assert listed["meta"]["total"] == len(listed["data"]) == 3
    async with services.db.write() as session:
        # A deleted user's executions keep going without one (ON DELETE SET NULL fires the triggers).
        await session.execute(delete(User).where(User.id == courier_id))
    await assert_kept(services, "user deleted")
    async with services.db.read() as session:
        left = await session.execute(select(E.user_id).where(E.uuid.in_(moved)))
        assert {r[0] for r in left} == {None}


def expected(rows: list[Any], ws_id: int, lo: dt.datetime, hi: dt.datetime, **only: Any) -> Counter[str]:
    return Counter(
        r.status
        for r in rows
        if r.workspace_id == ws_id
        and lo <= r.created_at.astimezone(UTC) <= hi
        and all(getattr(r, k) in v for k, v in only.items())
    )


async def test_counts_from_the_table_equal_plain_counts(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    made = await build(client, services, world)
    async with services.db.write() as session:
        # Three of A's executions belong to another user, so that a user filter splits the counts.
        other = select(User.id).where(User.multiplai_id == "mp-operator_b").scalar_subquery()
        moved = [uuid.UUID(made[k]) for k in ("e0", "e2", "e5")]
        await session.execute(update(E).where(E.uuid.in_(moved)).values(user_id=other))
    rows = await live_rows(services)
    async with services.db.read() as session:
        user_ids = {r[0]: r[1] for r in await session.execute(select(User.multiplai_id, User.id))}
        ws_id = (
            await session.execute(select(Workspace.id).where(Workspace.uuid == uuid.UUID(world.ws["A"])))
        ).scalar_one()
        invoice_id = {
            (
                await session.execute(
                    select(Workflow.id).where(Workflow.uuid == uuid.UUID(world.workflows["Invoice approval"]))
                )
            ).scalar_one()
        }
    bounds = [*MOMENTS, D1 + dt.timedelta(days=10)]
    checked = 0
    for lo, hi in itertools.combinations(bounds, 2):
        params = {"workspace_uuid": world.ws["A"], "start_date": lo.isoformat(), "end_date": hi.isoformat()}
        data = (await client.get(f"{EXECUTIONS}/count", params=params, headers=world.viewer_a.headers)).json()["data"]
        want = expected(rows, ws_id, lo, hi)
        assert {k: v for k, v in data["by_status"].items() if v} == dict(want), (lo, hi)
        assert data["count"] == sum(want.values())
        listed = await list_executions(
            client, world.viewer_a, workspace_uuid=world.ws["A"], date_from=lo.isoformat(), date_to=hi.isoformat()
        )
        assert (listed["meta"]["total"], listed["meta"].get("total_capped", False)) == (sum(want.values()), False)
        filtered = await client.get(
            f"{EXECUTIONS}/count", params=params | {"status": "completed,running"}, headers=world.viewer_a.headers
        )
        want = expected(rows, ws_id, lo, hi, status={"completed", "running"})
        assert filtered.json()["data"]["count"] == sum(want.values()), (lo, hi)
        user = await services.accounts.authenticate_token(world.viewer_a.token)
        assert user is not None
        one_workflow = ExecutionFilters(
            workspace_ids=[ws_id], date_from=lo, date_to=hi, workflow_ids=sorted(invoice_id)
        )
        counted = await services.executions.count(user, one_workflow)
        assert counted["count"] == sum(expected(rows, ws_id, lo, hi, workflow_id=invoice_id).values()), (lo, hi)
        for owner in ("mp-operator_a", "mp-operator_b"):
            by_user = ExecutionFilters(workspace_ids=[ws_id], date_from=lo, date_to=hi, user_multiplai_id=owner)
            counted = await services.executions.count(user, by_user)
            want = expected(rows, ws_id, lo, hi, user_id={user_ids[owner]})
            assert {k: v for k, v in counted["by_status"].items() if v} == dict(want), (owner, lo, hi)
            listed = await list_executions(
                client,
                world.viewer_a,
                workspace_uuid=world.ws["A"],
                user_multiplai_id=owner,
                status="completed,running,pending",
                date_from=lo.isoformat(),
                date_to=hi.isoformat(),
            )
            want = expected(rows, ws_id, lo, hi, user_id={user_ids[owner]}, status={"completed", "running", "pending"})
            assert listed["meta"]["total"] == sum(want.values()), (owner, lo, hi)
        checked += 1
    assert checked == 36


@pytest.mark.skipif(not IS_POSTGRES, reason="SQLite write transactions are exclusive: no deadlock")
async def test_a_real_deadlock_is_recognised_for_retry(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    """Two transactions each update one execution, then the other's (their day-count rows too):
    PostgreSQL aborts one, and ``is_deadlock`` says so, which is what ``run_write`` retries on."""
    first = (await create_execution(client, world.operator_a, world.workflows["Invoice approval"]))["uuid"]
    second = (await create_execution(client, world.operator_a, world.workflows["Customer onboarding"]))["uuid"]
    both_hold = asyncio.Barrier(2)

    async def cross(mine: str, theirs: str) -> BaseException | None:
        try:
            async with services.db.engine.begin() as conn:
                await conn.execute(update(E).where(E.uuid == uuid.UUID(mine)).values(status="running"))
                await both_hold.wait()
                await conn.execute(update(E).where(E.uuid == uuid.UUID(theirs)).values(status="running"))
        except DBAPIError as exc:
            return exc
        return None

    outcomes = await asyncio.gather(cross(first, second), cross(second, first))
    failed = [o for o in outcomes if o is not None]
    assert len(failed) == 1 and is_deadlock(failed[0]), outcomes
    assert not is_deadlock(DBAPIError("SELECT 1", {}, ValueError("other")))
    await assert_kept(services, "after the deadlock")


async def test_long_ranges_read_the_table_short_ones_and_searches_do_not(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    """A regression guard on the path, not on time: a 30-day count and list total are summed from
    whole days (a list range of 200 days too); a range inside one day or a search are not."""
    from tests.test_scale_guards import captured

    await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    user = await services.accounts.authenticate_token(world.viewer_a.token)
    assert user is not None
    ws_id = user.workspace_by_uuid(uuid.UUID(world.ws["A"])).workspace_id
    now = dt.datetime.now(UTC)
    cases = {
        "30 days": (ExecutionFilters([ws_id], date_from=now - dt.timedelta(days=30), date_to=now), True, True),
        "one hour": (ExecutionFilters([ws_id], date_from=now - dt.timedelta(hours=1), date_to=now), False, False),
        "search": (
            ExecutionFilters([ws_id], date_from=now - dt.timedelta(days=30), date_to=now, search="timeout"),
            False,
            False,
        ),
        "200 days": (ExecutionFilters([ws_id], date_from=now - dt.timedelta(days=200), date_to=now), True, True),
        "user, 30 days": (
            ExecutionFilters(
                [ws_id], date_from=now - dt.timedelta(days=30), date_to=now, user_multiplai_id="mp-operator_a"
            ),
            True,
            True,
        ),
    }
    for name, (filters, count_reads, list_reads) in cases.items():
        with captured(services) as statements:
            counted = await services.executions.count(user, filters)
        assert any("execution_day_counts" in s for s, _ in statements) is count_reads, name
        assert counted["count"] == (0 if name == "search" else 1), name
        with captured(services) as statements:
            await services.executions.page(user, filters, PageRequest(1, 5), Includes())
        assert any("execution_day_counts" in s for s, _ in statements) is list_reads, name
        # PostgreSQL: summing day rows starts no parallel workers (their start-up cost more than it).
        serial = any(s.startswith("SET LOCAL max_parallel_workers_per_gather = 0") for s, _ in statements)
        assert serial is (list_reads and IS_POSTGRES), name
    # Without a date range the list total reads the all-time table, not the executions.
    with captured(services) as statements:
        await services.executions.page(user, ExecutionFilters([ws_id]), PageRequest(1, 5), Includes())
    assert any("execution_status_counts" in s for s, _ in statements)
    # A user filter too (migration 0018), also a user nobody is.
    for owner, total in (("mp-operator_a", 1), ("mp-nobody", 0)):
        with captured(services) as statements:
            _, page = await services.executions.page(
                user, ExecutionFilters([ws_id], user_multiplai_id=owner), PageRequest(1, 5), Includes()
            )
        assert any("execution_status_counts" in s for s, _ in statements) and page.total == total, owner


async def test_day_counts_command_finds_and_repairs_drift(
    client: httpx.AsyncClient, services: Services, world: World, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After surgery no trigger sees (the table emptied by hand), ``athena day-counts`` reports the
    difference and exits 1; ``--repair`` rebuilds it equal to the executions."""
    from click.testing import CliRunner

    from app.cli import athena

    for _ in range(3):
        await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    async with services.db.write() as session:
        await session.execute(execution_day_counts.delete())
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    runner = CliRunner()
    found = await asyncio.to_thread(runner.invoke, athena, ["day-counts"])
    assert found.exit_code == 1 and "1 differ" in found.output and "kept 0, actual 3" in found.output, found.output
    repaired = await asyncio.to_thread(runner.invoke, athena, ["day-counts", "--repair"])
    assert repaired.exit_code == 0 and "rebuilt" in repaired.output, repaired.output
    await assert_kept(services, "repaired")
    clean = await asyncio.to_thread(runner.invoke, athena, ["day-counts"])
    assert clean.exit_code == 0 and "0 differ" in clean.output, clean.output


async def test_list_totals_are_exact_for_every_filter_combination(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    """Issue 20: the list's ``meta.total`` equals the rows a client gets by paging to ``last_page``,
    for every combination of workflow, status, user, open or bounded dates and search."""
    await build(client, services, world)
    invoice = world.workflows["Invoice approval"]
    lo, hi = D1 - dt.timedelta(days=400), D1 + dt.timedelta(days=3, hours=5)
    options: dict[str, list[dict[str, Any]]] = {
        "workflow": [{}, {"workflow_uuid": invoice}],
        "status": [{}, {"status": "completed,running"}],
        "user": [{}, {"user_multiplai_id": "mp-operator_a"}, {"user_multiplai_id": "mp-nobody"}],
        "dates": [{}, {"date_from": lo.isoformat()}, {"date_to": hi.isoformat()}, {"date_from": D1.isoformat()}],
        "search": [{}, {"search": "invoice"}],
    }
    checked = 0
    for combo in itertools.product(*options.values()):
        params: dict[str, Any] = {"workspace_uuid": world.ws["A"], "per_page": 100}
        for part in combo:
            params |= part
        body = await list_executions(client, world.viewer_a, **params)
        meta = body["meta"]
        assert meta["total"] == len(body["data"]) and meta["total_capped"] is False, params
        assert meta["last_page"] == max(1, -(-meta["total"] // 100)), params
        checked += 1
    assert checked == 2 * 2 * 3 * 4 * 2


async def test_migration_0018_round_trip_keeps_the_counts(
    client: httpx.AsyncClient, services: Services, world: World, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Down to 0017 the tables lose the user and still equal the executions (the old triggers keep
    them through a write); up again, 0018 refills them by user from the executions."""
    from alembic import command

    from app.db.migrate import alembic_config

    made = await build(client, services, world)
    async with services.db.write() as session:
        other = select(User.id).where(User.multiplai_id == "mp-operator_b").scalar_subquery()
        await session.execute(update(E).where(E.uuid == uuid.UUID(made["e1"])).values(user_id=other))
    monkeypatch.setenv("DATABASE_URL", database_url)
    await asyncio.to_thread(command.downgrade, alembic_config(), "0017")
    await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    async with services.db.read() as session:
        days = await session.execute(text("SELECT workspace_id, day, workflow_id, status, n FROM execution_day_counts"))
        kept_days = Counter({(r[0], str(r[1]), r[2], r[3]): r[4] for r in days if r[4]})
        all_time = await session.execute(
            text("SELECT workspace_id, workflow_id, status, n FROM execution_status_counts")
        )
        kept_all = Counter({(r[0], r[1], r[2]): r[3] for r in all_time if r[3]})
    want_days: Counter[tuple[Any, ...]] = Counter()
    want_all: Counter[tuple[Any, ...]] = Counter()
    for (workspace_id, day, workflow_id, status, _), n in (await truth(services)).items():
        want_days[(workspace_id, str(day), workflow_id, status)] += n
        want_all[(workspace_id, workflow_id, status)] += n
    assert (kept_days, kept_all) == (want_days, want_all)
    await asyncio.to_thread(command.upgrade, alembic_config(), "head")
    await assert_kept(services, "upgraded again")
    assert (await patch_execution(client, world.operator_a, made["e1"], status="completed")).status_code == 200
    await assert_kept(services, "a write after the upgrade")
