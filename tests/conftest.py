"""Test fixtures: a real database per test (SQLite by default, PostgreSQL with TEST_DATABASE_URL).

CI runs the suite twice: once on SQLite and once with
``TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test REQUIRE_SERVICES=1``.
Tests that need a service which is missing are skipped locally but fail when ``REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from jinja2.bccache import Bucket, BytecodeCache

from app.asgi import create_app
from app.config import Settings, normalize_database_url
from app.db.models import Role
from app.services import Services
from tests import handler_signatures
from tests.pg_reset import empty_tables

# The order of the tests on xdist's workers (slow ones first) and each worker's finishing time.
pytest_plugins = ["tests.scheduling"]

# A test process starts hundreds of apps: freezing the heap at the first would keep that test's
# objects (its database connections too) from the collector for the rest of the run. Servers the
# tests start inherit this; tests/test_ops.py checks the freeze in a process of its own.
os.environ["GC_FREEZE_AFTER_STARTUP"] = "0"
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
TEST_DATABASE_URL = normalize_database_url(os.environ.get("TEST_DATABASE_URL", ""))
IS_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")
TABLES = [
    "approval_audit",
    # Kept by triggers, which TRUNCATE does not fire; no foreign key brings it in via CASCADE.
    "execution_day_counts",
    "execution_status_counts",
    "execution_events",
    "command_room_tasks",
    "workflow_approvals",
    "workflow_execution_data",
    "workflow_executions",
    "workflows",
    "api_tokens",
    "memberships",
    "users",
    "workspaces",
    "organizations",
]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Freeze the heap as collection leaves it (modules, pytest's and the plugins' objects, the
    collected items: all kept to the end anyway), before any test builds an app: the collector's
    full passes, which every few apps' garbage sets off, then skip it. No test's objects are frozen
    (the servers' GC_FREEZE_AFTER_STARTUP stays off above). 50 create_app calls: 70 -> 48 ms of CPU
    each on average; 75 API tests: 27.8 -> 25.9 s of CPU (medians of 3, alternating)."""
    gc.collect()
    gc.freeze()


def need_service(name: str, reason: str) -> None:
    """Skip (locally) or fail (CI) when a service a test needs is missing."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{name} is required (REQUIRE_SERVICES=1) but unavailable: {reason}")
    pytest.skip(f"{name} unavailable: {reason}")


def _migrate(url: str) -> None:
    from app.db.migrate import upgrade_to_head

    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    try:
        upgrade_to_head()
    finally:
        if previous is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = previous


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Migrate once per session: a template file on SQLite, a fresh database on PostgreSQL."""
    if not IS_POSTGRES:
        path = tmp_path_factory.mktemp("db") / "template.db"
        _migrate(f"sqlite+aiosqlite:///{path}")
        yield str(path)
        return
    import asyncpg

    base = TEST_DATABASE_URL.replace("postgresql+asyncpg://", "postgresql://")
    name = f"athena_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(base)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        need_service("PostgreSQL", str(exc))
    url = TEST_DATABASE_URL.rsplit("/", 1)[0] + f"/{name}"
    _migrate(url)
    yield url
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def database_url(database_template: str, tmp_path: Path) -> str:
    if not IS_POSTGRES:
        target = tmp_path / "athena.db"
        shutil.copyfile(database_template, target)
        return f"sqlite+aiosqlite:///{target}"
    return database_template


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=None,
        secret_key="test-secret",
        allowed_origins=["http://testserver.local"],
    )


class _CompiledTemplates(BytecodeCache):
    """Jinja's compiled templates, kept for the test process: each test builds its own app, whose
    Jinja environment would otherwise compile every template it renders again (~0.1 s of CPU for a
    page's first render). Every app configures its environment the same way (app/web/templating.py),
    and the key includes the source's checksum."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = _CompiledTemplates()


@contextlib.asynccontextmanager
async def built_app(settings: Settings) -> AsyncIterator[Any]:
    """The ``app`` fixture's app (tests/browser/conftest.py builds it on its own event loop)."""
    application = create_app(settings)
    application.template_engine.engine.bytecode_cache = COMPILED_TEMPLATES
    services: Services = application.state.services
    if IS_POSTGRES:
        async with services.db.write() as session:
            await empty_tables(session, TABLES)  # as TRUNCATE ... RESTART IDENTITY CASCADE, much faster
    yield application
    await services.close()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Any]:
    async with built_app(settings) as application:
        yield application


