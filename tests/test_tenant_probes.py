"""Item 9: tenant isolation probed from the app's own OpenAPI schema.

Every operation is walked: each path id is probed with foreign ids (other workspaces, another
organization), soft-deleted ids, ids of a soft-deleted workspace the user belonged to, and random
ids, as several users; each list is probed with foreign workspace, workflow and organization
filters and with searches for foreign ids; each body that names another object is probed with
foreign ones. Expected: 404 for every foreign id, and no response (whatever its status) contains
the id of anything the user may not see. A new route fails ``test_every_operation_is_probed`` until
it is described here.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from app.config import Settings
from app.db.models import ApiToken, Role, Workspace
from app.services import Services
from tests.approval_helpers import pending_approval
from tests.conftest import API, EXECUTIONS, Actor, World, create_execution

PROBERS = ["viewer_a", "operator_a", "admin_a", "approver_a", "operator_b", "multi"]
KIND_OF_PARAM = {
    "execution_uuid": "executions",
    "workflow_uuid": "workflows",
    "workspace_uuid": "workspaces",
    "approval_uuid": "approvals",
    "task_uuid": "tasks",
    "operation_uuid": "operations",
    "token_uuid": "tokens",  # a user's own tokens and sessions: every other user's are foreign
}
# A valid body for each operation on a path id, so a 404 cannot hide behind a 422.
BODIES: dict[tuple[str, str], Any] = {
    ("get", "/api/v1/workspaces/{workspace_uuid}"): None,
    ("get", "/api/v1/workflows/{workflow_uuid}"): None,
    ("get", "/api/v1/workflow-executions/{execution_uuid}"): None,
    ("put", "/api/v1/workflow-executions/{execution_uuid}"): {"mode": "probe"},
    ("patch", "/api/v1/workflow-executions/{execution_uuid}"): {"status": "running"},
    ("delete", "/api/v1/workflow-executions/{execution_uuid}"): None,
    ("post", "/api/v1/workflow-executions/{execution_uuid}/stop"): None,
    ("post", "/api/v1/workflow-executions/{execution_uuid}/restore"): None,
    ("get", "/api/v1/workflow-approvals/{approval_uuid}"): None,
    ("post", "/api/v1/workflow-approvals/{approval_uuid}/approve"): {},
    ("post", "/api/v1/workflow-approvals/{approval_uuid}/reject"): {"comment": "probe"},
    ("post", "/api/v1/workflow-approvals/{approval_uuid}/assign"): {},
    ("delete", "/api/v1/command-room-tasks/{task_uuid}"): None,
    ("get", "/api/v1/operations/{operation_uuid}"): None,
    ("patch", "/api/v1/workflows/{workflow_uuid}/settings"): {"four_eyes": False},
    ("delete", "/api/v1/user/tokens/{token_uuid}"): None,
}
# The trash shows, and restore acts on, the user's own soft-deleted executions by design; foreign
# ones stay hidden.
SEES_OWN_DELETED = {
    ("post", "/api/v1/workflow-executions/{execution_uuid}/restore"),
    ("get", "/api/v1/workflow-executions/trash"),
    ("get", "/api/v1/audit"),  # the audit log names them too (who deleted them, why)
    ("get", "/api/v1/audit/export"),
}
# Bodies that name other objects: each $kind is replaced by a foreign id of that kind.
BODY_REFS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("post", "/api/v1/workflow-executions"): [
        {"workflow_uuid": "$workflows"},
        # An unknown parent is a 422 on that field (the body is invalid), for foreign and random ids alike.
        {"workflow_uuid": "$own_workflow", "parent_execution_uuid": "$executions", "expect": 422},
    ],
    ("post", "/api/v1/workflows"): [{"workspace_uuid": "$workspaces", "name": "probe"}],
    ("post", "/api/v1/workflow-approvals"): [{"execution_uuid": "$executions", "node_id": "n", "title": "probe"}],
    ("post", "/api/v1/command-room-tasks"): [{"execution_uuid": "$executions"}],
    # A group decision reports each review: a foreign one is refused as "not_found" (200 overall).
    ("post", "/api/v1/workflow-approvals/group/approve"): [{"approval_uuids": ["$approvals"], "expect": 200}],
    ("post", "/api/v1/workflow-approvals/group/reject"): [
        {"approval_uuids": ["$approvals"], "comment": "probe", "expect": 200}
    ],
}
# Query filters naming other objects: 404 when foreign. Organization filters narrow to what the
# user may see, so they answer 200 with only the user's own rows.
ID_FILTERS = {"workspace_uuid": "workspaces", "workflow_uuid": "workflows", "workflow_uuids[]": "workflows"}
ORG_FILTERS = ("organization_multiplai_id", "multiplai_id")
REQUIRED_DEFAULTS = {"start_date": "2000-01-01", "end_date": "2999-12-31"}
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
RANDOM = 3
OPERATES = {"operator_a": "A", "admin_a": "A", "operator_b": "B", "multi": "B"}  # a workspace where each creates
INCLUDES = "workflow,workflowExecutionData"
EXECUTIONS_PER_WORKSPACE = 5


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Thousands of requests per user: the API rate limit is off here (its own tests cover it).
    return Settings(
        database_url=database_url,
        redis_url=None,
        secret_key="test-secret",
        allowed_origins=["http://testserver.local"],
        api_rate_limit=0,
    )


@dataclass
class Tenants:
    """Ids per workspace key and kind; ``gone``: soft-deleted executions, and all of workspace D."""

    ids: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    members: dict[str, set[str]] = field(default_factory=dict)
    tokens: dict[str, list[str]] = field(default_factory=dict)  # owner -> uuids of their tokens
    _hidden: dict[str, set[str]] = field(default_factory=dict)
    _own_deleted: dict[str, set[str]] = field(default_factory=dict)

    def add(self, ws: str, kind: str, value: str) -> None:
        self.ids.setdefault(ws, {}).setdefault(kind, []).append(value)

    def foreign(self, prober: str, kind: str) -> list[str]:
        if kind == "tokens":  # a token belongs to its user, not to a workspace
            return [v for owner, uuids in self.tokens.items() if owner != prober for v in uuids]
        own = self.members[prober]
        return [v for ws, kinds in self.ids.items() for v in kinds.get(kind, []) if ws not in own or v in self.gone]

    def own_deleted(self, prober: str) -> set[str]:
        if prober not in self._own_deleted:  # asked for every probe: computed once per prober
            self._own_deleted[prober] = {
                v for ws in self.members[prober] - {"D"} for v in self.ids[ws].get("executions", []) if v in self.gone
            }
        return self._own_deleted[prober]

    def hidden(self, prober: str) -> set[str]:
        if prober not in self._hidden:
            self._hidden[prober] = {v for kind in KIND_OF_PARAM.values() for v in self.foreign(prober, kind)}
        return self._hidden[prober]


async def seed(client: httpx.AsyncClient, world: World, services: Services) -> Tenants:
    t = Tenants(members={name: set() for name in PROBERS})
    for name, memberships in (
        ("viewer_a", "A"),
        ("operator_a", "A"),
        ("admin_a", "AD"),
        ("approver_a", "A"),
        ("operator_b", "B"),
        ("multi", "ABCD"),
    ):
        t.members[name] = set(memberships)
    d = await services.accounts.create_workspace("Workspace D", "org-1")
    world.ws["D"] = str(d.uuid)
    owner = await services.accounts.create_user("owner_d@example.test", "pw", workspace=str(d.uuid), role=Role.ADMIN)
    for name in ("admin_a", "multi"):
        await services.accounts.create_user(f"{name}@example.test", "", workspace=str(d.uuid), role=Role.ADMIN)
    owner_d = Actor("owner_d@example.test", await services.accounts.create_token(owner.id), owner.id)
    wf_d = await client.post(
        f"{API}/workflows", json={"workspace_uuid": world.ws["D"], "name": "Ledger"}, headers=owner_d.headers
    )
    assert wf_d.status_code == 201, wf_d.text
    workflows = {
        "A": ["Invoice approval", "Customer onboarding"],
        "B": ["Invoice sync"],
        "C": ["Payroll run"],
    }
    seeders = {"A": world.operator_a, "B": world.operator_b, "C": world.multi, "D": owner_d}
    for ws, actor in seeders.items():
        t.add(ws, "workspaces", world.ws[ws])
        wf_uuids = [world.workflows[n] for n in workflows.get(ws, [])] or [wf_d.json()["data"]["uuid"]]
        for wf in wf_uuids:
            t.add(ws, "workflows", wf)
        for i in range(EXECUTIONS_PER_WORKSPACE):
            execution = await create_execution(client, actor, wf_uuids[i % len(wf_uuids)], status="running")
            t.add(ws, "executions", execution["uuid"])
        child = await create_execution(client, actor, wf_uuids[0], parent_execution_uuid=execution["uuid"])
        t.add(ws, "executions", child["uuid"])
        for _ in range(2):
            waiting, approval = await pending_approval(client, actor, wf_uuids[0])
            t.add(ws, "executions", waiting["uuid"])
            t.add(ws, "approvals", approval["uuid"])
            task = await client.post(
                f"{API}/command-room-tasks", json={"execution_uuid": waiting["uuid"]}, headers=actor.headers
            )
            assert task.status_code == 201, task.text
            t.add(ws, "tasks", task.json()["data"]["uuid"])
        operation = await client.post(  # a bulk operation (every item skipped: none failed)
            f"{EXECUTIONS}/bulk",
            json={"action": "retry_request", "ids": t.ids[ws]["executions"][:2]},
            headers=actor.headers,
        )
        assert operation.status_code == 202, operation.text
        t.add(ws, "operations", operation.json()["data"]["uuid"])
        deleted = await create_execution(client, actor, wf_uuids[0], status="completed")
        assert (await client.delete(f"{EXECUTIONS}/{deleted['uuid']}", headers=actor.headers)).status_code < 300
        t.add(ws, "executions", deleted["uuid"])
        t.gone.add(deleted["uuid"])
    async with services.db.write() as session:  # D is soft-deleted with everything in it
        await session.execute(update(Workspace).where(Workspace.id == d.id).values(deleted_at=d.created_at))
    t.gone |= {v for kind in t.ids["D"].values() for v in kind}
    # Each user's tokens: the one the probes use, a second one, and owner_d's.
    for name, user_id in [*((n, a.user_id) for n, a in world.users.items()), ("owner_d", owner.id)]:
        await services.accounts.create_token(user_id, name="second")
        t.tokens[name] = [str(r["uuid"]) for r in await services.accounts.list_tokens(user_id)]
    return t


def operations(app: Any) -> list[tuple[str, str, dict[str, Any]]]:
    schema = app.openapi_schema.to_schema()
    return [
        (method, path, op)
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
        if path.startswith("/api/")
    ]


def query_params(op: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in op.get("parameters", []) if p["in"] == "query"}


@dataclass
class Probe:
    prober: str
    method: str
    url: str
    params: Any = None
    body: Any = None
    expect: int | None = 404  # None: any status below 500
    header: str = "Authorization"
    sees_own_deleted: bool = False


def build_probes(app: Any, world: World, t: Tenants) -> list[Probe]:
    probes: list[Probe] = []
    randoms = {kind: [str(uuid.uuid4()) for _ in range(RANDOM)] for kind in KIND_OF_PARAM.values()}
    every_operation = operations(app)  # the schema serialised once, not once per prober
    for prober in PROBERS:
        operates = OPERATES.get(prober)
        own_workflow = t.ids[operates]["workflows"][0] if operates else None
        for method, path, op in every_operation:
            names = re.findall(r"\{(\w+)\}", path)
            for name in names:  # every path id: foreign, soft-deleted, random
                kind = KIND_OF_PARAM[name]
                targets = [*t.foreign(prober, kind), *randoms[kind]]
                if (method, path) in SEES_OWN_DELETED:
                    targets = [v for v in targets if v not in t.own_deleted(prober)]
                for target in targets:
                    body = BODIES[(method, path)]
                    url = path.replace(f"{{{name}}}", target)
                    probes.append(Probe(prober, method, url, body=body))
                    if "with" in query_params(op):  # included relations are a way to leak too
                        probes.append(Probe(prober, method, url, params={"with": INCLUDES}, body=body))
            for template in BODY_REFS.get((method, path), []):  # bodies naming other objects
                if "$own_workflow" in template.values() and own_workflow is None:
                    continue  # without a role to create here the answer is a (correct) 403 first
                expect = template.get("expect", 404)
                fields = {k: v for k, v in template.items() if k != "expect"}
                for key, ref in fields.items():
                    token = ref[0] if isinstance(ref, list) else ref  # ["$kind"]: a list of ids
                    if not str(token).startswith("$") or token == "$own_workflow":
                        continue
                    for target in [*t.foreign(prober, token[1:]), *randoms[token[1:]]]:
                        body = {k: (own_workflow if v == "$own_workflow" else v) for k, v in fields.items()}
                        value = [target] if isinstance(ref, list) else target
                        probes.append(Probe(prober, method, path, body=body | {key: value}, expect=expect))
            if method != "get" or names:
                continue
            params = query_params(op)
            base = {k: v for k, v in REQUIRED_DEFAULTS.items() if k in params}
            sees = (method, path) in SEES_OWN_DELETED
            probes.append(Probe(prober, method, path, params=base, expect=None, sees_own_deleted=sees))  # unfiltered
            for name, kind in ID_FILTERS.items():
                if name not in params:
                    continue
                for target in [*t.foreign(prober, kind), *randoms[kind]]:
                    value: Any = target
                    if name.endswith("[]"):  # one own workflow and a foreign one: still 404
                        value = [t.ids[sorted(t.members[prober])[0]]["workflows"][0], target]
                    probes.append(Probe(prober, method, path, params=base | {name: value}, sees_own_deleted=sees))
            for name in ORG_FILTERS:
                if name in params:
                    for org in ("org-1", "org-2", "org-none"):
                        probes.append(Probe(prober, method, path, params=base | {name: org}, expect=None))
            if "search" in params:
                for target in t.foreign(prober, "executions") + t.foreign(prober, "workflows"):
                    probes.append(Probe(prober, method, path, params=base | {"search": target}, expect=None))
    # Both authentication headers resolve the user the same way: probe through each.
    return probes + [replace(p, header="X-Multiplai-Authorization") for p in probes]


async def run_probe(client: httpx.AsyncClient, world: World, t: Tenants, probe: Probe) -> str | None:
    """None when the probe held, else what went wrong."""
    response = await client.request(
        probe.method.upper(),
        probe.url,
        params=probe.params,
        json=probe.body,
        headers={probe.header: f"Bearer {world.users[probe.prober].token}"},
    )
    where = f"{probe.prober} {probe.method.upper()} {probe.url} {probe.params or ''} {probe.body or ''}"
    if probe.expect is not None and response.status_code != probe.expect:
        return f"{where}: {response.status_code} {response.text[:200]}"
    if response.status_code >= 500:
        return f"{where}: {response.status_code}"
    named = set(re.findall(r"[0-9a-f-]{36}", probe.url + str(probe.params or "") + str(probe.body or "")))
    hidden = t.hidden(probe.prober) - (t.own_deleted(probe.prober) if probe.sees_own_deleted else set())
    leaked = (set(UUID_RE.findall(response.text)) & hidden) - named
    if leaked:
        return f"{where}: leaked {sorted(leaked)[:3]}"
    return None


async def test_every_operation_is_probed(app: Any) -> None:
    """The probe tables describe every operation with a path id, and only operations that exist."""
    with_ids = {(m, p) for m, p, _ in operations(app) if "{" in p}
    assert with_ids == set(BODIES)
    assert set(BODY_REFS) <= {(m, p) for m, p, _ in operations(app)}


async def test_thousands_of_tenant_probes_leak_nothing(
    app: Any, client: httpx.AsyncClient, world: World, services: Services
) -> None:
    t = await seed(client, world, services)
    probes = build_probes(app, world, t)
    assert len(probes) >= 5000, len(probes)
    failures: list[str] = []
    semaphore = asyncio.Semaphore(8)

    async def guarded(probe: Probe) -> None:
        async with semaphore:
            problem = await run_probe(client, world, t, probe)
            if problem:
                failures.append(problem)

    # Writes (PATCH/DELETE/stop...) are among the probes: they must all have been refused, so the
    # visible data is exactly what the seed made.
    await asyncio.gather(*(guarded(p) for p in probes))
    print(f"\ntenant probes: {len(probes)}, failures: {len(failures)}")
    assert not failures, f"{len(failures)} of {len(probes)} probes failed:\n" + "\n".join(sorted(failures)[::50][:30])
    for name in PROBERS:  # nothing foreign was created, changed or removed by the write probes
        actor = world.users[name]
        seen: set[str] = set()
        for ws in t.members[name] - {"D"}:
            params = {"workspace_uuid": world.ws[ws], "per_page": 100}
            listed = await client.get(EXECUTIONS, params=params, headers=actor.headers)
            assert listed.status_code == 200, listed.text
            seen |= {e["uuid"] for e in listed.json()["data"]}
        own = {v for ws in t.members[name] - {"D"} for v in t.ids[ws]["executions"]} - t.gone
        assert seen == own, name
    async with services.db.read() as session:  # no DELETE of a foreign token revoked it
        revoked = await session.scalar(select(func.count()).where(ApiToken.revoked_at.is_not(None)))
    assert revoked == 0
