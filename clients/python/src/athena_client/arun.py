"""A run of a workflow as an asyncio engine reports it: ``async with client.execution(...) as run``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from athena_client._runcore import Decision, NodeState, RunCore, describe
from athena_client.errors import Conflict, ExecutionStopped, NotFound

if TYPE_CHECKING:
    from athena_client.aclient import AsyncAthenaClient

logger = logging.getLogger("athena_client")


class AsyncRun(RunCore):
    """``Run`` for asyncio: the same behaviour, every call awaited."""

    def __init__(self, client: AsyncAthenaClient, workflow_uuid: str, create: dict[str, Any]) -> None:
        super().__init__()
        self.client, self.workflow_uuid, self._create = client, workflow_uuid, create

    async def start(self) -> AsyncRun:
        self.execution = await self.client.create_execution(self.workflow_uuid, **self._create)
        self.watch = await self.client.watch(self.execution)
        return self

    async def __aenter__(self) -> AsyncRun:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        try:
            if isinstance(exc, ExecutionStopped) and exc.execution_uuid == self.uuid:
                return True
            if exc is None:
                await self.finish("completed")
            elif not self.stopped:
                # A node already reported this error (the execution's error reads "<node>: <error>").
                error = {} if exc is self.node_error else {"error": describe(exc)}
                await self._quietly(lambda: self.finish("failed", **error))
            return False
        finally:
            self.client.unwatch(self.uuid)

    async def _quietly(self, report: Callable[[], Awaitable[Any]]) -> None:
        try:
            await report()
        except Exception:
            logger.exception("could not report the failure of execution %s", self.uuid)

    async def update(self, **body: Any) -> dict[str, Any]:
        try:
            return self.applied(await self.client.update_execution(self.uuid, **body))
        except (Conflict, NotFound) as error:
            stopped = self.stopped_error(error)
            if stopped is not None:
                raise stopped from error
            raise

    async def set_status(self, status: str, **fields: Any) -> dict[str, Any]:
        return await self.update(status=status, **fields)

    async def finish(self, status: str = "completed", **fields: Any) -> None:
        if self.stopped:
            return
        try:
            await self.update(status=status, **fields)
        except ExecutionStopped:
            return
        except Conflict as error:
            if error.body.get("current_status") not in {"waiting", "paused"}:
                raise
            await self.update(status="running")
            await self.update(status=status, **fields)

    def node(self, node_id: str, name: str | None = None, input: Any = None) -> AsyncNode:
        return AsyncNode(self, self.new_node(node_id, name, input))

    async def report(self, *node_runs: dict[str, Any], **fields: Any) -> dict[str, Any]:
        return await self.update(node_runs=list(node_runs), **fields)

    async def flag(self, note: str | None = None, reason: str | None = None) -> str:
        try:
            return str((await self.client.flag(self.uuid, note=note, reason=reason))["uuid"])
        except Conflict as error:
            if "command_room_task_uuid" in error.body:
                return str(error.body["command_room_task_uuid"])
            raise

    async def request_review(self, title: str, *, node_id: str | None = None, **fields: Any) -> AsyncReview:
        self.check_stop()
        node_id, node = self.review_node(node_id)
        body: dict[str, Any] = {"status": "waiting"}
        if node is not None:
            body["node_runs"] = [node.waiting()]
        await self.update(**body)
        approval = await self.client.request_approval(self.uuid, node_id, title, **fields)
        assert self.watch is not None
        self.watch.awaited.add(approval["uuid"])
        return AsyncReview(self, approval)

    async def review(self, title: str, *, timeout: float | None = None, **fields: Any) -> Decision:  # noqa: ASYNC109 (as Run.review)
        return await (await self.request_review(title, **fields)).wait(timeout)

    async def wait_stopped(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109 (as Run.wait_stopped)
        return await _wait(self, lambda: self.stopped, timeout)


class AsyncReview:
    def __init__(self, run: AsyncRun, approval: dict[str, Any]) -> None:
        self.run, self.approval = run, approval

    @property
    def uuid(self) -> str:
        return str(self.approval["uuid"])

    async def wait(self, timeout: float | None = None) -> Decision:  # noqa: ASYNC109 (as Review.wait)
        watch = self.run.watch
        assert watch is not None
        if not await _wait(self.run, lambda: self.uuid in watch.decisions or watch.stopped, timeout):
            raise TimeoutError(f"no decision on review {self.uuid} within {timeout} s")
        if self.uuid not in watch.decisions:
            raise ExecutionStopped(self.run.uuid, watch.status)
        self.approval = await self.run.client.get_approval(self.uuid)
        return Decision(self.approval)


class AsyncNode:
    def __init__(self, run: AsyncRun, state: NodeState) -> None:
        self.run, self.state = run, state

    @property
    def output(self) -> Any:
        return self.state.output

    @output.setter
    def output(self, value: Any) -> None:
        self.state.output = value

    async def __aenter__(self) -> AsyncNode:
        self.run.check_stop()
        await self.run.report(self.state.started())
        self.run.open_nodes.append(self.state)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.run.open_nodes.remove(self.state)
        if exc is None:
            await self.run.report(self.state.succeeded())
            self.run.check_stop()
        elif not isinstance(exc, ExecutionStopped):
            self.run.node_error = exc
            await self.run._quietly(lambda: self.run.report(self.state.failed(exc)))


async def _wait(run: AsyncRun, done: Callable[[], bool], timeout: float | None) -> bool:  # noqa: ASYNC109
    watch = run.watch
    assert watch is not None
    loop = asyncio.get_running_loop()
    changed = asyncio.Event()

    def wake() -> None:
        loop.call_soon_threadsafe(changed.set)

    deadline = None if timeout is None else loop.time() + timeout
    watch.listen(wake)
    try:
        while True:
            changed.clear()
            if done():
                return True
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), 1.0 if remaining is None else min(1.0, remaining))
    finally:
        watch.unlisten(wake)