@pytest.fixture
def services(app: Any) -> Services:
    return app.state.services


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the test's own event loop, so tests may also call services directly."""
    # Not app.lifespan(): its task group would be torn down in another task by pytest-asyncio.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as test_client:
        yield test_client


@dataclass
class Actor:
    email: str
    token: str
    user_id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class World:
    """Organization ``org-1`` with workspaces A and B, ``org-2`` with C, users and workflows."""

    ws: dict[str, str] = field(default_factory=dict)
    workflows: dict[str, str] = field(default_factory=dict)
    users: dict[str, Actor] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Actor:
        try:
            return self.users[name]
        except KeyError:
            raise AttributeError(name) from None


USERS = {
    "admin_a": [("A", Role.ADMIN)],
    "operator_a": [("A", Role.OPERATOR)],
    "viewer_a": [("A", Role.VIEWER)],
    "approver_a": [("A", Role.APPROVER)],
    "operator_b": [("B", Role.OPERATOR)],
    "multi": [("A", Role.VIEWER), ("B", Role.OPERATOR), ("C", Role.ADMIN)],
}


@pytest.fixture
async def world(services: Services) -> World:
    return await seed_world(services)


async def seed_world(services: Services) -> World:
    """The ``world`` fixture's organizations, workspaces, users (with tokens) and workflows."""
    w = World()
    for key, org in (("A", "org-1"), ("B", "org-1"), ("C", "org-2")):
        ws = await services.accounts.create_workspace(f"Workspace {key}", org)
        w.ws[key] = str(ws.uuid)
    for name, memberships in USERS.items():
        email = f"{name}@example.test"
        user = None
        for ws_key, role in memberships:
            user = await services.accounts.create_user(
                email, "correct horse", workspace=w.ws[ws_key], role=role, multiplai_id=f"mp-{name}"
            )
        assert user is not None
        token = await services.accounts.create_token(user.id, name="test")
        w.users[name] = Actor(email=email, token=token, user_id=user.id)
    from app.domain.workflows.schemas import EdgeIn, NodeIn, WorkflowCreate

    for ws_key, actor, wf_name in (
        ("A", "admin_a", "Invoice approval"),
        ("A", "admin_a", "Customer onboarding"),
        ("B", "operator_b", "Invoice sync"),
        ("C", "multi", "Payroll run"),
    ):
        current = await services.accounts.authenticate_token(w.users[actor].token)
        assert current is not None
        wf = await services.workflows.create_workflow(
            current,
            WorkflowCreate(
                workspace_uuid=uuid.UUID(w.ws[ws_key]),
                name=wf_name,
                nodes=[NodeIn(id="start"), NodeIn(id="review"), NodeIn(id="finish")],
                edges=[EdgeIn(source="start", target="review"), EdgeIn(source="review", target="finish")],
            ),
        )
        w.workflows[wf_name] = wf["uuid"]
    return w


async def create_execution(client: httpx.AsyncClient, actor: Actor, workflow_uuid: str, **body: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/workflow-executions", json={"workflow_uuid": workflow_uuid, **body}, headers=actor.headers
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]


# --------------------------------------------------------------------------- helpers for the suite

API = "/api/v1"
EXECUTIONS = f"{API}/workflow-executions"


@pytest.fixture(scope="session", autouse=True)
def _handler_signatures_parsed_once() -> Iterator[None]:
    """Each test's app reuses the route handlers' parsed signatures and signature models of the
    apps before it (tests/handler_signatures.py): ~75 ms of CPU of each app's ~185 ms."""
    uninstall = handler_signatures.install()
    yield
    uninstall()


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    """argon2id at production cost takes ~100 ms a hash and ``world`` hashes six passwords per test.
    Tests hash with a cheap argon2id instead; verification still runs the real argon2 code path."""
    from argon2 import PasswordHasher

    from app.lib import security

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        yield


