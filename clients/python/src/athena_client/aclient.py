"""The asyncio client: ``AsyncAthenaClient(url, token)``, the same calls as ``AthenaClient``, awaited."""

from __future__ import annotations

from typing import Any

import httpx

from athena_client import _calls as calls
from athena_client._http import Request, RetryHook, RetryPolicy, asend, post
from athena_client.arun import AsyncRun
from athena_client.client import resolve, ws_url_of
from athena_client.watch import ExecutionWatch, Watcher


class AsyncAthenaClient:
    """``AthenaClient`` for asyncio. ``http`` may be an ``httpx.AsyncClient`` of your own (its
    ``base_url`` is used; ``token`` is still sent on each request)."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        http: httpx.AsyncClient | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        poll_interval: float = 0.5,
        on_retry: RetryHook | None = None,
        socket: bool = True,
    ) -> None:
        if http is not None and base_url is None:
            base_url = str(http.base_url)
        self.base_url, token = resolve(base_url, token)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.socket = socket
        self.retry = retry or RetryPolicy()
        self.poll_interval, self.on_retry = poll_interval, on_retry
        self._owns_http = http is None
        self.http = http or httpx.AsyncClient(base_url=self.base_url, timeout=timeout)
        self._watcher: Watcher | None = None

    async def __aenter__(self) -> AsyncAthenaClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._watcher is not None:
            await self._watcher.close()
            self._watcher = None
        if self._owns_http:
            await self.http.aclose()

    async def call(self, request: Request) -> Any:
        """Send one prepared request (with retries); its parsed JSON answer."""
        return await asend(self.http, request, self.retry, self.on_retry, self.headers)

    async def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None) -> Any:
        if method.upper() == "POST":
            return await self.call(post(path, json))
        return await self.call(Request(method.upper(), path, json=json, params=params))

    async def _data(self, request: Request) -> dict[str, Any]:
        data: dict[str, Any] = (await self.call(request))["data"]
        return data

    def execution(self, workflow_uuid: str, **create: Any) -> AsyncRun:
        """``async with client.execution(wf) as run: ...``"""
        return AsyncRun(self, workflow_uuid, create)

    async def watch(self, execution: dict[str, Any]) -> ExecutionWatch:
        if self._watcher is None:
            self._watcher = Watcher(
                self.http,
                ws_url_of(self.base_url),
                self.headers,
                self.poll_interval,
                self.retry,
                self.socket,
            )
        watch = ExecutionWatch(execution)
        await self._watcher.add(watch)
        return watch

    def unwatch(self, execution_uuid: str) -> None:
        if self._watcher is not None:
            self._watcher.remove(execution_uuid)

    @property
    def watcher_stats(self) -> dict[str, int]:
        return dict(self._watcher.stats) if self._watcher else {}

    async def create_execution(self, workflow_uuid: str, **fields: Any) -> dict[str, Any]:
        return await self._data(calls.create_execution(workflow_uuid, **fields))

    async def update_execution(self, execution_uuid: str, **body: Any) -> dict[str, Any]:
        return await self._data(calls.update_execution(execution_uuid, body))

    async def get_execution(self, execution_uuid: str, *, with_data: bool = False) -> dict[str, Any]:
        return await self._data(calls.get_execution(execution_uuid, with_data=with_data))

    async def stop_execution(self, execution_uuid: str, reason: str | None = None) -> dict[str, Any]:
        answer: dict[str, Any] = await self.call(calls.stop_execution(execution_uuid, reason))
        return answer

    async def request_approval(self, execution_uuid: str, node_id: str, title: str, **fields: Any) -> dict[str, Any]:
        return await self._data(calls.request_approval(execution_uuid, node_id, title, **fields))

    async def get_approval(self, approval_uuid: str) -> dict[str, Any]:
        return await self._data(calls.get_approval(approval_uuid))

    async def approve(self, approval_uuid: str, comment: str | None = None) -> dict[str, Any]:
        return await self._data(calls.decide(approval_uuid, True, comment))

    async def reject(self, approval_uuid: str, comment: str) -> dict[str, Any]:
        return await self._data(calls.decide(approval_uuid, False, comment))

    async def flag(self, execution_uuid: str, note: str | None = None, reason: str | None = None) -> dict[str, Any]:
        return await self._data(calls.flag(execution_uuid, note, reason))

    async def unflag(self, task_uuid: str, reason: str | None = None) -> None:
        await self.call(calls.unflag(task_uuid, reason))

    async def workspace(self, workspace_uuid: str) -> dict[str, Any]:
        return await self._data(calls.get_workspace(workspace_uuid))

    async def workflow(self, workflow_uuid: str) -> dict[str, Any]:
        return await self._data(calls.get_workflow(workflow_uuid))

    async def create_workflow(
        self,
        workspace_uuid: str,
        name: str,
        nodes: list[dict[str, Any]] | None = None,
        edges: list[dict[str, Any]] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        return await self._data(calls.create_workflow(workspace_uuid, name, nodes, edges, **fields))
