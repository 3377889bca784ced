"""The blocking client: ``AthenaClient(url, token)``."""

from __future__ import annotations

import os
import threading
from typing import Any

import httpx

from athena_client import _calls as calls
from athena_client._http import Request, RetryHook, RetryPolicy, post, send
from athena_client.run import Run
from athena_client.watch import ExecutionWatch, ThreadedWatcher

DEFAULT_URL = "http://127.0.0.1:8000"


def resolve(base_url: str | None, token: str | None) -> tuple[str, str]:
    """Arguments first, then ``ATHENA_URL`` and ``ATHENA_TOKEN``."""
    url = (base_url or os.environ.get("ATHENA_URL") or DEFAULT_URL).rstrip("/")
    token = token or os.environ.get("ATHENA_TOKEN")
    if not token:
        raise ValueError("an API token is needed: pass token=... or set ATHENA_TOKEN")
    return url, token


def ws_url_of(base_url: str) -> str:
    scheme, _, rest = base_url.partition("://")
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}{calls.API}/ws"


class AthenaClient:
    """Talks to one Athena Monitor server with an operator's (or admin's) API token.

    Every call retries connection errors, 429 (waiting what ``Retry-After`` says) and 502/503/504 with
    exponential backoff (``retry``); every POST carries an ``Idempotency-Key``, the same on each retry.
    Errors raise the classes of ``athena_client.errors``. ``http`` may be an ``httpx.Client`` of your
    own (its ``base_url`` is used; the token is sent on each request).
    """

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        http: httpx.Client | None = None,
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
        self.timeout, self.poll_interval, self.on_retry = timeout, poll_interval, on_retry
        self._owns_http = http is None
        self.http = http or httpx.Client(base_url=self.base_url, timeout=timeout)
        self._watcher: ThreadedWatcher | None = None
        self._watcher_lock = threading.Lock()

    def __enter__(self) -> AthenaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.close()
            self._watcher = None
        if self._owns_http:
            self.http.close()

    def call(self, request: Request) -> Any:
        """Send one prepared request (with retries); its parsed JSON answer."""
        return send(self.http, request, self.retry, self.on_retry, self.headers)

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None) -> Any:
        """Any API call (``path`` under the server, e.g. ``/api/v1/workspaces``); POSTs get an idempotency key."""
        if method.upper() == "POST":
            return self.call(post(path, json))
        return self.call(Request(method.upper(), path, json=json, params=params))

    def _data(self, request: Request) -> dict[str, Any]:
        data: dict[str, Any] = self.call(request)["data"]
        return data

    # Runs -----------------------------------------------------------------------------------------

    def execution(self, workflow_uuid: str, **create: Any) -> Run:
        """A run of ``workflow_uuid``: ``with client.execution(wf, mode="webhook") as run: ...``.
        Takes ``create_execution``'s keyword arguments (``mode``, ``parent_execution_uuid``,
        ``retry_of``, ``data``, ``metadata``, ``idempotency_key``...)."""
        return Run(self, workflow_uuid, create)

    def watch(self, execution: dict[str, Any]) -> ExecutionWatch:
        """Start following an execution's stops and decisions (``Run`` does this for you)."""
        with self._watcher_lock:
            if self._watcher is None:
                self._watcher = ThreadedWatcher(
                    self.base_url,
                    ws_url_of(self.base_url),
                    self.headers,
                    self.timeout,
                    self.poll_interval,
                    self.retry,
                    self.socket,
                )
        watch = ExecutionWatch(execution)
        self._watcher.add(watch)
        return watch

    def unwatch(self, execution_uuid: str) -> None:
        if self._watcher is not None:
            self._watcher.remove(execution_uuid)

    @property
    def watcher_stats(self) -> dict[str, int]:
        return dict(self._watcher.watcher.stats) if self._watcher else {}

    # Executions -----------------------------------------------------------------------------------

    def create_execution(self, workflow_uuid: str, **fields: Any) -> dict[str, Any]:
        """POST /workflow-executions (``status`` defaults to ``running`` here)."""
        return self._data(calls.create_execution(workflow_uuid, **fields))

    def update_execution(self, execution_uuid: str, **body: Any) -> dict[str, Any]:
        """PATCH /workflow-executions/{uuid}: ``status``, ``node_runs``, ``error``, ``execution_data``..."""
        return self._data(calls.update_execution(execution_uuid, body))

    def get_execution(self, execution_uuid: str, *, with_data: bool = False) -> dict[str, Any]:
        return self._data(calls.get_execution(execution_uuid, with_data=with_data))

    def stop_execution(self, execution_uuid: str, reason: str | None = None) -> dict[str, Any]:
        """The whole answer: ``data`` (the execution) and ``meta`` (``stopped``, ``cascade_cancelled``)."""
        answer: dict[str, Any] = self.call(calls.stop_execution(execution_uuid, reason))
        return answer

    # Reviews and the command room -----------------------------------------------------------------

    def request_approval(self, execution_uuid: str, node_id: str, title: str, **fields: Any) -> dict[str, Any]:
        """POST /workflow-approvals (``description``, ``payload``, ``due_at``, ``high_risk``)."""
        return self._data(calls.request_approval(execution_uuid, node_id, title, **fields))

    def get_approval(self, approval_uuid: str) -> dict[str, Any]:
        return self._data(calls.get_approval(approval_uuid))

    def approve(self, approval_uuid: str, comment: str | None = None) -> dict[str, Any]:
        return self._data(calls.decide(approval_uuid, True, comment))

    def reject(self, approval_uuid: str, comment: str) -> dict[str, Any]:
        return self._data(calls.decide(approval_uuid, False, comment))

    def flag(self, execution_uuid: str, note: str | None = None, reason: str | None = None) -> dict[str, Any]:
        return self._data(calls.flag(execution_uuid, note, reason))

    def unflag(self, task_uuid: str, reason: str | None = None) -> None:
        self.call(calls.unflag(task_uuid, reason))

    # Workspaces and workflows ---------------------------------------------------------------------

    def workspace(self, workspace_uuid: str) -> dict[str, Any]:
        return self._data(calls.get_workspace(workspace_uuid))

    def workflow(self, workflow_uuid: str) -> dict[str, Any]:
        return self._data(calls.get_workflow(workflow_uuid))

    def create_workflow(
        self,
        workspace_uuid: str,
        name: str,
        nodes: list[dict[str, Any]] | None = None,
        edges: list[dict[str, Any]] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        return self._data(calls.create_workflow(workspace_uuid, name, nodes, edges, **fields))
