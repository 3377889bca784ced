"""What the blocking and the asyncio runs share: the bodies they send and what they decide from
the answers. Every report names its ``run_index`` and its times, so sending it twice (a retry after
a dropped connection) changes nothing the first one did not."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from athena_client._calls import now
from athena_client.errors import Conflict, ExecutionStopped, NotFound
from athena_client.watch import ExecutionWatch


@dataclass(frozen=True)
class Decision:
    """A human's decision on a review: ``status`` is ``approved`` or ``rejected``."""

    approval: dict[str, Any]

    @property
    def status(self) -> str:
        return str(self.approval["status"])

    @property
    def approved(self) -> bool:
        return self.status == "approved"

    @property
    def decided_by(self) -> str | None:
        return self.approval.get("decided_by")

    @property
    def comment(self) -> str | None:
        return self.approval.get("comment")


@dataclass
class NodeState:
    """One run of one node: what was sent when it started, and what its end will report."""

    node_id: str
    run_index: int
    name: str | None = None
    input: Any = None
    output: Any = None
    started_at: str = field(default_factory=now)

    def started(self) -> dict[str, Any]:
        report = self._base("running")
        report["started_at"] = self.started_at
        if self.input is not None:
            report["input"] = self.input
        return report

    def waiting(self) -> dict[str, Any]:
        return self._base("waiting")

    def succeeded(self) -> dict[str, Any]:
        report = self._base("success")
        report["stopped_at"] = now()
        if self.output is not None:
            report["output"] = self.output
        return report

    def failed(self, error: BaseException) -> dict[str, Any]:
        report = self._base("error")
        report.update(stopped_at=now(), error=describe(error))
        if self.output is not None:
            report["output"] = self.output
        return report

    def _base(self, status: str) -> dict[str, Any]:
        report: dict[str, Any] = {"node_id": self.node_id, "run_index": self.run_index, "status": status}
        if self.name is not None:
            report["node_name"] = self.name
        return report


def describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class RunCore:
    """State of one execution as its engine reports it (no I/O here)."""

    def __init__(self) -> None:
        self.execution: dict[str, Any] = {}
        self.watch: ExecutionWatch | None = None
        self._next_index: dict[str, int] = {}
        self.open_nodes: list[NodeState] = []
        self.node_error: BaseException | None = None  # the last exception a node reported

    @property
    def uuid(self) -> str:
        return str(self.execution["uuid"])

    @property
    def stopped(self) -> bool:
        """True once the client learned that the execution was stopped (or deleted) by someone else."""
        return self.watch is not None and self.watch.stopped

    def check_stop(self) -> None:
        """Raise ``ExecutionStopped`` if an operator stopped the execution: call it between steps."""
        if self.watch is not None and self.watch.stopped:
            raise ExecutionStopped(self.uuid, self.watch.status)

    def new_node(self, node_id: str, name: str | None, input: Any) -> NodeState:
        index = self._next_index.get(node_id, 0)
        self._next_index[node_id] = index + 1
        return NodeState(node_id, index, name, input)

    def review_node(self, node_id: str | None) -> tuple[str, NodeState | None]:
        """The node a review belongs to: the one named, else the innermost open node, else ``review``."""
        for node in reversed(self.open_nodes):
            if node_id is None or node.node_id == node_id:
                return node.node_id, node
        return node_id or "review", None

    def stopped_error(self, error: Conflict | NotFound) -> ExecutionStopped | None:
        """An answer that says the execution was stopped (409 from ``cancelled``) or deleted (404)."""
        if isinstance(error, NotFound):
            status = "deleted"
        elif error.body.get("current_status") == "cancelled":
            status = "cancelled"
        else:
            return None
        if self.watch is not None:
            if status == "deleted":
                self.watch.mark_deleted("rest")
            else:
                self.watch.apply_execution({"status": "cancelled", "version": self.watch.version}, "rest")
        return ExecutionStopped(self.uuid, status)

    def applied(self, execution: dict[str, Any]) -> dict[str, Any]:
        self.execution = execution
        if self.watch is not None:
            self.watch.apply_execution(execution, "rest")
        return execution
