"""What the simulator works with: its backend (the service layer or a deployment's REST API), the
errors a backend maps answers to, its configuration and the runs it drives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from app.demo.catalog import WORKSPACES
from app.demo.graph import Graph, Node

CATALOG = {spec.name: spec for specs in WORKSPACES.values() for spec in specs}


class BackendConflict(Exception):
    """409: someone else changed the execution first (a human stop, a flag)."""


class BackendNotFound(Exception):
    """404: the execution (or workflow) is gone."""


class Dropped(Exception):
    """The execution was taken out of our hands (stopped, deleted): forget it."""


class Stopped(Exception):
    """The simulator is shutting down."""


class Backend(Protocol):
    async def workflows(self) -> list[dict[str, Any]]: ...
    async def create(self, body: dict[str, Any]) -> dict[str, Any]: ...
    async def update(self, execution_uuid: str, body: dict[str, Any]) -> dict[str, Any]: ...
    async def get(self, execution_uuid: str) -> dict[str, Any]: ...
    async def request_approval(self, body: dict[str, Any]) -> dict[str, Any]: ...
    async def approval(self, approval_uuid: str) -> dict[str, Any]: ...
    async def parked(self) -> list[dict[str, Any]]: ...
    async def awaiting_review(self, workspace_uuid: str) -> int: ...
    async def recover(self) -> int: ...
    async def retry_requests(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class SimWorkflow:
    uuid: str
    name: str
    workspace_uuid: str
    graph: Graph
    weight: float
    fail_rate: float
    mode: str

    @classmethod
    def from_payload(cls, item: dict[str, Any]) -> SimWorkflow:
        spec = CATALOG.get(item["name"])
        graph = Graph.from_payload(item.get("nodes") or [], item.get("edges") or [])
        if not graph.nodes:  # an empty production workflow: give it a plausible little graph
            graph = Graph.from_payload(CATALOG["Incident escalation"].node_dicts(), [])
        weight, fail_rate, mode = (spec.weight, spec.fail_rate, spec.mode) if spec else (1.0, 0.07, "webhook")
        return cls(item["uuid"], item["name"], item["workspace_uuid"], graph, weight, fail_rate, mode)


@dataclass
class SimConfig:
    rate: float = 2.0  # new executions per second, on average
    max_active: int = 40
    max_waiting: int = 15  # per workspace, executions paused on a review; beyond it approvals pass
    speed: float = 1.0  # multiplies node durations (tests run much faster)
    retry_rate: float = 0.35
    fail_rate: float | None = None  # None: each workflow's own
    seed: int | None = None
    log_every: float = 30.0
    review_poll: float = 2.0  # seconds between checks of the executions parked on a human review


@dataclass
class Run:
    uuid: str
    workflow: SimWorkflow
    version: int
    status: str
    depth: int
    retry_of: str | None = None
    error: str | None = None
    plan: list[Node] = field(default_factory=list)  # the nodes this run walks, in order


@dataclass(frozen=True)
class Parked:
    """An execution waiting on a human review, until a decision sets it running again."""

    run: Run
    node: Node
    approval_uuid: str