async def patch_execution(client: httpx.AsyncClient, actor: Actor, execution_uuid: str, **body: Any) -> httpx.Response:
    return await client.patch(f"{EXECUTIONS}/{execution_uuid}", json=body, headers=actor.headers)


async def get_execution(client: httpx.AsyncClient, actor: Actor, execution_uuid: str, **params: Any) -> dict[str, Any]:
    response = await client.get(f"{EXECUTIONS}/{execution_uuid}", params=params, headers=actor.headers)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def stop_execution(client: httpx.AsyncClient, actor: Actor, execution_uuid: str) -> httpx.Response:
    return await client.post(f"{EXECUTIONS}/{execution_uuid}/stop", headers=actor.headers)


async def list_executions(client: httpx.AsyncClient, actor: Actor, **params: Any) -> dict[str, Any]:
    response = await client.get(EXECUTIONS, params=params, headers=actor.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def list_uuids(client: httpx.AsyncClient, actor: Actor, **params: Any) -> list[str]:
    params.setdefault("per_page", 100)
    return [e["uuid"] for e in (await list_executions(client, actor, **params))["data"]]


async def set_created_at(services: Services, execution_uuid: str, when: Any) -> None:
    """Backdate an execution (test setup only: the API never lets a client choose created_at)."""
    from sqlalchemy import update

    from app.db.models import WorkflowExecution

    async with services.db.write() as session:
        await session.execute(
            update(WorkflowExecution)
            .where(WorkflowExecution.uuid == uuid.UUID(execution_uuid))
            .values(created_at=when, updated_at=when)
        )


@dataclass(frozen=True)
class EventRow:
    workspace_id: int
    seq: int
    type: str
    execution_uuid: str | None
    version: int
    status: str


async def read_events(services: Services, workspace_uuid: str | None = None) -> list[EventRow]:
    """ExecutionEvent rows (of one workspace, or all), in seq order per workspace."""
    from sqlalchemy import select

    from app.db.models import ExecutionEvent, WorkflowExecution, Workspace

    stmt = (
        select(
            ExecutionEvent.workspace_id,
            ExecutionEvent.seq,
            ExecutionEvent.type,
            WorkflowExecution.uuid,
            ExecutionEvent.version,
            ExecutionEvent.payload,
        )
        .outerjoin(WorkflowExecution, WorkflowExecution.id == ExecutionEvent.execution_id)
        .order_by(ExecutionEvent.workspace_id, ExecutionEvent.seq)
    )
    if workspace_uuid is not None:
        stmt = stmt.join(Workspace, Workspace.id == ExecutionEvent.workspace_id).where(
            Workspace.uuid == uuid.UUID(workspace_uuid)
        )
    async with services.db.read() as session:
        rows = (await session.execute(stmt)).all()
    return [EventRow(r[0], r[1], r[2], str(r[3]) if r[3] else None, r[4], (r[5] or {}).get("status", "")) for r in rows]


async def workspace_event_seq(services: Services, workspace_uuid: str) -> int:
    from sqlalchemy import select

    from app.db.models import Workspace

    async with services.db.read() as session:
        return (
            await session.execute(select(Workspace.event_seq).where(Workspace.uuid == uuid.UUID(workspace_uuid)))
        ).scalar_one()


def assert_gapless(events: list[EventRow]) -> None:
    """Per workspace, seq runs 1, 2, 3... with no gap and no repeat."""
    by_ws: dict[int, list[int]] = {}
    for e in events:
        by_ws.setdefault(e.workspace_id, []).append(e.seq)
    for ws_id, seqs in by_ws.items():
        assert seqs == list(range(1, len(seqs) + 1)), f"workspace {ws_id}: seqs {seqs}"
