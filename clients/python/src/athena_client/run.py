"""A run of a workflow as a blocking engine reports it: ``with client.execution(...) as run``."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from athena_client._runcore import Decision, NodeState, RunCore, describe
from athena_client.errors import Conflict, ExecutionStopped, NotFound

if TYPE_CHECKING:
    from athena_client.client import AthenaClient

logger = logging.getLogger("athena_client")


class Run(RunCore):
    """One execution. As a context manager: created ``running`` on entry, ``completed`` on a normal
    exit, ``failed`` (with the error) when an exception leaves it; a stop by an operator ends it
    quietly (``ExecutionStopped`` raised inside is swallowed) and is never overwritten."""

    def __init__(self, client: AthenaClient, workflow_uuid: str, create: dict[str, Any]) -> None:
        super().__init__()
        self.client, self.workflow_uuid, self._create = client, workflow_uuid, create

    def start(self) -> Run:
        """Create the execution and start watching it (for stops and decisions)."""
        self.execution = self.client.create_execution(self.workflow_uuid, **self._create)
        self.watch = self.client.watch(self.execution)
        return self

    def __enter__(self) -> Run:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        try:
            if isinstance(exc, ExecutionStopped) and exc.execution_uuid == self.uuid:
                return True
            if exc is None:
                self.finish("completed")
            elif not self.stopped:
                # A node already reported this error (the execution's error reads "<node>: <error>").
                error = {} if exc is self.node_error else {"error": describe(exc)}
                self._quietly(lambda: self.finish("failed", **error))
            return False
        finally:
            self.client.unwatch(self.uuid)

    def _quietly(self, report: Callable[[], Any]) -> None:
        """Report while an exception is on its way out: a failing report must not hide it."""
        try:
            report()
        except Exception:
            logger.exception("could not report the failure of execution %s", self.uuid)

    def update(self, **body: Any) -> dict[str, Any]:
        """PATCH the execution (any field of the API's update); a stop shows as ``ExecutionStopped``."""
        try:
            return self.applied(self.client.update_execution(self.uuid, **body))
        except (Conflict, NotFound) as error:
            stopped = self.stopped_error(error)
            if stopped is not None:
                raise stopped from error
            raise

    def set_status(self, status: str, **fields: Any) -> dict[str, Any]:
        return self.update(status=status, **fields)

    def finish(self, status: str = "completed", **fields: Any) -> None:
        """End the execution; from ``waiting``/``paused`` it passes through ``running`` first. An
        execution already stopped by an operator is left as it is."""
        if self.stopped:
            return
        try:
            self.update(status=status, **fields)
        except ExecutionStopped:
            return
        except Conflict as error:
            if error.body.get("current_status") not in {"waiting", "paused"}:
                raise
            self.update(status="running")
            self.update(status=status, **fields)

    def node(self, node_id: str, name: str | None = None, input: Any = None) -> Node:
        """``with run.node("fetch", input=...) as node: node.output = ...``: reported running on entry,
        ``success`` (with ``output``) on exit, ``error`` with the exception's text if one leaves it."""
        return Node(self, self.new_node(node_id, name, input))

    def report(self, *node_runs: dict[str, Any], **fields: Any) -> dict[str, Any]:
        """Send raw ``node_runs`` items (docs/api.md, "Node progress")."""
        return self.update(node_runs=list(node_runs), **fields)

    def flag(self, note: str | None = None, reason: str | None = None) -> str:
        """Put the execution in the command room; the task's uuid (the existing one if already flagged)."""
        try:
            return str(self.client.flag(self.uuid, note=note, reason=reason)["uuid"])
        except Conflict as error:
            if "command_room_task_uuid" in error.body:
                return str(error.body["command_room_task_uuid"])
            raise

    def request_review(self, title: str, *, node_id: str | None = None, **fields: Any) -> Review:
        """Ask for a human review (the execution waits); ``.wait()`` on the answer for the decision."""
        self.check_stop()
        node_id, node = self.review_node(node_id)
        body: dict[str, Any] = {"status": "waiting"}
        if node is not None:
            body["node_runs"] = [node.waiting()]
        self.update(**body)
        approval = self.client.request_approval(self.uuid, node_id, title, **fields)
        assert self.watch is not None
        self.watch.awaited.add(approval["uuid"])
        return Review(self, approval)

    def review(self, title: str, *, timeout: float | None = None, **fields: Any) -> Decision:
        """Request a review and wait for its decision (``ExecutionStopped`` if the run is stopped)."""
        return self.request_review(title, **fields).wait(timeout)

    def wait_stopped(self, timeout: float | None = None) -> bool:
        """Block until an operator stops the execution (True) or ``timeout`` passes (False)."""
        return _wait(self, lambda: self.stopped, timeout)


class Review:
    """A requested review; ``wait()`` blocks until it is decided."""

    def __init__(self, run: Run, approval: dict[str, Any]) -> None:
        self.run, self.approval = run, approval

    @property
    def uuid(self) -> str:
        return str(self.approval["uuid"])

    def wait(self, timeout: float | None = None) -> Decision:
        """The decision (over the event socket, or REST polling while it is down); raises
        ``ExecutionStopped`` if the execution is stopped first, ``TimeoutError`` after ``timeout``."""
        watch = self.run.watch
        assert watch is not None
        if not _wait(self.run, lambda: self.uuid in watch.decisions or watch.stopped, timeout):
            raise TimeoutError(f"no decision on review {self.uuid} within {timeout} s")
        if self.uuid not in watch.decisions:
            raise ExecutionStopped(self.run.uuid, watch.status)
        self.approval = self.run.client.get_approval(self.uuid)  # with the comment
        return Decision(self.approval)


class Node:
    def __init__(self, run: Run, state: NodeState) -> None:
        self.run, self.state = run, state

    @property
    def output(self) -> Any:
        return self.state.output

    @output.setter
    def output(self, value: Any) -> None:
        self.state.output = value

    def __enter__(self) -> Node:
        self.run.check_stop()
        self.run.report(self.state.started())
        self.run.open_nodes.append(self.state)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.run.open_nodes.remove(self.state)
        if exc is None:
            self.run.report(self.state.succeeded())
            self.run.check_stop()
        elif not isinstance(exc, ExecutionStopped):
            self.run.node_error = exc
            self.run._quietly(lambda: self.run.report(self.state.failed(exc)))


def _wait(run: Run, done: Callable[[], bool], timeout: float | None) -> bool:
    watch = run.watch
    assert watch is not None
    changed = threading.Condition()

    def wake() -> None:
        with changed:
            changed.notify_all()

    deadline = None if timeout is None else time.monotonic() + timeout
    watch.listen(wake)
    try:
        with changed:
            while not done():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                changed.wait(1.0 if remaining is None else min(1.0, remaining))
        return True
    finally:
        watch.unlisten(wake)
